// Approval steps on the embedded engine: requests through the approval notifier port, durable waiting,
// the `require` policies, refused late decisions, per-level timeouts and escalation, onTimeout and
// onReject, approvers resolved from the run's identity, the result variable and the audit trail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../../functions/core/protocol.js';
import { define, entries, Harness, ms, people, runWorkflow, T0 } from './harness.js';

const HOUR = 3_600_000;

function approvalWorkflow(approval: Record<string, unknown>, rest: unknown[] = []): string {
  return define({
    id: 'approve-something',
    steps: [
      { id: 'sign_off', type: 'approval', message: 'Please approve', ...approval },
      { id: 'go', type: 'tool', tool: 'go', next: 'end' },
      ...rest,
    ],
  });
}

const onPaths = [
  { id: 'declined', type: 'tool', tool: 'declined', next: 'end' },
  { id: 'expired', type: 'tool', tool: 'expired', next: 'end' },
];

const three = ['bob@example.com', 'carol@example.com', 'dave@example.com'];

describe('an approval step', () => {
  const temporary: string[] = [];
  afterEach(() => {
    for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('sends its request through the approval notifier port', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({
        approvers: ['bob@example.com'],
        message: 'Approve {{run.id}}?',
        timeout: '1h',
      }),
      runId: 'run-request',
    });

    expect(run.approvalRequests).toEqual([
      expect.objectContaining({
        runId: 'run-request',
        stepId: 'sign_off',
        level: 1,
        approvers: ['bob@example.com'],
        require: 'any',
        message: 'Approve run-request?',
        requestedBy: 'alice@example.com',
        deadline: T0 + HOUR,
        status: 'open',
        at: T0,
      }),
    ]);
  });

  it('waits durably: the open request survives an engine restart and its decision resumes the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-approval-'));
    temporary.push(dir);
    const file = join(dir, 'engine.sqlite');
    const workflow = approvalWorkflow({ approvers: ['bob@example.com'] });
    const before = new Harness({ workflow, file });
    const runId = await before.start();
    await before.run();
    expect((await before.result()).status).toBe('running');
    await before.close();

    const after = new Harness({ workflow, file });
    after.host.recover();
    const decision = await after.decide({ runId, step: 'sign_off', by: 'bob@example.com' });
    await after.run();

    expect(decision.accepted).toBe(true);
    expect((await after.result(runId)).status).toBe('completed');
    expect(after.toolCalls.map((c) => c.tool)).toEqual(['go']);
    await after.close();
  });

  describe('with require: any', () => {
    it('is decided by the first decision, a rejection included', async () => {
      const run = await runWorkflow({
        workflow: approvalWorkflow({ approvers: three, require: 'any', onReject: 'declined' }, onPaths),
        decisions: [
          { at: '1h', step: 'sign_off', by: 'carol@example.com', decision: 'reject' },
          { at: '2h', step: 'sign_off', by: 'bob@example.com', decision: 'approve' },
        ],
      });

      expect(run.path).toEqual(['sign_off', 'declined']);
      expect(run.vars.sign_off).toMatchObject({ approved: false, decidedBy: 'carol@example.com' });
      expect(run.decisions.map((d) => d.result.accepted)).toEqual([true, false]);
    });
  });

  describe('with require: all', () => {
    it('is approved once every approver approved', async () => {
      const run = await runWorkflow({
        workflow: approvalWorkflow({ approvers: three, require: 'all' }),
        decisions: three.map((by, i) => ({ at: `${i + 1}h`, step: 'sign_off', by })),
      });

      expect(run.status).toBe('completed');
      expect(run.toolCalls.map((c) => c.at - T0)).toEqual([3 * HOUR]);
      expect(run.vars.sign_off).toMatchObject({ approved: true, decidedBy: 'dave@example.com' });
    });

    it('rejects at once on the first rejection', async () => {
      const run = await runWorkflow({
        workflow: approvalWorkflow({ approvers: three, require: 'all', onReject: 'declined' }, onPaths),
        decisions: [
          { at: '1h', step: 'sign_off', by: 'bob@example.com', decision: 'approve' },
          { at: '2h', step: 'sign_off', by: 'carol@example.com', decision: 'reject' },
          { at: '3h', step: 'sign_off', by: 'dave@example.com', decision: 'approve' },
        ],
      });

      expect(run.path).toEqual(['sign_off', 'declined']);
      expect(run.toolCalls.map((c) => c.at - T0)).toEqual([2 * HOUR]);
      expect(run.decisions.map((d) => d.result.accepted)).toEqual([true, true, false]);
    });
  });

  describe('with require: N', () => {
    it('is approved as soon as N approvers approved', async () => {
      const run = await runWorkflow({
        workflow: approvalWorkflow({ approvers: three, require: 2, onReject: 'declined' }, onPaths),
        decisions: [
          { at: '1h', step: 'sign_off', by: 'bob@example.com', decision: 'approve' },
          { at: '2h', step: 'sign_off', by: 'carol@example.com', decision: 'reject' },
          { at: '3h', step: 'sign_off', by: 'dave@example.com', decision: 'approve' },
        ],
      });

      expect(run.path).toEqual(['sign_off', 'go']);
      expect(run.toolCalls.map((c) => c.at - T0)).toEqual([3 * HOUR]);
      expect(run.vars.sign_off).toMatchObject({ approved: true, decidedBy: 'dave@example.com' });
    });

    it('is rejected as soon as N approvals became impossible', async () => {
      const run = await runWorkflow({
        workflow: approvalWorkflow({ approvers: three, require: 2, onReject: 'declined' }, onPaths),
        decisions: [
          { at: '1h', step: 'sign_off', by: 'bob@example.com', decision: 'reject' },
          { at: '2h', step: 'sign_off', by: 'carol@example.com', decision: 'reject' },
        ],
      });

      expect(run.path).toEqual(['sign_off', 'declined']);
      expect(run.toolCalls.map((c) => c.at - T0)).toEqual([2 * HOUR]);
      expect(entries(run.audit, 'approval.decision').map((a) => a.data.decides)).toEqual([false, true]);
    });
  });

  it('refuses a decision after the step closed and records it in the audit', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: three }),
      decisions: [
        { at: '1h', step: 'sign_off', by: 'bob@example.com' },
        { at: '2h', step: 'sign_off', by: 'carol@example.com', decision: 'reject', channel: 'email-link' },
      ],
    });

    expect(run.status).toBe('completed');
    expect(run.decisions[1]?.result).toMatchObject({ accepted: false });
    expect(entries(run.audit, 'approval.refused', 'sign_off')).toEqual([
      expect.objectContaining({
        at: T0 + 2 * HOUR,
        data: expect.objectContaining({ by: 'carol@example.com', decision: 'reject', channel: 'email-link' }),
      }),
    ]);
  });

  describe('escalation', () => {
    const escalating = approvalWorkflow(
      {
        approvers: ['bob@example.com', 'erin@example.com'],
        require: 'all',
        timeout: '24h',
        escalate: [{ approvers: ['role:director'], timeout: '24h' }],
        onTimeout: 'expired',
      },
      onPaths,
    );

    it('sends a fresh request to the next level when a level times out, with its own require (default any)', async () => {
      const run = await runWorkflow({
        workflow: escalating,
        decisions: [{ at: '30h', step: 'sign_off', by: 'dave@example.com' }],
      });

      expect(run.approvalRequests.map((r) => [r.level, r.approvers, r.require, r.at - T0])).toEqual([
        [1, ['bob@example.com', 'erin@example.com'], 'all', 0],
        [2, ['carol@example.com', 'dave@example.com'], 'any', 24 * HOUR],
      ]);
      expect(run.path).toEqual(['sign_off', 'go']);
      expect(run.vars.sign_off).toMatchObject({ approved: true, decidedBy: 'dave@example.com', level: 2 });
      expect(entries(run.audit, 'approval.timed-out', 'sign_off').map((a) => a.data)).toEqual([
        { level: 1, escalatesTo: 2 },
      ]);
    });

    it("closes the previous level's request: a late decision on it is refused", async () => {
      const harness = new Harness({
        workflow: escalating,
        decisions: [{ at: '25h', step: 'sign_off', by: 'bob@example.com' }],
      });
      const runId = await harness.start();

      await harness.run('26h');

      expect((await harness.approval(runId, 'sign_off', 1))?.status).toBe('closed');
      expect((await harness.approval(runId, 'sign_off', 2))?.status).toBe('open');
      expect(harness.decisions.map((d) => d.result.accepted)).toEqual([false]);
      expect(entries((await harness.result()).audit, 'approval.refused', 'sign_off')).toHaveLength(1);
    });

    it('takes onTimeout when the last level times out', async () => {
      const run = await runWorkflow({ workflow: escalating });

      expect(run.status).toBe('completed');
      expect(run.path).toEqual(['sign_off', 'expired']);
      expect(run.toolCalls.map((c) => c.at - T0)).toEqual([48 * HOUR]);
      expect(run.vars.sign_off).toEqual({
        approved: false,
        decidedBy: null,
        comment: null,
        decisions: [],
        level: 2,
        timedOut: true,
      });
    });
  });

  it('ends the run timed_out when the last level times out and there is no onTimeout', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: ['bob@example.com'], timeout: '1h' }),
    });

    expect(run.status).toBe('timed_out');
    expect(run.error).toMatchObject({ step: 'sign_off' });
    expect(run.record.endedAt).toBe(T0 + HOUR);
    expect(run.toolCalls).toEqual([]);
  });

  it('takes onReject when rejected', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: ['bob@example.com'], onReject: 'declined' }, onPaths),
      decisions: [{ at: '1h', step: 'sign_off', by: 'bob@example.com', decision: 'reject' }],
    });

    expect(run.status).toBe('completed');
    expect(run.path).toEqual(['sign_off', 'declined']);
  });

  it('fails the run with Stepgate.Rejected when rejected and there is no onReject', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: ['bob@example.com'] }),
      decisions: [{ at: '1h', step: 'sign_off', by: 'bob@example.com', decision: 'reject' }],
    });

    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'Stepgate.Rejected', step: 'sign_off' });
    expect(run.toolCalls).toEqual([]);
  });

  it("resolves approvers from the run's identity, roles and groups through the directory", async () => {
    const frank: Identity = {
      email: 'frank@example.com',
      role: 'member',
      groups: ['sales'],
      manager: 'erin@example.com',
    };
    const grace: Identity = { email: 'grace@example.com', role: 'member', groups: ['legal'], manager: null };
    const run = await runWorkflow({
      workflow: approvalWorkflow(
        {
          approvers: ['{{trigger.user.manager}}', 'role:director', 'group:legal'],
          timeout: '1h',
          onTimeout: 'expired',
        },
        onPaths,
      ),
      users: [...people, frank, grace],
      user: frank,
    });

    expect(run.approvalRequests.map((r) => r.approvers)).toEqual([
      ['carol@example.com', 'dave@example.com', 'erin@example.com', 'grace@example.com'],
    ]);
    expect(entries(run.audit, 'approval.requested')[0]?.data.approvers).toEqual([
      'carol@example.com',
      'dave@example.com',
      'erin@example.com',
      'grace@example.com',
    ]);
  });

  it('stores {approved, decidedBy, comment, decisions: [{by, decision, comment, at, channel}], level, timedOut}', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: three, require: 2 }),
      decisions: [
        { at: '1h', step: 'sign_off', by: 'bob@example.com', comment: 'looks right' },
        { at: '2h', step: 'sign_off', by: 'carol@example.com', comment: 'ok', channel: 'chat' },
      ],
    });

    expect(run.vars.sign_off).toStrictEqual({
      approved: true,
      decidedBy: 'carol@example.com',
      comment: 'ok',
      decisions: [
        {
          by: 'bob@example.com',
          decision: 'approve',
          comment: 'looks right',
          at: new Date(T0 + HOUR).toISOString(),
          channel: 'test',
        },
        {
          by: 'carol@example.com',
          decision: 'approve',
          comment: 'ok',
          at: new Date(T0 + 2 * HOUR).toISOString(),
          channel: 'chat',
        },
      ],
      level: 1,
      timedOut: false,
    });
  });

  it('records every request and decision in the audit: who, when, comment and channel', async () => {
    const run = await runWorkflow({
      workflow: approvalWorkflow({ approvers: three, require: 2 }),
      decisions: [
        { at: '1h', step: 'sign_off', by: 'bob@example.com', comment: 'looks right', channel: 'inbox' },
        { at: '90m', step: 'sign_off', by: 'carol@example.com', decision: 'reject', channel: 'chat' },
        { at: '2h', step: 'sign_off', by: 'dave@example.com', comment: 'fine', channel: 'email-link' },
      ],
    });

    expect(entries(run.audit, 'approval.requested', 'sign_off').map((a) => [a.at, a.data])).toEqual([
      [
        T0,
        {
          level: 1,
          approvers: three,
          require: 2,
          message: 'Please approve',
          // What the approvers were shown beside the message (this workflow has no inputs or results).
          context: { details: [], inputs: [], results: [] },
          deadline: null,
          // The tool call the approval lets through, for the approval page.
          next: { step: 'go', tool: 'go', args: {} },
        },
      ],
    ]);
    expect(entries(run.audit, 'approval.decision', 'sign_off').map((a) => [a.at, a.data])).toEqual([
      [
        T0 + HOUR,
        {
          level: 1,
          by: 'bob@example.com',
          decision: 'approve',
          comment: 'looks right',
          at: new Date(T0 + HOUR).toISOString(),
          channel: 'inbox',
          decides: false,
        },
      ],
      [
        T0 + ms('90m'),
        {
          level: 1,
          by: 'carol@example.com',
          decision: 'reject',
          comment: null,
          at: new Date(T0 + ms('90m')).toISOString(),
          channel: 'chat',
          decides: false,
        },
      ],
      [
        T0 + 2 * HOUR,
        {
          level: 1,
          by: 'dave@example.com',
          decision: 'approve',
          comment: 'fine',
          at: new Date(T0 + 2 * HOUR).toISOString(),
          channel: 'email-link',
          decides: true,
        },
      ],
    ]);
  });
});
