// Schedules on a real SQLite file and a virtual clock: next times in a time zone (across DST), fires at the
// right times, a missed window fires once after a restart, two schedulers never fire one time twice,
// disabled schedules stay quiet, a refused fire is recorded as skipped, and who may create what.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import type { Clock, ScheduleRecord, TimerHandle } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import {
  authorizeScheduleFire,
  nextFireTime,
  SCHEDULE_PRESETS,
  ScheduleError,
  Scheduler,
  type SchedulerOptions,
  scheduleRunIdentity,
} from '../../functions/core/triggers/schedules.js';

const ALICE: Identity = {
  email: 'alice@example.com',
  role: 'member',
  groups: ['finance'],
  manager: 'carol@example.com',
};
const BOB: Identity = {
  email: 'bob@example.com',
  role: 'lead',
  groups: ['engineering'],
  manager: 'carol@example.com',
};
const CAROL: Identity = { email: 'carol@example.com', role: 'manager', groups: ['finance'], manager: null };
const VIC: Identity = { email: 'vic@example.com', role: 'viewer', groups: ['finance'], manager: null };
const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function dbFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'stepgate-schedules-')), 'stepgate.db');
}

interface Harness {
  scheduler: Scheduler;
  store: SqliteScheduleStore;
  runs: Array<{ scheduleId: string; scheduledTime: string; runId: string; at: string }>;
}

function harness(
  file: string,
  clock: Clock & { now(): number },
  overrides: Partial<SchedulerOptions> = {},
  runs: Harness['runs'] = [],
): Harness {
  const db = openDatabase(file);
  open.push(db);
  const store = new SqliteScheduleStore(db);
  const directory = new Map([ALICE, BOB, CAROL, VIC, ADA].map((u) => [u.email, u]));
  const scheduler = new Scheduler({
    store,
    clock,
    authorize: (s) => authorizeScheduleFire(s, async (email) => directory.get(email)),
    startRun: async (schedule, scheduledTime, runId) => {
      runs.push({
        scheduleId: schedule.id,
        scheduledTime: iso(scheduledTime) ?? '',
        runId,
        at: iso(clock.now()) ?? '',
      });
    },
    runExists: (runId) => runs.some((r) => r.runId === runId),
    ...overrides,
  });
  return { scheduler, store, runs };
}

describe('nextFireTime', () => {
  it('reads the presets in a time zone, across a DST change', () => {
    // Paris moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    const daily = SCHEDULE_PRESETS['daily-9am'];
    let t = Date.UTC(2026, 2, 27, 12);
    const times: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      t = nextFireTime(daily, 'Europe/Paris', t) as number;
      times.push(iso(t));
    }
    expect(times).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    // ... and back on Sunday 25 October 2026.
    expect(iso(nextFireTime(daily, 'Europe/Paris', Date.UTC(2026, 9, 24, 12)))).toBe(
      '2026-10-25T08:00:00.000Z',
    );
    const monday = Date.UTC(2026, 0, 5, 12); // Monday 5 January 2026, 12:00 UTC
    expect(iso(nextFireTime(SCHEDULE_PRESETS.hourly, 'UTC', monday))).toBe('2026-01-05T13:00:00.000Z');
    expect(iso(nextFireTime(SCHEDULE_PRESETS['weekly-monday'], 'America/New_York', monday))).toBe(
      '2026-01-05T14:00:00.000Z',
    );
    expect(iso(nextFireTime(SCHEDULE_PRESETS.weekdays, 'Asia/Tokyo', Date.UTC(2026, 0, 9, 1)))).toBe(
      '2026-01-12T00:00:00.000Z', // Friday 10:00 in Tokyo has passed: Monday 09:00 JST
    );
    expect(iso(nextFireTime(SCHEDULE_PRESETS.monthly, 'UTC', monday))).toBe('2026-02-01T09:00:00.000Z');
  });

  it('is strictly after the given time', () => {
    const at = Date.UTC(2026, 0, 5, 9);
    expect(iso(nextFireTime('0 9 * * *', 'UTC', at))).toBe('2026-01-06T09:00:00.000Z');
  });
});

describe('Scheduler', () => {
  it('fires at the right virtual times and records each fire', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 2, 27, 12));
    const { scheduler, store, runs } = harness(dbFile(), clock);
    await scheduler.start();
    const s = await scheduler.create(
      { workflowId: 'report', preset: 'daily-9am', timezone: 'Europe/Paris' },
      ALICE,
    );
    expect(iso(s.nextFireAt)).toBe('2026-03-28T08:00:00.000Z');
    await clock.run(scheduler, Date.UTC(2026, 2, 30, 12));
    expect(runs.map((r) => r.at)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(runs.map((r) => r.scheduledTime)).toEqual(runs.map((r) => r.at));
    const fires = await store.fires(s.id);
    expect(fires.map((f) => [iso(f.scheduledTime), f.status, f.runId])).toEqual(
      [...runs].reverse().map((r) => [r.scheduledTime, 'started', r.runId]),
    );
    const stored = await store.get(s.id);
    expect(iso(stored?.nextFireAt ?? null)).toBe('2026-03-31T07:00:00.000Z');
    expect(iso(stored?.lastFiredAt ?? null)).toBe('2026-03-30T07:00:00.000Z');
    scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires a missed window once after a restart, then keeps to the schedule', async () => {
    const file = dbFile();
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));
    const first = harness(file, clock);
    await first.scheduler.start();
    const s = await first.scheduler.create({ workflowId: 'sync', preset: 'hourly' }, ALICE);
    await clock.run(first.scheduler, Date.UTC(2026, 0, 5, 13, 30));
    expect(first.runs.map((r) => r.at)).toEqual(['2026-01-05T13:00:00.000Z']);
    first.scheduler.stop();
    // Down for five hours: 14:00 .. 18:00 are missed.
    const clock2 = new VirtualClock(Date.UTC(2026, 0, 5, 18, 20));
    const runs: Harness['runs'] = [];
    const second = harness(file, clock2, {}, runs);
    await second.scheduler.start();
    await clock2.run(second.scheduler, Date.UTC(2026, 0, 5, 20, 30));
    expect(runs.map((r) => [r.scheduledTime, r.at])).toEqual([
      ['2026-01-05T14:00:00.000Z', '2026-01-05T18:20:00.000Z'],
      ['2026-01-05T19:00:00.000Z', '2026-01-05T19:00:00.000Z'],
      ['2026-01-05T20:00:00.000Z', '2026-01-05T20:00:00.000Z'],
    ]);
    expect(await second.store.fires(s.id)).toHaveLength(4);
  });

  it('never fires one scheduled time twice when two schedulers race over the same file', async () => {
    const file = dbFile();
    // A clock whose timers the test fires by hand, all at once.
    let now = Date.UTC(2026, 0, 5, 12, 30);
    const timers: Array<TimerHandle & { fire: () => void }> = [];
    const clock: Clock = {
      now: () => now,
      setTimer: (at, fire) => {
        const t = { at, fire };
        timers.push(t);
        return t;
      },
      clearTimer: (handle) => {
        const i = timers.indexOf(handle as TimerHandle & { fire: () => void });
        if (i >= 0) timers.splice(i, 1);
      },
    };
    const runs: Harness['runs'] = [];
    const a = harness(file, clock, {}, runs);
    const b = harness(file, clock, {}, runs);
    const s = await a.scheduler.create({ workflowId: 'sync', preset: 'hourly' }, ALICE);
    await a.scheduler.start();
    await b.scheduler.start();
    for (let hour = 13; hour <= 15; hour++) {
      expect(timers).toHaveLength(2);
      now = Date.UTC(2026, 0, 5, hour);
      for (const timer of timers.splice(0)) timer.fire();
      await Promise.all([a.scheduler.idle(), b.scheduler.idle()]);
    }
    expect(runs.map((r) => r.scheduledTime)).toEqual([
      '2026-01-05T13:00:00.000Z',
      '2026-01-05T14:00:00.000Z',
      '2026-01-05T15:00:00.000Z',
    ]);
    expect(await a.store.fires(s.id)).toHaveLength(3);
  });

  it('records a fire key once: a second claim of the same scheduled time is refused', async () => {
    const store = new SqliteScheduleStore(openDatabase(dbFile()));
    const t = Date.UTC(2026, 0, 5, 13);
    const record: ScheduleRecord = {
      id: 's1',
      workflowId: 'wf',
      cron: '0 * * * *',
      timezone: 'UTC',
      scope: 'user',
      scopeRef: ALICE.email,
      createdBy: ALICE.email,
      input: {},
      enabled: true,
      nextFireAt: t,
      lastFiredAt: null,
      createdAt: t - 1000,
    };
    await store.insert(record);
    expect(
      await store.claimFire({ scheduleId: 's1', scheduledTime: t, firedAt: t, runId: 'r1' }, t + 3_600_000),
    ).toBe(true);
    // Even if the schedule were due at that time again, the fire key stays unique and nothing changes.
    await store.setEnabled('s1', true, t);
    expect(
      await store.claimFire({ scheduleId: 's1', scheduledTime: t, firedAt: t, runId: 'r2' }, t + 3_600_000),
    ).toBe(false);
    expect((await store.get('s1'))?.nextFireAt).toBe(t);
    expect((await store.fires('s1')).map((f) => f.runId)).toEqual(['r1']);
  });

  it('does not fire disabled schedules, and resumes from now when enabled again', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));
    const { scheduler, store, runs } = harness(dbFile(), clock);
    await scheduler.start();
    const off = await scheduler.create({ workflowId: 'a', preset: 'hourly', enabled: false }, ALICE);
    expect(off.nextFireAt).toBeNull();
    const on = await scheduler.create({ workflowId: 'b', preset: 'hourly' }, ALICE);
    await scheduler.update(on.id, { enabled: false }, ALICE);
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 16, 30));
    expect(runs).toEqual([]);
    expect(await store.fires(off.id)).toEqual([]);
    const enabled = await scheduler.update(on.id, { enabled: true }, ALICE);
    expect(iso(enabled.nextFireAt)).toBe('2026-01-05T17:00:00.000Z');
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 17, 30));
    expect(runs.map((r) => r.scheduledTime)).toEqual(['2026-01-05T17:00:00.000Z']);
    await scheduler.delete(on.id, ALICE);
    expect(await store.get(on.id)).toBeUndefined();
    expect(await store.fires(on.id)).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('records a refused fire as skipped and starts no run', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));
    let verdict: boolean | string = 'alice@example.com lost the role member';
    const { scheduler, store, runs } = harness(dbFile(), clock, { authorize: () => verdict });
    await scheduler.start();
    const s = await scheduler.create({ workflowId: 'a', preset: 'hourly' }, ALICE);
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 13, 30));
    verdict = false;
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 14, 30));
    verdict = true;
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 15, 30));
    expect(runs.map((r) => r.scheduledTime)).toEqual(['2026-01-05T15:00:00.000Z']);
    expect((await store.fires(s.id)).map((f) => [iso(f.scheduledTime), f.status, f.reason])).toEqual([
      ['2026-01-05T15:00:00.000Z', 'started', null],
      ['2026-01-05T14:00:00.000Z', 'skipped', 'not authorized'],
      ['2026-01-05T13:00:00.000Z', 'skipped', 'alice@example.com lost the role member'],
    ]);
  });

  it('records a failed start and keeps the schedule going', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));
    let fail = true;
    const runs: Harness['runs'] = [];
    const { scheduler, store } = harness(
      dbFile(),
      clock,
      {
        startRun: async (schedule, scheduledTime, runId) => {
          if (fail) throw new Error('workflow not deployed');
          runs.push({ scheduleId: schedule.id, scheduledTime: iso(scheduledTime) ?? '', runId, at: '' });
        },
      },
      runs,
    );
    await scheduler.start();
    const s = await scheduler.create({ workflowId: 'a', preset: 'hourly' }, ALICE);
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 13, 30));
    fail = false;
    await clock.run(scheduler, Date.UTC(2026, 0, 5, 14, 30));
    expect((await store.fires(s.id)).map((f) => [f.status, f.reason])).toEqual([
      ['started', null],
      ['failed', 'workflow not deployed'],
    ]);
  });

  it('settles fires a stop interrupted at the next start, never starting them twice', async () => {
    const file = dbFile();
    const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));
    const { store } = harness(file, clock);
    const base = { workflowId: 'a', cron: '0 * * * *', timezone: 'UTC', scope: 'user' as const, input: {} };
    const t = Date.UTC(2026, 0, 5, 12);
    for (const id of ['s1', 's2'])
      await store.insert({
        ...base,
        id,
        scopeRef: ALICE.email,
        createdBy: ALICE.email,
        enabled: true,
        nextFireAt: t,
        lastFiredAt: null,
        createdAt: t - 1,
      });
    // Both fires were recorded; only s1's run was created before the process died.
    await store.claimFire({ scheduleId: 's1', scheduledTime: t, firedAt: t, runId: 'run-1' }, t + 3_600_000);
    await store.claimFire({ scheduleId: 's2', scheduledTime: t, firedAt: t, runId: 'run-2' }, t + 3_600_000);
    const runs: Harness['runs'] = [{ scheduleId: 's1', scheduledTime: iso(t) ?? '', runId: 'run-1', at: '' }];
    const restarted = harness(file, clock, {}, runs);
    await restarted.scheduler.start();
    expect((await restarted.store.fires('s1'))[0]).toMatchObject({ status: 'started', runId: 'run-1' });
    expect((await restarted.store.fires('s2'))[0]).toMatchObject({ status: 'failed', runId: 'run-2' });
    expect(runs).toHaveLength(1);
    restarted.scheduler.stop();
  });
});

describe('schedule creation rules', () => {
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 12, 30));

  async function refusal(promise: Promise<unknown>): Promise<[number, string]> {
    try {
      await promise;
    } catch (error) {
      if (error instanceof ScheduleError) return [error.status, error.code];
      throw error;
    }
    throw new Error('expected a ScheduleError');
  }

  it('lets members create user schedules that run as their creator', async () => {
    const { scheduler } = harness(dbFile(), clock);
    const s = await scheduler.create({ workflowId: 'a', preset: 'daily-9am' }, ALICE);
    expect(s).toMatchObject({
      scope: 'user',
      scopeRef: ALICE.email,
      createdBy: ALICE.email,
      cron: '0 9 * * *',
    });
    expect(scheduleRunIdentity(s, ALICE)).toEqual(ALICE);
    expect(await refusal(scheduler.create({ workflowId: 'a', preset: 'hourly' }, VIC))).toEqual([
      403,
      'schedule-forbidden',
    ]);
  });

  it('lets leads of a group create group schedules that run as the group', async () => {
    const { scheduler } = harness(dbFile(), clock);
    const s = await scheduler.create(
      { workflowId: 'a', cron: '*/15 * * * 1-5', scope: 'group', group: 'engineering' },
      BOB,
    );
    expect(scheduleRunIdentity(s, BOB)).toEqual({
      email: 'group:engineering',
      role: 'lead',
      groups: ['engineering'],
      manager: BOB.email,
      name: 'engineering (group schedule)',
    });
    // A member is not a lead; a lead outside the group is refused; so is a manager outside it.
    const finance = { workflowId: 'a', preset: 'hourly' as const, scope: 'group' as const, group: 'finance' };
    expect(await refusal(scheduler.create(finance, ALICE))).toEqual([403, 'schedule-forbidden']);
    expect(await refusal(scheduler.create(finance, BOB))).toEqual([403, 'schedule-forbidden']);
    expect((await scheduler.create(finance, CAROL)).scopeRef).toBe('finance');
    expect(await refusal(scheduler.create({ ...finance, group: undefined }, CAROL))).toEqual([
      400,
      'group-scope-needs-group',
    ]);
  });

  it('lets managers and above create org schedules that run as the org', async () => {
    const { scheduler } = harness(dbFile(), clock);
    const org = { workflowId: 'a', preset: 'monthly' as const, scope: 'org' as const };
    expect(await refusal(scheduler.create(org, BOB))).toEqual([403, 'schedule-forbidden']);
    const s = await scheduler.create(org, CAROL);
    expect(s.scopeRef).toBeNull();
    expect(scheduleRunIdentity(s, CAROL)).toMatchObject({ email: 'org', role: 'manager', groups: [] });
    expect((await scheduler.create(org, ADA)).scope).toBe('org');
  });

  it('re-checks the rules at fire time against the directory', async () => {
    const s = { scope: 'group', scopeRef: 'engineering', createdBy: BOB.email } as ScheduleRecord;
    expect(await authorizeScheduleFire(s, async () => BOB)).toBe(true);
    expect(await authorizeScheduleFire(s, async () => ({ ...BOB, role: 'member' }))).toMatch(/lead or above/);
    expect(await authorizeScheduleFire(s, async () => ({ ...BOB, groups: [] }))).toMatch(
      /not in 'engineering'/,
    );
    expect(await authorizeScheduleFire(s, async () => undefined)).toMatch(/no longer in the directory/);
  });

  it('validates cron, preset, time zone, scope and the workflow input', async () => {
    const { scheduler } = harness(dbFile(), clock, {
      checkWorkflow: (id, input) =>
        id !== 'a'
          ? `no workflow '${id}'`
          : typeof input.amount === 'number'
            ? undefined
            : 'amount is required',
    });
    const ok = { workflowId: 'a', input: { amount: 1 } };
    const cases: Array<[Parameters<Scheduler['create']>[0], string]> = [
      [{ ...ok }, 'schedule-needs-one'],
      [{ ...ok, preset: 'hourly', cron: '0 * * * *' }, 'schedule-needs-one'],
      [{ ...ok, preset: 'yearly' as never }, 'unknown-preset'],
      [{ ...ok, cron: '0 9 * * * *' }, 'invalid-cron'],
      [{ ...ok, cron: '@daily' }, 'invalid-cron'],
      [{ ...ok, cron: '61 9 * * *' }, 'invalid-cron'],
      [{ ...ok, cron: '0 9 * *' }, 'invalid-cron'],
      [{ ...ok, preset: 'hourly', timezone: 'Mars/Olympus' }, 'invalid-timezone'],
      [{ ...ok, preset: 'hourly', scope: 'team' as never }, 'invalid-scope'],
      [{ ...ok, preset: 'hourly', group: 'finance' }, 'group-without-group-scope'],
      [{ workflowId: 'b', preset: 'hourly' }, 'invalid-workflow-input'],
      [{ workflowId: 'a', preset: 'hourly', input: {} }, 'invalid-workflow-input'],
    ];
    for (const [request, code] of cases)
      expect(await refusal(scheduler.create(request, ALICE))).toEqual([400, code]);
    expect(
      (await scheduler.create({ ...ok, cron: '30 8 * * 1-5', timezone: 'Europe/Paris' }, ALICE)).cron,
    ).toBe('30 8 * * 1-5');
  });

  it('lets only the creator or an admin change or delete a schedule', async () => {
    const { scheduler } = harness(dbFile(), clock);
    const s = await scheduler.create({ workflowId: 'a', preset: 'hourly' }, ALICE);
    expect(await refusal(scheduler.update(s.id, { enabled: false }, CAROL))).toEqual([
      403,
      'schedule-forbidden',
    ]);
    expect(await refusal(scheduler.delete(s.id, BOB))).toEqual([403, 'schedule-forbidden']);
    expect((await scheduler.update(s.id, { enabled: false }, ADA)).enabled).toBe(false);
    await scheduler.delete(s.id, ALICE);
    expect(await refusal(scheduler.delete(s.id, ALICE))).toEqual([404, 'schedule-not-found']);
  });
});
