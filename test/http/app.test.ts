// The HTTP API's routes over Hono's fetch interface (no sockets): each endpoint as each role and
// unauthenticated, problem documents naming the field, workflows saved only when valid, runs started,
// inspected and cancelled, approvals listed and decided. Identity comes from a test header here; the
// real authenticator (sessions, tokens, OIDC) is tested on its own and end to end.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteApiTokenStore } from '../../adapters/local/session-store.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { createApp, ROUTES } from '../../functions/core/http/app.js';
import { OPENAPI } from '../../functions/core/http/openapi.js';
import { scheduledRuns } from '../../functions/core/http/schedule-routes.js';
import type { Identity } from '../../functions/core/protocol.js';
import { Scheduler } from '../../functions/core/triggers/schedules.js';
import { ROLES } from '../../translator/definition.js';
import { serviceAccounts } from '../support/service-accounts.js';

const USERS: Record<string, Identity> = Object.fromEntries(
  ROLES.map((role) => [
    role,
    { email: `${role}@example.com`, role, groups: ['staff'], manager: 'manager@example.com' },
  ]),
);
const EXPENSE = readFileSync(
  join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'),
  'utf8',
);

describe('the HTTP API', () => {
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let app: ReturnType<typeof createApp>;

  beforeEach(() => {
    clock = new VirtualClock();
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory(Object.values(USERS)),
      tools: { call: async (r) => (r.tool === 'payments-charge' ? { id: 'ch_1' } : { ok: true }) },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    const workflows = new SqliteWorkflowStore(engine.db);
    const sessions = new Map<string, { identity: Identity; csrf: string }>();
    app = createApp({
      authenticate: async (c) => {
        const cookie = /stepgate_session=([^;]+)/.exec(c.req.header('cookie') ?? '')?.[1];
        const session = cookie === undefined ? undefined : sessions.get(cookie);
        if (session !== undefined) return { identity: session.identity, via: 'session', csrf: session.csrf };
        const who = c.req.header('x-test-user');
        const identity = who === undefined ? undefined : USERS[who];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      login: {
        login: async (email, password) => {
          const identity = Object.values(USERS).find((u) => u.email === email);
          if (identity === undefined || password !== 'right password') return null;
          const token = `t${sessions.size}`;
          sessions.set(token, { identity, csrf: `csrf-${token}` });
          return { token, csrf: `csrf-${token}`, expiresAt: clock.now() + 60_000, identity };
        },
        logout: async (token) => {
          sessions.delete(token);
        },
        cookie: (token, expiresAt) =>
          `stepgate_session=${token}; Expires=${new Date(expiresAt).toUTCString()}; HttpOnly`,
        sessionToken: (c) => /stepgate_session=([^;]+)/.exec(c.req.header('cookie') ?? '')?.[1],
        clientAddress: () => '127.0.0.1',
      },
      inbox: { list: (filter) => [{ to: filter?.to ?? '(everyone)' }] },
      schedules: {
        scheduler: new Scheduler({
          store: new SqliteScheduleStore(engine.db),
          clock,
          ...scheduledRuns({
            workflows,
            host: engine.host,
            lookup: async (email) => Object.values(USERS).find((u) => u.email === email),
          }),
        }),
      },
      chat: { confirmKey: randomBytes(32) },
      admin: {
        directory: new SqliteDirectory(engine.db),
        vault: new SqliteVault(engine.db, new Uint8Array(32)),
        tokens: new SqliteApiTokenStore(engine.db),
        mcp: { servers: {}, registry: { listTools: async () => [] } },
        templates: [],
      },
      users: new InMemoryDirectory([...Object.values(USERS), ...serviceAccounts()]),
      workflows,
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
    });
  });

  const call = async (
    method: string,
    path: string,
    as?: string,
    body?: string,
    type = 'application/json',
  ) => {
    const headers: Record<string, string> = {};
    if (as !== undefined) headers['x-test-user'] = as;
    if (body !== undefined) headers['content-type'] = type;
    const response = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, type: response.headers.get('content-type') ?? '', json, text };
  };

  const install = () => call('PUT', '/api/workflows/expense-approval', 'admin', EXPENSE, 'application/yaml');

  it('answers every API route unauthenticated with a 401 problem, except health and the OpenAPI document', async () => {
    expect((await call('GET', '/api/health')).status).toBe(200);
    expect((await call('GET', '/api/openapi.json')).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/me'],
      ['GET', '/api/workflows'],
      ['GET', '/api/workflows/x'],
      ['PUT', '/api/workflows/x'],
      ['POST', '/api/workflows/validate'],
      ['DELETE', '/api/workflows/x'],
      ['POST', '/api/workflows/x/run'],
      ['GET', '/api/runs'],
      ['GET', '/api/runs/r'],
      ['GET', '/api/runs/r/audit'],
      ['POST', '/api/runs/r/cancel'],
      ['GET', '/api/approvals'],
      ['POST', '/api/approvals/r/s'],
    ] as const) {
      const result = await call(method, path);
      expect(result.status, `${method} ${path}`).toBe(401);
      expect(result.type).toContain('application/problem+json');
      expect(result.json).toMatchObject({ status: 401, title: 'Unauthenticated' });
    }
  });

  it('lets each role do what its rank allows, and nothing more', async () => {
    expect((await install()).status).toBe(201);
    const expected: Record<string, { put: number; del: number; run: number; runs: number }> = {
      viewer: { put: 403, del: 403, run: 403, runs: 403 },
      member: { put: 403, del: 403, run: 201, runs: 200 },
      lead: { put: 200, del: 403, run: 201, runs: 200 },
      manager: { put: 200, del: 204, run: 201, runs: 200 },
      director: { put: 200, del: 204, run: 201, runs: 200 },
      admin: { put: 200, del: 204, run: 201, runs: 200 },
    };
    for (const role of ROLES) {
      const want = expected[role];
      if (want === undefined) throw new Error(role);
      expect((await call('GET', '/api/workflows', role)).status, role).toBe(200);
      expect(
        (await call('PUT', '/api/workflows/expense-approval', role, EXPENSE, 'application/yaml')).status,
        role,
      ).toBe(want.put);
      const run = await call(
        'POST',
        '/api/workflows/expense-approval/run',
        role,
        JSON.stringify({ input: { amount: 20, description: 'Pens' } }),
      );
      expect(run.status, role).toBe(want.run);
      expect((await call('GET', '/api/runs', role)).status, role).toBe(want.runs);
      expect((await call('DELETE', '/api/workflows/expense-approval', role)).status, role).toBe(want.del);
      if (want.del === 204) expect((await install()).status).toBe(201);
    }
  });

  it('refuses an invalid definition with its diagnostics at line and column, storing nothing', async () => {
    const broken = EXPENSE.replace(
      'approvers: ["{{trigger.user.manager}}"]',
      'aprovers: ["{{trigger.user.manager}}"]',
    );
    const result = await call('PUT', '/api/workflows/expense-approval', 'admin', broken, 'application/yaml');
    expect(result.status).toBe(422);
    expect(result.json).toMatchObject({
      status: 422,
      diagnostics: [
        expect.objectContaining({
          severity: 'error',
          message: expect.stringContaining("unknown key 'aprovers'"),
        }),
      ],
    });
    expect((await call('GET', '/api/workflows', 'admin')).json).toEqual([]);
    expect(
      (await call('PUT', '/api/workflows/other-id', 'admin', EXPENSE, 'application/yaml')).json,
    ).toMatchObject({
      status: 422,
      field: 'id',
    });
    expect((await call('PUT', '/api/workflows/x', 'admin', 'x', 'image/png')).status).toBe(415);
  });

  it('validates a definition without saving it, for leads and above', async () => {
    const broken = EXPENSE.replace('approvers:', 'aprovers:');
    const checked = await call('POST', '/api/workflows/validate', 'lead', broken, 'application/yaml');
    expect(checked.status).toBe(200);
    expect(checked.json).toMatchObject({
      valid: false,
      diagnostics: [
        expect.objectContaining({ severity: 'error', message: expect.stringContaining('aprovers') }),
      ],
    });
    expect(
      (await call('POST', '/api/workflows/validate', 'lead', EXPENSE, 'application/yaml')).json,
    ).toMatchObject({ valid: true, id: 'expense-approval' });
    expect(
      (await call('POST', '/api/workflows/validate', 'member', EXPENSE, 'application/yaml')).status,
    ).toBe(403);
    expect((await call('POST', '/api/workflows/validate', 'lead', 'x', 'image/png')).status).toBe(415);
    expect((await call('GET', '/api/workflows', 'admin')).json).toEqual([]);
  });

  it('keeps every version', async () => {
    await install();
    await install();
    const versions = await call('GET', '/api/workflows/expense-approval/versions', 'viewer');
    expect((versions.json as Array<{ version: number }>).map((v) => v.version)).toEqual([1, 2]);
    const first = await call('GET', '/api/workflows/expense-approval/versions/1', 'viewer');
    expect(first.json).toMatchObject({ id: 'expense-approval', version: 1, source: EXPENSE });
    expect((await call('GET', '/api/workflows/expense-approval/versions/3', 'viewer')).status).toBe(404);
  });

  it('checks the run input against the workflow, naming the field, and starts nothing on bad input', async () => {
    await install();
    const bad = await call(
      'POST',
      '/api/workflows/expense-approval/run',
      'member',
      JSON.stringify({ input: { amount: 'lots' } }),
    );
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ field: expect.stringMatching(/^input\./) });
    for (const body of ['[1]', '{"input": {"__proto__": {"admin": true}}}', 'not json']) {
      expect((await call('POST', '/api/workflows/expense-approval/run', 'member', body)).status, body).toBe(
        400,
      );
    }
    expect((await call('GET', '/api/runs', 'admin')).json).toEqual([]);
  });

  it('starts a run, shows it with its audit trail, exports JSON Lines, and hides it from other members', async () => {
    await install();
    const started = await call(
      'POST',
      '/api/workflows/expense-approval/run',
      'member',
      JSON.stringify({ input: { amount: 900, description: 'Laptop' } }),
    );
    const { runId } = started.json as { runId: string };
    await clock.run(engine.host, clock.now() + 1_000);
    const run = await call('GET', `/api/runs/${runId}`, 'member');
    expect(run.status).toBe(200);
    expect(run.json).toMatchObject({
      id: runId,
      status: 'running',
      trigger: { type: 'manual', user: { email: 'member@example.com' } },
    });
    expect((run.json as { audit: Array<{ type: string }> }).audit.map((a) => a.type)).toContain(
      'approval.requested',
    );
    const lines = await call('GET', `/api/runs/${runId}/audit`, 'member');
    expect(lines.type).toContain('application/x-ndjson');
    expect(
      lines.text
        .trim()
        .split('\n')
        .every((l) => (JSON.parse(l) as { runId: string }).runId === runId),
    ).toBe(true);
    expect((await call('GET', `/api/runs/${runId}`, 'viewer')).status).toBe(404);
    expect((await call('GET', `/api/runs/${runId}`, 'lead')).status).toBe(200);
  });

  it("lists the manager's pending approval and takes the decision; a stranger's decision is refused", async () => {
    await install();
    const started = await call(
      'POST',
      '/api/workflows/expense-approval/run',
      'member',
      JSON.stringify({ input: { amount: 900, description: 'Laptop' } }),
    );
    const { runId } = started.json as { runId: string };
    await clock.run(engine.host, clock.now() + 1_000);
    const pending = await call('GET', '/api/approvals', 'manager');
    expect(pending.json).toEqual([expect.objectContaining({ runId, stepId: 'manager_approval', level: 1 })]);
    const stranger = await call(
      'POST',
      `/api/approvals/${runId}/manager_approval`,
      'viewer',
      JSON.stringify({ decision: 'approve' }),
    );
    expect(stranger.status).toBe(409);
    expect(
      (
        await call(
          'POST',
          `/api/approvals/${runId}/manager_approval`,
          'manager',
          JSON.stringify({ decision: 'maybe' }),
        )
      ).json,
    ).toMatchObject({
      status: 422,
      field: 'decision',
    });
    const decided = await call(
      'POST',
      `/api/approvals/${runId}/manager_approval`,
      'manager',
      JSON.stringify({ decision: 'approve', comment: 'ok' }),
    );
    expect(decided.status).toBe(200);
    await clock.run(engine.host, clock.now() + 60_000);
    expect((await call('GET', `/api/runs/${runId}`, 'member')).json).toMatchObject({ status: 'completed' });
  });

  it('cancels a running run for whoever started it or a manager, not for another member', async () => {
    await install();
    const started = await call(
      'POST',
      '/api/workflows/expense-approval/run',
      'lead',
      JSON.stringify({ input: { amount: 900, description: 'Desk' } }),
    );
    const { runId } = started.json as { runId: string };
    await clock.run(engine.host, clock.now() + 1_000);
    expect((await call('POST', `/api/runs/${runId}/cancel`, 'member')).status).toBe(404);
    expect((await call('POST', `/api/runs/${runId}/cancel`, 'lead')).status).toBe(202);
    await clock.run(engine.host, clock.now() + 1_000);
    expect((await call('GET', `/api/runs/${runId}`, 'lead')).json).toMatchObject({ status: 'cancelled' });
    expect((await call('POST', `/api/runs/${runId}/cancel`, 'lead')).status).toBe(409);
  });

  it('logs in with a session cookie, and on a session refuses a state change without its CSRF token', async () => {
    await install();
    const wrong = await call(
      'POST',
      '/api/login',
      undefined,
      JSON.stringify({ email: 'member@example.com', password: 'x' }),
    );
    expect(wrong.status).toBe(401);
    expect(
      (await call('POST', '/api/login', undefined, JSON.stringify({ email: 'member@example.com' }))).json,
    ).toMatchObject({
      status: 422,
      field: 'password',
    });
    const response = await app.request('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'member@example.com', password: 'right password' }),
    });
    expect(response.status).toBe(200);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(response.headers.get('set-cookie')).toContain('HttpOnly');
    const { csrf } = (await response.json()) as { csrf: string };
    const me = await app.request('/api/me', { headers: { cookie } });
    expect(await me.json()).toMatchObject({ email: 'member@example.com', via: 'session', csrf });
    const start = (headers: Record<string, string>) =>
      app.request('/api/workflows/expense-approval/run', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ input: { amount: 10, description: 'Tea' } }),
      });
    expect((await start({})).status).toBe(403);
    expect((await start({ 'x-csrf-token': 'csrf-guess' })).status).toBe(403);
    expect((await start({ 'x-csrf-token': csrf })).status).toBe(201);
    const out = await app.request('/api/logout', {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(204);
    expect((await app.request('/api/me', { headers: { cookie } })).status).toBe(401);
  });

  it('shows each user their own development mail, and admins any', async () => {
    expect((await call('GET', '/api/inbox?to=admin@example.com', 'member')).json).toEqual([
      { to: 'member@example.com' },
    ]);
    expect((await call('GET', '/api/inbox?to=member@example.com', 'admin')).json).toEqual([
      { to: 'member@example.com' },
    ]);
    expect((await call('GET', '/api/inbox', 'admin')).json).toEqual([{ to: '(everyone)' }]);
  });

  it('describes exactly the routes it serves', () => {
    const documented = Object.keys(OPENAPI.paths).map((p) => p.replace(/\{(\w+)\}/g, ':$1'));
    const served = [
      ...new Set(
        app.routes.filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL').map((r) => r.path),
      ),
    ];
    expect(served.sort()).toEqual(documented.sort());
  });

  it('serves no route the access table does not declare, method included', () => {
    const declared = new Set(ROUTES.map((r) => `${r.method} ${r.path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = app.routes
      .filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`);
    expect(served.filter((route) => !declared.has(route))).toEqual([]);
    expect([...declared].filter((route) => !served.includes(route))).toEqual([]);
  });
});
