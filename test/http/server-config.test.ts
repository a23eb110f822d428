// The server's optional config sections, over real HTTP: `oidc:` (bearer JWTs of an external issuer, served
// here by an in-process JWKS endpoint, accepted for directory users only) and `approvals.requireLogin`
// (an emailed link alone is not enough: the approver must be logged in as themselves). The approval page
// shows the tool call the approval lets through, with its arguments.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type RunningServer, startServer } from '../../functions/local/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('server config: oidc and approvals.requireLogin', () => {
  let home: string;
  let server: RunningServer;
  let jwks: Server;
  const slackPosts: string[] = [];
  let issuer: string;
  let signing: Key;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signing = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    // One loopback server for the issuer's keys and for a Slack incoming webhook.
    jwks = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/slack-hook') {
        let body = '';
        req.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on('end', () => {
          slackPosts.push(body);
          res.end('ok');
        });
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;

    // The repository's config (sandbox servers anchored at the repository) plus the two sections.
    home = mkdtempSync(join(tmpdir(), 'stepgate-config-'));
    const config = parse(readFileSync(join(ROOT, 'stepgate.config.yaml'), 'utf8')) as {
      mcpServers: Record<string, Record<string, unknown>>;
    } & Record<string, unknown>;
    for (const entry of Object.values(config.mcpServers)) entry.cwd = ROOT;
    config.oidc = { issuer, audience: 'stepgate', jwksUri: `${issuer}/jwks.json` };
    config.approvals = { requireLogin: true };
    // A Slack incoming webhook on loopback: refused by the SSRF guard unless the config admits its host.
    config.notifications = { allowHosts: ['127.0.0.1'] };
    writeFileSync(join(home, 'stepgate.config.yaml'), stringify(config));
    server = await startServer({
      PORT: '0',
      STEPGATE_HOME: join(home, 'data'),
      STEPGATE_CONFIG: join(home, 'stepgate.config.yaml'),
    });
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => jwks?.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  const jwt = (email: string, options: { aud?: string; key?: Key } = {}) =>
    new SignJWT({ email, email_verified: true })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(options.aud ?? 'stepgate')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(options.key ?? signing);

  const me = (authorization: string) =>
    fetch(`${server.url}/api/me`, { headers: { authorization } }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as Record<string, unknown>,
    }));

  it('lets notifications reach a host the config admits (a Slack webhook on loopback)', async () => {
    const ada = {
      authorization: `Bearer ${await jwt('ada@example.com')}`,
      'content-type': 'application/json',
    };
    const put = await fetch(`${server.url}/api/vault`, {
      method: 'PUT',
      headers: ada,
      body: JSON.stringify({ scope: 'org', name: 'SLACK_WEBHOOK_URL', value: `${issuer}/slack-hook` }),
    });
    expect(put.status, await put.text()).toBeLessThan(300);
    const started = await fetch(`${server.url}/api/workflows/incident-response/run`, {
      method: 'POST',
      headers: ada,
      body: JSON.stringify({ input: { title: 'Search index slow', service: 'search' } }),
    });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };
    const end = Date.now() + 15_000;
    let status = 'running';
    while (status === 'running' && Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (
        (await (await fetch(`${server.url}/api/runs/${runId}`, { headers: ada })).json()) as {
          status: string;
        }
      ).status;
    }
    expect(status).toBe('completed');
    expect(slackPosts).toHaveLength(1);
    expect(JSON.parse(slackPosts[0] ?? '{}').text).toContain('Search index slow');
  });

  it('accepts a JWT of the configured issuer for a directory user, with the directory role', async () => {
    const result = await me(`Bearer ${await jwt('max@example.com')}`);
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ email: 'max@example.com', role: 'manager', via: 'oidc' });
  });

  it('refuses a JWT for another audience, by another key, or for someone not in the directory', async () => {
    expect((await me(`Bearer ${await jwt('max@example.com', { aud: 'someone-else' })}`)).status).toBe(401);
    const stranger = (await generateKeyPair('ES256')).privateKey;
    expect((await me(`Bearer ${await jwt('max@example.com', { key: stranger })}`)).status).toBe(401);
    expect((await me(`Bearer ${await jwt('nobody@example.com')}`)).status).toBe(401);
  });

  it('refuses a valid JWT for a service account: nobody signs in as a runAs identity', async () => {
    // hr-system is in the directory (service: true) and the token is signed by the configured issuer.
    const refused = await me(`Bearer ${await jwt('hr-system@example.com')}`);
    expect(refused.status).toBe(401);
    const started = await fetch(`${server.url}/api/workflows/employee-onboarding/run`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await jwt('hr-system@example.com')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ input: {} }),
    });
    expect(started.status).toBe(401);
  });

  it('starts a run with an OIDC token and shows an approval link only to the logged-in approver', async () => {
    const emmaToken = await jwt('emma@example.com');
    const started = await fetch(`${server.url}/api/workflows/expense-approval/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emmaToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { amount: 900, description: 'Standing desk', category: 'equipment' } }),
    });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };

    const maxAuth = { authorization: `Bearer ${await jwt('max@example.com')}` };
    const deadline = Date.now() + 15_000;
    let link: string | undefined;
    while (link === undefined && Date.now() < deadline) {
      const mail = (await (await fetch(`${server.url}/api/inbox`, { headers: maxAuth })).json()) as Array<{
        subject: string;
        text: string;
      }>;
      const found = mail.find(
        (m) => m.subject.startsWith('Approval needed') && m.text.includes('Standing desk'),
      );
      link = found?.text.match(/https?:\/\/\S+\/approve\/[A-Za-z0-9._~%-]+/)?.[0];
      if (link === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (link === undefined) throw new Error('no approval mail for max');

    // The link alone: refused, nothing decided.
    const anonymous = await fetch(link);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('Login required');
    const anonymousPost = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=approve',
    });
    expect(anonymousPost.status).toBe(403);

    // Someone else logged in: refused too.
    const emmaPage = await fetch(link, { headers: { authorization: `Bearer ${emmaToken}` } });
    expect(emmaPage.status).toBe(403);

    // Max, logged in: the page shows what the approval lets through.
    const page = await fetch(link, { headers: maxAuth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('If approved, it calls <code>payments-charge</code>');
    expect(html).toContain('&quot;amount&quot;: 900');
    expect(html).toContain('&quot;payee&quot;: &quot;emma@example.com&quot;');
    const status = async () =>
      (
        (await (await fetch(`${server.url}/api/runs/${runId}`, { headers: maxAuth })).json()) as {
          status: string;
        }
      ).status;
    expect(await status()).toBe('running');

    const decided = await fetch(link, {
      method: 'POST',
      headers: { ...maxAuth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'decision=approve&comment=fine',
    });
    expect(decided.status).toBe(200);
    const end = Date.now() + 15_000;
    while ((await status()) === 'running' && Date.now() < end)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await status()).toBe('completed');
    // The run's view says how max was asked and how he answered.
    const view = (await (await fetch(`${server.url}/api/runs/${runId}`, { headers: maxAuth })).json()) as {
      steps: Array<{ id: string; approval?: { requests: unknown[]; decisions: unknown[] } }>;
    };
    const approval = view.steps.find((step) => step.id === 'manager_approval')?.approval;
    expect(approval?.requests).toEqual([
      expect.objectContaining({ approver: 'max@example.com', level: 1, channel: 'email', notified: 'sent' }),
    ]);
    expect(approval?.decisions).toEqual([
      expect.objectContaining({
        by: 'max@example.com',
        decision: 'approve',
        comment: 'fine',
        channel: 'email-link',
      }),
    ]);
  });
});
