// The decision handler on its own: ordering races between activities, separation of duties (the
// requester left out and refused, whatever the case of their email), outcome counting, and writes that
// race on separate connections (compare-and-set: an overtaken decision is evaluated again).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SqliteApprovalStore } from '../../adapters/local/approval-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { ApprovalService, countDecisions, type DecisionResult } from '../../functions/core/approvals.js';
import type { AuditEntry } from '../../functions/core/durable.js';
import type { ApprovalStore, Directory } from '../../functions/core/ports.js';
import {
  type ApprovalDecisionEntry,
  type ApprovalOutcome,
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

function service(
  directory: Directory = new InMemoryDirectory(PEOPLE),
  runActive: () => Promise<boolean> = async () => true,
): Harness {
  const raised: string[] = [];
  const audit: AuditEntry[] = [];
  const store = new SqliteApprovalStore(openDatabase(':memory:'), {
    recordAudit: (_runId, entry) => audit.push(entry),
  });
  const approvals = new ApprovalService({
    store,
    directory,
    clock: new VirtualClock(),
    notifier: { requested: async () => {} },
    raiseEvent: async (_runId, name) => {
      raised.push(name);
    },
    recordAudit: async (_runId, entry) => {
      audit.push(entry);
    },
    runActive,
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
    expect(await store.openFor('r1', 'ask')).toBeUndefined();
    expect(await store.pendingFor('bob@example.com')).toEqual([]);
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

  it('closes, and does not decide, a level its run left open when it ended', async () => {
    let running = true;
    const { approvals, store, raised, audit } = service(undefined, async () => running);
    await approvals.request(request);
    running = false;
    const result = await decide(approvals, 'bob@example.com');
    expect(result).toMatchObject({ accepted: false, reason: 'no-open-request' });
    expect(raised).toEqual([]);
    expect(await store.openFor('r1', 'ask')).toBeUndefined();
    expect(audit.at(-1)).toMatchObject({ type: 'approval.refused', data: { reason: 'no-open-request' } });
  });

  it('refuses a decision for a named level while another level of the step is open, and records none', async () => {
    const { approvals, store, audit } = service();
    await approvals.request(request);
    await approvals.close({ runId: 'r1', stepId: 'ask', visit: 1, level: 1, reason: 'timeout' });
    await approvals.request({ ...request, level: 2, eventName: 'approval:ask:1:2' });

    const result = await approvals.decide({
      runId: 'r1',
      stepId: 'ask',
      by: 'bob@example.com',
      decision: 'approve',
      channel: 'email-link',
      request: { visit: 1, level: 1 },
    });

    expect(result).toMatchObject({ accepted: false, reason: 'no-open-request' });
    expect(await store.get('r1', 'ask', 1, 2)).toMatchObject({ status: 'open', decisions: [] });
    expect(audit.map((e) => e.type)).toEqual(['approval.refused']);
  });

  it('delivers a decided outcome again after a restart until the run has it', async () => {
    const { approvals, store, raised } = service();
    await approvals.request(request);
    const record = await store.openFor('r1', 'ask');
    if (record === undefined) throw new Error('no request');
    const decision: ApprovalDecisionEntry = {
      by: 'bob@example.com',
      decision: 'approve',
      comment: null,
      at: 'now',
    };
    await store.update({ ...record, status: 'approved', decisions: [decision] });
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
    expect(await store.get('r1', 'ask', 1, 1)).toBeUndefined();
  });

  it('compares emails case-folded: a directory answering in another case still leaves the requester out', async () => {
    const shouting: Directory = {
      user: async () => undefined,
      resolve: async (spec) => (spec === 'role:manager' ? ['BOB@EXAMPLE.COM', ' Dana@Example.com'] : []),
    };
    const { approvals } = service(shouting);
    expect(await approvals.request(bobsRun(['role:manager']))).toEqual({ approvers: ['dana@example.com'] });
  });

  it('refuses the requester who decides anyway, as self-approval, and decides nothing', async () => {
    const { approvals, store, raised, audit } = service();
    await approvals.request(bobsRun(['bob@example.com', 'dana@example.com']));

    const result = await decide(approvals, 'Bob@EXAMPLE.com');

    expect(result).toMatchObject({ accepted: false, reason: 'self-approval' });
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', decisions: [] });
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
    expect((await store.get('r1', 'ask', 1, 1))?.approvers).toEqual(['bob@example.com']);

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

describe('racing writes (two services, each with its own connection to one database file)', () => {
  interface Side {
    approvals: ApprovalService;
    store: ApprovalStore;
    raised: ApprovalOutcome[];
    audit: AuditEntry[];
  }

  /** A service on its own connection; `rivalFirst` runs in its next update, and ends before that update writes. */
  function side(file: string, rivalFirst?: { run: () => unknown }): Side {
    const db = openDatabase(file);
    onTestFinished(() => {
      db.close();
    });
    const audit: AuditEntry[] = [];
    const sqlite = new SqliteApprovalStore(db, { recordAudit: (_runId, entry) => audit.push(entry) });
    let pending = rivalFirst;
    const store: ApprovalStore = {
      create: (r) => sqlite.create(r),
      get: (...key) => sqlite.get(...key),
      openFor: (runId, stepId) => sqlite.openFor(runId, stepId),
      pendingFor: (email) => sqlite.pendingFor(email),
      undelivered: () => sqlite.undelivered(),
      update: async (r, entry) => {
        // The rival writes between this side's read and its write: this write is made from a stale read.
        const rival = pending;
        pending = undefined;
        await rival?.run();
        return sqlite.update(r, entry);
      },
    };
    const raised: ApprovalOutcome[] = [];
    const approvals = new ApprovalService({
      store,
      directory: new InMemoryDirectory([
        ...PEOPLE,
        { email: 'ed@example.com', role: 'manager', groups: [], manager: null },
      ]),
      clock: new VirtualClock(),
      notifier: { requested: async () => {} },
      raiseEvent: async (_runId, _name, outcome) => {
        raised.push(outcome);
      },
      recordAudit: async (_runId, entry) => {
        audit.push(entry);
      },
      runActive: async () => true,
    });
    return { approvals, store, raised, audit };
  }

  /** Side `a` decides as `aBy`, overtaken by side `b` deciding as `bBy` between its read and its write. */
  async function race(require: ApprovalRequest['require'], aBy: string, bBy: string) {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-race-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'stepgate.db');
    const b = side(file);
    let bResult: Promise<DecisionResult> | undefined;
    const a = side(file, { run: () => (bResult = decide(b.approvals, bBy)) });
    await a.approvals.request({ ...request, approvers: ['bob@example.com', 'dana@example.com'], require });
    const aResult = await decide(a.approvals, aBy);
    if (bResult === undefined) throw new Error('the rival never ran: nothing raced');
    return { a, b, aResult, bResult: await bResult, stored: await a.store.get('r1', 'ask', 1, 1) };
  }

  it('counts both of two approvers racing on an `all` level, and decides it once', async () => {
    const { a, b, aResult, bResult, stored } = await race('all', 'bob@example.com', 'dana@example.com');
    expect(bResult).toMatchObject({ accepted: true, outcome: null });
    expect(aResult).toMatchObject({
      accepted: true,
      outcome: { approved: true, decidedBy: 'bob@example.com' },
    });
    expect(stored?.decisions.map((d) => d.by)).toEqual(['dana@example.com', 'bob@example.com']);
    expect(stored).toMatchObject({ status: 'approved', delivered: true });
    expect([...a.raised, ...b.raised]).toHaveLength(1);
    // The overtaken write left no audit entry: each decision is recorded once.
    expect(a.audit.filter((e) => e.type === 'approval.decision')).toHaveLength(1);
    expect(b.audit.filter((e) => e.type === 'approval.decision')).toHaveLength(1);
  });

  it('counts one of the same approver’s two racing decisions; the other is refused as already decided', async () => {
    const { a, aResult, bResult, stored } = await race('all', 'bob@example.com', 'bob@example.com');
    expect(bResult).toMatchObject({ accepted: true, outcome: null });
    expect(aResult).toMatchObject({ accepted: false, reason: 'already-decided' });
    expect(stored?.decisions.map((d) => d.by)).toEqual(['bob@example.com']);
    expect(stored?.status).toBe('open');
    expect(a.audit.map((e) => e.type)).toEqual(['approval.refused']);
  });

  it('refuses the loser of a race on an `any` level: one outcome, never a second', async () => {
    const { a, b, aResult, bResult, stored } = await race('any', 'bob@example.com', 'dana@example.com');
    expect(bResult).toMatchObject({
      accepted: true,
      outcome: { approved: true, decidedBy: 'dana@example.com' },
    });
    expect(aResult).toMatchObject({ accepted: false, reason: 'no-open-request' });
    expect(stored?.decisions.map((d) => d.by)).toEqual(['dana@example.com']);
    expect([...a.raised, ...b.raised].map((o) => o.decidedBy)).toEqual(['dana@example.com']);
  });

  it('closes a level whose close was overtaken by a decision, keeping the decision', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-race-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'stepgate.db');
    const b = side(file);
    const a = side(file, { run: () => decide(b.approvals, 'dana@example.com') });
    await a.approvals.request({
      ...request,
      approvers: ['bob@example.com', 'dana@example.com'],
      require: 'all',
    });
    await a.approvals.close({ runId: 'r1', stepId: 'ask', visit: 1, level: 1, reason: 'timeout' });
    expect(await a.store.get('r1', 'ask', 1, 1)).toMatchObject({
      status: 'closed',
      decisions: [{ by: 'dana@example.com' }],
      version: 3,
    });
  });
});
