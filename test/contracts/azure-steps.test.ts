// The port contracts of step visits, quorum tallies and schedules, and the activity claims, run against the
// Azure adapters on Azurite (test/support/azurite.ts: missing, the suite fails). Each test gets tables of
// its own (a fresh prefix) reached through two AzureTables (two clients), as two Functions instances would.
// Beside the contracts: what the schedule store keeps and lists, deleting a schedule's fires, the due
// schedules a timer trigger reads, and claims racing, taken over and finished once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureActivityClaims } from '../../adapters/azure/activity-claims.js';
import { AzureScheduleStore } from '../../adapters/azure/schedule-store.js';
import { AzureQuorumTallies, AzureStepVisits } from '../../adapters/azure/step-tallies.js';
import { AzureTables } from '../../adapters/azure/tables.js';
import type { BranchFinish, ScheduleRecord } from '../../functions/core/ports.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { type Contenders, fresh, race } from './contenders.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import { describeQuorumTalliesContract, describeStepVisitsContract } from './step-tallies.contract.js';

/** Racing writers on one partition retry with a little backoff: well under a second, but not instant. */
const RACE_TIMEOUT = 30_000;

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

/** Fresh tables reached through `n` clients of their own, each wrapped by `adapter`. */
async function clients<T>(adapter: (tables: AzureTables) => T, n = 2): Promise<Contenders<T>> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const first = await azurite.freshTables();
  const all = [first, ...Array.from({ length: n - 1 }, () => new AzureTables(first.options))];
  return { connections: all.map(adapter), close: () => undefined };
}

describe('on Azurite', { timeout: RACE_TIMEOUT }, () => {
  describeScheduleStoreContract('Azure Table Storage', () => clients((t) => new AzureScheduleStore(t)));
  describeStepVisitsContract('Azure Table Storage', () => clients((t) => new AzureStepVisits(t)));
  describeQuorumTalliesContract('Azure Table Storage', () => clients((t) => new AzureQuorumTallies(t)));
});

describe('the Azure step tallies beyond the contract', () => {
  it('keeps visits and finishes under any run and step ids, and finishes longer than one property', async () => {
    const [visits] = await fresh(() => clients((t) => new AzureStepVisits(t)));
    const [tallies, other] = await fresh(() => clients((t) => new AzureQuorumTallies(t)));
    expect(await visits.visitAt("r/1#'?", 'a|b', 'x')).toBe(1);
    expect(await visits.visitAt("r/1#'?", 'a', 'b|x')).toBe(1);
    expect(await visits.latest("r/1#'?", 'a|b')).toBe(1);
    const big = (branch: number): BranchFinish => ({
      branch,
      outcome: 'succeeded',
      // ASCII: Azurite 3.35 decodes a request body chunk by chunk (readRequestIntoText joins Buffers as
      // strings), which breaks a multi-byte character cut by a chunk boundary; Azure does not.
      written: { text: 'e'.repeat(40_000), note: 'é' },
    });
    await tallies.add('r', 'fan', big(0));
    expect(await other.add('r', 'fan', big(1))).toEqual([big(0), big(1)]);
  });
});

const schedule = (id: string, overrides: Partial<ScheduleRecord> = {}): ScheduleRecord => ({
  id,
  workflowId: 'w',
  cron: '0 9 * * *',
  timezone: 'Europe/Paris',
  scope: 'org',
  scopeRef: null,
  createdBy: 'alice@example.com',
  input: { matrix: [[1, 2], [3]], note: 'x' },
  enabled: true,
  nextFireAt: 5_000,
  lastFiredAt: null,
  createdAt: 1_000,
  ...overrides,
});

describe('the Azure schedule store beyond fire claims', () => {
  it('keeps a schedule as inserted, refuses a second insert naming it, and lists by filter in creation order', async () => {
    const [store, other] = await fresh(() => clients((t) => new AzureScheduleStore(t)));
    await store.insert(schedule('s2', { createdAt: 2_000, workflowId: 'v' }));
    await store.insert(schedule('s1'));
    await store.insert(schedule('s3', { createdAt: 3_000, enabled: false, nextFireAt: null }));
    expect(await other.get('s1')).toEqual(schedule('s1'));
    expect(await other.get('s3')).toEqual(
      schedule('s3', { createdAt: 3_000, enabled: false, nextFireAt: null }),
    );
    await expect(other.insert(schedule('s1'))).rejects.toThrow('schedule s1 already exists');
    expect((await other.list()).map((s) => s.id)).toEqual(['s1', 's2', 's3']);
    expect((await other.list({ workflowId: 'w' })).map((s) => s.id)).toEqual(['s1', 's3']);
    expect((await other.list({ workflowId: 'w', enabled: true })).map((s) => s.id)).toEqual(['s1']);
    expect(await other.list({ createdBy: 'bob@example.com' })).toEqual([]);
    expect(await other.setEnabled('missing', true, 1)).toBe(false);
  });

  it('keeps an input longer than one property holds, and ids of any text', async () => {
    const [store, other] = await fresh(() => clients((t) => new AzureScheduleStore(t)));
    const long = schedule("a/b#c?'|d", { input: { text: 'x'.repeat(70_000) } });
    await store.insert(long);
    expect(await other.get(long.id)).toEqual(long);
    expect(
      await other.claimFire({ scheduleId: long.id, scheduledTime: 5_000, firedAt: 5_001, runId: 'r' }, 6_000),
    ).toBe(true);
    expect((await other.fires(long.id)).map((f) => f.runId)).toEqual(['r']);
    expect(await other.delete(long.id)).toBe(true);
    expect(await store.unfinishedFires()).toEqual([]);
  });

  it("deletes a schedule with all its fires, and no other schedule's", async () => {
    const [store, other] = await fresh(() => clients((t) => new AzureScheduleStore(t)));
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

  it('answers the enabled schedules due at a time, soonest first, for the timer trigger', async () => {
    const [store, other] = await fresh(() => clients((t) => new AzureScheduleStore(t)));
    const at = Date.UTC(2030, 0, 1, 9);
    await store.insert(schedule('late', { nextFireAt: at + 60_000 }));
    await store.insert(schedule('now', { nextFireAt: at }));
    await store.insert(schedule('missed', { nextFireAt: at - 86_400_000 }));
    await store.insert(schedule('off', { enabled: false, nextFireAt: at - 1 }));
    await store.insert(schedule('never', { nextFireAt: null }));
    expect((await other.due(at)).map((s) => s.id)).toEqual(['missed', 'now']);
    await store.claimFire({ scheduleId: 'now', scheduledTime: at, firedAt: at, runId: 'r' }, at + 86_400_000);
    expect((await other.due(at)).map((s) => s.id)).toEqual(['missed']);
    await expect(other.due(Number.NaN)).rejects.toThrow(/due: now must be a time/);
  });

  it('keeps each fire and its unfinished marker together: a finish removes the marker once', async () => {
    const [store] = await fresh(() => clients((t) => new AzureScheduleStore(t)));
    await store.insert(schedule('s1'));
    await store.claimFire({ scheduleId: 's1', scheduledTime: 5_000, firedAt: 5_001, runId: 'r' }, null);
    await store.finishFire('s1', 5_000, 'started', null);
    await store.finishFire('s1', 5_000, 'failed', 'again');
    await store.finishFire('s1', 9_999, 'failed', 'no such fire');
    expect(await store.unfinishedFires()).toEqual([]);
    expect(await store.fires('s1')).toEqual([
      {
        scheduleId: 's1',
        scheduledTime: 5_000,
        firedAt: 5_001,
        runId: 'r',
        status: 'failed',
        reason: 'again',
      },
    ]);
    expect(await store.get('s1')).toMatchObject({ nextFireAt: null, lastFiredAt: 5_001 });
  });
});

const KEY = 'run-1:lookup:1#a/b';
const NOW = Date.UTC(2026, 0, 5, 9);
const LEASE = 60_000;

describe('activity claims on Azurite', { timeout: RACE_TIMEOUT }, () => {
  const claimsOver = (n: number) => fresh(() => clients((t) => new AzureActivityClaims(t), n));

  it('gives a new attempt to its first claim and makes a second one wait', async () => {
    const [claims] = await claimsOver(2);
    expect(await claims.claim(KEY, NOW, LEASE)).toEqual({
      status: 'claimed',
      takenOver: false,
      until: NOW + LEASE,
    });
    expect(await claims.claim(KEY, NOW + 1_000, LEASE)).toEqual({ status: 'held', until: NOW + LEASE });
  });

  it('lets exactly one of racing claims from separate clients hold the attempt', async () => {
    const all = await claimsOver(4);
    const outcomes = await race(8, (i) =>
      (all[i % all.length] as AzureActivityClaims).claim(KEY, NOW, LEASE),
    );
    const statuses = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.status : String(o.reason)));
    expect(statuses.filter((s) => s === 'claimed')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'held')).toHaveLength(7);
  });

  it('hands a lapsed lease to exactly one later claim, marked as taken over', async () => {
    const all = await claimsOver(3);
    await all[0].claim(KEY, NOW, LEASE);
    const later = NOW + LEASE + 1;
    const outcomes = await race(6, (i) =>
      (all[i % all.length] as AzureActivityClaims).claim(KEY, later, LEASE),
    );
    const claimed = outcomes.flatMap((o) =>
      o.status === 'fulfilled' && o.value.status === 'claimed' ? [o.value] : [],
    );
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(claimed).toEqual([{ status: 'claimed', takenOver: true, until: later + LEASE }]);
  });

  it('answers every later claim with the first answer recorded, and whether it was delivered', async () => {
    const [claims, other] = await claimsOver(2);
    await claims.claim(KEY, NOW, LEASE);
    const answer = { ok: true, result: { rows: [[1, 2], [3]], text: 'y'.repeat(50_000) } };
    const finishes = await race(4, (i) =>
      (i % 2 === 0 ? claims : other).finish(KEY, i === 0 ? answer : { ok: i }),
    );
    const first = finishes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason));
    expect(new Set(first.map((a) => JSON.stringify(a))).size).toBe(1);
    const recorded = first[0];
    expect(await other.finish(KEY, { ok: false })).toEqual(recorded);
    expect(await other.claim(KEY, NOW + 5, LEASE)).toEqual({
      status: 'done',
      answer: recorded,
      delivered: false,
    });
    await claims.delivered(KEY);
    expect(await other.claim(KEY, NOW + LEASE * 10, LEASE)).toEqual({
      status: 'done',
      answer: recorded,
      delivered: true,
    });
  });

  it('refuses to finish an attempt nobody claimed', async () => {
    const [claims] = await claimsOver(2);
    await expect(claims.finish('run-2:other:1', null)).rejects.toThrow(
      /run-2:other:1: finished without being claimed/,
    );
  });
});
