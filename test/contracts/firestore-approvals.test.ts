// The port contracts of approvals, approval links, step visits, quorum tallies and schedules run against
// the GCP adapters on the gcloud Firestore emulator (test/support/firestore-emulator.ts: missing, the
// suite fails). Each test gets a fresh project (an empty database) reached through two clients (two
// connections), as two Cloud Run instances would. Beside the contracts: the approval store writing its
// audit entry in the decision's transaction (the run's trail, adapters/gcp/audit.ts, appended in the
// decision's transaction), the callback handle sealed in
// the document, what a document holds, and pruning of spent links.
import type { Firestore, Transaction } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreApprovalLinkStore } from '../../adapters/gcp/approval-link-store.js';
import { FirestoreApprovalStore } from '../../adapters/gcp/approval-store.js';
import { FirestoreRunAudit } from '../../adapters/gcp/audit.js';
import { COLLECTIONS } from '../../adapters/gcp/collections.js';
import { docId } from '../../adapters/gcp/documents.js';
import { FirestoreScheduleStore } from '../../adapters/gcp/schedule-store.js';
import { FirestoreQuorumTallies, FirestoreStepVisits } from '../../adapters/gcp/step-tallies.js';
import { approvalCallbackKey } from '../../adapters/local/approval-store.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import { approvalRecord, describeApprovalStoreContract } from './approval-store.contract.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import { describeQuorumTalliesContract, describeStepVisitsContract } from './step-tallies.contract.js';

// The clients talk to the emulator only: no looking for a metadata server to find credentials.
process.env.METADATA_SERVER_DETECTION = 'none';

/** Racing transactions on one document are serialised by the emulator: seconds, not milliseconds. */
const RACE_TIMEOUT = 60_000;

let emulator: FirestoreEmulator | undefined;
beforeAll(async () => {
  emulator = await startFirestoreEmulator();
}, 90_000);
afterAll(async () => {
  await emulator?.stop();
});

/** A fresh project and two clients of it, each wrapped by `adapter`. */
function twoClients<T>(adapter: (db: Firestore) => T): Contenders<T> {
  if (emulator === undefined) throw new Error('the Firestore emulator is not running');
  const project = emulator.freshProject();
  const dbs = [emulator.client(project), emulator.client(project)];
  return {
    connections: dbs.map(adapter),
    close: async () => {
      await Promise.all(dbs.map((db) => db.terminate()));
    },
  };
}

describe('on the Firestore emulator', { timeout: RACE_TIMEOUT }, () => {
  describeApprovalLinkStoreContract('Firestore', () =>
    twoClients((db) => new FirestoreApprovalLinkStore(db)),
  );
  describeScheduleStoreContract('Firestore', () => twoClients((db) => new FirestoreScheduleStore(db)));
  describeStepVisitsContract('Firestore', () => twoClients((db) => new FirestoreStepVisits(db)));
  describeQuorumTalliesContract('Firestore', () => twoClients((db) => new FirestoreQuorumTallies(db)));
  describeApprovalStoreContract('Firestore', () => twoClients((db) => approvalsWithTrail(db).store));
});

const MASTER_KEY = new Uint8Array(32).fill(7);

/** A run's trail as the GCP functions keep it (adapters/gcp/audit.ts), listed as seq and entry. */
class TestTrail {
  private readonly audit: FirestoreRunAudit;
  constructor(db: Firestore) {
    this.audit = new FirestoreRunAudit(db, { now: () => Date.now() });
  }

  readonly recordAudit = async (tx: Transaction, runId: string, entry: AuditEntry): Promise<void> => {
    await this.audit.appendIn(tx, runId, entry);
  };

  async list(runId: string): Promise<Array<{ seq: number; entry: AuditEntry }>> {
    return (await this.audit.list(runId)).map(({ seq, type, step, data }) => ({
      seq,
      entry: { type, ...(step === null ? {} : { step }), data } as AuditEntry,
    }));
  }
}

/** An approval store writing to a trail, over one client of the project. */
function approvalsWithTrail(db: Firestore): {
  db: Firestore;
  store: FirestoreApprovalStore;
  trail: TestTrail;
} {
  const trail = new TestTrail(db);
  const callbackKey = approvalCallbackKey(MASTER_KEY);
  return {
    db,
    store: new FirestoreApprovalStore(db, { callbackKey, recordAudit: trail.recordAudit }),
    trail,
  };
}

/** The audit entry a decision writes with its update. */
const decisionEntry = (by: string): AuditEntry => ({
  type: 'approval.decision',
  step: 'ask',
  data: {
    level: 1,
    decides: true,
    by,
    decision: 'approve',
    comment: null,
    at: '2026-01-01T00:00:00.000Z',
    channel: 'api',
  },
});

const byOf = (row: { entry: AuditEntry }) => (row.entry.data as { by: string }).by;

describe('the Firestore approval store with an audit trail', { timeout: RACE_TIMEOUT }, () => {
  it('writes a decision and its audit entry together, and neither when the version moved on', async () => {
    const [a, b] = await fresh(() => twoClients(approvalsWithTrail));
    await a.store.create(approvalRecord());
    const read = await a.store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    expect(
      await b.store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).toMatchObject({ status: 'approved', version: 2 });
    expect(await a.store.update({ ...read, status: 'rejected' }, decisionEntry('dana@example.com'))).toBe(
      undefined,
    );
    expect(await a.store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'approved', version: 2 });
    const trail = await b.trail.list('r1');
    expect(trail.map((r) => [r.seq, byOf(r)])).toEqual([[1, 'bob@example.com']]);
  });

  it('lets exactly one of many decisions from one read succeed, with exactly its one entry', async () => {
    const pairs = await fresh(() => twoClients(approvalsWithTrail));
    await pairs[0].store.create(approvalRecord());
    const read = await pairs[0].store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    const outcomes = await race(8, (i) =>
      connectionFor(pairs, i).store.update(
        { ...read, status: 'approved' },
        decisionEntry(`approver${i}@example.com`),
      ),
    );
    const won = outcomes.flatMap((o, i) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value === undefined ? [] : [i];
    });
    expect(won).toHaveLength(1);
    expect((await pairs[1].trail.list('r1')).map(byOf)).toEqual([`approver${won[0]}@example.com`]);
  });

  it('appends the entries of decisions on different requests of one run without a gap', async () => {
    const pairs = await fresh(() => twoClients(approvalsWithTrail));
    const levels = [1, 2, 3, 4, 5, 6];
    for (const level of levels) await pairs[0].store.create(approvalRecord({ level }));
    const outcomes = await race(levels.length, async (i) => {
      const { store } = connectionFor(pairs, i);
      const read = await store.get('r1', 'ask', 1, i + 1);
      if (read === undefined) throw new Error('not created');
      return store.update({ ...read, status: 'approved' }, decisionEntry(`level${i + 1}@example.com`));
    });
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') throw outcome.reason;
      expect(outcome.value).toMatchObject({ version: 2 });
    }
    const trail = await pairs[1].trail.list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(trail.map(byOf)).size).toBe(6);
  });

  it('refuses an update that carries an audit entry when it has no audit trail, and writes nothing', async () => {
    const [store] = await fresh(() => twoClients((db) => new FirestoreApprovalStore(db)));
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    await expect(
      store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).rejects.toThrow(/no audit trail/);
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });
  });
});

describe('the Firestore approval documents', () => {
  it('keeps the callback handle sealed in the document, bound to its request', async () => {
    const [{ store, db }] = await fresh(() => twoClients(approvalsWithTrail));
    const callback = 'https://workflowexecutions.googleapis.com/v1/projects/p/callbacks/SECRET';
    await store.create(approvalRecord({ callback }));
    await store.create(approvalRecord({ level: 2 }));
    const approvals = db.collection(COLLECTIONS.approvals.name);
    const first = (await approvals.doc(docId('r1', 'ask', 1, 1)).get()).get('callback') as Uint8Array;
    expect(first).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(first).toString('latin1')).not.toContain('SECRET');
    await approvals.doc(docId('r1', 'ask', 1, 2)).update({ callback: first });
    // Moved to another request's document, the ciphertext no longer opens (and the error holds no handle).
    await expect(store.get('r1', 'ask', 1, 2)).rejects.toThrow(
      /cannot decrypt the callback handle of approval r1\/ask level 2/,
    );
    await expect(store.get('r1', 'ask', 1, 2)).rejects.not.toThrow(/SECRET/);
    expect((await store.get('r1', 'ask', 1, 1))?.callback).toBe(callback);
  });

  it('lists a request across runs only while open or decided and undelivered', async () => {
    const [{ store, db }] = await fresh(() => twoClients(approvalsWithTrail));
    await store.create(approvalRecord());
    const ref = db.collection(COLLECTIONS.approvals.name).doc(docId('r1', 'ask', 1, 1));
    expect((await ref.get()).get('listing')).toBe('open');
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    const decided = await store.update({ ...read, status: 'approved' });
    if (decided === undefined) throw new Error('not decided');
    expect((await ref.get()).get('listing')).toBe('undelivered');
    await store.update({ ...decided, delivered: true });
    expect((await ref.get()).data()).not.toHaveProperty('listing');
    expect(await store.pendingFor('bob@example.com')).toEqual([]);
    expect(await store.undelivered()).toEqual([]);
  });

  it('keeps a request under its own key whatever characters its run and step ids hold', async () => {
    const [store, other] = await fresh(() => twoClients((db) => approvalsWithTrail(db).store));
    const runs = ['a/b', 'a|b', '..', '__x__', 'a%7Cb'];
    for (const runId of runs)
      expect(await store.create(approvalRecord({ runId, message: runId }))).toBe(true);
    for (const runId of runs) expect((await other.get(runId, 'ask', 1, 1))?.message).toBe(runId);
  });
});

describe('the Firestore approval-link store', () => {
  it('keeps the nonce and an expireAt Timestamp for the TTL policy, never more than the link record', async () => {
    const [store] = await fresh(() =>
      twoClients((db) => ({ db, links: new FirestoreApprovalLinkStore(db) })),
    );
    const used = {
      nonce: 'n1',
      runId: 'r1',
      stepId: 'ask',
      level: 1,
      approver: 'bob@example.com',
      usedAt: 1_000,
      expiresAt: 1_800_000_000_000,
    };
    await store.links.claim(used);
    const data = (await store.db.collection(COLLECTIONS.approvalLinks.name).doc(docId('n1')).get()).data();
    expect(Object.keys(data ?? {}).sort()).toEqual([...Object.keys(used), 'expireAt'].sort());
    expect(data?.expireAt.toMillis()).toBe(used.expiresAt);
  });

  it('prunes more spent links than one batch holds', async () => {
    const [links, other] = await fresh(() => twoClients((db) => new FirestoreApprovalLinkStore(db)));
    const claims = Array.from({ length: 450 }, (_, i) => ({
      nonce: `n${i}`,
      runId: 'r1',
      stepId: 'ask',
      level: 1,
      approver: 'bob@example.com',
      usedAt: 1_000,
      expiresAt: i < 430 ? 2_000 : 9_000,
    }));
    await Promise.all(claims.map((c) => links.claim(c)));
    expect(await other.prune(5_000)).toBe(430);
    expect(await links.isUsed('n0')).toBe(false);
    expect(await links.isUsed('n449')).toBe(true);
  });
});

describe('the Firestore schedule store beyond fire claims', () => {
  const schedule = (id: string, overrides = {}) => ({
    id,
    workflowId: 'w',
    cron: '0 9 * * *',
    timezone: 'Europe/Paris',
    scope: 'org' as const,
    scopeRef: null,
    createdBy: 'alice@example.com',
    input: { matrix: [[1, 2], [3]], note: 'x' },
    enabled: true,
    nextFireAt: 5_000,
    lastFiredAt: null,
    createdAt: 1_000,
    ...overrides,
  });

  it('keeps a schedule as inserted, refuses a second insert naming it, and lists by filter in creation order', async () => {
    const [store, other] = await fresh(() => twoClients((db) => new FirestoreScheduleStore(db)));
    await store.insert(schedule('s2', { createdAt: 2_000, workflowId: 'v' }));
    await store.insert(schedule('s1'));
    await store.insert(schedule('s3', { createdAt: 3_000, enabled: false, nextFireAt: null }));
    expect(await other.get('s1')).toEqual(schedule('s1'));
    await expect(other.insert(schedule('s1'))).rejects.toThrow('schedule s1 already exists');
    expect((await other.list()).map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    expect((await other.list({ workflowId: 'w' })).map((s) => s.id)).toEqual(['s1', 's3']);
    expect((await other.list({ workflowId: 'w', enabled: true })).map((s) => s.id)).toEqual(['s1']);
    expect(await other.list({ createdBy: 'bob@example.com' })).toEqual([]);
    expect(await other.setEnabled('missing', true, 1)).toBe(false);
  });

  it("deletes a schedule with all its fires, and no other schedule's", async () => {
    const [store, other] = await fresh(() => twoClients((db) => new FirestoreScheduleStore(db)));
    await store.insert(schedule('s1', { nextFireAt: 0 }));
    await store.insert(schedule('s2', { nextFireAt: 0 }));
    for (let t = 0; t < 3; t++) {
      expect(
        await store.claimFire({ scheduleId: 's1', scheduledTime: t, firedAt: t, runId: `a${t}` }, t + 1),
      ).toBe(true);
      expect(
        await store.claimFire({ scheduleId: 's2', scheduledTime: t, firedAt: t, runId: `b${t}` }, t + 1),
      ).toBe(true);
    }
    expect((await other.fires('s1', 2)).map((f) => f.runId)).toEqual(['a2', 'a1']);
    expect(await other.delete('s1')).toBe(true);
    expect(await other.delete('s1')).toBe(false);
    expect(await store.get('s1')).toBeUndefined();
    expect(await store.fires('s1')).toEqual([]);
    expect((await store.fires('s2')).map((f) => f.runId)).toEqual(['b2', 'b1', 'b0']);
    expect((await store.unfinishedFires()).map((f) => f.runId)).toEqual(['b0', 'b1', 'b2']);
  });
});
