// The schedules' timer: Azure Functions has no per-schedule timer a deployment could create and delete as
// schedules come and go (as EventBridge Scheduler and Cloud Scheduler jobs are), so one timer trigger runs
// every minute and fires every schedule whose time has come. Each fire is the core Scheduler's fireOnce
// (functions/core/triggers/schedules.ts) at the schedule's stored time: claimed once in the store — of two
// timer invocations overlapping (a slow minute, a second instance) exactly one starts the run, the other
// finds the fire claimed — and started on the DurableHost as the schedule's identity (user, group or org:
// scheduleRunIdentity, through scheduledRuns), the next time computed by croner in the schedule's own time
// zone. A time missed while nothing ran (the app stopped, a failed minute) fires once when the timer next
// runs, and the next time follows from then: what the local Scheduler does with a missed time at its start.
//
// A fire claimed by an invocation that died before starting its run stays `claimed`; the local Scheduler
// settles those at its start. Here an invocation settles the fires claimed longer ago than SETTLE_AFTER_MS
// (well beyond host.json's function timeout, so the invocation that claimed it is gone): `started` when
// its run exists, else `failed` (interrupted) — as the local Scheduler's start does.
//
// The due schedules come from the store's own `due(now)` when it has one (AzureScheduleStore: the enabled
// schedules only, soonest first), else from `list({ enabled: true })` filtered here: the ScheduleStore port
// stays as it is, and a store without `due` (the SQLite one in tests) serves the timer all the same.
import { errorMessage } from '../../translator/util.js';
import { scheduledRuns } from '../core/http/schedule-routes.js';
import type { DurableHost, ScheduleRecord, ScheduleStore } from '../core/ports.js';
import { type FireOutcome, Scheduler } from '../core/triggers/schedules.js';
import type { AzureDeps } from './deps.js';

/** The timer's NCRONTAB schedule: second 0 of every minute. */
export const SCHEDULES_TIMER = '0 * * * * *';

/** How long a fire may stay claimed before an invocation settles it (host.json's timeout is 10 minutes). */
export const SETTLE_AFTER_MS = 30 * 60_000;

/** What the timer uses of the deps. */
export type SchedulerDeps = Pick<AzureDeps, 'schedules' | 'clock' | 'workflows' | 'directory'>;

/** A schedule store that finds the due schedules itself (AzureScheduleStore.due). */
type DueStore = ScheduleStore & { due(now: number): Promise<ScheduleRecord[]> };

const findsDue = (store: ScheduleStore): store is DueStore =>
  typeof (store as Partial<DueStore>).due === 'function';

/** The enabled schedules whose next fire is at or before `now`: the store's `due` if it has one (see the top). */
export async function dueSchedules(store: ScheduleStore, now: number): Promise<ScheduleRecord[]> {
  if (findsDue(store)) return store.due(now);
  return (await store.list({ enabled: true })).filter(
    (schedule) => schedule.nextFireAt !== null && schedule.nextFireAt <= now,
  );
}

/** The Scheduler over the deps (never started: the timer keeps the time); the schedule routes use it too. */
export function azureScheduler(deps: SchedulerDeps, host: DurableHost): Scheduler {
  const directory = deps.directory();
  return new Scheduler({
    store: deps.schedules(),
    clock: deps.clock,
    ...scheduledRuns({ workflows: deps.workflows(), host, lookup: (email) => directory.user(email) }),
  });
}

export interface TimerResult {
  /** Each due schedule's fire, by schedule id. */
  fired: Record<string, FireOutcome>;
  /** Fires an earlier invocation left claimed, settled now. */
  settled: number;
}

/** Fires every enabled schedule due by now (see the top); a schedule whose store call fails is logged and retried next minute. */
export async function fireDueSchedules(
  deps: SchedulerDeps,
  host: DurableHost,
  log: (message: string) => void = (message) => console.error(message),
): Promise<TimerResult> {
  const store = deps.schedules();
  const scheduler = azureScheduler(deps, host);
  const now = deps.clock.now();
  const settled = await settleInterrupted(deps, host, now);
  const due = await dueSchedules(store, now);
  const fired: Record<string, FireOutcome> = {};
  for (const schedule of due) {
    try {
      fired[schedule.id] = await scheduler.fireOnce(schedule.id, schedule.nextFireAt as number);
    } catch (error) {
      log(`schedule ${schedule.id}: ${errorMessage(error)}`);
    }
  }
  return { fired, settled };
}

/** Settles the fires claimed before `now - SETTLE_AFTER_MS` and never finished (see the top). */
async function settleInterrupted(deps: SchedulerDeps, host: DurableHost, now: number): Promise<number> {
  const store = deps.schedules();
  const stale = (await store.unfinishedFires()).filter((fire) => fire.firedAt < now - SETTLE_AFTER_MS);
  for (const fire of stale) {
    const started = (await host.getRun(fire.runId)) !== undefined;
    await store.finishFire(
      fire.scheduleId,
      fire.scheduledTime,
      started ? 'started' : 'failed',
      started ? null : 'interrupted: the timer invocation stopped before the run started',
    );
  }
  return stale.length;
}
