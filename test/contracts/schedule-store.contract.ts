// The ScheduleStore contract's fire claims (functions/core/ports.ts), written once and run against every
// adapter: one scheduled time of a schedule fires once however many schedulers claim it, and only while
// the schedule is enabled and due at that time. Races are stated for asynchronous adapters; a synchronous
// adapter runs them interleaved over separate connections to one store.
import { describe, expect, it } from 'vitest';
import type { ScheduleRecord, ScheduleStore } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const DUE = Date.UTC(2030, 0, 1, 9);
const NEXT = Date.UTC(2030, 0, 2, 9);

function schedule(overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: 's1',
    workflowId: 'w',
    cron: '0 9 * * *',
    timezone: 'UTC',
    scope: 'user',
    scopeRef: 'alice@example.com',
    createdBy: 'alice@example.com',
    input: { n: 1 },
    enabled: true,
    nextFireAt: DUE,
    lastFiredAt: null,
    createdAt: 0,
    ...overrides,
  };
}

const fire = (runId: string, scheduledTime = DUE) => ({
  scheduleId: 's1',
  scheduledTime,
  firedAt: scheduledTime + 5,
  runId,
});

/** The contract of `ScheduleStore` fire claims; `make` gives adapters over one fresh store. */
export function describeScheduleStoreContract(
  name: string,
  make: () => Contenders<ScheduleStore> | Promise<Contenders<ScheduleStore>>,
): void {
  describe(`ScheduleStore contract: ${name}`, () => {
    it('records a claimed fire and advances the schedule to its next time', async () => {
      const [store, other] = await fresh(make);
      await store.insert(schedule());
      expect(await other.claimFire(fire('run-1'), NEXT)).toBe(true);
      expect(await store.get('s1')).toMatchObject({ nextFireAt: NEXT, lastFiredAt: DUE + 5 });
      expect(await store.fires('s1')).toEqual([{ ...fire('run-1'), status: 'claimed', reason: null }]);
      expect(await store.unfinishedFires()).toHaveLength(1);
    });

    it('fires one scheduled time once: a later claim of it is refused and changes nothing', async () => {
      const [store, other] = await fresh(make);
      await store.insert(schedule());
      await store.claimFire(fire('run-1'), NEXT);
      expect(await other.claimFire(fire('run-2'), NEXT + 1)).toBe(false);
      expect(await store.get('s1')).toMatchObject({ nextFireAt: NEXT });
      expect((await store.fires('s1')).map((f) => f.runId)).toEqual(['run-1']);
    });

    it('fires one scheduled time once even when the schedule is set back to it', async () => {
      const [store, other] = await fresh(make);
      await store.insert(schedule());
      expect(await store.claimFire(fire('run-1'), NEXT)).toBe(true);
      expect(await store.setEnabled('s1', true, DUE)).toBe(true);
      expect(await other.claimFire(fire('run-2'), NEXT)).toBe(false);
      expect(await store.get('s1')).toMatchObject({ nextFireAt: DUE });
      expect((await store.fires('s1')).map((f) => f.runId)).toEqual(['run-1']);
    });

    it('fires one scheduled time once however many schedulers claim it at the same time', async () => {
      const stores = await fresh(make);
      await stores[0]?.insert(schedule());
      const outcomes = await race(12, (i) => connectionFor(stores, i).claimFire(fire(`run-${i}`), NEXT));
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' && o.value ? [`run-${i}`] : []));
      expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      expect(won).toHaveLength(1);
      expect((await stores[1]?.fires('s1'))?.map((f) => f.runId)).toEqual(won);
    });

    it('refuses to fire a disabled schedule, one not due at that time, or one that does not exist', async () => {
      const [store] = await fresh(make);
      await store.insert(schedule());
      expect(await store.claimFire(fire('run-1', DUE - 1), NEXT)).toBe(false);
      await store.setEnabled('s1', false, null);
      expect(await store.claimFire(fire('run-2'), NEXT)).toBe(false);
      expect(await store.claimFire({ ...fire('run-3'), scheduleId: 'missing' }, NEXT)).toBe(false);
      expect(await store.fires('s1')).toEqual([]);
    });

    it('finishes a fire: it is no longer unfinished and keeps its status and reason', async () => {
      const [store] = await fresh(make);
      await store.insert(schedule());
      await store.claimFire(fire('run-1'), NEXT);
      await store.finishFire('s1', DUE, 'skipped', 'the workflow is disabled');
      expect(await store.unfinishedFires()).toEqual([]);
      expect((await store.fires('s1'))[0]).toMatchObject({
        status: 'skipped',
        reason: 'the workflow is disabled',
      });
    });
  });
}
