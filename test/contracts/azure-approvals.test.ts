// The port contracts of approvals and approval links run against the Azure adapters on Azurite
// (test/support/azurite.ts: missing, the suite fails). Each test gets fresh tables reached through two
// clients (two AzureTables over one prefix), as two Functions instances would. Beside the contracts: the
// approval store writing its audit entry in the decision's transaction (the run's trail, adapters/azure/
// audit.ts), the callback handle sealed in the entity, what the entities hold, the cross-run listings
// through index entities the request entities keep honest, and pruning of spent links.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureApprovalLinkStore } from '../../adapters/azure/approval-link-store.js';
import { AzureApprovalStore } from '../../adapters/azure/approval-store.js';
import { AzureRunAudit, runPartition } from '../../adapters/azure/audit.js';
import { AzureTables, entityKey } from '../../adapters/azure/tables.js';
import { approvalCallbackKey } from '../../adapters/local/approval-store.js';
import type { AuditEntry } from '../../functions/core/audit.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { describeApprovalLinkStoreContract } from './approval-link-store.contract.js';
import { approvalRecord, describeApprovalStoreContract } from './approval-store.contract.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

/** Fresh tables and two clients of them, each wrapped by `adapter`. */
async function twoClients<T>(adapter: (tables: AzureTables) => T): Promise<Contenders<T>> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const first = await azurite.freshTables();
  return { connections: [first, new AzureTables(first.options)].map(adapter), close: () => {} };
}

const MASTER_KEY = new Uint8Array(32).fill(7);

interface Approvals {
  tables: AzureTables;
  store: AzureApprovalStore;
  trail: AzureRunAudit;
}

/** An approval store writing to the runs' trail, over one client of the tables. */
function approvalsWithTrail(tables: AzureTables): Approvals {
  const trail = new AzureRunAudit(tables);
  const callbackKey = approvalCallbackKey(MASTER_KEY);
  return { tables, store: new AzureApprovalStore(tables, { callbackKey, trail }), trail };
}

describe('on Azurite', { timeout: 60_000 }, () => {
  describeApprovalLinkStoreContract('Azure Table Storage', () =>
    twoClients((tables) => new AzureApprovalLinkStore(tables)),
  );
  describeApprovalStoreContract('Azure Table Storage', () =>
    twoClients((tables) => approvalsWithTrail(tables).store),
  );
});

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

const byOf = (r: { data: unknown }) => (r.data as { by: string }).by;

describe('the Azure approval store with an audit trail', { timeout: 60_000 }, () => {
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
    expect((await b.trail.list('r1')).map((r) => [r.seq, byOf(r)])).toEqual([[1, 'bob@example.com']]);
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
    expect((await pairs[1].store.undelivered()).map((r) => r.version)).toEqual([2]);
  });

  it('appends the entries of decisions on different requests of one run without a gap, beside other appends', async () => {
    const pairs = await fresh(() => twoClients(approvalsWithTrail));
    const levels = [1, 2, 3, 4, 5, 6];
    for (const level of levels) await pairs[0].store.create(approvalRecord({ level }));
    const outcomes = await race(levels.length + 2, async (i) => {
      const { store, trail } = connectionFor(pairs, i);
      if (i >= levels.length) return trail.append('r1', decisionEntry(`other${i}@example.com`));
      const read = await store.get('r1', 'ask', 1, i + 1);
      if (read === undefined) throw new Error('not created');
      return store.update({ ...read, status: 'approved' }, decisionEntry(`level${i + 1}@example.com`));
    });
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    const trail = await pairs[1].trail.list('r1');
    expect(trail.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(trail.map(byOf)).size).toBe(8);
  });

  it('writes neither the decision nor its entry when the entry cannot be written', async () => {
    const [{ store, tables }] = await fresh(() => twoClients(approvalsWithTrail));
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    // An entry under seq 1 that the trail's head does not count: the entry's create fails every time, and
    // the decision in its transaction is not written either.
    await tables
      .client('runs')
      .createEntity({ partitionKey: runPartition('r1'), rowKey: 'entry|000000000001' });
    await expect(
      store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).rejects.toThrow(/stayed contended/);
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });
    expect((await new AzureRunAudit(tables).head('r1')).seq).toBe(0);
  });

  it('refuses an update that carries an audit entry when it has no audit trail, and writes nothing', async () => {
    const [store] = await fresh(() => twoClients((tables) => new AzureApprovalStore(tables)));
    await store.create(approvalRecord());
    const read = await store.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    await expect(
      store.update({ ...read, status: 'approved' }, decisionEntry('bob@example.com')),
    ).rejects.toThrow(/no audit trail/);
    expect(await store.get('r1', 'ask', 1, 1)).toMatchObject({ status: 'open', version: 1 });
  });
});

/** The index entities in `runIndex`, as [partition, RowKey]. */
async function indexOf(tables: AzureTables): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const e of tables.client('runIndex').listEntities())
    rows.push([String(e.partitionKey), String(e.rowKey)]);
  return rows;
}

describe('the Azure approval entities', { timeout: 60_000 }, () => {
  it('keeps the callback handle sealed in the entity, bound to its request', async () => {
    const [{ store, tables }] = await fresh(() => twoClients(approvalsWithTrail));
    const callback = JSON.stringify({ instanceId: 'r1', eventName: 'approval:ask:1:1', SECRET: 'SECRET' });
    await store.create(approvalRecord({ callback }));
    await store.create(approvalRecord({ level: 2 }));
    const runs = tables.client('runs');
    const rowOf = (level: number) =>
      `${entityKey('approval', 'ask')}|0000000001|${String(level).padStart(10, '0')}`;
    const first = await runs.getEntity<{ callback: Uint8Array }>(runPartition('r1'), rowOf(1));
    expect(first.callback).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(first.callback).toString('latin1')).not.toContain('SECRET');
    await runs.updateEntity(
      { partitionKey: runPartition('r1'), rowKey: rowOf(2), callback: first.callback },
      'Merge',
    );
    await expect(store.get('r1', 'ask', 1, 2)).rejects.toThrow(
      /cannot decrypt the callback handle of approval r1\/ask level 2/,
    );
    await expect(store.get('r1', 'ask', 1, 2)).rejects.not.toThrow(/SECRET/);
    expect((await store.get('r1', 'ask', 1, 1))?.callback).toBe(callback);
  });

  it("lays a request out in its run's partition, and lists it across runs only while open or undelivered", async () => {
    const [{ store, tables }, { store: other }] = await fresh(() => twoClients(approvalsWithTrail));
    await store.create(approvalRecord({ approvers: ['Bob@Example.com', 'dana@example.com'] }));
    const rows: string[] = [];
    for await (const e of tables.client('runs').listEntities()) rows.push(`${e.partitionKey} ${e.rowKey}`);
    expect(rows).toEqual([`r1 approval|ask|0000000001|0000000001`]);
    const listed = (await indexOf(tables)).map(([pk, rk]) => [
      pk,
      rk?.replace(/\|[0-9a-f]{64}\|/, '|<key>|'),
    ]);
    expect(listed).toEqual([
      [entityKey('approver', 'bob@example.com'), '0000000000001000|<key>|0000000001'],
      [entityKey('approver', 'dana@example.com'), '0000000000001000|<key>|0000000001'],
    ]);
    const read = await other.get('r1', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    const decided = await other.update({ ...read, status: 'approved' });
    if (decided === undefined) throw new Error('not decided');
    expect((await indexOf(tables)).map(([pk, rk]) => [pk, rk?.slice(-10)])).toEqual([
      ['undelivered', '0000000002'],
    ]);
    expect(await store.pendingFor('bob@example.com')).toEqual([]);
    expect(await store.undelivered()).toEqual([decided]);
    await store.update({ ...decided, delivered: true });
    expect(await indexOf(tables)).toEqual([]);
    expect(await other.undelivered()).toEqual([]);
  });

  it('skips index entities ahead of their request, and prunes those their request contradicts', async () => {
    const [{ store, tables }, { store: other }] = await fresh(() => twoClients(approvalsWithTrail));
    const index = tables.client('runIndex');
    // A create under way (or that died) before its request exists, and an update that lost its race.
    const ahead = (runId: string, version: number, createdAt = 1_000) => ({
      partitionKey: 'undelivered',
      rowKey: `${String(createdAt).padStart(16, '0')}|${'a'.repeat(64)}|${String(version).padStart(10, '0')}`,
      runId,
      stepId: 'ask',
      visit: 1,
      level: 1,
    });
    await index.createEntity(ahead('nobody', 1));
    await store.create(approvalRecord({ runId: 'open' }));
    await index.createEntity({
      ...ahead('open', 2),
      rowKey: (await indexOf(tables))[0]?.[1]?.replace(/1$/, '2') ?? '',
    });
    // A losing create's entity (another creation time): never right, pruned.
    await index.createEntity(ahead('open', 1, 7_000));
    expect(await other.undelivered()).toEqual([]);
    const left = (await indexOf(tables))
      .filter(([pk]) => pk === 'undelivered')
      .map(([, rk]) => rk?.slice(0, 16));
    expect(left.sort()).toEqual(['0000000000001000', '0000000000001000']);
    // The request reaches version 2 without being decided: the entity for version 2 is now contradicted.
    const read = await store.get('open', 'ask', 1, 1);
    if (read === undefined) throw new Error('not created');
    await store.update({ ...read, decisions: [] });
    expect(await other.undelivered()).toEqual([]);
    expect(
      (await indexOf(tables)).filter(([pk]) => pk === 'undelivered').map(([, rk]) => rk?.slice(17, 18)),
    ).toEqual(['a']);
  });

  it('keeps a request under its own key whatever characters its run and step ids hold', async () => {
    const [store, other] = await fresh(() => twoClients((tables) => approvalsWithTrail(tables).store));
    const runs = ['a/b', 'a|b', "it's", 'a#b?c', 'a%7Cb', 'x'.repeat(1_500)];
    for (const runId of runs)
      expect(await store.create(approvalRecord({ runId, message: runId }))).toBe(true);
    for (const runId of runs) expect((await other.get(runId, 'ask', 1, 1))?.message).toBe(runId);
    expect(await store.create(approvalRecord({ stepId: 's'.repeat(1_500) }))).toBe(true);
    expect(await other.openFor('r1', 's'.repeat(1_500))).toMatchObject({ stepId: 's'.repeat(1_500) });
    expect((await other.pendingFor('bob@example.com')).length).toBe(runs.length + 1);
  });

  it('keeps a message, context and decisions longer than one property holds', async () => {
    const [store, other] = await fresh(() => twoClients((tables) => approvalsWithTrail(tables).store));
    const message = 'm'.repeat(50_000);
    const context = { details: [{ label: 'long', value: 'c'.repeat(70_000) }], inputs: [], results: [] };
    await store.create(approvalRecord({ message, context }));
    const read = await other.get('r1', 'ask', 1, 1);
    expect(read).toMatchObject({ message, context });
    if (read === undefined) throw new Error('not created');
    const decisions = Array.from({ length: 300 }, (_, i) => ({
      by: `approver${i}@example.com`,
      decision: 'approve' as const,
      comment: 'd'.repeat(200),
      at: '2030-01-01T00:00:00.000Z',
      channel: 'api' as const,
    }));
    expect(await other.update({ ...read, decisions })).toMatchObject({ version: 2 });
    expect((await store.get('r1', 'ask', 1, 1))?.decisions).toEqual(decisions);
  });
});

describe('the Azure approval store refusing bad keys', () => {
  it('names the field that cannot be a key, and writes nothing', async () => {
    const [{ store, tables }] = await fresh(() => twoClients(approvalsWithTrail));
    await expect(store.create(approvalRecord({ visit: -1 }))).rejects.toThrow(
      'approval r1/ask: visit must be a non-negative integer, got -1',
    );
    await expect(store.get('r1', 'ask', 1, 1.5)).rejects.toThrow(
      'approval r1/ask: level must be a non-negative integer, got 1.5',
    );
    await expect(store.create(approvalRecord({ createdAt: Number.NaN }))).rejects.toThrow(
      'approval r1/ask: createdAt must be ms since epoch, got NaN',
    );
    expect(await indexOf(tables)).toEqual([]);
  });
});

describe('the Azure approval-link store', () => {
  it('keeps the nonce and the link record, and prunes by expiry past numbers Int32 holds', async () => {
    const [links, other] = await fresh(() =>
      twoClients((tables) => ({ tables, links: new AzureApprovalLinkStore(tables) })),
    );
    const used = (nonce: string, expiresAt: number) => ({
      nonce,
      runId: 'r1',
      stepId: 'ask',
      level: 1,
      approver: 'bob@example.com',
      usedAt: 1_000,
      expiresAt,
    });
    const now = 1_800_000_000_000;
    await links.links.claim(used('n/1', now - 1));
    await links.links.claim(used('n2', now + 1));
    const stored = await links.tables.client('links').getEntity(entityKey('n/1'), 'link');
    expect(stored).toMatchObject({ ...used('n/1', now - 1), expiresKey: String(now - 1).padStart(16, '0') });
    expect(await other.links.prune(now)).toBe(1);
    expect(await other.links.isUsed('n/1')).toBe(false);
    expect(await other.links.isUsed('n2')).toBe(true);
    await expect(other.links.prune(Number.NaN)).rejects.toThrow('before must be a time in ms since epoch');
  });
});
