// The runs routes over Hono's fetch interface: the per-step run view, the run list's filters (and the 400s
// naming a bad one), the audit export redacted, and the live run view as Server-Sent Events — an update
// when an approval is decided, a heartbeat, the end once the run ends or the client goes away — all under
// the rule that members see only their own runs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { createApp } from '../../functions/core/http/app.js';
import { ActivityError } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import type { RunSummary, RunView } from '../../functions/core/run-view.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

const user = (name: string, role: string): Identity => ({
  email: `${name}@example.com`,
  role,
  groups: ['staff'],
  manager: 'manager@example.com',
});
const USERS: Record<string, Identity> = {
  member: user('member', 'member'),
  member2: user('member2', 'member'),
  lead: user('lead', 'lead'),
  manager: user('manager', 'manager'),
  director: user('director', 'director'),
  admin: user('admin', 'admin'),
  viewer: user('viewer', 'viewer'),
};

const PURCHASE = `version: 1
id: purchase
name: Purchase
triggers: [{ type: manual, minRole: member }]
inputs:
  type: object
  required: [amount]
  properties:
    amount: { type: number }
    apiKey: { type: string }
steps:
  - id: quote
    type: tool
    tool: quote
    args: { amount: "{{amount}}", apiKey: "{{apiKey}}" }
  - id: big
    type: condition
    if: amount > 100
    then: manager_ok
    else: buy
  - id: manager_ok
    type: approval
    approvers: [manager@example.com]
    message: "Buy for {{amount}}?"
  - id: director_ok
    type: approval
    approvers: [director@example.com]
  - id: buy
    type: tool
    tool: buy
`;

/** A path decided by an approval (approved, rejected, timed out) or by a handled error. */
const OUTCOMES = `version: 1
id: outcomes
name: Outcomes
triggers: [{ type: manual, minRole: member }]
inputs: { type: object, properties: { mode: { type: string } } }
steps:
  - id: route
    type: condition
    if: mode == 'fail'
    then: buy
    else: ask
  - id: buy
    type: tool
    tool: explode
    onError: tell
    next: end
  - id: ask
    type: approval
    approvers: [manager@example.com]
    timeout: 1h
    onReject: tell
    onTimeout: tell
    next: end
  - id: tell
    type: notify
    channel: email
    to: [member@example.com]
    message: not bought
`;

describe('the runs routes', () => {
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let app: ReturnType<typeof createApp>;
  let deps: Parameters<typeof createApp>[0];
  let auditReads: number;

  beforeEach(() => {
    clock = new VirtualClock(T0);
    auditReads = 0;
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory(Object.values(USERS)),
      tools: {
        call: async (r) => {
          if (r.tool === 'explode') throw new ActivityError('Shop.Closed', 'the shop is closed', false);
          return r.tool === 'quote' ? { price: 42, secretCode: 'zz-top-secret' } : { bought: true };
        },
      },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    const host = engine.host;
    deps = {
      authenticate: async (c) => {
        const identity = USERS[c.req.header('x-test-user') ?? ''];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      workflows: new SqliteWorkflowStore(engine.db),
      host: {
        startRun: (start) => host.startRun(start),
        cancelRun: (runId, by) => host.cancelRun(runId, by),
        getRun: (runId) => host.getRun(runId),
        listRuns: (filter) => host.listRuns(filter),
        audit: async (runId) => {
          auditReads++;
          return await host.audit(runId);
        },
      },
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
      runEvents: { pollMs: 5, heartbeatMs: 40 },
    };
    app = createApp(deps);
  });

  afterEach(async () => {
    await engine.host.close();
    engine.db.close();
  });

  const call = async (
    method: string,
    path: string,
    as: string,
    body?: unknown,
    type = 'application/json',
  ) => {
    const response = await app.request(path, {
      method,
      headers: {
        'x-test-user': as,
        ...(body === undefined ? {} : { 'content-type': type }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      disposition: response.headers.get('content-disposition'),
      json,
      text,
    };
  };

  const install = async (source = PURCHASE) => {
    const saved = await call('PUT', '/api/workflows/purchase', 'admin', source, 'application/yaml');
    expect(saved.status, saved.text).toBeLessThan(300);
  };
  const settle = (ms?: number) =>
    clock.run(engine.host, ms === undefined ? Number.POSITIVE_INFINITY : clock.now() + ms);
  const start = async (as: string, input: Record<string, unknown>) => {
    const started = await call('POST', '/api/workflows/purchase/run', as, { input });
    expect(started.status).toBe(201);
    await settle(0);
    return (started.json as { runId: string }).runId;
  };

  describe('GET /api/runs/:id', () => {
    it('returns the run view: trigger, every step in order with its state, attempts and approvals', async () => {
      await install();
      const runId = await start('member', { amount: 500, apiKey: 'k-123' });
      const answer = await call('GET', `/api/runs/${runId}`, 'member');
      expect(answer.status).toBe(200);
      const view = answer.json as RunView & { audit: unknown[] };
      expect(view).toMatchObject({
        id: runId,
        workflowId: 'purchase',
        workflowVersion: 1,
        status: 'running',
        trigger: { kind: 'manual', type: 'manual', user: { email: 'member@example.com', role: 'member' } },
        createdAt: T0,
        endedAt: null,
        durationMs: null,
        input: { amount: 500, apiKey: '[redacted]' },
        error: null,
      });
      expect(view.steps.map((s) => [s.id, s.type, s.state])).toEqual([
        ['quote', 'tool', 'done'],
        ['big', 'condition', 'done'],
        ['manager_ok', 'approval', 'waiting'],
        ['director_ok', 'approval', 'pending'],
        ['buy', 'tool', 'pending'],
      ]);
      expect(view.steps[0]?.attempts).toEqual([
        {
          attempt: 1,
          visit: 1,
          startedAt: T0,
          endedAt: T0,
          input: { amount: 500, apiKey: '[redacted]' },
          output: { price: 42, secretCode: '[redacted]' },
        },
      ]);
      expect(view.steps[2]?.approval).toEqual({
        requests: [{ approver: 'manager@example.com', level: 1, visit: 1, at: T0, deadline: null }],
        // What the manager was shown, the secret-named input and result keys redacted as in the view.
        shown: [
          {
            level: 1,
            visit: 1,
            at: T0,
            message: 'Buy for 500?',
            context: {
              details: [],
              inputs: [
                { label: 'amount', value: 500 },
                { label: 'apiKey', value: '[redacted]' },
              ],
              results: [{ label: 'quote', value: { price: 42, secretCode: '[redacted]' } }],
            },
          },
        ],
        decisions: [],
        refused: [],
      });
      expect(view.audit).toEqual(view.history);
      expect(answer.text).not.toContain('k-123');
      expect(answer.text).not.toContain('zz-top-secret');
    });

    it('keeps the version a run started from after the workflow changes', async () => {
      await install();
      const runId = await start('member', { amount: 5 });
      await settle(1_000);
      await install(PURCHASE.replace('name: Purchase', 'name: Purchase v2'));
      const view = (await call('GET', `/api/runs/${runId}`, 'member')).json as RunView;
      expect(view.workflowVersion).toBe(1);
      expect(view.steps.map((s) => s.state)).toEqual(['done', 'done', 'skipped', 'skipped', 'done']);
    });

    it('hides a run from another member, and shows it to a lead', async () => {
      await install();
      const runId = await start('member', { amount: 500 });
      expect((await call('GET', `/api/runs/${runId}`, 'member2')).status).toBe(404);
      expect((await call('GET', `/api/runs/${runId}/events`, 'member2')).status).toBe(404);
      expect((await call('GET', `/api/runs/${runId}/audit`, 'member2')).status).toBe(404);
      expect((await call('GET', `/api/runs/${runId}`, 'lead')).status).toBe(200);
    });
  });

  it('exports the audit trail as JSON Lines with the secrets redacted', async () => {
    await install();
    const runId = await start('member', { amount: 5, apiKey: 'k-123' });
    const lines = await call('GET', `/api/runs/${runId}/audit`, 'member');
    expect(lines.type).toContain('application/x-ndjson');
    expect(lines.disposition).toBe(`attachment; filename="run-${runId}-audit.jsonl"`);
    const entries = lines.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { runId: string; type: string; data: Record<string, unknown> });
    expect(entries.every((e) => e.runId === runId)).toBe(true);
    expect(entries[0]).toMatchObject({
      type: 'run.started',
      data: { input: { amount: 5, apiKey: '[redacted]' } },
    });
    expect(lines.text).not.toContain('k-123');
    expect(lines.text).not.toContain('zz-top-secret');
  });

  describe('GET /api/runs', () => {
    /** Three runs a second apart: member's (completes), member2's (waits for approval), lead's (completes). */
    const threeRuns = async () => {
      await install();
      const r1 = await start('member', { amount: 50 });
      await settle(1_000);
      const r2 = await start('member2', { amount: 500 });
      await settle(1_000);
      const r3 = await start('lead', { amount: 10 });
      return [r1, r2, r3] as const;
    };
    const ids = async (query: string, as = 'admin') => {
      const answer = await call('GET', `/api/runs${query}`, as);
      expect(answer.status, query).toBe(200);
      return (answer.json as RunSummary[]).map((r) => r.id);
    };

    it('lists runs newest first, each with its trigger kind and user and its duration', async () => {
      const [r1, r2, r3] = await threeRuns();
      const list = (await call('GET', '/api/runs', 'admin')).json as RunSummary[];
      expect(list.map((r) => r.id)).toEqual([r3, r2, r1]);
      expect(list[2]).toEqual({
        id: r1,
        workflowId: 'purchase',
        status: 'completed',
        trigger: { kind: 'manual', type: 'manual', user: { email: 'member@example.com', role: 'member' } },
        createdAt: T0,
        endedAt: T0,
        durationMs: 0,
      });
      expect(list[1]).toMatchObject({
        status: 'running',
        createdAt: T0 + 1_000,
        endedAt: null,
        durationMs: null,
      });
    });

    it('gives each completed run what decided its path: approved, rejected, timed out, error handled', async () => {
      const saved = await call('PUT', '/api/workflows/outcomes', 'admin', OUTCOMES, 'application/yaml');
      expect(saved.status, saved.text).toBeLessThan(300);
      const begin = async (mode: string) => {
        const started = await call('POST', '/api/workflows/outcomes/run', 'member', { input: { mode } });
        expect(started.status, started.text).toBe(201);
        await settle(0);
        return (started.json as { runId: string }).runId;
      };
      const decide = (runId: string, decision: 'approve' | 'reject') =>
        engine.approvals.decide({
          runId,
          stepId: 'ask',
          by: 'manager@example.com',
          decision,
          channel: 'api',
        });
      const approved = await begin('ask');
      const rejected = await begin('ask');
      const handled = await begin('fail');
      await decide(approved, 'approve');
      await decide(rejected, 'reject');
      await settle(1_000);
      const waiting = await begin('ask');
      await settle(1_000);
      const outcomes = async () =>
        Object.fromEntries(
          ((await call('GET', '/api/runs', 'member')).json as RunSummary[]).map((r) => [
            r.id,
            [r.status, r.outcome],
          ]),
        );
      expect(await outcomes()).toEqual({
        [approved]: ['completed', { kind: 'approved', step: 'ask', by: 'manager@example.com' }],
        [rejected]: ['completed', { kind: 'rejected', step: 'ask', by: 'manager@example.com' }],
        [handled]: ['completed', { kind: 'error-handled', step: 'buy' }],
        [waiting]: ['running', undefined],
      });

      await settle(); // the last run's approval times out (onTimeout: tell)
      expect((await outcomes())[waiting]).toEqual(['completed', { kind: 'timed-out', step: 'ask' }]);
      // The outcome is in each run's record, written when the run ended: the list reads no trail at all.
      expect(auditReads).toBe(0);
      const view = (await call('GET', `/api/runs/${rejected}`, 'member')).json as RunView;
      expect(view.outcome).toEqual({ kind: 'rejected', step: 'ask', by: 'manager@example.com' });

      // A completed run nothing decided (no approval, no handled error) has no outcome.
      await install();
      const plain = await start('member', { amount: 5 });
      const list = (await call('GET', '/api/runs?workflowId=purchase', 'member')).json as RunSummary[];
      expect(list.find((r) => r.id === plain)).not.toHaveProperty('outcome');
    });

    it('filters by workflow, status, who triggered it, creation time and count', async () => {
      const [r1, r2, r3] = await threeRuns();
      expect(await ids('?workflowId=purchase')).toEqual([r3, r2, r1]);
      expect(await ids('?workflowId=other')).toEqual([]);
      expect(await ids('?status=running')).toEqual([r2]);
      expect(await ids('?status=completed')).toEqual([r3, r1]);
      expect(await ids('?triggeredBy=MEMBER@example.com')).toEqual([r1]);
      expect(await ids(`?from=${T0 + 1_000}`)).toEqual([r3, r2]);
      expect(await ids(`?to=${T0 + 1_000}`)).toEqual([r1]);
      expect(await ids(`?from=${T0 + 1_000}&to=${T0 + 2_000}`)).toEqual([r2]);
      expect(await ids('?limit=2')).toEqual([r3, r2]);
      expect(await ids('?status=completed&limit=1')).toEqual([r3]);
      expect(await ids(`?triggeredBy=lead@example.com&from=${T0}&limit=1000`)).toEqual([r3]);
    });

    it('shows a member only their own runs, whatever the filters', async () => {
      const [r1] = await threeRuns();
      expect(await ids('', 'member')).toEqual([r1]);
      expect(await ids('?triggeredBy=member2@example.com', 'member')).toEqual([]);
      expect(await ids('?limit=1', 'member')).toEqual([r1]);
      expect((await call('GET', '/api/runs', 'viewer')).status).toBe(403);
    });

    it('answers a bad filter with a 400 problem naming the field', async () => {
      await install();
      for (const [query, field] of [
        ['status=done', 'status'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=ten', 'limit'],
        ['limit=2.5', 'limit'],
        ['from=-1', 'from'],
        ['from=yesterday', 'from'],
        ['to=1e12', 'to'],
        [`from=${T0}&to=${T0 - 1}`, 'to'],
        ['triggeredBy=member', 'triggeredBy'],
      ] as const) {
        const answer = await call('GET', `/api/runs?${query}`, 'admin');
        expect(answer.status, query).toBe(400);
        expect(answer.type, query).toContain('application/problem+json');
        expect(answer.json, query).toMatchObject({ status: 400, field });
      }
    });
  });

  describe('GET /api/runs/:id/events', () => {
    /** Reads Server-Sent Events off a response: `next` waits for one (a comment counts as `comment`). */
    const events = (response: Response) => {
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      const next = async (): Promise<{ event: string; id?: string; data?: string } | 'end' | 'comment'> => {
        for (;;) {
          const cut = buffer.indexOf('\n\n');
          if (cut !== -1) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            if (block.startsWith(':')) return 'comment';
            const field = (name: string) =>
              block
                .split('\n')
                .filter((l) => l.startsWith(`${name}: `))
                .map((l) => l.slice(name.length + 2))
                .join('\n') || undefined;
            return { event: field('event') ?? 'message', id: field('id'), data: field('data') };
          }
          const { done, value } = await reader.read();
          if (done) return 'end';
          buffer += decoder.decode(value, { stream: true });
        }
      };
      /** The next `run` event's view, skipping heartbeats. */
      const nextView = async (): Promise<RunView | 'end'> => {
        for (;;) {
          const event = await next();
          if (event === 'end') return 'end';
          if (event !== 'comment' && event.event === 'run') return JSON.parse(event.data ?? '') as RunView;
        }
      };
      return { next, nextView, cancel: () => reader.cancel() };
    };
    const open = async (runId: string, as = 'member') => {
      const response = await app.request(`/api/runs/${runId}/events`, { headers: { 'x-test-user': as } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      return events(response);
    };

    it('sends the view at once, again when an approval is decided, and ends after the run completes', async () => {
      await install();
      const runId = await start('member', { amount: 500 });
      const stream = await open(runId);

      const first = await stream.nextView();
      if (first === 'end') throw new Error('the stream ended before its first event');
      expect(first.steps.map((s) => s.state)).toEqual(['done', 'done', 'waiting', 'pending', 'pending']);

      const decided = await call('POST', `/api/approvals/${runId}/manager_ok`, 'manager', {
        decision: 'approve',
        comment: 'go',
      });
      expect(decided.status).toBe(200);
      await settle(0);
      let update = await stream.nextView();
      while (update !== 'end' && update.steps[3]?.state !== 'waiting') update = await stream.nextView();
      if (update === 'end') throw new Error('the stream ended before the decision showed');
      expect(update.status).toBe('running');
      expect(update.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'waiting', 'pending']);
      expect(update.steps[2]?.approval?.decisions).toEqual([
        { by: 'manager@example.com', decision: 'approve', comment: 'go', channel: 'api', level: 1, at: T0 },
      ]);

      await call('POST', `/api/approvals/${runId}/director_ok`, 'director', { decision: 'approve' });
      await settle();
      let last = await stream.nextView();
      while (last !== 'end' && last.status === 'running') last = await stream.nextView();
      if (last === 'end') throw new Error('the stream ended without the final view');
      expect(last.status).toBe('completed');
      expect(last.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done', 'done']);
      expect(await stream.next()).toBe('end');
    });

    it('sends one view of a run that has ended, then ends', async () => {
      await install();
      const runId = await start('member', { amount: 5 });
      const stream = await open(runId);
      const only = await stream.nextView();
      expect(only === 'end' ? only : only.status).toBe('completed');
      expect(await stream.next()).toBe('end');
    });

    it('behind a buffering proxy (once), sends the running run’s view with when to come back, then ends', async () => {
      await install();
      const runId = await start('member', { amount: 500 });
      const once = createApp({ ...deps, runEvents: { once: true, pollMs: 2_000 } });
      const response = await once.request(`/api/runs/${runId}/events`, {
        headers: { 'x-test-user': 'member' },
      });
      const text = await response.text();
      expect(text).toMatch(/^event: run\n/m);
      expect(text).toMatch(/^retry: 2000$/m);
      expect(JSON.parse(/^data: (.*)$/m.exec(text)?.[1] ?? '{}')).toMatchObject({
        id: runId,
        status: 'running',
      });
    });

    it('sends a comment heartbeat while nothing changes, and stops reading the run once the client goes away', async () => {
      await install();
      const runId = await start('member', { amount: 500 });
      const stream = await open(runId);
      expect(await stream.nextView()).not.toBe('end');
      expect(await stream.next()).toBe('comment');

      await stream.cancel();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const reads = auditReads;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(auditReads).toBe(reads);
    });
  });
});

describe('GET /api/runs/:id/events with the host’s change notifications', () => {
  it('sends an update as soon as the audit grows, without waiting for the poll', async () => {
    const clock = new VirtualClock(T0);
    const listeners = new Map<string, Set<() => void>>();
    const engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory(Object.values(USERS)),
      tools: { call: async () => ({ price: 1 }) },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
      onAudit: (runId) => {
        for (const changed of listeners.get(runId) ?? []) changed();
      },
    });
    const app = createApp({
      authenticate: async (c) => {
        const identity = USERS[c.req.header('x-test-user') ?? ''];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      workflows: new SqliteWorkflowStore(engine.db),
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
      // A poll far longer than the test: only a notification can bring the update in time.
      runEvents: {
        pollMs: 600_000,
        heartbeatMs: 600_000,
        subscribe: (runId, changed) => {
          const set = listeners.get(runId) ?? new Set();
          listeners.set(runId, set.add(changed));
          return () => set.delete(changed);
        },
      },
    });
    const as = (who: string, body?: unknown, type = 'application/json') => ({
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'x-test-user': who, 'content-type': type },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    try {
      expect(
        (
          await app.request('/api/workflows/purchase', {
            ...as('admin', PURCHASE, 'application/yaml'),
            method: 'PUT',
          })
        ).status,
      ).toBe(201);
      const started = await app.request(
        '/api/workflows/purchase/run',
        as('member', { input: { amount: 500 } }),
      );
      const { runId } = (await started.json()) as { runId: string };
      while (
        (await engine.host.getRun(runId))?.status === 'running' &&
        !(await engine.store.openFor(runId, 'manager_ok'))
      )
        await new Promise((resolve) => setTimeout(resolve, 5));
      const response = await app.request(`/api/runs/${runId}/events`, as('member'));
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = '';
      const views = async (count: number) => {
        while (text.split('\nevent: run').length - 1 + (text.startsWith('event: run') ? 1 : 0) < count) {
          const { done, value } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      };
      await views(1);
      await app.request(`/api/approvals/${runId}/manager_ok`, as('manager', { decision: 'approve' }));
      await views(2);
      expect(text).toContain('"decision":"approve"');
      expect(listeners.get(runId)?.size).toBe(1);
      await reader.cancel();
      // The stream unsubscribes once the client has gone (it is woken by the next change).
      for (const changed of listeners.get(runId) ?? []) changed();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(listeners.get(runId)?.size).toBe(0);
    } finally {
      await engine.host.close();
      engine.db.close();
    }
  });
});
