// The ApprovalStore contract (functions/core/ports.ts), written once and run against every adapter: the
// records it keeps and finds, creates that never overwrite, compare-and-set updates, and the callback
// handle. Races are stated for asynchronous adapters (every call is awaited and the contenders are
// started together); a synchronous adapter such as SQLite runs them one after the other, interleaved
// over separate connections to one database, which is what two processes on one file do.
import { describe, expect, it } from 'vitest';
import type { ApprovalRecord, ApprovalStore } from '../../functions/core/ports.js';
import type { ApprovalDecisionEntry } from '../../functions/core/protocol.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

/** A request of run `r1`, step `ask`, as the approval service would create it. */
export function approvalRecord(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    runId: 'r1',
    workflowId: 'w',
    stepId: 'ask',
    visit: 1,
    level: 1,
    eventName: 'approval:ask:1:1',
    approvers: ['bob@example.com', 'dana@example.com'],
    require: 'all',
    message: 'ok?',
    requestedBy: 'alice@example.com',
    requesters: ['alice@example.com'],
    allowSelfApproval: false,
    deadline: null,
    status: 'open',
    decisions: [],
    createdAt: 1_000,
    delivered: false,
    callback: null,
    version: 1,
    ...overrides,
  };
}

const decision = (by: string): ApprovalDecisionEntry => ({
  by,
  decision: 'approve',
  comment: null,
  at: '2030-01-01T00:00:00.000Z',
  channel: 'api',
});

/** The contract of `ApprovalStore`; `make` gives adapters over one fresh store (a callback key included). */
export function describeApprovalStoreContract(
  name: string,
  make: () => Contenders<ApprovalStore> | Promise<Contenders<ApprovalStore>>,
): void {
  const key = (r: ApprovalRecord) => [r.runId, r.stepId, r.visit, r.level] as const;

  describe(`ApprovalStore contract: ${name}`, () => {
    it('keeps a created request, at version 1 whatever the record said', async () => {
      const [store, other] = await fresh(make);
      expect(await store.create(approvalRecord({ version: 7 }))).toBe(true);
      expect(await other.get('r1', 'ask', 1, 1)).toEqual(approvalRecord({ version: 1 }));
      expect(await other.get('r1', 'ask', 1, 2)).toBeUndefined();
    });

    it("keeps a request's context (what its approvers are shown) as it was given, through updates", async () => {
      const [store, other] = await fresh(make);
      const context = {
        details: [{ label: 'Findings', value: ['over the cap', null, 3.5] }],
        inputs: [{ label: 'note', value: '' }],
        results: [{ label: 'check', value: { ok: true, nested: { list: [] } } }],
      };
      await store.create(approvalRecord({ context }));
      const stored = await other.get('r1', 'ask', 1, 1);
      expect(stored?.context).toEqual(context);
      const updated = await store.update({
        ...(stored as ApprovalRecord),
        decisions: [decision('bob@example.com')],
      });
      expect(updated?.context).toEqual(context);
      expect((await other.get('r1', 'ask', 1, 1))?.context).toEqual(context);
    });

    it('never overwrites on create: a second create under the same key stores nothing', async () => {
      const [store, other] = await fresh(make);
      await store.create(approvalRecord());
      expect(await other.create(approvalRecord({ status: 'closed', approvers: [] }))).toBe(false);
      expect(await store.get('r1', 'ask', 1, 1)).toEqual(approvalRecord());
    });

    it('creates one request once, however many create it at the same time', async () => {
      const stores = await fresh(make);
      const outcomes = await race(8, (i) =>
        connectionFor(stores, i).create(approvalRecord({ message: `from ${i}` })),
      );
      const created = outcomes.filter((o) => o.status === 'fulfilled' && o.value === true);
      expect(created).toHaveLength(1);
      expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      const winner = outcomes.findIndex((o) => o.status === 'fulfilled' && o.value === true);
      expect((await stores[0]?.get('r1', 'ask', 1, 1))?.message).toBe(`from ${winner}`);
    });

    it('finds the open request of a step: its latest visit and level', async () => {
      const [store] = await fresh(make);
      await store.create(approvalRecord({ level: 1, status: 'closed' }));
      await store.create(approvalRecord({ level: 2 }));
      await store.create(approvalRecord({ visit: 2, level: 1, createdAt: 2_000 }));
      await store.create(approvalRecord({ stepId: 'other' }));
      expect(await store.openFor('r1', 'ask')).toMatchObject({ visit: 2, level: 1 });
      expect(await store.openFor('r1', 'missing')).toBeUndefined();
      expect(await store.openFor('r2', 'ask')).toBeUndefined();
    });

    it('lists what waits for an approver: open, theirs, not decided by them yet (email case ignored)', async () => {
      const [store] = await fresh(make);
      await store.create(approvalRecord({ runId: 'open' }));
      await store.create(
        approvalRecord({ runId: 'decided-by-bob', decisions: [decision('bob@example.com')] }),
      );
      await store.create(approvalRecord({ runId: 'closed', status: 'closed' }));
      await store.create(approvalRecord({ runId: 'not-bob', approvers: ['dana@example.com'] }));
      expect((await store.pendingFor('Bob@Example.com')).map((r) => r.runId)).toEqual(['open']);
      expect((await store.pendingFor('dana@example.com')).map((r) => r.runId).sort()).toEqual([
        'decided-by-bob',
        'not-bob',
        'open',
      ]);
    });

    it('lists decided requests whose outcome was not delivered, and only those', async () => {
      const [store] = await fresh(make);
      await store.create(approvalRecord({ runId: 'approved', status: 'approved' }));
      await store.create(approvalRecord({ runId: 'rejected', status: 'rejected', createdAt: 2_000 }));
      await store.create(approvalRecord({ runId: 'delivered', status: 'approved', delivered: true }));
      await store.create(approvalRecord({ runId: 'open' }));
      await store.create(approvalRecord({ runId: 'closed', status: 'closed' }));
      expect((await store.undelivered()).map((r) => r.runId)).toEqual(['approved', 'rejected']);
    });

    it('updates from the current version, answers the stored record one version on, and keeps it', async () => {
      const [store, other] = await fresh(make);
      await store.create(approvalRecord());
      const read = await other.get('r1', 'ask', 1, 1);
      if (read === undefined) throw new Error('not created');
      const changed = { ...read, status: 'approved' as const, decisions: [decision('bob@example.com')] };
      const written = await other.update(changed);
      expect(written).toEqual({ ...changed, version: 2 });
      expect(await store.get(...key(read))).toEqual({ ...changed, version: 2 });
      expect(await store.update({ ...(written as ApprovalRecord), delivered: true })).toMatchObject({
        delivered: true,
        version: 3,
      });
    });

    it('refuses an update from a stale read and writes nothing of it', async () => {
      const [store, other] = await fresh(make);
      await store.create(approvalRecord());
      const stale = await store.get('r1', 'ask', 1, 1);
      if (stale === undefined) throw new Error('not created');
      await other.update({ ...stale, decisions: [decision('dana@example.com')] });
      expect(await store.update({ ...stale, status: 'closed' })).toBeUndefined();
      expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({
        status: 'open',
        decisions: [decision('dana@example.com')],
        version: 2,
      });
    });

    it('refuses an update of a request that does not exist, and creates nothing', async () => {
      const [store] = await fresh(make);
      expect(await store.update(approvalRecord())).toBeUndefined();
      expect(await store.get('r1', 'ask', 1, 1)).toBeUndefined();
    });

    it('lets exactly one of two updates from the same read succeed; the other reports a conflict', async () => {
      const [store, other] = await fresh(make);
      await store.create(approvalRecord());
      const [readA, readB] = await Promise.all([store.get('r1', 'ask', 1, 1), other.get('r1', 'ask', 1, 1)]);
      if (readA === undefined || readB === undefined) throw new Error('not created');
      const [a, b] = await Promise.all([
        store.update({ ...readA, decisions: [decision('bob@example.com')] }),
        other.update({ ...readB, decisions: [decision('dana@example.com')] }),
      ]);
      expect([a, b].filter((w) => w !== undefined)).toHaveLength(1);
      const stored = await store.get('r1', 'ask', 1, 1);
      expect(stored).toEqual(a ?? b);
      expect(stored?.version).toBe(2);
    });

    it('lets exactly one of many updates from the same read succeed', async () => {
      const stores = await fresh(make);
      await stores[0]?.create(approvalRecord());
      const read = await stores[0]?.get('r1', 'ask', 1, 1);
      if (read === undefined) throw new Error('not created');
      const outcomes = await race(8, (i) =>
        connectionFor(stores, i).update({ ...read, decisions: [decision(`approver${i}@example.com`)] }),
      );
      const won = outcomes.flatMap((o) =>
        o.status === 'fulfilled' && o.value !== undefined ? [o.value] : [],
      );
      expect(won).toHaveLength(1);
      expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      expect(await stores[1]?.get('r1', 'ask', 1, 1)).toEqual(won[0]);
    });

    it('keeps a callback handle through create, reads from other connections and updates', async () => {
      const [store, other] = await fresh(make);
      const callback = JSON.stringify({ taskToken: 'AAAAKgAAAAIAAAAAAAAAAd9v…', region: 'eu-west-1' });
      await store.create(approvalRecord({ callback }));
      const read = await other.get('r1', 'ask', 1, 1);
      expect(read?.callback).toBe(callback);
      expect((await other.openFor('r1', 'ask'))?.callback).toBe(callback);
      if (read === undefined) throw new Error('not created');
      await other.update({ ...read, status: 'approved' });
      expect((await store.get('r1', 'ask', 1, 1))?.callback).toBe(callback);
      expect((await store.undelivered())[0]?.callback).toBe(callback);
    });

    it('reads a request without a callback handle as null', async () => {
      const [store] = await fresh(make);
      const { callback: _, ...withoutCallback } = approvalRecord();
      await store.create(withoutCallback);
      expect((await store.get('r1', 'ask', 1, 1))?.callback).toBeNull();
    });
  });
}
