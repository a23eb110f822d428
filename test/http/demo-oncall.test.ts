// The demo's incident-response template, as a new user tries it: `npm start`'s server over real HTTP (a
// fresh data folder, the repository's config and sandbox MCP servers). A critical incident asks whoever
// the incidents sandbox has on call to acknowledge; that engineer is a demo user, so they can log in and
// find the request under Approvals, not only through the emailed link. Escalation goes to
// engineering-managers, which the demo directory fills too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../adapters/local/config.js';
import { type RunningServer, startServer } from '../../functions/local/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CONFIG = join(ROOT, 'stepgate.config.yaml');
const PASSWORD = 'stepgate-demo';

interface Session {
  cookie: string;
  csrf: string;
}

describe('the demo on-call engineer', () => {
  let home: string;
  let server: RunningServer;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'stepgate-oncall-'));
    server = await startServer({ PORT: '0', STEPGATE_HOME: home, STEPGATE_CONFIG: CONFIG });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const login = async (email: string): Promise<Session> => {
    const response = await fetch(`${server.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(response.status, `login as ${email}`).toBe(200);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    return { cookie, csrf: ((await response.json()) as { csrf: string }).csrf };
  };

  const api = async (session: Session, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrf,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json().catch(() => null)) as unknown };
  };

  const until = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('is a demo user with a login, as is every engineering manager the request escalates to', async () => {
    // The incidents sandbox's rota (mcp-servers/incidents.ts): any of them may be on call.
    for (const name of ['sam', 'pat', 'alex', 'riley', 'jordan', 'casey', 'morgan', 'quinn'])
      await login(`${name}@example.com`);
    const managers = loadConfig(CONFIG)
      .directory.users.filter((u) => u.groups?.includes('engineering-managers'))
      .map((u) => u.email);
    expect(managers).toEqual(expect.arrayContaining(['max@example.com', 'pat@example.com']));
    for (const email of managers) await login(email);
  });

  it("gives every demo user but the director a manager who can log in (the templates' first approver)", async () => {
    const users = loadConfig(CONFIG).directory.users;
    const people = users.filter((u) => u.service !== true && u.role !== 'director');
    for (const user of people) {
      const manager = users.find((u) => u.email === user.manager);
      expect(manager, `${user.email}'s manager`).toBeDefined();
      expect(manager?.service, `${user.email}'s manager`).not.toBe(true);
    }
  });

  it('logs in and finds the acknowledgement waiting under Approvals, and acknowledges it there', async () => {
    const emma = await login('emma@example.com');
    const started = await api(emma, 'POST', '/api/workflows/incident-response/run', {
      input: { title: 'API down for all users', service: 'api', details: 'all requests fail' },
    });
    expect(started.status).toBe(201);
    const { runId } = started.json as { runId: string };

    // Whoever the sandbox has on call this week for the service.
    const oncall = await until('the on-call lookup', async () => {
      const run = (await api(emma, 'GET', `/api/runs/${runId}`)).json as {
        audit: Array<{ type: string; data: Record<string, unknown> }>;
      };
      const requested = run.audit.find((a) => a.type === 'approval.requested');
      return (requested?.data.approvers as string[] | undefined)?.[0];
    });
    expect(oncall).toMatch(/@example\.com$/);

    const engineer = await login(oncall);
    const pending = (await api(engineer, 'GET', '/api/approvals')).json as Array<{
      runId: string;
      stepId: string;
      message: string;
      context: { details: Array<{ label: string; value: unknown }> };
    }>;
    expect(pending).toContainEqual(
      expect.objectContaining({
        runId,
        stepId: 'acknowledge',
        message: expect.stringContaining('API down for all users'),
      }),
    );
    // Why it is critical and who is on call, as the template's details word it.
    expect(pending.find((a) => a.runId === runId)?.context.details).toEqual([
      { label: 'Why critical', value: [expect.stringContaining("mentions 'down'")] },
      { label: 'On call', value: expect.stringContaining(`(${oncall}, team platform)`) },
    ]);
    const decided = await api(engineer, 'POST', `/api/approvals/${runId}/acknowledge`, {
      decision: 'approve',
      comment: 'on it',
    });
    expect(decided.status).toBe(200);
    const run = await until('the run to end', async () => {
      const r = (await api(emma, 'GET', `/api/runs/${runId}`)).json as { status: string };
      return r.status === 'running' ? undefined : r;
    });
    expect(run.status).toBe('completed');
  });
});
