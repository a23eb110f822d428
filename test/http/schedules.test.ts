// The schedule routes (functions/core/http/schedule-routes.ts) mounted on the app after createApp: behind
// its authentication, each role × scope as the Scheduler's rules allow, problems naming the field, a fire
// on a virtual clock starting a real run as the schedule's identity, who sees which schedules, disabling
// and deleting.
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { createApp } from '../../functions/core/http/app.js';
import { mountSchedules, SCHEDULE_PATHS, scheduledRuns } from '../../functions/core/http/schedule-routes.js';
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
// A second member, to see that one member's schedules are not another's.
USERS.member2 = { email: 'member2@example.com', role: 'member', groups: ['staff'], manager: null };

const REPORT = `
version: 1
id: team-report
inputs:
  type: object
  required: [team]
  properties:
    team: { type: string, minLength: 1 }
    limit: { type: integer, minimum: 1, default: 10 }
triggers:
  - type: manual
    minRole: member
steps:
  - id: build
    type: tool
    tool: reports-build
    args: { team: "{{team}}", limit: "{{limit}}", by: "{{trigger.user.email}}" }
`;
const PAYROLL = `
version: 1
id: payroll
triggers:
  - type: manual
    minRole: manager
steps:
  - id: pay
    type: tool
    tool: payroll-run
`;
const HOOK_ONLY = `
version: 1
id: hook-only
triggers:
  - type: webhook
    runAs: ops-bot@example.com
steps:
  - id: go
    type: tool
    tool: noop
`;

describe('the schedule routes', () => {
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let scheduler: Scheduler;
  let app: ReturnType<typeof createApp>;
  let toolCalls: Array<{ tool: string; args: unknown; identity: Identity }>;

  beforeEach(async () => {
    clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30)); // Monday 5 January 2026
    toolCalls = [];
    const directory = new InMemoryDirectory(Object.values(USERS));
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory,
      tools: {
        call: async (r) => {
          toolCalls.push({ tool: r.tool, args: r.args, identity: r.identity });
          return { ok: true };
        },
      },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    const workflows = new SqliteWorkflowStore(engine.db);
    app = createApp({
      authenticate: async (c) => {
        const who = c.req.header('x-test-user');
        const identity = who === undefined ? undefined : USERS[who];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      users: new InMemoryDirectory([...Object.values(USERS), ...serviceAccounts()]),
      workflows,
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
    });
    scheduler = new Scheduler({
      store: new SqliteScheduleStore(engine.db),
      clock,
      ...scheduledRuns({ workflows, host: engine.host, lookup: (email) => directory.user(email) }),
    });
    mountSchedules(app, { scheduler, workflows });
    await scheduler.start();
    for (const [id, source] of [
      ['team-report', REPORT],
      ['payroll', PAYROLL],
      ['hook-only', HOOK_ONLY],
    ] as const)
      expect((await call('PUT', `/api/workflows/${id}`, 'admin', source, 'application/yaml')).status).toBe(
        201,
      );
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
  const create = (as: string, body: Record<string, unknown>) =>
    call('POST', '/api/schedules', as, JSON.stringify(body));
  const daily = (extra: Record<string, unknown> = {}) => ({
    workflowId: 'team-report',
    preset: 'daily-9am',
    input: { team: 'core' },
    ...extra,
  });

  it('sits behind the app authentication: every route unauthenticated is a 401 problem', async () => {
    for (const [method, path] of [
      ['GET', '/api/schedules'],
      ['POST', '/api/schedules'],
      ['GET', '/api/schedules/x'],
      ['PATCH', '/api/schedules/x'],
      ['DELETE', '/api/schedules/x'],
    ] as const) {
      const result = await call(
        method,
        path,
        undefined,
        method === 'POST' ? JSON.stringify(daily()) : undefined,
      );
      expect(result.status, `${method} ${path}`).toBe(401);
      expect(result.type).toContain('application/problem+json');
    }
    expect(await scheduler.list()).toEqual([]);
  });

  it('lets each role create the scopes its rank allows', async () => {
    const expected: Record<string, { user: number; group: number; org: number }> = {
      viewer: { user: 403, group: 403, org: 403 },
      member: { user: 201, group: 403, org: 403 },
      lead: { user: 201, group: 201, org: 403 },
      manager: { user: 201, group: 201, org: 201 },
      director: { user: 201, group: 201, org: 201 },
      admin: { user: 201, group: 201, org: 201 },
    };
    for (const role of ROLES) {
      const want = expected[role];
      if (want === undefined) throw new Error(role);
      const user = await create(role, daily({ scope: 'user' }));
      expect(user.status, `${role} user`).toBe(want.user);
      const group = await create(role, daily({ scope: 'group', group: 'staff' }));
      expect(group.status, `${role} group`).toBe(want.group);
      const org = await create(role, daily({ scope: 'org' }));
      expect(org.status, `${role} org`).toBe(want.org);
      // A viewer is refused by the route's role (the access table); the others by the scope rules.
      for (const result of [user, group, org])
        if (result.status === 403)
          expect(result.json).toMatchObject(
            role === 'viewer'
              ? { status: 403, detail: expect.stringContaining('member') }
              : { status: 403, field: 'scope' },
          );
    }
    const lead = await create('lead', daily({ scope: 'group', group: 'sales' }));
    expect(lead.status).toBe(403);
    expect(lead.json).toMatchObject({ field: 'scope', detail: expect.stringContaining("not in 'sales'") });
    const created = await create(
      'manager',
      daily({ scope: 'group', group: 'staff', timezone: 'Europe/Paris' }),
    );
    expect(created.json).toMatchObject({
      workflowId: 'team-report',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
      scope: 'group',
      scopeRef: 'staff',
      createdBy: 'manager@example.com',
      input: { team: 'core', limit: 10 },
      enabled: true,
      nextFireAt: Date.UTC(2026, 0, 6, 8),
    });
  });

  it('answers invalid fields with problems naming the field', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [daily({ preset: undefined, cron: '61 * * * *' }), 422, 'cron'],
      [daily({ preset: undefined, cron: '0 9 * *' }), 422, 'cron'],
      [daily({ preset: undefined }), 422, 'cron'],
      [daily({ preset: 'fortnightly' }), 422, 'preset'],
      [daily({ timezone: 'Mars/Olympus' }), 422, 'timezone'],
      [daily({ timezone: 7 }), 422, 'timezone'],
      [daily({ scope: 'planet' }), 422, 'scope'],
      [daily({ scope: 'group' }), 422, 'group'],
      [daily({ group: 'staff' }), 422, 'group'],
      [daily({ workflowId: 'no-such-workflow' }), 422, 'workflowId'],
      [daily({ workflowId: undefined }), 422, 'workflowId'],
      [daily({ workflowId: 'hook-only' }), 422, 'workflowId'],
      [daily({ workflowId: 'payroll', input: {} }), 403, 'workflowId'],
      [daily({ input: {} }), 422, 'input.team'],
      [daily({ input: { team: 'core', limit: 0 } }), 422, 'input.limit'],
      [daily({ input: [1] }), 422, 'input'],
      [daily({ colour: 'blue' }), 422, 'colour'],
    ];
    for (const [body, status, field] of cases) {
      const result = await create('member', body);
      expect(result.status, JSON.stringify(body)).toBe(status);
      expect(result.type).toContain('application/problem+json');
      expect(result.json, JSON.stringify(body)).toMatchObject({ status, field });
    }
    expect(
      (await create('member', daily({ input: { team: 'core' }, cron: '0 9 * * *' }))).json,
    ).toMatchObject({
      field: 'cron',
      detail: "a schedule needs exactly one of 'preset' or 'cron'",
    });
    expect((await create('manager', daily({ workflowId: 'payroll', input: {} }))).status).toBe(201);
    expect((await call('POST', '/api/schedules', 'member', 'not json')).status).toBe(400);
    expect(await scheduler.list()).toHaveLength(1);
  });

  it('fires on the virtual clock and starts runs as the schedule identity', async () => {
    const mine = await create('member', daily({ preset: 'hourly' }));
    const group = await create('lead', daily({ preset: 'hourly', scope: 'group', group: 'staff' }));
    const org = await create('manager', daily({ preset: 'hourly', scope: 'org', input: { team: 'all' } }));
    expect([mine.status, group.status, org.status]).toEqual([201, 201, 201]);
    await clock.run(
      { pending: () => scheduler.pending() + engine.host.pending() },
      Date.UTC(2026, 0, 5, 13, 30),
    );
    await engine.host.idle();
    const runs = await engine.host.listRuns({ workflowId: 'team-report' });
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.status === 'completed')).toBe(true);
    expect(runs.map((r) => [r.trigger.type, r.trigger.user.email, r.trigger.user.role]).sort()).toEqual([
      ['schedule', 'group:staff', 'lead'],
      ['schedule', 'member@example.com', 'member'],
      ['schedule', 'org', 'manager'],
    ]);
    expect(toolCalls.map((t) => [t.identity.email, t.args]).sort()).toEqual([
      ['group:staff', { team: 'core', limit: 10, by: 'group:staff' }],
      ['member@example.com', { team: 'core', limit: 10, by: 'member@example.com' }],
      ['org', { team: 'all', limit: 10, by: 'org' }],
    ]);
    const after = (await call('GET', `/api/schedules/${(mine.json as { id: string }).id}`, 'member')).json;
    expect(after).toMatchObject({
      lastFiredAt: Date.UTC(2026, 0, 5, 13),
      nextFireAt: Date.UTC(2026, 0, 5, 14),
    });
    scheduler.stop();
  });

  it("shows members their own schedules, admins everyone's, viewers none", async () => {
    const a = (await create('member', daily())).json as { id: string };
    const b = (await create('member2', daily())).json as { id: string };
    const c = (await create('lead', daily({ scope: 'group', group: 'staff' }))).json as { id: string };
    const ids = async (as: string, query = '') =>
      ((await call('GET', `/api/schedules${query}`, as)).json as Array<{ id: string }>).map((s) => s.id);
    expect(await ids('member')).toEqual([a.id]);
    expect(await ids('member2')).toEqual([b.id]);
    expect(await ids('lead')).toEqual([c.id]);
    expect(await ids('director')).toEqual([]);
    expect((await ids('admin')).sort()).toEqual([a.id, b.id, c.id].sort());
    expect(await ids('admin', '?workflowId=payroll')).toEqual([]);
    expect((await call('GET', '/api/schedules', 'viewer')).status).toBe(403);
    expect((await call('GET', `/api/schedules/${a.id}`, 'member')).status).toBe(200);
    expect((await call('GET', `/api/schedules/${a.id}`, 'admin')).status).toBe(200);
    expect((await call('GET', `/api/schedules/${a.id}`, 'member2')).status).toBe(404);
    expect((await call('GET', `/api/schedules/${a.id}`, 'director')).status).toBe(404);
    expect((await call('GET', '/api/schedules/nope', 'admin')).json).toMatchObject({ status: 404 });
  });

  it('disables and re-enables a schedule; a disabled one does not fire', async () => {
    const s = (await create('member', daily({ preset: 'hourly' }))).json as { id: string };
    const patch = (as: string, body: unknown) =>
      call('PATCH', `/api/schedules/${s.id}`, as, JSON.stringify(body));
    expect((await patch('member', { enabled: 'no' })).json).toMatchObject({ status: 422, field: 'enabled' });
    expect((await patch('member', { enabled: false, cron: '* * * * *' })).json).toMatchObject({
      status: 422,
      field: 'cron',
    });
    expect((await patch('member2', { enabled: false })).status).toBe(404);
    const off = await patch('member', { enabled: false });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ enabled: false, nextFireAt: null });
    const pending = { pending: () => scheduler.pending() + engine.host.pending() };
    await clock.run(pending, Date.UTC(2026, 0, 5, 15, 30));
    expect(await engine.host.listRuns()).toHaveLength(0);
    const on = await patch('admin', { enabled: true });
    expect(on.json).toMatchObject({ enabled: true, nextFireAt: Date.UTC(2026, 0, 5, 16) });
    await clock.run(pending, Date.UTC(2026, 0, 5, 16, 30));
    await engine.host.idle();
    expect(await engine.host.listRuns()).toHaveLength(1);
    scheduler.stop();
  });

  it('deletes a schedule only for its creator or an admin', async () => {
    const s = (await create('member', daily())).json as { id: string };
    expect((await call('DELETE', `/api/schedules/${s.id}`, 'member2')).status).toBe(404);
    expect((await call('DELETE', `/api/schedules/${s.id}`, 'director')).status).toBe(404);
    expect(await scheduler.get(s.id)).toBeDefined();
    expect((await call('DELETE', `/api/schedules/${s.id}`, 'member')).status).toBe(204);
    expect(await scheduler.get(s.id)).toBeUndefined();
    expect((await call('DELETE', `/api/schedules/${s.id}`, 'member')).status).toBe(404);
    const t = (await create('member', daily())).json as { id: string };
    expect((await call('DELETE', `/api/schedules/${t.id}`, 'admin')).status).toBe(204);
    expect(clock.pendingTimers).toBe(0);
  });

  it('skips a fire when the creator may no longer start the workflow', async () => {
    const s = (await create('manager', daily({ workflowId: 'payroll', preset: 'hourly', input: {} })))
      .json as {
      id: string;
    };
    // The workflow now needs a director to start it by hand.
    const stricter = PAYROLL.replace('minRole: manager', 'minRole: director');
    expect((await call('PUT', '/api/workflows/payroll', 'admin', stricter, 'application/yaml')).status).toBe(
      200,
    );
    await clock.run(
      { pending: () => scheduler.pending() + engine.host.pending() },
      Date.UTC(2026, 0, 5, 13, 30),
    );
    expect(await engine.host.listRuns()).toHaveLength(0);
    const store = new SqliteScheduleStore(engine.db);
    expect((await store.fires(s.id)).map((f) => [f.status, f.reason])).toEqual([
      ['skipped', expect.stringContaining('needs the role director')],
    ]);
    scheduler.stop();
  });

  it('describes every route it serves in SCHEDULE_PATHS', () => {
    const documented = Object.keys(SCHEDULE_PATHS).map((p) => p.replace(/\{(\w+)\}/g, ':$1'));
    const served = [
      ...new Set(app.routes.filter((r) => r.path.startsWith('/api/schedules')).map((r) => r.path)),
    ];
    expect(served.sort()).toEqual(documented.sort());
    for (const route of app.routes.filter((r) => r.path.startsWith('/api/schedules'))) {
      const item = SCHEDULE_PATHS[route.path.replace(/:(\w+)/g, '{$1}') as keyof typeof SCHEDULE_PATHS];
      expect(Object.keys(item), `${route.method} ${route.path}`).toContain(route.method.toLowerCase());
    }
  });
});
