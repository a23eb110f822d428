// A ScheduleStore kept in step with a cloud's own scheduler (EventBridge Scheduler on AWS, Cloud Scheduler
// on GCP), written once for every cloud over CloudSchedules, the few calls each cloud implements
// (adapters/aws/eventbridge-schedules.ts, adapters/gcp/cloud-scheduler.ts).
//
// The seam is the ScheduleStore: SyncedScheduleStore wraps the cloud's schedule store, and its insert,
// setEnabled and delete change the cloud's schedule with the record, so the Scheduler (schedules.ts:
// validation, scopes, permissions) and the HTTP routes stay as they are — a cloud's api builds its
// Scheduler over this store and never starts it (no local timers); the cloud's schedule calls the fire.
// Order, so that nothing is half-written: the cloud call first (refused: the store is not changed), then
// the store; a failed store write is undone on the cloud (create → delete, state → previous state, delete
// → recreate), keeping the store's error. Only if that undo fails too can the two differ, and then on the
// safe side: a fire acts on the store alone, so a cloud schedule without an enabled record starts nothing.
//
// Decisions: the cron check is the cloud's (what its scheduler can take is narrower than croner's), asked
// before anything is written and answered as ScheduleError 400 `invalid-cron` with the cloud's message
// (conversionProblem turns a cloud's converter and its error class into that check).
// The enabled change gets the record as the cloud has it now and the new state, so each cloud does what
// it does best (AWS replaces the whole schedule, GCP pauses or resumes — and nothing when the state stays);
// the undo is the same call back. Reads and fires pass through to the wrapped store untouched.
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleStore,
} from '../ports.js';
import { ScheduleError } from './schedules.js';

/** What SyncedScheduleStore needs of a cloud's scheduler: one cloud schedule per Stepgate schedule. */
export interface CloudSchedules {
  /** Why the cloud cannot take `cron` (its own message), or undefined when it can. */
  cronProblem(cron: string): string | undefined;
  /** Creates the cloud schedule of `record`, in the record's enabled state. */
  create(record: ScheduleRecord): Promise<void>;
  /** Brings the cloud schedule of `current` (the record as the cloud has it now) to `enabled`. */
  setEnabled(current: ScheduleRecord, enabled: boolean): Promise<void>;
  /** Deletes the cloud schedule of `id`; false when there was none. */
  delete(id: string): Promise<boolean>;
}

/**
 * The message `convert` refuses `cron` with as an `errorClass` (a cloud's cron converter and its error),
 * or undefined when it converts; any other error is thrown. What a cloud's cronProblem is made of.
 */
export function conversionProblem(
  convert: (cron: string) => unknown,
  errorClass: abstract new (...args: never[]) => Error,
  cron: string,
): string | undefined {
  try {
    convert(cron);
    return undefined;
  } catch (error) {
    if (error instanceof errorClass) return error.message;
    throw error;
  }
}

/** Runs `undo` after a failed write, keeping the write's error (the one the caller must see). */
export async function undoing<T>(write: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    await undo().catch(() => undefined);
    throw error;
  }
}

/** A ScheduleStore whose schedule changes also change their cloud schedules (see the header). */
export class SyncedScheduleStore implements ScheduleStore {
  constructor(
    protected readonly store: ScheduleStore,
    protected readonly cloud: CloudSchedules,
  ) {}

  /** Throws ScheduleError 400 `invalid-cron` (the routes' 422 on `cron`) for a cron the cloud cannot take. */
  async insert(record: ScheduleRecord): Promise<void> {
    const problem = this.cloud.cronProblem(record.cron);
    if (problem !== undefined) throw new ScheduleError(400, 'invalid-cron', problem);
    await this.cloud.create(record);
    await undoing(
      () => this.store.insert(record),
      () => this.cloud.delete(record.id),
    );
  }

  async setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    const record = await this.store.get(id);
    if (record === undefined) return false;
    await this.cloud.setEnabled(record, enabled);
    const changed = await undoing(
      () => this.store.setEnabled(id, enabled, nextFireAt),
      () => this.cloud.setEnabled({ ...record, enabled }, record.enabled),
    );
    // Deleted in between: its cloud schedule goes too.
    if (!changed) await this.cloud.delete(id);
    return changed;
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.store.get(id);
    await this.cloud.delete(id);
    if (record === undefined) return this.store.delete(id);
    return undoing(
      () => this.store.delete(id),
      () => this.cloud.create(record),
    );
  }

  get(id: string): Promise<ScheduleRecord | undefined> {
    return this.store.get(id);
  }

  list(filter?: ScheduleFilter): Promise<ScheduleRecord[]> {
    return this.store.list(filter);
  }

  claimFire(
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ): Promise<boolean> {
    return this.store.claimFire(fire, nextFireAt);
  }

  finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void> {
    return this.store.finishFire(scheduleId, scheduledTime, status, reason);
  }

  fires(scheduleId: string, limit?: number): Promise<ScheduleFireRecord[]> {
    return this.store.fires(scheduleId, limit);
  }

  unfinishedFires(): Promise<ScheduleFireRecord[]> {
    return this.store.unfinishedFires();
  }
}
