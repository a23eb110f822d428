// The shared approval handlers over the real ApprovalService and SQLite adapters: each target's request
// decoded (approvers, message, deadline, requesters), the visits a state machine cannot count entered at
// level 1 and read at later levels, failures encoded per target, the close, and a decision's outcome as
// the task token's answer, with the decision's audit entries written through the writer given.
import { afterEach, describe, expect, it } from 'vitest';
import { approvalCallbackKey, SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { SqliteStepVisits } from '../../adapters/local/step-tallies.js';
import { ApprovalService } from '../../functions/core/approvals.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import {
  approvalCloseFromGcp,
  aslApprovalAnswer,
  aslApprovalRequest,
  aslCallbackAnswer,
  closeApproval,
  openAslApproval,
  requestAslApproval,
  requestGcpApproval,
} from '../../functions/core/handlers/index.js';
import type { ApprovalOutcome } from '../../functions/core/protocol.js';
import type { AslApprovalPayload, GcpApprovalRequestBody } from '../../functions/core/wire.js';
import { alice, ctx, template } from './support.js';

const boss = { email: 'boss@example.com', role: 'manager', groups: ['finance'], manager: null };
const carol = { email: 'carol@example.com', role: 'manager', groups: [], manager: null };
const vars = { amount: 120, reviewer: 'Carol@Example.com' };
const approvers = JSON.stringify([
  { kind: 'role', role: 'manager' },
  { kind: 'template', template: JSON.parse(template('{{reviewer}}')) },
]);

const asl = (level: number, overrides: Partial<AslApprovalPayload> = {}): AslApprovalPayload => ({
  activity: 'approval.request',
  ctx,
  stepId: 'ask',
  output: 'decision',
  level,
  approvers,
  require: 'any',
  message: template('Approve {{amount}}?'),
  timeoutMs: 60_000,
  rejectFails: true,
  rejectKeepsResult: true,
  enteredTime: `2026-01-01T00:00:0${level}Z`,
  taskToken: 'token-1',
  vars,
  ...overrides,
});

const gcp: GcpApprovalRequestBody = {
  workflowId: 'wf',
  runId: 'run-1',
  stepId: 'ask',
  visit: 2,
  identity: alice,
  level: 1,
  approvers,
  require: 'all',
  message: template('Approve {{amount}}?'),
  timeoutMs: null,
  eventName: 'https://callbacks.test/ask/2/1',
  vars,
  by: 'Owner@example.com',
};

const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

/** The handlers' ports over one in-memory database; `audit` collects what the approvals write. */
function setup(users = [alice, boss, carol]) {
  const db = openDatabase(':memory:');
  dbs.push(db);
  const clock = new VirtualClock(Date.parse('2026-03-01T09:00:00.000Z'));
  const audit: AuditEntry[] = [];
  const raised: Array<{ name: string; outcome: ApprovalOutcome; callback: string | null }> = [];
  const store = new SqliteApprovalStore(db, {
    callbackKey: approvalCallbackKey(new Uint8Array(32).fill(3)),
    recordAudit: (_run, entry) => void audit.push(entry),
  });
  const approvals = new ApprovalService({
    store,
    directory: new InMemoryDirectory(users),
    clock,
    notifier: { requested: async () => {} },
    raiseEvent: async (_run, name, outcome, callback) => void raised.push({ name, outcome, callback }),
    recordAudit: async (_run, entry) => void audit.push(entry),
    runActive: async () => true,
  });
  return { clock, audit, raised, approvals, store, visits: new SqliteStepVisits(db) };
}

describe('approval.request', () => {
  it('decodes a GCP body: approvers and message rendered, no deadline, the delegating owner a requester', async () => {
    const { approvals, clock } = setup();
    const answer = await requestGcpApproval({ approvals, clock }, gcp);
    expect(answer).toEqual({ ok: true, result: { approvers: ['boss@example.com', 'carol@example.com'] } });
  });

  it('closes the level a state machine escalated from when it opens the next one', async () => {
    const { approvals, clock, visits, store } = setup();
    await requestAslApproval({ approvals, clock, visits }, asl(1));
    expect((await store.get('run-1', 'ask', 1, 1))?.status).toBe('open');
    await requestAslApproval({ approvals, clock, visits }, asl(2));
    expect((await store.get('run-1', 'ask', 1, 1))?.status).toBe('closed');
    expect((await store.get('run-1', 'ask', 1, 2))?.status).toBe('open');
  });

  it('enters a visit at level 1 and keeps it for the later levels of that visit', async () => {
    const { approvals, clock, visits } = setup();
    const first = await aslApprovalRequest({ clock, visits }, asl(1));
    expect(first).toMatchObject({
      visit: 1,
      level: 1,
      eventName: 'approval:ask:1:1',
      approvers: ['role:manager', 'Carol@Example.com'],
      message: 'Approve 120?',
      deadline: clock.now() + 60_000,
      requesters: ['alice@example.com'],
      allowSelfApproval: false,
    });
    // Level 1 invoked again in the same state (the Lambda service retrying): the same visit, no new one.
    expect((await aslApprovalRequest({ clock, visits }, asl(1))).eventName).toBe('approval:ask:1:1');
    expect((await aslApprovalRequest({ clock, visits }, asl(2))).eventName).toBe('approval:ask:1:2');
    // The step is entered again (a loop through it, a later entered time): its level 1 is the next visit's.
    const loop = { enteredTime: '2026-01-01T00:05:00Z' };
    const again = await requestAslApproval({ approvals, clock, visits }, asl(1, loop));
    expect(again).toMatchObject({ visit: 2, eventName: 'approval:ask:2:1' });
    expect((await aslApprovalRequest({ clock, visits }, asl(3))).visit).toBe(2);
  });

  it('answers a level with nobody left to ask as each target expects it', async () => {
    const { approvals, clock, visits } = setup([alice]);
    const self = JSON.stringify([{ kind: 'user', email: 'alice@example.com' }]);
    const gcpAnswer = await requestGcpApproval({ approvals, clock }, { ...gcp, approvers: self });
    expect(gcpAnswer).toMatchObject({ ok: false, error: { code: 'Stepgate.NoApprovers', retryable: false } });
    const request = await aslApprovalRequest({ clock, visits }, asl(1, { approvers: self }));
    const thrown = await openAslApproval(approvals, request).catch((error: unknown) => error as Error);
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe('Stepgate.NoApprovers');
    expect(JSON.parse((thrown as Error).message)).toMatchObject({
      error: { code: 'Stepgate.NoApprovers', step: 'ask' },
    });
  });

  it('refuses a payload whose approvers are not JSON', async () => {
    const { approvals, clock } = setup();
    await expect(requestGcpApproval({ approvals, clock }, { ...gcp, approvers: '[' })).resolves.toMatchObject(
      {
        ok: false,
        error: { code: 'Stepgate.Unknown', retryable: true },
      },
    );
  });
});

describe('approval decision and close', () => {
  it('answers the task token the level stored with the result, the decision written to the audit trail', async () => {
    const { approvals, clock, visits, audit, raised, store } = setup();
    const payload = asl(1, { taskToken: 'AAAA-task-token-of-level-1' });
    const request = await requestAslApproval({ approvals, clock, visits }, payload);
    // The level's record keeps the task token (encrypted at rest) for whoever decides it later.
    const record = await store.get('run-1', 'ask', request.visit, 1);
    expect(record?.callback).toContain('AAAA-task-token-of-level-1');
    const decided = await approvals.decide({
      runId: 'run-1',
      stepId: 'ask',
      by: 'boss@example.com',
      decision: 'approve',
      channel: 'api',
    });
    expect(decided).toMatchObject({ accepted: true, level: 1 });
    expect(raised.map((r) => r.name)).toEqual([request.eventName]);
    // The decision is raised with the stored handle: its task token answered as SendTaskSuccess would be.
    const { callback, outcome } = raised[0] ?? {};
    expect(callback).toEqual(expect.any(String));
    const { taskToken, answer } = aslCallbackAnswer(callback as string, outcome as ApprovalOutcome);
    expect(taskToken).toBe('AAAA-task-token-of-level-1');
    expect(answer).toEqual(aslApprovalAnswer(payload, outcome as ApprovalOutcome));
    expect(answer).toMatchObject({
      ok: true,
      output: { approved: true, decidedBy: 'boss@example.com', level: 1, timedOut: false },
    });
    expect(audit).toEqual([
      expect.objectContaining({
        type: 'approval.decision',
        step: 'ask',
        data: expect.objectContaining({
          by: 'boss@example.com',
          decision: 'approve',
          level: 1,
          decides: true,
        }),
      }),
    ]);
  });

  it('fails the task on a rejection, its cause carrying the result and the run error as the step asks', () => {
    const outcome: ApprovalOutcome = {
      approved: false,
      decidedBy: 'boss@example.com',
      comment: 'no',
      decisions: [],
    };
    const answer = aslApprovalAnswer(asl(2), outcome);
    expect(answer).toEqual({
      ok: false,
      error: 'Stepgate.Rejected',
      cause: {
        decision: { ...outcome, level: 2, timedOut: false },
        error: { code: 'Stepgate.Rejected', message: 'rejected by boss@example.com', step: 'ask' },
      },
    });
    const handled = aslApprovalAnswer(asl(1, { rejectFails: false, rejectKeepsResult: false }), outcome);
    expect(handled).toEqual({ ok: false, error: 'Stepgate.Rejected', cause: {} });
  });

  it('closes a level: a later decision is refused, and the refusal written to the audit trail', async () => {
    const { approvals, clock, audit } = setup();
    await requestGcpApproval({ approvals, clock }, gcp);
    const close = approvalCloseFromGcp({
      runId: 'run-1',
      stepId: 'ask',
      visit: 2,
      level: 1,
      reason: 'timeout',
    });
    await expect(closeApproval(approvals, close)).resolves.toBeNull();
    const late = await approvals.decide({
      runId: 'run-1',
      stepId: 'ask',
      by: 'boss@example.com',
      decision: 'approve',
      channel: 'api',
    });
    expect(late).toMatchObject({ accepted: false, reason: 'no-open-request' });
    expect(audit).toEqual([
      expect.objectContaining({
        type: 'approval.refused',
        data: expect.objectContaining({ reason: 'no-open-request' }),
      }),
    ]);
  });
});
