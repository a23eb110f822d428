// The decision handler on its own: ordering races between activities, separation of duties (the
// requester left out and refused, whatever the case of their email), and outcome counting.
import { describe, expect, it } from 'vitest';
import { SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import type { Directory } from '../../adapters/ports.js';
import { ApprovalService, countDecisions } from '../../functions/core/approvals.js';
import type { AuditEntry } from '../../functions/core/durable.js';
import {
  type ApprovalDecisionEntry,
  type ApprovalRequest,
  ERROR,
  requestersOf,
} from '../../functions/core/protocol.js';

interface Harness {
  approvals: ApprovalService;
  store: SqliteApprovalStore;
  raised: string[];
  audit: AuditEntry[];
}

function service(directory: Directory = new InMemoryDirectory(PEOPLE)): Harness {
  const store = new SqliteApprovalStore(openDatabase(':memory:'));
  const raised: string[] = [];
  const audit: AuditEntry[] = [];
  const approvals = new ApprovalService({
    store,
    directory,
    clock: new VirtualClock(),
    notifier: { requested: async () => {} },
    raiseEvent: async (_runId, name) => {
      raised.push(name);
    },
    recordAudit: (_runId, entry) => {
      audit.push(entry);
    },
    runActive: () => true,
  });
  return { approvals, store, raised, audit };
}

const PEOPLE = [
  { email: 'bob@example.com', role: 'manager', groups: [], manager: null },
  { email: 'dana@example.com', role: 'director', groups: [], manager: null },
];

const request: ApprovalRequest = {
  workflowId: 'w',
  runId: 'r1',
  stepId: 'ask',
  visit: 1,
  identity: { email: 'alice@example.com', role: 'member', groups: [], manager: 'bob@example.com' },
  level: 1,
  approvers: ['bob@example.com'],
  require: 'any',
  message: 'ok?',
  deadline: null,
  eventName: 'approval:ask:1:1',
  requesters: ['alice@example.com'],
  allowSelfApproval: false,
};

/** Bob asks for the run and is among the approvers of `spec`. */
const bobsRun = (approvers: string[], allowSelfApproval = false): ApprovalRequest => ({
  ...request,
  identity: { email: 'bob@example.com', role: 'manager', groups: [], manager: null },
  approvers,
  requesters: requestersOf({ user: { email: 'Bob@Example.com' } }),
  allowSelfApproval,
});
const decide = (approvals: ApprovalService, by: string) =>
  approvals.decide({ runId: 'r1', stepId: 'ask', by, decision: 'approve', channel: 'api' });

describe('the approval service', () => {
  it('opens nothing when the close of a level overtook its request', async () => {
    const { approvals, store } = service();
    await approvals.close({ runId: 'r1', stepId: 'ask', visit: 1, level: 1, reason: 'cancelled' });
    await approvals.request(request);
    expect(store.openFor('r1', 'ask')).toBeUndefined();
    expect(store.pendingFor('bob@example.com')).toEqual([]);
  });

  it('refuses a decision on a level that was closed', async () => {
    const { approvals, raised } = service();
    await approvals.request(request);
    await approvals.close({ runId: 'r1', stepId: 'ask', visit: 1, level: 1, reason: 'timeout' });
    const result = await approvals.decide({
      runId: 'r1',
      stepId: 'ask',
      by: 'bob@example.com',
      decision: 'approve',
      channel: 'api',
    });
    expect(result).toMatchObject({ accepted: false, reason: 'no-open-request' });
    expect(raised).toEqual([]);
  });

  it('delivers a decided outcome again after a restart until the run has it', async () => {
    const { approvals, store, raised } = service();
    await approvals.request(request);
    const record = store.openFor('r1', 'ask');
    if (record === undefined) throw new Error('no request');
    const decision: ApprovalDecisionEntry = {
      by: 'bob@example.com',
      decision: 'approve',
      comment: null,
      at: 'now',
    };
    store.update({ ...record, status: 'approved', decisions: [decision] });
    expect(await approvals.redeliver()).toBe(1);
    expect(raised).toEqual(['approval:ask:1:1']);
    expect(await approvals.redeliver()).toBe(0);
  });
});

describe('separation of duties', () => {
  it('leaves the requester out of the approvers, after role expansion', async () => {
    const { approvals } = service(
      new InMemoryDirectory([
        ...PEOPLE,
        { email: 'ed@example.com', role: 'manager', groups: [], manager: null },
      ]),
    );
    expect(await approvals.request(bobsRun(['role:manager']))).toEqual({ approvers: ['ed@example.com'] });
  });

  it('answers Stepgate.NoApprovers when the requester was the only approver', async () => {
    const { approvals, store } = service();
    await expect(approvals.request(bobsRun(['BOB@example.com']))).rejects.toMatchObject({
      code: ERROR.noApprovers,
      retryable: false,
    });
    expect(store.get('r1', 'ask', 1, 1)).toBeUndefined();
  });

  it('compares emails case-folded: a directory answering in another case still leaves the requester out', async () => {
    const shouting: Directory = {
      user: () => undefined,
      resolve: (spec) => (spec === 'role:manager' ? ['BOB@EXAMPLE.COM', ' Dana@Example.com'] : []),
    };
    const { approvals } = service(shouting);
    expect(await approvals.request(bobsRun(['role:manager']))).toEqual({ approvers: ['dana@example.com'] });
  });

  it('refuses the requester who decides anyway, as self-approval, and decides nothing', async () => {
    const { approvals, store, raised, audit } = service();
    await approvals.request(bobsRun(['bob@example.com', 'dana@example.com']));

    const result = await decide(approvals, 'Bob@EXAMPLE.com');

    expect(result).toMatchObject({ accepted: false, reason: 'self-approval' });
    expect(store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', decisions: [] });
    expect(raised).toEqual([]);
    expect(audit).toEqual([
      {
        type: 'approval.refused',
        step: 'ask',
        data: {
          by: 'bob@example.com',
          decision: 'approve',
          channel: 'api',
          reason: 'self-approval',
          level: 1,
        },
      },
    ]);
  });

  it('lets the requester decide where the step allows it, and marks the decision', async () => {
    const { approvals, store, audit } = service();
    await approvals.request(bobsRun(['bob@example.com'], true));
    expect(store.get('r1', 'ask', 1, 1)?.approvers).toEqual(['bob@example.com']);

    const result = await decide(approvals, 'bob@example.com');

    expect(result).toMatchObject({ accepted: true, outcome: { approved: true } });
    expect(audit[0]).toMatchObject({
      type: 'approval.decision',
      data: { by: 'bob@example.com', selfApproval: true },
    });
  });

  it('marks no other approver as self-approving', async () => {
    const { approvals, audit } = service();
    await approvals.request(bobsRun(['bob@example.com', 'dana@example.com'], true));
    await decide(approvals, 'dana@example.com');
    expect(audit[0]?.data).not.toHaveProperty('selfApproval');
  });
});

describe('counting decisions', () => {
  const d = (by: string, decision: 'approve' | 'reject'): ApprovalDecisionEntry => ({
    by,
    decision,
    comment: null,
    at: 't',
  });
  const three = ['a', 'b', 'c'];

  it('decides 2 of 3 on the second approval', () => {
    const decisions = [d('a', 'approve'), d('b', 'approve')];
    expect(
      countDecisions({ approvers: three, require: 2 }, decisions, decisions[1] ?? d('b', 'approve')),
    ).toMatchObject({ approved: true, decidedBy: 'b' });
  });

  it('rejects 2 of 3 as soon as two rejections make two approvals impossible', () => {
    const one = [d('a', 'reject')];
    expect(countDecisions({ approvers: three, require: 2 }, one, d('a', 'reject'))).toBeNull();
    const two = [d('a', 'reject'), d('b', 'reject')];
    expect(countDecisions({ approvers: three, require: 2 }, two, d('b', 'reject'))).toMatchObject({
      approved: false,
      decidedBy: 'b',
    });
  });

  it('rejects require all on the first rejection', () => {
    expect(
      countDecisions({ approvers: three, require: 'all' }, [d('a', 'reject')], d('a', 'reject')),
    ).toMatchObject({ approved: false });
  });
});
