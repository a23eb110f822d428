// Stepgate schedules as EventBridge Scheduler schedules, and the fire that comes back from them.
//
// One EventBridge schedule per Stepgate schedule: named by the schedule id, in the stack's schedule group,
// its cron converted by awsCron (eventbridge-cron.ts) in the schedule's own time zone
// (ScheduleExpressionTimezone), flexible time window OFF, State ENABLED or DISABLED as the schedule is,
// and as target the schedule-fire Lambda (invoked with the scheduler role) with the input
// `{"scheduleId": "<id>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`, which EventBridge fills in
// with the fire's scheduled time (ISO 8601, UTC).
//
// The seam is the ScheduleStore: SyncedScheduleStore wraps the DynamoDB schedule store, and its insert,
// setEnabled and delete change the EventBridge schedule with the record, so the Scheduler
// (functions/core/triggers/schedules.ts: validation, scopes, permissions) and the HTTP routes stay as they
// are — the api Lambda builds its Scheduler over this store and never starts it (no local timers).
// Order, so that nothing is half-written: the EventBridge call first (refused: the store is not
// changed), then the store; a failed store write is undone on EventBridge (create → delete, state →
// previous state, delete → recreate). Only if that undo fails too can the two differ, and then on the safe
// side: the fire handler acts on the store alone, so an EventBridge schedule without an enabled record
// starts nothing.
//
// The fire: fireSchedule(event, deps) reads the event and runs Scheduler.fireOnce — the same code as a
// local timer's fire: the store's claimFire records it exactly once per (schedule, scheduled time), so a
// redelivered or concurrent event starts nothing new.
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleStore,
} from '../../functions/core/ports.js';
import { type FireOutcome, ScheduleError, type Scheduler } from '../../functions/core/triggers/schedules.js';
import { AwsCronError, awsCron } from './eventbridge-cron.js';

export { AwsCronError, awsCron } from './eventbridge-cron.js';

export interface EventBridgeSchedulesOptions {
  client: SchedulerClient;
  /** The schedule group the stack created for Stepgate's schedules. */
  groupName: string;
  /** The schedule-fire Lambda's ARN. */
  targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke it (lambda:InvokeFunction on targetArn). */
  roleArn: string;
  /** An SQS queue for fires EventBridge could not deliver after its retries, if any. */
  deadLetterArn?: string;
}

/** The placeholder EventBridge Scheduler replaces with the fire's scheduled time. */
export const SCHEDULED_TIME = '<aws.scheduler.scheduled-time>';

/** EventBridge schedule names: 1-64 letters, digits, `-`, `_`, `.`. */
const NAME = /^[0-9A-Za-z_.-]{1,64}$/;

/** The CreateSchedule (and UpdateSchedule: the same fields, all replaced) request for `record`. */
export function scheduleRequest(
  record: ScheduleRecord,
  options: Omit<EventBridgeSchedulesOptions, 'client'>,
): CreateScheduleCommandInput {
  if (!NAME.test(record.id))
    throw new Error(
      `schedule id '${record.id}' cannot name an EventBridge schedule (1-64 letters, digits, '-', '_', '.')`,
    );
  return {
    Name: record.id,
    GroupName: options.groupName,
    ScheduleExpression: awsCron(record.cron),
    ScheduleExpressionTimezone: record.timezone,
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: record.enabled ? 'ENABLED' : 'DISABLED',
    Description: `Stepgate schedule of workflow ${record.workflowId}`.slice(0, 512),
    Target: {
      Arn: options.targetArn,
      RoleArn: options.roleArn,
      Input: JSON.stringify({ scheduleId: record.id, scheduledTime: SCHEDULED_TIME }),
      ...(options.deadLetterArn === undefined ? {} : { DeadLetterConfig: { Arn: options.deadLetterArn } }),
    },
  };
}

/** Creates, replaces and deletes the EventBridge schedule of a Stepgate schedule. */
export class EventBridgeSchedules {
  constructor(private readonly options: EventBridgeSchedulesOptions) {}

  /** Creates the schedule of `record` (one of that name existing already is an error: ids are unique). */
  async create(record: ScheduleRecord): Promise<void> {
    await this.options.client.send(new CreateScheduleCommand(scheduleRequest(record, this.options)));
  }

  /** Replaces the schedule of `record` (its state included). */
  async update(record: ScheduleRecord): Promise<void> {
    await this.options.client.send(new UpdateScheduleCommand(scheduleRequest(record, this.options)));
  }

  /** Deletes the schedule `id`; false when there was none. */
  async delete(id: string): Promise<boolean> {
    try {
      await this.options.client.send(
        new DeleteScheduleCommand({ Name: id, GroupName: this.options.groupName }),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    }
  }
}

/** Runs `undo` after a failed store write, keeping the store's error (the one the caller must see). */
async function undoing<T>(write: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    await undo().catch(() => undefined);
    throw error;
  }
}

/** A ScheduleStore whose schedule changes also change their EventBridge schedules (see the header). */
export class SyncedScheduleStore implements ScheduleStore {
  constructor(
    private readonly store: ScheduleStore,
    private readonly schedules: EventBridgeSchedules,
  ) {}

  /** Throws ScheduleError 400 `invalid-cron` (the routes' 422 on `cron`) for a cron AWS cannot express. */
  async insert(record: ScheduleRecord): Promise<void> {
    try {
      awsCron(record.cron);
    } catch (error) {
      if (error instanceof AwsCronError) throw new ScheduleError(400, 'invalid-cron', error.message);
      throw error;
    }
    await this.schedules.create(record);
    await undoing(
      () => this.store.insert(record),
      () => this.schedules.delete(record.id),
    );
  }

  async setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    const record = await this.store.get(id);
    if (record === undefined) return false;
    await this.schedules.update({ ...record, enabled });
    const changed = await undoing(
      () => this.store.setEnabled(id, enabled, nextFireAt),
      () => this.schedules.update(record),
    );
    // Deleted in between: its EventBridge schedule goes too.
    if (!changed) await this.schedules.delete(id);
    return changed;
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.store.get(id);
    await this.schedules.delete(id);
    if (record === undefined) return this.store.delete(id);
    return undoing(
      () => this.store.delete(id),
      () => this.schedules.create(record),
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

/** The schedule-fire Lambda's event: the target input of scheduleRequest, filled in by EventBridge. */
export interface ScheduleFireEvent {
  scheduleId: string;
  /** ISO 8601, e.g. `2026-01-05T09:00:00Z`. */
  scheduledTime: string;
}

export interface FireScheduleDeps {
  /** The Scheduler over the schedule store (never started on AWS): its fireOnce is the fire. */
  scheduler: Pick<Scheduler, 'fireOnce'>;
}

/**
 * The schedule-fire handler's core: one fire of the event's schedule at its scheduled time, claimed once
 * (a redelivery answers `not-due` and starts nothing). With catch-up (Scheduler.fireOnce): when the stored
 * time is behind the delivered one — a delivery EventBridge gave up on, or a daylight-saving time croner
 * and AWS place differently — the stored time fires now, once, so the schedule never waits for a fire that
 * will not come. A malformed event throws, naming the field; store errors are thrown (the Lambda fails
 * and EventBridge retries the event).
 */
export async function fireSchedule(event: unknown, deps: FireScheduleDeps): Promise<FireOutcome> {
  const { scheduleId, scheduledTime } = (event ?? {}) as Partial<Record<keyof ScheduleFireEvent, unknown>>;
  if (typeof scheduleId !== 'string' || scheduleId === '')
    throw new Error('schedule fire event: scheduleId must be a non-empty string');
  const at = typeof scheduledTime === 'string' ? Date.parse(scheduledTime) : Number.NaN;
  if (Number.isNaN(at))
    throw new Error(
      `schedule fire event: scheduledTime must be an ISO 8601 time, got ${JSON.stringify(scheduledTime)}`,
    );
  return deps.scheduler.fireOnce(scheduleId, at, { catchUp: true });
}
