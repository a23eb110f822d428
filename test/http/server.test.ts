// `npm start`'s server over real HTTP: a fresh data folder, the repository's config (sandbox MCP servers,
// demo users, policy), the templates installed. A demo user logs in, starts the expense template, the
// tool steps go through the pipeline to the sandbox servers, the approval is decided by the manager
// through the inbox API, and the "paid" email lands in the development inbox. A restart keeps it all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../functions/core/triggers/webhook.js';
import { type RunningServer, startServer } from '../../functions/local/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PASSWORD = 'stepgate-demo';

interface Session {
  cookie: string;
  csrf: string;
}

describe('the local server (npm start)', () => {
  let home: string;
  let server: RunningServer;
  const env = (): NodeJS.ProcessEnv => ({
    PORT: '0',
    STEPGATE_HOME: home,
    STEPGATE_CONFIG: join(ROOT, 'stepgate.config.yaml'),
  });

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'stepgate-home-'));
    server = await startServer(env());
  });

  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const login = async (email: string, password = PASSWORD): Promise<Session> => {
    const response = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(response.status, email).toBe(200);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrf } = (await response.json()) as { csrf: string };
    return { cookie, csrf };
  };

  const api = async (session: Session | null, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        ...(session ? { cookie: session.cookie, 'x-csrf-token': session.csrf } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json().catch(() => null)) as unknown };
  };

  const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('serves the four templates to a logged-in user and refuses a wrong password', async () => {
    expect((await api(null, 'GET', '/api/workflows')).status).toBe(401);
    const bad = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'emma@example.com', password: 'nope-nope' }),
    });
    expect(bad.status).toBe(401);
    const emma = await login('emma@example.com');
    const list = await api(emma, 'GET', '/api/workflows');
    expect((list.json as Array<{ id: string }>).map((w) => w.id).sort()).toEqual([
      'employee-onboarding',
      'expense-approval',
      'incident-response',
      'travel-booking',
    ]);
  });

  it('runs the expense template end to end: sandbox tools, an approval by the manager, mail in the inbox', async () => {
    const emma = await login('emma@example.com');
    const started = await api(emma, 'POST', '/api/workflows/expense-approval/run', {
      input: { amount: 900, description: 'Standing desk', category: 'equipment' },
    });
    expect(started.status).toBe(201);
    const { runId } = started.json as { runId: string };

    const max = await login('max@example.com');
    const pending = await until('the approval request', async () => {
      const list = (await api(max, 'GET', '/api/approvals')).json as Array<{ runId: string; stepId: string }>;
      return list.find((a) => a.runId === runId);
    });
    expect(pending.stepId).toBe('manager_approval');
    // Emma asked for the run: her own decision is refused (separation of duties).
    expect(
      (await api(emma, 'POST', `/api/approvals/${runId}/manager_approval`, { decision: 'approve' })).status,
    ).toBe(403);
    expect(
      (
        await api(max, 'POST', `/api/approvals/${runId}/manager_approval`, {
          decision: 'approve',
          comment: 'ok',
        })
      ).status,
    ).toBe(200);

    const run = await until('the run to end', async () => {
      const r = (await api(emma, 'GET', `/api/runs/${runId}`)).json as {
        status: string;
        audit: Array<{ type: string; step: string | null; data: Record<string, unknown> }>;
      };
      return r.status === 'running' ? undefined : r;
    });
    expect(run.status).toBe('completed');
    // The charge went through the whole pipeline to the sandbox payments server.
    const stages = run.audit
      .filter((a) => a.step === 'process_payment' && a.type.startsWith('tool.'))
      .map((a) => a.type);
    expect(stages).toEqual([
      'tool.lookup',
      'tool.identity',
      'tool.credentials',
      'tool.policy',
      'tool.executed',
      'tool.result',
    ]);
    const mail = await until('the paid email', async () => {
      const messages = (await api(emma, 'GET', '/api/inbox')).json as Array<{ subject: string }>;
      return messages.find((m) => m.subject.startsWith('Expense paid'));
    });
    expect(mail.subject).toBe('Expense paid: Standing desk');
  });

  it("emails the approver their own link: opening it decides nothing, the page's POST does, once", async () => {
    const emma = await login('emma@example.com');
    const started = await api(emma, 'POST', '/api/workflows/expense-approval/run', {
      input: { amount: 700, description: 'Monitor', category: 'equipment' },
    });
    const { runId } = started.json as { runId: string };
    const max = await login('max@example.com');
    const mail = await until('the approval email', async () => {
      const messages = (await api(max, 'GET', '/api/inbox')).json as Array<{ subject: string; text: string }>;
      return messages.find((m) => m.subject.startsWith('Approval needed') && m.text.includes('Monitor'));
    });
    const link = /https?:\/\/\S+\/approve\/[A-Za-z0-9_.-]+/.exec(mail.text)?.[0];
    expect(link).toBeDefined();
    const page = await fetch(link as string);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Monitor');
    expect(((await api(emma, 'GET', `/api/runs/${runId}`)).json as { status: string }).status).toBe(
      'running',
    );
    const form = new URLSearchParams({ decision: 'approve', comment: 'fine' });
    const post = () =>
      fetch(link as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form,
      });
    expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(410);
    const run = await until('the run to end', async () => {
      const r = (await api(emma, 'GET', `/api/runs/${runId}`)).json as { status: string };
      return r.status === 'running' ? undefined : r;
    });
    expect(run.status).toBe('completed');
  });

  it('takes a signed webhook delivery once, its secret set with `stepgate vault set`', async () => {
    const secret = `whsec_${Buffer.from('server-test-webhook-secret-0123').toString('base64')}`;
    const cli = spawnSync(
      process.execPath,
      [
        join(ROOT, 'dist', 'cli', 'stepgate.js'),
        'vault',
        'set',
        '--scope',
        'org',
        '--db',
        join(home, 'stepgate.db'),
        '--key-file',
        join(home, 'master.key'),
        'webhook.incident-response',
      ],
      { input: secret, encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const body = JSON.stringify({ title: 'Queue backlog', service: 'queue', source: 'grafana' });
    const send = async () => {
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(`${server.url}/api/workflows/incident-response/run`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'msg_server_1',
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook({ secret, id: 'msg_server_1', timestamp, body }),
        },
        body,
      });
      return { status: response.status, json: (await response.json()) as { runId: string } };
    };
    const first = await send();
    expect(first.status).toBe(201);
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.json.runId).toBe(first.json.runId);
    const ada = await login('ada@example.com');
    const run = (await api(ada, 'GET', `/api/runs/${first.json.runId}`)).json as {
      trigger: { type: string; user: { email: string } };
    };
    expect(run.trigger).toMatchObject({ type: 'webhook', user: { email: 'monitoring-bot@example.com' } });
    expect(
      (
        await fetch(`${server.url}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'monitoring-bot@example.com', password: PASSWORD }),
        })
      ).status,
    ).toBe(401);
  });

  it('keeps users, workflows and runs across a restart', async () => {
    const before = (await api(await login('ada@example.com'), 'GET', '/api/runs')).json as unknown[];
    await server.close();
    server = await startServer(env());
    const ada = await login('ada@example.com');
    expect(((await api(ada, 'GET', '/api/runs')).json as unknown[]).length).toBe(before.length);
    expect(((await api(ada, 'GET', '/api/workflows')).json as unknown[]).length).toBe(4);
  });
});
