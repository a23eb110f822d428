// The GCP run records and audit trail (adapters/gcp/run-store.ts, adapters/gcp/audit.ts) on the gcloud
// Firestore emulator (test/support/firestore-emulator.ts: missing, the suite fails). Each test gets a
// fresh project reached through two clients (two connections), as two Cloud Run instances would. What the
// Step Functions host's tests and the DynamoDB tests check of DynamoRunStore and DynamoRunAudit, checked of
// these: the trail numbered per run, gapless under concurrent appends; one start per run id, the record
// and its `run.started` entry together; an end applied once, racing ends included, never regressing a
// terminal status; listings newest first with RunFilter's filters; the path outcome recorded once.
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreRunAudit, runDocId } from '../../adapters/gcp/audit.js';
import { COLLECTIONS } from '../../adapters/gcp/collections.js';
import { FirestoreRunStore, RunExistsError } from '../../adapters/gcp/run-store.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunOutcome } from '../../functions/core/protocol.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { ASKS } from './durable-host.contract.js';

// The clients are given their endpoint: they need no metadata server to find a project or credentials.
process.env.METADATA_SERVER_DETECTION = 'none';

let emulator: FirestoreEmulator | undefined;
beforeAll(async () => {
  emulator = await startFirestoreEmulator();
}, 90_000);
afterAll(async () => {
  await emulator?.stop();
});

const clock = { now: () => 1_000 };

interface Runs {
  db: Firestore;
  audit: FirestoreRunAudit;
  store: FirestoreRunStore;
}

/** A fresh project and two clients of it, each with its trail and run store. */
function twoClients(): Contenders<Runs> {
  if (emulator === undefined) throw new Error('the Firestore emulator is not running');
  const project = emulator.freshProject();
  const dbs = [emulator.client(project), emulator.client(project)];
  return {
    connections: dbs.map((db) => {
      const audit = new FirestoreRunAudit(db, clock);
      return { db, audit, store: new FirestoreRunStore(db, audit) };
    }),
    close: () => {},
  };
}

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

const alice = { email: 'Alice@Example.com', role: 'member', groups: [], manager: 'bob@example.com' };
const start = (runId: string, workflowId = ASKS.id): RunStart => ({
  runId,
  workflowId,
  ir: ASKS,
  // A JSON value Firestore could not hold as a map: arrays of arrays.
  input: { amount: 900, grid: [[1, 2], [3]] },
  trigger: { type: 'manual', user: alice },
});
const where = (runId: string) => ({
  version: 1,
  executionName: `projects/p/locations/europe-west1/workflows/asks/executions/${runId}`,
});
const finished = (status: RunOutcome['status']): AuditEntry[] => [
  { type: 'run.finished', data: { status, error: null } },
];
const completed: RunOutcome = { status: 'completed', error: null, vars: { paid: true, rows: [[1]] } };
const cancelled: RunOutcome = { status: 'cancelled', error: null, vars: {} };

describe('the Firestore audit trail', () => {
  it('numbers entries from 1 in the order they were appended, per run', async () => {
    const [{ audit }, { audit: other }] = await fresh(twoClients);
    await audit.append('r1', decisionEntry('a@example.com'));
    await other.append('r2', decisionEntry('x@example.com'));
    await other.append('r1', decisionEntry('b@example.com'));
    expect(await audit.list('r1')).toEqual([
      {
        seq: 1,
        at: 1_000,
        type: 'approval.decision',
        step: 'ask',
        data: decisionEntry('a@example.com').data,
      },
      {
        seq: 2,
        at: 1_000,
        type: 'approval.decision',
        step: 'ask',
        data: decisionEntry('b@example.com').data,
      },
    ]);
    expect((await audit.list('r2')).map((r) => r.seq)).toEqual([1]);
    expect(await audit.list('r3')).toEqual([]);
    expect(await other.lastSeq('r1')).toBe(2);
    expect(await other.lastSeq('r3')).toBe(0);
  });

  it('keeps every entry of many concurrent appends, gapless, with distinct numbers', async () => {
    const runs = await fresh(twoClients);
    const outcomes = await race(8, (i) =>
      connectionFor(runs, i).audit.append('r1', decisionEntry(`approver${i}@example.com`)),
    );
    const seqs = outcomes.map((o) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value.seq;
    });
    expect([...seqs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const trail = await runs[1].audit.list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const by = (r: (typeof trail)[number]) => (r.data as { by: string }).by;
    expect(new Set(trail.map(by)).size).toBe(8);
    // Each answered record is the one stored under its number.
    for (const o of outcomes) if (o.status === 'fulfilled') expect(trail[o.value.seq - 1]).toEqual(o.value);
  }, 60_000);

  it('appends within another store’s transaction: with its writes, or not at all', async () => {
    const runs = await fresh(twoClients);
    const [{ db, audit }] = runs;
    const decision = db.collection('approvalsOfTheTest').doc('d1');
    await db.runTransaction(async (tx) => {
      await audit.appendIn(tx, 'r1', decisionEntry('a@example.com'));
      tx.create(decision, { decided: true });
    });
    // The other write fails (the document exists): the entry is not written either.
    await expect(
      db.runTransaction(async (tx) => {
        await audit.appendIn(tx, 'r1', decisionEntry('b@example.com'));
        tx.create(decision, { decided: true });
      }),
    ).rejects.toThrow();
    expect((await audit.list('r1')).map((r) => [r.seq, (r.data as { by: string }).by])).toEqual([
      [1, 'a@example.com'],
    ]);
    // Racing transactions that append this way keep the trail gapless.
    const outcomes = await race(6, (i) =>
      connectionFor(runs, i).db.runTransaction(
        async (tx) => {
          const record = await connectionFor(runs, i).audit.appendIn(
            tx,
            'r1',
            decisionEntry(`r${i}@example.com`),
          );
          tx.set(db.collection('approvalsOfTheTest').doc(`d${i + 2}`), { seq: record.seq });
          return record.seq;
        },
        { maxAttempts: 50 },
      ),
    );
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    expect((await runs[1].audit.list('r1')).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  }, 60_000);

  it('keeps run ids Firestore refuses as document ids apart', async () => {
    const [{ audit }] = await fresh(twoClients);
    const ids = ['a/b', 'a%2Fb', '.', '..', '__x__', 'run_1'];
    for (const [i, id] of ids.entries()) await audit.append(id, decisionEntry(`n${i}@example.com`));
    for (const [i, id] of ids.entries())
      expect((await audit.list(id)).map((r) => (r.data as { by: string }).by)).toEqual([`n${i}@example.com`]);
    expect(new Set(ids.map(runDocId)).size).toBe(ids.length);
    expect(runDocId('run_1')).toBe('run_1');
    expect(() => runDocId('')).toThrow(/runId is empty/);
  });
});

describe('the Firestore run store', () => {
  it('writes a new run and its run.started entry together, as it reads back', async () => {
    const [{ store }, { store: other, audit }] = await fresh(twoClients);
    const run = await store.create(start('run-1'), 5_000, where('run-1'));
    expect(run).toEqual({
      id: 'run-1',
      workflowId: ASKS.id,
      status: 'running',
      trigger: start('run-1').trigger,
      input: start('run-1').input,
      createdAt: 5_000,
      endedAt: null,
      outcome: null,
      ...where('run-1'),
    });
    expect(await other.get('run-1')).toEqual(run);
    expect(await other.get('run-2')).toBeUndefined();
    expect(await audit.list('run-1')).toEqual([
      {
        seq: 1,
        at: 1_000,
        type: 'run.started',
        step: null,
        data: { trigger: 'manual', user: 'Alice@Example.com', input: start('x').input },
      },
    ]);
  });

  it('attaches the execution a run started, once: the same name again is kept, another refused', async () => {
    const [{ store }, { store: other }] = await fresh(twoClients);
    await store.create(start('run-1'), 5_000, { version: null, executionName: null });
    expect(await other.get('run-1')).toMatchObject({ version: null, executionName: null });
    const name = where('run-1').executionName;
    await other.attachExecution('run-1', name);
    await store.attachExecution('run-1', name);
    expect(await store.get('run-1')).toMatchObject({ status: 'running', executionName: name });
    await expect(store.attachExecution('run-1', `${name}-2`)).rejects.toThrow(
      `run run-1 is attached to execution ${name} already, not ${name}-2`,
    );
    await expect(store.attachExecution('run-9', name)).rejects.toThrow(
      `run run-9 has no record to attach execution ${name} to`,
    );
    await expect(store.attachExecution('run-1', '')).rejects.toThrow('executionName of run run-1 is empty');
    expect(await store.get('run-9')).toBeUndefined();
    // Ended meanwhile (a cancel before the execution's name was known), the run still gets it.
    await store.create(start('run-2'), 5_000, { version: 1, executionName: null });
    await store.end('run-2', cancelled, 6_000, finished('cancelled'));
    await other.attachExecution('run-2', where('run-2').executionName);
    expect(await store.get('run-2')).toMatchObject({
      status: 'cancelled',
      executionName: where('run-2').executionName,
    });
  });

  it('starts a run id once: of racing creates exactly one writes, the others are refused', async () => {
    const runs = await fresh(twoClients);
    const outcomes = await race(6, (i) =>
      connectionFor(runs, i).store.create(start('run-1', `wf-${i}`), 5_000 + i, where('run-1')),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RunExistsError);
    expect((await runs[0].store.get('run-1'))?.workflowId).toBe(`wf-${won[0]}`);
    expect((await runs[1].audit.list('run-1')).map((r) => r.type)).toEqual(['run.started']);
    await expect(runs[0].store.create(start('run-1'), 9_000, where('run-1'))).rejects.toThrow(
      'run run-1 exists already',
    );
  }, 60_000);

  it('refuses to start a run whose trail began already, writing nothing', async () => {
    const [{ store, audit }] = await fresh(twoClients);
    await audit.append('run-1', decisionEntry('a@example.com'));
    await expect(store.create(start('run-1'), 5_000, where('run-1'))).rejects.toBeInstanceOf(RunExistsError);
    expect(await store.get('run-1')).toBeUndefined();
    expect((await audit.list('run-1')).map((r) => r.type)).toEqual(['approval.decision']);
  });

  it('ends a run once with its entries; a second end, a regressing one or an unknown run writes nothing', async () => {
    const [{ store, audit }, { store: other }] = await fresh(twoClients);
    await store.create(start('run-1'), 5_000, where('run-1'));
    await audit.append('run-1', decisionEntry('bob@example.com'));
    const path = { kind: 'approved' as const, step: 'ask', by: 'bob@example.com' };
    expect(await other.end('run-1', completed, 7_000, finished('completed'), path)).toBe(true);
    expect(await store.end('run-1', completed, 8_000, finished('completed'), path)).toBe(false);
    expect(await store.end('run-1', cancelled, 9_000, finished('cancelled'))).toBe(false);
    expect(await store.end('nobody', cancelled, 9_000, finished('cancelled'))).toBe(false);
    expect(await store.get('run-1')).toMatchObject({
      status: 'completed',
      endedAt: 7_000,
      outcome: completed,
      pathOutcome: path,
    });
    expect((await audit.list('run-1')).map((r) => [r.seq, r.type])).toEqual([
      [1, 'run.started'],
      [2, 'approval.decision'],
      [3, 'run.finished'],
    ]);
    expect(await audit.list('nobody')).toEqual([]);
  });

  it('applies exactly one of many racing ends, with exactly its entries', async () => {
    const runs = await fresh(twoClients);
    await runs[0].store.create(start('run-1'), 5_000, where('run-1'));
    const outcomes = await race(8, (i) => {
      const outcome = i % 2 === 0 ? completed : cancelled;
      const entries: AuditEntry[] = [
        ...(i % 2 === 0 ? [] : [{ type: 'run.cancelled' as const, data: { by: `u${i}@example.com` } }]),
        ...finished(outcome.status),
      ];
      return connectionFor(runs, i).store.end('run-1', outcome, 6_000 + i, entries);
    });
    const won = outcomes.flatMap((o, i) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value ? [i] : [];
    });
    expect(won).toHaveLength(1);
    const winner = won[0] as number;
    const record = await runs[1].store.get('run-1');
    expect(record).toMatchObject({
      endedAt: 6_000 + winner,
      status: winner % 2 === 0 ? 'completed' : 'cancelled',
    });
    const trail = await runs[1].audit.list('run-1');
    expect(trail.map((r) => r.seq)).toEqual(trail.map((_, i) => i + 1));
    expect(trail.map((r) => r.type)).toEqual(
      winner % 2 === 0 ? ['run.started', 'run.finished'] : ['run.started', 'run.cancelled', 'run.finished'],
    );
    if (winner % 2 === 1) expect(trail[1]?.data).toEqual({ by: `u${winner}@example.com` });
  }, 60_000);

  it('keeps the trail gapless when an end races appends', async () => {
    const runs = await fresh(twoClients);
    await runs[0].store.create(start('run-1'), 5_000, where('run-1'));
    const outcomes = await race(6, async (i) =>
      i === 0
        ? runs[0].store.end('run-1', completed, 6_000, finished('completed'))
        : (await connectionFor(runs, i).audit.append('run-1', decisionEntry(`a${i}@example.com`))).seq > 0,
    );
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: true });
    const trail = await runs[1].audit.list('run-1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(trail.filter((r) => r.type === 'run.finished')).toHaveLength(1);
  }, 60_000);

  it('lists runs newest first, by creation time (from inclusive, to exclusive) and each filter', async () => {
    const [{ store }, { store: other }] = await fresh(twoClients);
    const base = 1_780_000_000_000;
    for (const n of [1, 2, 3]) await store.create(start(`run-${n}`), base + n * 1_000, where(`run-${n}`));
    // Created in the same millisecond as run-3: the id breaks the tie, newest first.
    await store.create(
      {
        ...start('run-4', 'other'),
        trigger: { type: 'manual', user: { ...alice, email: 'eve@example.com' } },
      },
      base + 3_000,
      where('run-4'),
    );
    await store.end('run-2', completed, base + 5_000, finished('completed'));
    const ids = async (filter: Parameters<FirestoreRunStore['list']>[0]) =>
      (await other.list(filter)).map((r) => r.id);
    expect(await ids({})).toEqual(['run-4', 'run-3', 'run-2', 'run-1']);
    expect(await ids({ from: base + 2_000 })).toEqual(['run-4', 'run-3', 'run-2']);
    expect(await ids({ to: base + 2_000 })).toEqual(['run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000 })).toEqual(['run-2', 'run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000, limit: 1 })).toEqual(['run-2']);
    expect(await ids({ limit: 2 })).toEqual(['run-4', 'run-3']);
    expect(await ids({ status: 'running' })).toEqual(['run-4', 'run-3', 'run-1']);
    expect(await ids({ status: 'completed' })).toEqual(['run-2']);
    expect(await ids({ workflowId: 'other' })).toEqual(['run-4']);
    expect(await ids({ triggeredBy: 'ALICE@example.com' })).toEqual(['run-3', 'run-2', 'run-1']);
    expect(
      await ids({
        workflowId: ASKS.id,
        status: 'running',
        triggeredBy: 'alice@example.com',
        from: base + 2_000,
      }),
    ).toEqual(['run-3']);
    expect(await ids({ workflowId: 'nothing' })).toEqual([]);
    expect((await other.list({ status: 'completed' }))[0]).toMatchObject({
      outcome: completed,
      endedAt: base + 5_000,
    });
  });

  it('records the path outcome of completed runs that have none, once, and only of those', async () => {
    const [{ store }, { store: other }] = await fresh(twoClients);
    for (const id of ['run-old', 'run-none', 'run-now', 'run-cancelled', 'run-running'])
      await store.create(start(id), 5_000, where(id));
    await store.end('run-old', completed, 6_000, finished('completed'));
    await store.end('run-none', completed, 6_000, finished('completed'));
    await store.end('run-now', completed, 6_000, finished('completed'), null);
    await store.end('run-cancelled', cancelled, 6_000, finished('cancelled'));
    expect((await other.unrecorded(10)).map((r) => r.id).sort()).toEqual(['run-none', 'run-old']);
    expect(await other.unrecorded(1)).toHaveLength(1);
    const rejected = { kind: 'rejected' as const, step: 'ask', by: 'bob@example.com' };
    expect(await other.recordPath('run-old', rejected)).toBe(true);
    expect(await other.recordPath('run-none', null)).toBe(true);
    expect(await store.recordPath('run-old', null)).toBe(false);
    expect(await store.recordPath('run-now', rejected)).toBe(false);
    expect(await store.recordPath('run-cancelled', rejected)).toBe(false);
    expect(await store.recordPath('run-running', rejected)).toBe(false);
    expect(await store.recordPath('nobody', rejected)).toBe(false);
    expect(await store.unrecorded(10)).toEqual([]);
    expect((await store.get('run-old'))?.pathOutcome).toEqual(rejected);
    expect(await store.get('run-none')).not.toHaveProperty('pathOutcome');
    expect(await store.get('run-now')).not.toHaveProperty('pathOutcome');
  });

  it('declares an index for every combination of the listing’s equality filters, newest first', () => {
    const indexes = (COLLECTIONS.runs.indexes ?? []).map((fields) =>
      fields.map((f) => `${f.field} ${f.order}`).join(', '),
    );
    expect(indexes.sort()).toEqual(
      [
        'status ASCENDING',
        'workflowId ASCENDING',
        'triggeredBy ASCENDING',
        'status ASCENDING, workflowId ASCENDING',
        'status ASCENDING, triggeredBy ASCENDING',
        'workflowId ASCENDING, triggeredBy ASCENDING',
        'status ASCENDING, workflowId ASCENDING, triggeredBy ASCENDING',
      ]
        .map((equalities) => `${equalities}, createdAt DESCENDING`)
        .sort(),
    );
  });

  it('keeps what a run holds as JSON text in its document, the email lower-cased for the filter', async () => {
    const [{ store, db }] = await fresh(twoClients);
    await store.create(start('run-1'), 5_000, where('run-1'));
    const doc = (await db.collection(COLLECTIONS.runs.name).doc('run-1').get()).data();
    expect(doc).toEqual({
      id: 'run-1',
      workflowId: ASKS.id,
      version: 1,
      executionName: where('run-1').executionName,
      status: 'running',
      triggeredBy: 'alice@example.com',
      trigger: JSON.stringify(start('run-1').trigger),
      input: JSON.stringify(start('run-1').input),
      createdAt: 5_000,
      endedAt: null,
      outcome: null,
      pathRecorded: false,
    });
  });
});
