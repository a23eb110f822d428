// The Azure run records and audit trail (adapters/azure/run-store.ts, adapters/azure/audit.ts) on Azurite
// (test/support/azurite.ts: missing, the suite fails). Each test gets fresh tables reached through two
// clients (two AzureTables over one prefix), as two Functions instances would. What the Firestore and
// DynamoDB tests check of their twins, checked of these: the trail numbered per run, gapless under
// concurrent appends; the orchestrator's batches written once however often (and however concurrently)
// they are delivered; one start per run id, the record and its `run.started` entry together; an end applied
// once, racing ends included, never regressing a terminal status; listings newest first with RunFilter's
// filters, through index entities the records keep honest; inputs longer than one property holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureRunAudit, runPartition } from '../../adapters/azure/audit.js';
import { RunExistsError } from '../../adapters/azure/run-errors.js';
import { AzureRunRecorder } from '../../adapters/azure/run-records.js';
import { AzureRunStore } from '../../adapters/azure/run-store.js';
import { AzureTables, entityKey } from '../../adapters/azure/tables.js';
import type { RecordedEntry } from '../../functions/azure/activities.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunOutcome } from '../../functions/core/protocol.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import { ASKS } from './durable-host.contract.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

interface Runs {
  tables: AzureTables;
  audit: AzureRunAudit;
  store: AzureRunStore;
}

/** Fresh tables and two clients of them, each with its trail and run store. */
async function twoClients(): Promise<Contenders<Runs>> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const first = await azurite.freshTables();
  const second = new AzureTables(first.options);
  return {
    connections: [first, second].map((tables) => {
      const audit = new AzureRunAudit(tables);
      return { tables, audit, store: new AzureRunStore(tables, audit) };
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
  input: { amount: 900, grid: [[1, 2], [3]] },
  trigger: { type: 'manual', user: alice },
});
const where = { version: 1 };
const finished = (status: RunOutcome['status']): AuditEntry[] => [
  { type: 'run.finished', data: { status, error: null } },
];
const completed: RunOutcome = { status: 'completed', error: null, vars: { paid: true, rows: [[1]] } };
const cancelled: RunOutcome = { status: 'cancelled', error: null, vars: {} };
const byOf = (r: { data: unknown }) => (r.data as { by: string }).by;

/** The orchestrator's entries numbered from..to, as a `record` activity delivers them. */
const recorded = (from: number, to: number): RecordedEntry[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    ...decisionEntry(`o${from + i}@example.com`),
    seq: from + i,
    at: 10_000 + from + i,
  }));

describe('the Azure audit trail', () => {
  it('numbers entries from 1 in the order they were appended, per run', async () => {
    const [{ audit }, { audit: other }] = await fresh(twoClients);
    await audit.append('r1', decisionEntry('a@example.com'), 1_000);
    await other.append('r2', decisionEntry('x@example.com'), 1_000);
    await other.append('r1', decisionEntry('b@example.com'), 2_000);
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
        at: 2_000,
        type: 'approval.decision',
        step: 'ask',
        data: decisionEntry('b@example.com').data,
      },
    ]);
    expect((await audit.list('r2')).map((r) => r.seq)).toEqual([1]);
    expect(await audit.list('r3')).toEqual([]);
    expect((await other.head('r1')).seq).toBe(2);
    expect((await other.head('r3')).seq).toBe(0);
  });

  it('keeps every entry of many concurrent appends, gapless, with distinct numbers', async () => {
    const runs = await fresh(twoClients);
    const outcomes = await race(8, (i) =>
      connectionFor(runs, i).audit.append('r1', decisionEntry(`approver${i}@example.com`), 1_000),
    );
    const seqs = outcomes.map((o) => {
      if (o.status === 'rejected') throw o.reason;
      return o.value.seq;
    });
    expect([...seqs].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const trail = await runs[1].audit.list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(trail.map(byOf)).size).toBe(8);
    for (const o of outcomes) if (o.status === 'fulfilled') expect(trail[o.value.seq - 1]).toEqual(o.value);
  }, 60_000);

  it('writes a redelivered batch once, and a batch delivered before an earlier one without losing either', async () => {
    const [{ audit }, { audit: other }] = await fresh(twoClients);
    await audit.appendBatch({ runId: 'r1', entries: recorded(1, 3) });
    await other.appendBatch({ runId: 'r1', entries: recorded(1, 3) });
    await other.append('r1', decisionEntry('human@example.com'), 1_000);
    await audit.appendBatch({ runId: 'r1', entries: recorded(6, 7) });
    await audit.appendBatch({ runId: 'r1', entries: recorded(4, 5) });
    await other.appendBatch({ runId: 'r1', entries: recorded(4, 7) });
    const trail = await audit.list('r1');
    expect(trail.map((r) => [r.seq, byOf(r), r.at])).toEqual([
      [1, 'o1@example.com', 10_001],
      [2, 'o2@example.com', 10_002],
      [3, 'o3@example.com', 10_003],
      [4, 'human@example.com', 1_000],
      [5, 'o6@example.com', 10_006],
      [6, 'o7@example.com', 10_007],
      [7, 'o4@example.com', 10_004],
      [8, 'o5@example.com', 10_005],
    ]);
    expect(await audit.head('r1')).toMatchObject({ seq: 8, applied: 7 });
  });

  it('writes a batch delivered several times at once exactly once, beside racing appends', async () => {
    const runs = await fresh(twoClients);
    const outcomes = await race(8, (i) =>
      i < 6
        ? connectionFor(runs, i).audit.appendBatch({ runId: 'r1', entries: recorded(1, 5) })
        : connectionFor(runs, i)
            .audit.append('r1', decisionEntry(`h${i}@example.com`), 1_000)
            .then(() => undefined),
    );
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    const trail = await runs[1].audit.list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(trail.map(byOf).sort()).toEqual(
      ['h6', 'h7', 'o1', 'o2', 'o3', 'o4', 'o5'].map((who) => `${who}@example.com`),
    );
  }, 60_000);

  it('writes a batch larger than one transaction in several, once, with long entries', async () => {
    const [{ audit }, { audit: other }] = await fresh(twoClients);
    const long = 'x'.repeat(70_000);
    const entries = recorded(1, 120).map((e, i) =>
      i === 60 ? ({ ...e, data: { ...e.data, comment: long } } as RecordedEntry) : e,
    );
    await Promise.all([
      audit.appendBatch({ runId: 'r1', entries }),
      other.appendBatch({ runId: 'r1', entries }),
    ]);
    const trail = await other.list('r1');
    expect(trail.map((r) => r.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(trail.map(byOf)).toEqual(entries.map(byOf));
    expect(trail[60]?.data).toMatchObject({ comment: long });
  }, 60_000);

  it("holds one run.started: the run store's, the recorder leaving the orchestrator's out; a trail stores what it is given", async () => {
    const [{ audit, store }, { audit: other, store: otherStore }] = await fresh(twoClients);
    await store.create(start('run-1'), 5_000, where);
    const startedByOrchestrator = {
      type: 'run.started' as const,
      data: { trigger: 'manual' as const, user: 'x', input: {} },
    };
    const batch = [{ ...startedByOrchestrator, seq: 1, at: 9 }, ...recorded(2, 2)];
    const recorders = [
      new AzureRunRecorder({ records: store, trail: audit }),
      new AzureRunRecorder({ records: otherStore, trail: other }),
    ];
    // Delivered twice, the deliveries racing on two app instances.
    await Promise.all(recorders.map((recorder) => recorder.append({ runId: 'run-1', entries: batch })));
    expect((await audit.list('run-1')).map((r) => [r.seq, r.type, r.at])).toEqual([
      [1, 'run.started', 5_000],
      [2, 'approval.decision', 10_002],
    ]);
    await audit.appendBatch({ runId: 'run-2', entries: batch });
    await other.appendBatch({ runId: 'run-2', entries: batch });
    expect((await audit.list('run-2')).map((r) => [r.seq, r.type, r.at])).toEqual([
      [1, 'run.started', 9],
      [2, 'approval.decision', 10_002],
    ]);
  });

  it('refuses a batch entry without a usable seq, naming the run', async () => {
    const [{ audit }] = await fresh(twoClients);
    await expect(
      audit.appendBatch({ runId: 'r1', entries: [{ ...decisionEntry('a@example.com'), seq: 0, at: 1 }] }),
    ).rejects.toThrow("run r1: a recorded entry's seq must be a positive integer, got 0");
    expect(await audit.list('r1')).toEqual([]);
  });

  it('keeps run ids Table Storage refuses as keys apart', async () => {
    const [{ audit }] = await fresh(twoClients);
    const ids = ['a/b', 'a%2Fb', "it's", 'a#b?c', 'run_1', 'x'.repeat(2_000)];
    for (const [i, id] of ids.entries()) await audit.append(id, decisionEntry(`n${i}@example.com`));
    for (const [i, id] of ids.entries())
      expect((await audit.list(id)).map(byOf)).toEqual([`n${i}@example.com`]);
    expect(new Set(ids.map(runPartition)).size).toBe(ids.length);
    expect(() => runPartition('')).toThrow(/runId is empty/);
  });
});

describe('the Azure run store', () => {
  it('writes a new run and its run.started entry together, as it reads back', async () => {
    const [{ store }, { store: other, audit }] = await fresh(twoClients);
    const run = await store.create(start('run-1'), 5_000, where);
    expect(run).toEqual({
      id: 'run-1',
      workflowId: ASKS.id,
      status: 'running',
      trigger: start('run-1').trigger,
      input: start('run-1').input,
      createdAt: 5_000,
      endedAt: null,
      outcome: null,
      version: 1,
    });
    expect(await other.get('run-1')).toEqual(run);
    expect(await other.get('run-2')).toBeUndefined();
    await store.create(start('run-3'), 5_000, { version: null });
    expect(await other.get('run-3')).toMatchObject({ version: null });
    expect(await audit.list('run-1')).toEqual([
      {
        seq: 1,
        at: 5_000,
        type: 'run.started',
        step: null,
        data: { trigger: 'manual', user: 'Alice@Example.com', input: start('x').input },
      },
    ]);
  });

  it('starts a run id once: of racing creates exactly one writes, the others are refused', async () => {
    const runs = await fresh(twoClients);
    const outcomes = await race(6, (i) =>
      connectionFor(runs, i).store.create(start('run-1', `wf-${i}`), 5_000 + i, where),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(RunExistsError);
    expect((await runs[0].store.get('run-1'))?.workflowId).toBe(`wf-${won[0]}`);
    expect((await runs[1].audit.list('run-1')).map((r) => r.type)).toEqual(['run.started']);
    await expect(runs[0].store.create(start('run-1'), 9_000, where)).rejects.toThrow(
      'run run-1 exists already',
    );
    // The losers' index entities are not listed: the run is, once, as its record says.
    expect((await runs[1].store.list({})).map((r) => [r.id, r.workflowId])).toEqual([
      ['run-1', `wf-${won[0]}`],
    ]);
    for (let i = 0; i < 6; i++)
      expect((await runs[1].store.list({ workflowId: `wf-${i}` })).length).toBe(i === won[0] ? 1 : 0);
  }, 60_000);

  it('refuses a start time that is not ms since epoch, naming the run', async () => {
    const [{ store }] = await fresh(twoClients);
    await expect(store.create(start('run-1'), -5, where)).rejects.toThrow(
      'run run-1: the start time must be ms since epoch, got -5',
    );
    expect(await store.get('run-1')).toBeUndefined();
  });

  it('refuses to start a run whose trail began already, writing nothing', async () => {
    const [{ store, audit }] = await fresh(twoClients);
    await audit.append('run-1', decisionEntry('a@example.com'));
    await expect(store.create(start('run-1'), 5_000, where)).rejects.toBeInstanceOf(RunExistsError);
    expect(await store.get('run-1')).toBeUndefined();
    expect((await audit.list('run-1')).map((r) => r.type)).toEqual(['approval.decision']);
    expect(await store.list({})).toEqual([]);
  });

  it('ends a run once with its entries; a second end, a regressing one or an unknown run writes nothing', async () => {
    const [{ store, audit }, { store: other }] = await fresh(twoClients);
    await store.create(start('run-1'), 5_000, where);
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
      input: start('run-1').input,
    });
    expect((await audit.list('run-1')).map((r) => [r.seq, r.type])).toEqual([
      [1, 'run.started'],
      [2, 'approval.decision'],
      [3, 'run.finished'],
    ]);
    expect(await audit.list('nobody')).toEqual([]);
    await store.create(start('run-2'), 5_000, where);
    expect(await store.end('run-2', completed, 6_000, finished('completed'), null)).toBe(true);
    expect(await store.get('run-2')).not.toHaveProperty('pathOutcome');
  });

  it('applies exactly one of many racing ends, with exactly its entries', async () => {
    const runs = await fresh(twoClients);
    await runs[0].store.create(start('run-1'), 5_000, where);
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
    expect(await runs[1].store.get('run-1')).toMatchObject({
      endedAt: 6_000 + winner,
      status: winner % 2 === 0 ? 'completed' : 'cancelled',
    });
    const trail = await runs[1].audit.list('run-1');
    expect(trail.map((r) => r.seq)).toEqual(trail.map((_, i) => i + 1));
    expect(trail.map((r) => r.type)).toEqual(
      winner % 2 === 0 ? ['run.started', 'run.finished'] : ['run.started', 'run.cancelled', 'run.finished'],
    );
  }, 60_000);

  it('keeps the trail gapless when an end races appends', async () => {
    const runs = await fresh(twoClients);
    await runs[0].store.create(start('run-1'), 5_000, where);
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
    for (const n of [1, 2, 3]) await store.create(start(`run-${n}`), base + n * 1_000, where);
    // Created in the same millisecond as run-3: the id breaks the tie, newest first.
    await store.create(
      {
        ...start('run-4', 'other'),
        trigger: { type: 'manual', user: { ...alice, email: 'eve@example.com' } },
      },
      base + 3_000,
      where,
    );
    await store.end('run-2', completed, base + 5_000, finished('completed'));
    const ids = async (filter: Parameters<AzureRunStore['list']>[0]) =>
      (await other.list(filter)).map((r) => r.id);
    expect(await ids({})).toEqual(['run-4', 'run-3', 'run-2', 'run-1']);
    expect(await ids({ from: base + 2_000 })).toEqual(['run-4', 'run-3', 'run-2']);
    expect(await ids({ to: base + 2_000 })).toEqual(['run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000 })).toEqual(['run-2', 'run-1']);
    expect(await ids({ from: base + 1_000, to: base + 3_000, limit: 1 })).toEqual(['run-2']);
    expect(await ids({ limit: 2 })).toEqual(['run-4', 'run-3']);
    expect(await ids({ limit: 1 })).toEqual(['run-4']);
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
    expect(await ids({ from: base + 5_000, to: base + 5_000 })).toEqual([]);
    expect((await other.list({ status: 'completed' }))[0]).toMatchObject({
      outcome: completed,
      endedAt: base + 5_000,
    });
    await expect(other.list({ limit: -1 })).rejects.toThrow('limit must be a non-negative integer, got -1');
    await expect(other.list({ from: Number.NaN })).rejects.toThrow('from must be a time in ms since epoch');
  });

  it('lists past many runs of other statuses to find the few that match, and only readable runs', async () => {
    const [{ store, tables }, { store: other }] = await fresh(twoClients);
    await Promise.all(
      Array.from({ length: 120 }, async (_, n) => {
        await store.create(start(`run-${n}`), 1_000 + n, where);
        if (n >= 2) await store.end(`run-${n}`, completed, 5_000, finished('completed'));
      }),
    );
    expect((await other.list({ status: 'running' })).map((r) => r.id)).toEqual(['run-1', 'run-0']);
    expect(await other.list({ status: 'completed', limit: 200 })).toHaveLength(118);
    // An index entity whose start died before its record: skipped, the listing unharmed.
    await tables
      .client('runIndex')
      .createEntity({ partitionKey: 'all', rowKey: '0000000000000000|ghost', runId: 'ghost' });
    expect((await other.list({ limit: 3 })).map((r) => r.id)).toEqual(['run-119', 'run-118', 'run-117']);
  }, 120_000);

  it('keeps a run whose trigger and input exceed one property, and its long outcome', async () => {
    const [{ store }, { store: other }] = await fresh(twoClients);
    const big = { ...start('run-1'), input: { text: 'é'.repeat(100_000), rows: [[1]] } };
    await store.create(big, 5_000, where);
    expect((await other.get('run-1'))?.input).toEqual(big.input);
    const outcome: RunOutcome = { status: 'completed', error: null, vars: { out: '🙂'.repeat(40_000) } };
    expect(await other.end('run-1', outcome, 6_000, finished('completed'))).toBe(true);
    expect((await store.get('run-1'))?.outcome).toEqual(outcome);
    expect((await store.list({}))[0]?.input).toEqual(big.input);
  });

  it('lays a run out in its partition: the record, the trail head, its entries; index entities beside', async () => {
    const [{ store, tables }] = await fresh(twoClients);
    await store.create(start('a/b'), 5_000, where);
    const rows = [];
    for await (const e of tables.client('runs').listEntities()) rows.push([e.partitionKey, e.rowKey]);
    expect(rows).toEqual([
      ['a%2Fb', 'entry|000000000001'],
      ['a%2Fb', 'head'],
      ['a%2Fb', 'run'],
    ]);
    const record = await tables.client('runs').getEntity('a%2Fb', 'run');
    expect(record).toMatchObject({
      id: 'a/b',
      status: 'running',
      triggeredBy: 'alice@example.com',
      trigger: 1,
      input: 1,
    });
    const index = [];
    for await (const e of tables.client('runIndex').listEntities()) index.push(e.partitionKey);
    expect(index.sort()).toEqual(
      ['all', entityKey('user', 'alice@example.com'), entityKey('workflow', ASKS.id)].sort(),
    );
  });
});
