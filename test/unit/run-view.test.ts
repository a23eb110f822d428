// The run view over real audit trails: workflows run on the embedded engine with the real tool pipeline
// (lookup, identity, credentials from a vault, policy) in front of a scripted registry, then read back as
// the dashboard sees them — step states, attempts with policy and credential levels, approvals with their
// channel, skipped branches, parallels, failures — with every secret redacted.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteRateLimiter } from '../../adapters/local/rate-limiter.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { ActivityError, type ToolRegistry } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import {
  REDACTED,
  type RunView,
  redact,
  runOutcome,
  runView,
  type StepView,
} from '../../functions/core/run-view.js';
import { ToolPipeline } from '../../functions/core/tool-pipeline.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { compile, T0 } from '../engine/harness.js';

const ann: Identity = {
  email: 'ann@example.com',
  role: 'member',
  groups: ['ops'],
  manager: 'bob@example.com',
  name: 'Ann',
};
const vic: Identity = { email: 'vic@example.com', role: 'viewer', groups: ['ops'], manager: null };
const bob: Identity = { email: 'bob@example.com', role: 'manager', groups: ['finance'], manager: null };

/** How a scripted tool answers its n-th call (throw to fail it). */
type Answer = (call: number) => unknown;

interface World {
  engine: EmbeddedEngine;
  clock: VirtualClock;
  start(ir: IrWorkflow, input?: Record<string, string | number>, user?: Identity): Promise<string>;
  /** Runs virtual time on (up to `ms` after now, or until nothing is left). */
  settle(ms?: number): Promise<void>;
  view(runId: string, ir?: IrWorkflow): Promise<RunView>;
}

const worlds: World[] = [];

afterEach(() => {
  for (const world of worlds.splice(0)) world.engine.db.close();
});

/**
 * An engine whose tools go through the real pipeline: every tool is on the `ledger` server, which receives
 * the vault entries LEDGER_TOKEN (set for the org) and PAY_SECRET (set for the group ops and for ann);
 * tools named `read-*`
 * are read-only, the rest write.
 */
async function world(
  answers: Record<string, Answer>,
  send: (clock: VirtualClock) => Promise<unknown> = async () => ({ messageId: 'm-1' }),
): Promise<World> {
  const clock = new VirtualClock(T0);
  const calls = new Map<string, number>();
  const registry: ToolRegistry = {
    lookup: async (name) => ({
      name,
      server: 'ledger',
      inputSchema: { type: 'object' },
      annotations: { readOnlyHint: name.startsWith('read-') },
      identity: 'schema',
    }),
    credentialNames: () => ['LEDGER_TOKEN', 'PAY_SECRET'],
    call: async (tool) => {
      const n = (calls.get(tool.name) ?? 0) + 1;
      calls.set(tool.name, n);
      const answer = answers[tool.name];
      return answer === undefined ? { ok: true } : answer(n);
    },
  };
  const engine = createEmbeddedEngine({
    file: ':memory:',
    clock,
    directory: new InMemoryDirectory([ann, vic, bob]),
    tools: {
      call: (request, context) => pipeline.call(request, context),
    },
    notifier: { send: async () => (await send(clock)) as { messageId: string } },
    approvalNotifier: { requested: async () => {} },
  });
  const vault = new SqliteVault(engine.db, randomBytes(32));
  await vault.set('org', 'LEDGER_TOKEN', 'org-ledger-value-1');
  await vault.set('group:ops', 'PAY_SECRET', 'ops-pay-value-2');
  await vault.set('user:ann@example.com', 'PAY_SECRET', 'ann-pay-value-3');
  const pipeline = new ToolPipeline({
    registry,
    vault,
    policy: {},
    limiter: new SqliteRateLimiter(engine.db),
    clock,
  });
  const made: World = {
    engine,
    clock,
    start: (ir, input = {}, user = ann) =>
      engine.host.startRun({ workflowId: ir.id, ir, input, trigger: { type: 'manual', user } }),
    settle: async (ms) => {
      await clock.run(engine.host, ms === undefined ? Number.POSITIVE_INFINITY : clock.now() + ms);
    },
    view: async (runId, ir) => {
      const run = await engine.host.getRun(runId);
      if (run === undefined) throw new Error(`no run ${runId}`);
      return runView(run, await engine.host.audit(runId), ir, ir === undefined ? undefined : 3);
    },
  };
  worlds.push(made);
  return made;
}

/** A workflow of `steps` (YAML) taking `inputs` (names of string or number fields). */
function workflow(steps: string, inputs: Record<string, 'string' | 'number'> = {}): IrWorkflow {
  const properties = Object.entries(inputs)
    .map(([name, type]) => `${name}: { type: ${type} }`)
    .join(', ');
  return compile(
    `version: 1\nid: view-test\nname: View test\ntriggers: [{ type: manual, minRole: viewer }]\n` +
      `inputs: { type: object, properties: { ${properties} } }\nsteps:\n${steps}`,
  );
}

function step(view: RunView, id: string): StepView {
  const found = view.steps.find((s) => s.id === id);
  if (found === undefined) throw new Error(`no step ${id} in the view`);
  return found;
}

const states = (view: RunView) => Object.fromEntries(view.steps.map((s) => [s.id, s.state]));

describe('the run view of a tool step', () => {
  it('shows each attempt of a retried call with its input, error or output, policy and credential levels', async () => {
    const w = await world({
      'pay-out': (n) => {
        if (n === 1) throw new ActivityError('Ledger.Busy', 'try again later');
        return { id: 'po_1', accessToken: 'tok-live-123' };
      },
    });
    const ir = workflow(
      `
  - id: pay
    type: tool
    tool: pay-out
    args: { amount: "{{amount}}", apiKey: "{{key}}" }
    retry: { maxAttempts: 3, interval: 2s, jitter: none }
    output: payment
`,
      { amount: 'number', key: 'string' },
    );
    const runId = await w.start(ir, { amount: 40, key: 'k-secret-9' });
    await w.settle();

    const view = await w.view(runId, ir);
    const allowed = {
      decision: 'allow',
      decisions: [
        { rule: 'minRole', outcome: 'allow', detail: 'role member >= minRole viewer' },
        { rule: 'write', outcome: 'allow', detail: 'write tool (annotations); role member may write' },
        { rule: 'rateLimit', outcome: 'allow', detail: 'no rate limit' },
      ],
    };
    const credentials = [
      { name: 'LEDGER_TOKEN', level: 'org' },
      { name: 'PAY_SECRET', level: 'user' },
    ];
    expect(step(view, 'pay')).toEqual({
      id: 'pay',
      type: 'tool',
      state: 'done',
      startedAt: T0,
      endedAt: T0 + 2_000,
      visits: 1,
      attempts: [
        {
          attempt: 1,
          visit: 1,
          startedAt: T0,
          endedAt: T0,
          input: { amount: 40, apiKey: REDACTED },
          error: { code: 'Ledger.Busy', message: 'try again later' },
          policy: allowed,
          credentials,
        },
        {
          attempt: 2,
          visit: 1,
          startedAt: T0 + 2_000,
          endedAt: T0 + 2_000,
          input: { amount: 40, apiKey: REDACTED },
          output: { id: 'po_1', accessToken: REDACTED },
          policy: allowed,
          credentials,
        },
      ],
      output: { id: 'po_1', accessToken: REDACTED },
    });
    expect(view).toMatchObject({
      status: 'completed',
      workflowVersion: 3,
      createdAt: T0,
      endedAt: T0 + 2_000,
      durationMs: 2_000,
      input: { amount: 40, key: 'k-secret-9' },
      output: { amount: 40, key: 'k-secret-9', payment: { id: 'po_1', accessToken: REDACTED } },
      error: null,
    });
  });

  it('records a policy denial with the rule that denied it; the step fails and the run follows onError', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: post
    type: tool
    tool: ledger-post
    onError: tell
  - id: after_post
    type: tool
    tool: read-balance
    next: end
  - id: tell
    type: notify
    channel: email
    to: vic@example.com
    message: "denied: {{error.code}}"
    next: end
`);
    const runId = await w.start(ir, {}, vic);
    await w.settle();

    const view = await w.view(runId, ir);
    expect(states(view)).toEqual({ post: 'failed', after_post: 'skipped', tell: 'done' });
    const post = step(view, 'post');
    expect(post.error).toEqual({
      code: 'PolicyDenied',
      message: 'PolicyDenied: role viewer may not call write tool ledger/ledger-post',
      step: 'post',
    });
    expect(post.attempts).toEqual([
      {
        attempt: 1,
        visit: 1,
        startedAt: T0,
        endedAt: T0,
        input: {},
        error: {
          code: 'PolicyDenied',
          message: 'PolicyDenied: role viewer may not call write tool ledger/ledger-post',
        },
        policy: {
          decision: 'deny',
          rule: 'write',
          decisions: [
            { rule: 'minRole', outcome: 'allow', detail: 'role viewer >= minRole viewer' },
            { rule: 'write', outcome: 'deny', detail: 'write tool (annotations); role viewer may not write' },
            { rule: 'rateLimit', outcome: 'skipped', detail: 'not checked: write denied' },
          ],
        },
        credentials: [
          { name: 'LEDGER_TOKEN', level: 'org' },
          { name: 'PAY_SECRET', level: 'group:ops' },
        ],
      },
    ]);
    expect(step(view, 'tell').attempts).toEqual([
      {
        attempt: 1,
        visit: 1,
        startedAt: T0,
        endedAt: T0,
        input: {
          channel: 'email',
          to: ['vic@example.com'],
          subject: null,
          message: 'denied: PolicyDenied',
        },
        output: { messageId: 'm-1' },
      },
    ]);
  });
});

describe('the run view of approvals', () => {
  const approvalFlow = `
  - id: check
    type: condition
    if: amount > 100
    then: approve
    else: small
  - id: approve
    type: approval
    approvers: [bob@example.com]
    message: "Pay {{amount}}?"
    timeout: 1h
    next: pay
  - id: small
    type: tool
    tool: read-small
    next: end
  - id: pay
    type: tool
    tool: pay-out
    next: end
`;

  it('shows a waiting approval, the branch the condition did not take as skipped and the rest as pending', async () => {
    const w = await world({});
    const ir = workflow(approvalFlow, { amount: 'number' });
    const runId = await w.start(ir, { amount: 500 });
    await w.settle(60_000);

    const view = await w.view(runId, ir);
    expect(view.status).toBe('running');
    expect(view.endedAt).toBeNull();
    expect(view.durationMs).toBeNull();
    expect(states(view)).toEqual({ check: 'done', approve: 'waiting', small: 'skipped', pay: 'pending' });
    expect(step(view, 'check')).toEqual({
      id: 'check',
      type: 'condition',
      state: 'done',
      startedAt: T0,
      endedAt: T0,
      visits: 1,
      attempts: [],
      output: true,
    });
    expect(step(view, 'approve').approval).toEqual({
      requests: [{ approver: 'bob@example.com', level: 1, visit: 1, at: T0, deadline: T0 + 3_600_000 }],
      // What bob was shown: the message and the request's context, as the trail recorded them.
      shown: [
        {
          level: 1,
          visit: 1,
          at: T0,
          message: 'Pay 500?',
          context: { details: [], inputs: [{ label: 'amount', value: 500 }], results: [] },
        },
      ],
      decisions: [],
      refused: [],
    });
    expect(step(view, 'pay')).toEqual({ id: 'pay', type: 'tool', state: 'pending', visits: 0, attempts: [] });
  });

  it('records the decision with its channel and comment, and a refused decision with its reason', async () => {
    const w = await world({});
    const ir = workflow(approvalFlow, { amount: 'number' });
    const runId = await w.start(ir, { amount: 500 });
    await w.settle(600_000);
    const refused = await w.engine.approvals.decide({
      runId,
      stepId: 'approve',
      by: 'vic@example.com',
      decision: 'approve',
      channel: 'inbox',
    });
    expect(refused.accepted).toBe(false);
    await w.engine.approvals.decide({
      runId,
      stepId: 'approve',
      by: 'bob@example.com',
      decision: 'approve',
      comment: 'ok',
      channel: 'email-link',
    });
    await w.settle();

    const view = await w.view(runId, ir);
    expect(states(view)).toEqual({ check: 'done', approve: 'done', small: 'skipped', pay: 'done' });
    expect(step(view, 'approve')).toEqual({
      id: 'approve',
      type: 'approval',
      state: 'done',
      startedAt: T0,
      endedAt: T0 + 600_000,
      visits: 1,
      attempts: [],
      output: { approved: true, level: 1, decidedBy: 'bob@example.com' },
      approval: {
        requests: [{ approver: 'bob@example.com', level: 1, visit: 1, at: T0, deadline: T0 + 3_600_000 }],
        shown: [
          {
            level: 1,
            visit: 1,
            at: T0,
            message: 'Pay 500?',
            context: { details: [], inputs: [{ label: 'amount', value: 500 }], results: [] },
          },
        ],
        decisions: [
          {
            by: 'bob@example.com',
            decision: 'approve',
            comment: 'ok',
            channel: 'email-link',
            level: 1,
            at: T0 + 600_000,
          },
        ],
        refused: [
          {
            by: 'vic@example.com',
            decision: 'approve',
            channel: 'inbox',
            reason: 'not-an-approver',
            level: 1,
            at: T0 + 600_000,
          },
        ],
      },
    });
  });

  it('lists the requests of every level an approval escalated through', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: sign
    type: approval
    approvers: [vic@example.com]
    timeout: 1h
    escalate:
      - approvers: [bob@example.com]
`);
    const runId = await w.start(ir);
    await w.settle(90 * 60_000);
    await w.engine.approvals.decide({
      runId,
      stepId: 'sign',
      by: 'bob@example.com',
      decision: 'reject',
      comment: 'too late',
      channel: 'chat',
    });
    await w.settle();

    const view = await w.view(runId, ir);
    expect(view.status).toBe('failed');
    // Each level's approvers were shown the request as it stood when their level opened.
    expect(step(view, 'sign').approval?.shown.map((s) => [s.level, s.visit, s.at, s.message])).toEqual([
      [1, 1, T0, ''],
      [2, 1, T0 + 3_600_000, ''],
    ]);
    expect(step(view, 'sign')).toMatchObject({
      state: 'failed',
      error: { code: 'Stepgate.Rejected', message: 'rejected by bob@example.com', step: 'sign' },
      approval: {
        requests: [
          { approver: 'vic@example.com', level: 1, visit: 1, at: T0, deadline: T0 + 3_600_000 },
          { approver: 'bob@example.com', level: 2, visit: 1, at: T0 + 3_600_000, deadline: null },
        ],
        decisions: [
          {
            by: 'bob@example.com',
            decision: 'reject',
            comment: 'too late',
            channel: 'chat',
            level: 2,
            at: T0 + 5_400_000,
          },
        ],
      },
    });
  });

  it('counts the visits of a loop and keeps each visit’s attempts apart', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: draft
    type: tool
    tool: read-draft
  - id: review
    type: approval
    approvers: [bob@example.com]
    onReject: draft
  - id: publish
    type: tool
    tool: read-publish
    next: end
`);
    const runId = await w.start(ir);
    await w.settle(1_000);
    await w.engine.approvals.decide({
      runId,
      stepId: 'review',
      by: 'bob@example.com',
      decision: 'reject',
      channel: 'api',
    });
    await w.settle(1_000);
    await w.engine.approvals.decide({
      runId,
      stepId: 'review',
      by: 'bob@example.com',
      decision: 'approve',
      channel: 'api',
    });
    await w.settle();

    const view = await w.view(runId, ir);
    expect(view.steps.map((s) => [s.id, s.state, s.visits])).toEqual([
      ['draft', 'done', 2],
      ['review', 'done', 2],
      ['publish', 'done', 1],
    ]);
    const draft = step(view, 'draft');
    expect(draft.attempts.map((a) => [a.visit, a.attempt, a.startedAt])).toEqual([
      [1, 1, T0],
      [2, 1, T0 + 1_000],
    ]);
    expect(draft.startedAt).toBe(T0);
    expect(draft.endedAt).toBe(T0 + 1_000);
    expect(step(view, 'review').approval?.requests.map((r) => [r.visit, r.at])).toEqual([
      [1, T0],
      [2, T0 + 1_000],
    ]);
    expect(step(view, 'review').approval?.decisions.map((d) => [d.decision, d.at])).toEqual([
      ['reject', T0 + 1_000],
      ['approve', T0 + 2_000],
    ]);
  });
});

describe('the run view of a parallel step', () => {
  const parallel = (require: string, last = '{ id: wrap_up, type: tool, tool: read-wrap }') => `
  - id: fan
    type: parallel
    require: ${require}
    branches:
      - name: quick
        steps:
          - { id: fetch, type: tool, tool: read-rates }
      - name: slow
        steps:
          - { id: sign, type: approval, approvers: [bob@example.com] }
          - { id: after_sign, type: tool, tool: read-more }
  - ${last}
`;

  it('lists the branch steps after their parallel, in definition order, each naming its parent and branch', async () => {
    const w = await world({});
    const ir = workflow(parallel('all'));
    const runId = await w.start(ir);
    await w.settle(1_000);

    const view = await w.view(runId, ir);
    expect(view.steps.map((s) => [s.id, s.type, s.parent, s.branch, s.state])).toEqual([
      ['fan', 'parallel', undefined, undefined, 'running'],
      ['fetch', 'tool', 'fan', 0, 'done'],
      ['sign', 'approval', 'fan', 1, 'waiting'],
      ['after_sign', 'tool', 'fan', 1, 'pending'],
      ['wrap_up', 'tool', undefined, undefined, 'pending'],
    ]);

    await w.engine.approvals.decide({
      runId,
      stepId: 'sign',
      by: 'bob@example.com',
      decision: 'approve',
      channel: 'api',
    });
    await w.settle();
    expect(states(await w.view(runId, ir))).toEqual({
      fan: 'done',
      fetch: 'done',
      sign: 'done',
      after_sign: 'done',
      wrap_up: 'done',
    });
  });

  it('shows the branch a met `require` cancelled, while the run goes on: its open step cancelled, the rest skipped', async () => {
    const w = await world({});
    const ir = workflow(parallel('1', '{ id: final_ok, type: approval, approvers: [bob@example.com] }'));
    const runId = await w.start(ir);
    await w.settle(1_000);

    const view = await w.view(runId, ir);
    expect(view.status).toBe('running');
    expect(states(view)).toEqual({
      fan: 'done',
      fetch: 'done',
      sign: 'cancelled',
      after_sign: 'skipped',
      final_ok: 'waiting',
    });
    expect(step(view, 'sign')).toMatchObject({ startedAt: T0, endedAt: T0, visits: 1 });
    expect(view.history.filter((h) => h.type === 'branch.cancelled').map((h) => h.data)).toEqual([
      { branch: 1 },
    ]);
  });
});

describe('the run view of a `require: 1` parallel whose slower branch was still sending', () => {
  const race = `
  - id: page
    type: parallel
    require: 1
    branches:
      - name: pager
        steps:
          - { id: page_pager, type: tool, tool: read-page }
      - name: sms
        steps:
          - { id: page_sms, type: notify, channel: email, to: [ann@example.com], message: paged }
  - { id: ack, type: approval, approvers: [bob@example.com] }
`;
  /** A notification that takes 30 s (virtual) and then is sent, or fails. */
  const slowSend = (ok: boolean) => async (clock: VirtualClock) => {
    await clock.sleep(30_000);
    if (!ok) throw new ActivityError('SmsDown', 'no carrier');
    return { messageId: 'sms-1' };
  };

  it('shows a message delivered after the join was decided as delivered, not cancelled', async () => {
    const w = await world({}, slowSend(true));
    const ir = workflow(race);
    const runId = await w.start(ir);
    await w.settle(1_000);

    // The pager answered, the parallel went on; the SMS is still being sent.
    const before = await w.view(runId, ir);
    expect(states(before)).toMatchObject({ page: 'done', page_pager: 'done', page_sms: 'cancelled' });
    expect(step(before, 'page_sms').attempts).toMatchObject([{ attempt: 1, cutShort: true }]);

    await w.settle(60_000);
    const after = await w.view(runId, ir);
    expect(states(after)).toEqual({ page: 'done', page_pager: 'done', page_sms: 'done', ack: 'waiting' });
    const sms = step(after, 'page_sms');
    expect(sms.afterJoin).toBe('done');
    expect(sms.endedAt).toBeTypeOf('number');
    expect(sms.attempts).toHaveLength(1);
    expect(sms.attempts[0]).toMatchObject({ attempt: 1, late: true, input: { channel: 'email' } });
    expect(sms.attempts[0]).not.toHaveProperty('cutShort');
    expect(
      after.history.filter((h) => h.step === 'page_sms' && h.type === 'attempt.finished').map((h) => h.data),
    ).toEqual([{ attempt: 1, ok: true, late: true, visit: 1 }]);
    expect(sms.attempts[0]).not.toHaveProperty('error');

    await w.engine.approvals.decide({
      runId,
      stepId: 'ack',
      by: 'bob@example.com',
      decision: 'approve',
      channel: 'api',
    });
    await w.settle();
    const done = await w.view(runId, ir);
    expect(done.status).toBe('completed');
    expect(states(done)).toEqual({ page: 'done', page_pager: 'done', page_sms: 'done', ack: 'done' });
    expect(done.steps.flatMap((s) => s.attempts).filter((a) => a.endedAt === undefined)).toEqual([]);
  });

  it('shows a message that failed after the join as cancelled with its error, and one never answered as cut short', async () => {
    const w = await world({}, slowSend(false));
    const ir = workflow(race);
    const runId = await w.start(ir);
    await w.settle(60_000);
    const sms = step(await w.view(runId, ir), 'page_sms');
    expect(sms).toMatchObject({ state: 'cancelled', afterJoin: 'failed' });
    expect(sms.attempts).toMatchObject([{ attempt: 1, late: true, error: { code: 'SmsDown' } }]);

    // The run ends (cancelled) while another run's SMS is still out: its attempt was cut short.
    const v = await world({}, slowSend(true));
    const other = await v.start(ir);
    await v.settle(1_000);
    await v.engine.host.cancelRun(other, 'ann@example.com');
    await v.settle();
    const ended = await v.view(other, ir);
    expect(ended.status).toBe('cancelled');
    expect(states(ended)).toMatchObject({ page_sms: 'cancelled', ack: 'cancelled' });
    expect(step(ended, 'page_sms').attempts).toMatchObject([{ attempt: 1, cutShort: true }]);
    expect(step(ended, 'page_sms')).not.toHaveProperty('afterJoin');
  });
});

describe('the outcome of a completed run', () => {
  const flow = `
  - id: ask
    type: approval
    approvers: [bob@example.com, vic@example.com]
    require: all
    onReject: tell
  - id: pay
    type: tool
    tool: pay-out
    onError: tell
  - id: tell
    type: notify
    channel: email
    to: [ann@example.com]
    message: done
`;
  const failingPay = {
    'pay-out': () => {
      throw new ActivityError('Pay.Closed', 'the till is closed', false);
    },
  };

  it('is what came last of the deciding approval and the handled error; a decision that did not decide is not it', async () => {
    const w = await world(failingPay);
    const ir = workflow(flow);
    const runId = await w.start(ir);
    await w.settle(1_000);
    for (const by of ['bob@example.com', 'vic@example.com'])
      await w.engine.approvals.decide({ runId, stepId: 'ask', by, decision: 'approve', channel: 'api' });
    await w.settle();
    const view = await w.view(runId, ir);
    expect(view.status).toBe('completed');
    // Approved (by vic, whose decision decided), then the payment failed and onError took the run on.
    expect(view.outcome).toEqual({ kind: 'error-handled', step: 'pay' });
    const history = await w.engine.host.audit(runId);
    const untilApproved = history.filter((e) => e.type !== 'step.error-handled');
    expect(runOutcome('completed', untilApproved)).toEqual({
      kind: 'approved',
      step: 'ask',
      by: 'vic@example.com',
    });
    expect(runOutcome('failed', history)).toBeUndefined();
  });

  it('is rejected when an approver rejects, and none when nothing decided the path', async () => {
    const w = await world(failingPay);
    const ir = workflow(flow);
    const rejected = await w.start(ir);
    await w.settle(1_000);
    await w.engine.approvals.decide({
      runId: rejected,
      stepId: 'ask',
      by: 'bob@example.com',
      decision: 'reject',
      channel: 'api',
    });
    await w.settle();
    expect((await w.view(rejected, ir)).outcome).toEqual({
      kind: 'rejected',
      step: 'ask',
      by: 'bob@example.com',
    });

    const plain = workflow(`
  - { id: look, type: tool, tool: read-rates }
`);
    const run = await w.start(plain);
    await w.settle();
    const view = await w.view(run, plain);
    expect(view.status).toBe('completed');
    expect(view).not.toHaveProperty('outcome');
  });
});

describe('the run view of a run that did not complete', () => {
  it('shows the failed step with its error, the run’s error, and every later step skipped', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: pay
    type: tool
    tool: pay-out
  - id: confirm
    type: tool
    tool: read-confirm
`);
    const runId = await w.start(ir, {}, bob);
    await w.settle();

    const view = await w.view(runId, ir);
    const message =
      "MCP server 'ledger' needs 'PAY_SECRET': no vault entry for user:bob@example.com, group:finance or org";
    expect(view).toMatchObject({
      status: 'failed',
      trigger: { kind: 'manual', type: 'manual', user: { email: 'bob@example.com', role: 'manager' } },
      error: { code: 'Stepgate.CredentialMissing', message, step: 'pay' },
      durationMs: 0,
    });
    expect(states(view)).toEqual({ pay: 'failed', confirm: 'skipped' });
    expect(step(view, 'pay').attempts).toEqual([
      {
        attempt: 1,
        visit: 1,
        startedAt: T0,
        endedAt: T0,
        input: {},
        error: { code: 'Stepgate.CredentialMissing', message },
        credentials: [
          { name: 'LEDGER_TOKEN', level: 'org' },
          { name: 'PAY_SECRET', level: 'missing' },
        ],
      },
    ]);
  });

  it('shows what was open when the run was cancelled as cancelled, and what was not reached as skipped', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: ask
    type: approval
    approvers: [bob@example.com]
  - id: then_pay
    type: tool
    tool: pay-out
`);
    const runId = await w.start(ir);
    await w.settle(5_000);
    await w.engine.host.cancelRun(runId, 'ann@example.com');
    await w.settle();

    const view = await w.view(runId, ir);
    expect(view.status).toBe('cancelled');
    expect(states(view)).toEqual({ ask: 'cancelled', then_pay: 'skipped' });
    expect(step(view, 'ask').endedAt).toBe(T0 + 5_000);
    expect(view.history.map((h) => h.type).slice(-2)).toEqual(['run.cancelled', 'run.finished']);
  });

  it('shows every step pending while a running run has nothing in its trail yet', () => {
    const ir = workflow(`
  - { id: one, type: tool, tool: read-one }
  - { id: two, type: delay, duration: 1m }
`);
    const run = {
      id: 'r-1',
      workflowId: 'view-test',
      status: 'running' as const,
      trigger: { type: 'schedule' as const, user: ann },
      input: {},
      createdAt: T0,
      endedAt: null,
      outcome: null,
    };
    const view = runView(run, [], ir);
    expect(states(view)).toEqual({ one: 'pending', two: 'pending' });
    expect(view.trigger).toEqual({
      kind: 'schedule',
      type: 'schedule',
      user: { email: 'ann@example.com', name: 'Ann', role: 'member' },
    });
    expect(view.history).toEqual([]);
    expect(view).not.toHaveProperty('output');
  });

  it('without the workflow, lists only the steps the trail reached, as it reached them', async () => {
    const w = await world({});
    const ir = workflow(`
  - id: first
    type: tool
    tool: read-one
  - id: ask
    type: approval
    approvers: [bob@example.com]
  - id: never_reached
    type: tool
    tool: read-two
`);
    const runId = await w.start(ir);
    await w.settle(1_000);

    const view = await w.view(runId);
    expect(view.workflowVersion).toBeUndefined();
    expect(view.steps.map((s) => [s.id, s.type, s.state])).toEqual([
      ['first', 'tool', 'done'],
      ['ask', 'approval', 'waiting'],
    ]);
  });
});

describe('redaction in the run view', () => {
  it('redacts secret-looking keys at any depth, whatever their case, and keeps everything else', () => {
    expect(
      redact({
        Authorization: 'Bearer abc',
        nested: [{ clientSecret: 's', note: 'fine' }],
        api_key: 'k',
        apiKey: 'k',
        PASSWORD: 'p',
        credentials: { user: 'u' },
        refresh_token: 'r',
        token: null,
        amount: 3,
      }),
    ).toEqual({
      Authorization: REDACTED,
      nested: [{ clientSecret: REDACTED, note: 'fine' }],
      api_key: REDACTED,
      apiKey: REDACTED,
      PASSWORD: REDACTED,
      credentials: REDACTED,
      refresh_token: REDACTED,
      token: null,
      amount: 3,
    });
  });

  it('never shows a secret input, argument, result or vault value, but keeps credential names and levels', async () => {
    const w = await world({ 'read-profile': () => ({ name: 'Ann', sessionToken: 'sess-777' }) });
    const ir = workflow(
      `
  - id: profile
    type: tool
    tool: read-profile
    args: { user: "{{trigger.user.email}}", password: "{{password}}" }
`,
      { password: 'string' },
    );
    const runId = await w.start(ir, { password: 'hunter2' });
    await w.settle();

    const view = await w.view(runId, ir);
    const text = JSON.stringify(view);
    for (const secret of ['hunter2', 'sess-777', 'org-ledger-value-1', 'ops-pay-value-2', 'ann-pay-value-3'])
      expect(text).not.toContain(secret);
    expect(view.input).toEqual({ password: REDACTED });
    expect(view.history.find((h) => h.type === 'run.started')?.data).toEqual({
      trigger: 'manual',
      user: 'ann@example.com',
      input: { password: REDACTED },
    });
    expect(view.history.find((h) => h.type === 'tool.credentials')?.data).toEqual({
      attempt: 1,
      server: 'ledger',
      sources: { LEDGER_TOKEN: 'org', PAY_SECRET: 'user' },
      missing: [],
    });
    expect(step(view, 'profile').attempts[0]?.output).toEqual({ name: 'Ann', sessionToken: REDACTED });
    expect(view.trigger).toEqual({
      kind: 'manual',
      type: 'manual',
      user: { email: 'ann@example.com', name: 'Ann', role: 'member' },
    });
  });
});
