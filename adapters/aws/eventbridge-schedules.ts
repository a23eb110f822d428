// Stepgate schedules as EventBridge Scheduler schedules, and the fire that comes back from them.
//
// One EventBridge schedule per Stepgate schedule: named by the schedule id, in the stack's schedule group,
// its cron converted by awsCron (eventbridge-cron.ts) in the schedule's own time zone
// (ScheduleExpressionTimezone), flexible time window OFF, State ENABLED or DISABLED as the schedule is,
// and as target the schedule-fire Lambda (invoked with the scheduler role) with the input
// `{"scheduleId": "<id>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`, which EventBridge fills in
// with the fire's scheduled time (ISO 8601, UTC).
//
// The seam is the ScheduleStore: SyncedScheduleStore (functions/core/triggers/synced-schedules.ts, shared
// with GCP, re-exported here) wraps the DynamoDB schedule store over EventBridgeSchedules, and its insert,
// setEnabled and delete change the EventBridge schedule with the record — EventBridge first, then the
// store, a failed store write undone on EventBridge (create → delete, state → previous state, delete →
// recreate) — so the Scheduler (functions/core/triggers/schedules.ts: validation, scopes, permissions) and
// the HTTP routes stay as they are; the api Lambda builds its Scheduler over this store and never starts
// it (no local timers). EventBridge's side of that: the cron check is awsCron's, and an enabled change
// replaces the whole schedule (UpdateSchedule has no partial form), its State included.
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
import type { ScheduleRecord } from '../../functions/core/ports.js';
import type { FireOutcome, Scheduler } from '../../functions/core/triggers/schedules.js';
import { type CloudSchedules, conversionProblem } from '../../functions/core/triggers/synced-schedules.js';
import { AwsCronError, awsCron } from './eventbridge-cron.js';

export { SyncedScheduleStore } from '../../functions/core/triggers/synced-schedules.js';
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
export class EventBridgeSchedules implements CloudSchedules {
  constructor(private readonly options: EventBridgeSchedulesOptions) {}

  /** awsCron's message for a cron EventBridge cannot express. */
  cronProblem(cron: string): string | undefined {
    return conversionProblem(awsCron, AwsCronError, cron);
  }

  /** Creates the schedule of `record` (one of that name existing already is an error: ids are unique). */
  async create(record: ScheduleRecord): Promise<void> {
    await this.options.client.send(new CreateScheduleCommand(scheduleRequest(record, this.options)));
  }

  /** Replaces the schedule of `record` (its state included). */
  async update(record: ScheduleRecord): Promise<void> {
    await this.options.client.send(new UpdateScheduleCommand(scheduleRequest(record, this.options)));
  }

  /** Replaces the schedule of `current` with its state set to `enabled` (sent even when it stays). */
  setEnabled(current: ScheduleRecord, enabled: boolean): Promise<void> {
    return this.update({ ...current, enabled });
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
