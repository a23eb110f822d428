// The `schedule-fire` Lambda, EventBridge Scheduler's target: one fire of a Stepgate schedule at its
// scheduled time (the input `{scheduleId, scheduledTime}` the schedule was created with), claimed once in
// the table and started on Step Functions as the local Scheduler starts it (adapters/aws/eventbridge-schedules.ts
// fireSchedule). A redelivered event starts nothing; a store failure fails the invocation and EventBridge
// retries it.
import middy from '@middy/core';
import { fireSchedule } from '../../adapters/aws/eventbridge-schedules.js';
import type { FireOutcome } from '../core/triggers/schedules.js';
import { loadAwsConfig } from './config.js';
import { AwsPorts, perContainer } from './ports.js';
import { AwsRuns } from './runs.js';

const scheduler = perContainer(async () =>
  new AwsRuns(new AwsPorts(loadAwsConfig(process.env, 'schedule-fire'))).scheduler(false),
);

export const handler = middy(
  async (event: unknown): Promise<FireOutcome> => fireSchedule(event, { scheduler: await scheduler() }),
);
