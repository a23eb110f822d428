// The decision handler on its own: ordering races between activities, and outcome counting.
import { describe, expect, it } from 'vitest';
import { SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { ApprovalService, countDecisions } from '../../functions/core/approvals.js';
import type { ApprovalDecisionEntry, ApprovalRequest } from '../../functions/core/protocol.js';

function service(): { approvals: ApprovalService; store: SqliteApprovalStore; raised: string[] } {
  const store = new SqliteApprovalStore(openDatabase(':memory:'));
  const raised: string[] = [];
  const approvals = new ApprovalService({
    store,
    directory: new InMemoryDirectory([
      { email: 'bob@example.com', role: 'manager', groups: [], manager: null },
    ]),
    clock: new VirtualClock(),
    notifier: { requested: async () => {} },
    raiseEvent: async (_runId, name) => {
      raised.push(name);
    },
    recordAudit: () => {},
    runActive: () => true,
  });
  return { approvals, store, raised };
}

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
};

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
