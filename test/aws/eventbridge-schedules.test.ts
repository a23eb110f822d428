// Stepgate schedules as EventBridge Scheduler schedules, on moto_server (test/support/moto.ts: missing,
// the test fails): the Scheduler over SyncedScheduleStore (the DynamoDB schedule store) creates the
// schedule with the exact expression, time zone, target and input, disables it, deletes it; a refused AWS
// call leaves the store unchanged and a failed store write is undone on EventBridge; and the fire handler,
// fed concurrent deliveries of one event through separate clients (as separate Lambdas), starts the run
// once — a recording stand-in for the durable host's start.
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  GetScheduleCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventBridgeSchedules,
  fireSchedule,
  SCHEDULED_TIME,
  SyncedScheduleStore,
} from '../../adapters/aws/eventbridge-schedules.js';
import { DynamoScheduleStore } from '../../adapters/aws/schedule-store.js';
import { createTable, openTable } from '../../adapters/aws/table.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import type { ScheduleRecord } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ScheduleError, Scheduler } from '../../functions/core/triggers/schedules.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

let moto: Moto | undefined;
let config: typeof MOTO_CLIENT & { endpoint: string };
const GROUP = 'stepgate';
const TARGET = 'arn:aws:lambda:us-east-1:123456789012:function:stepgate-schedule-fire';
const ROLE = 'arn:aws:iam::123456789012:role/stepgate-scheduler';
const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
// Monday 5 January 2026, 07:30 UTC (08:30 in Berlin).
const START = Date.UTC(2026, 0, 5, 7, 30);

beforeAll(async () => {
  moto = await startMoto();
  config = { ...MOTO_CLIENT, endpoint: moto.endpoint };
  const client = new SchedulerClient(config);
  await client.send(new CreateScheduleGroupCommand({ Name: GROUP }));
  client.destroy();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

let tables = 0;

interface Lambda {
  scheduler: Scheduler;
  store: DynamoScheduleStore;
  eventbridge: SchedulerClient;
  started: { scheduleId: string; scheduledTime: number; runId: string }[];
}

/** A fresh table; each call of the answer is one Lambda container (its own clients), all on that table. */
async function lambdas(
  options: { table?: string; newId?: () => string; start?: number } = {},
): Promise<() => Lambda> {
  const name = options.table ?? `stepgate-schedules-${++tables}`;
  if (options.table === undefined) await createTable(openTable(name, config));
  const started: Lambda['started'] = [];
  return () => {
    const eventbridge = new SchedulerClient({ ...config, maxAttempts: 1 });
    const store = new DynamoScheduleStore(openTable(name, { ...config, maxAttempts: 1 }));
    const synced = new SyncedScheduleStore(
      store,
      new EventBridgeSchedules({ client: eventbridge, groupName: GROUP, targetArn: TARGET, roleArn: ROLE }),
    );
    const scheduler = new Scheduler({
      store: synced,
      clock: new VirtualClock(options.start ?? START),
      authorize: () => true,
      startRun: async (schedule: ScheduleRecord, scheduledTime: number, runId: string) => {
        started.push({ scheduleId: schedule.id, scheduledTime, runId });
      },
      runExists: (runId) => started.some((s) => s.runId === runId),
      ...(options.newId === undefined ? {} : { newId: options.newId }),
    });
    return { scheduler, store, eventbridge, started };
  };
}

const getSchedule = (client: SchedulerClient, name: string) =>
  client.send(new GetScheduleCommand({ Name: name, GroupName: GROUP }));

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('EventBridge Scheduler schedules', () => {
  it('creates the schedule with the exact expression, time zone, target and input, disables and deletes it', async () => {
    const { scheduler, eventbridge, store } = (await lambdas())();
    const record = await scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', input: { team: 'a' } },
      ADA,
    );
    const created = await getSchedule(eventbridge, record.id);
    expect(created).toMatchObject({
      Name: record.id,
      GroupName: GROUP,
      ScheduleExpression: 'cron(0 9 ? * 2-6 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: { Arn: TARGET, RoleArn: ROLE },
    });
    expect(JSON.parse(created.Target?.Input ?? '')).toEqual({
      scheduleId: record.id,
      scheduledTime: SCHEDULED_TIME,
    });

    await scheduler.update(record.id, { enabled: false }, ADA);
    expect(await getSchedule(eventbridge, record.id)).toMatchObject({
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 9 ? * 2-6 *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
    expect(await store.get(record.id)).toMatchObject({ enabled: false, nextFireAt: null });
    await scheduler.update(record.id, { enabled: true }, ADA);
    expect(await getSchedule(eventbridge, record.id)).toMatchObject({ State: 'ENABLED' });

    await scheduler.delete(record.id, ADA);
    expect((await refusal(getSchedule(eventbridge, record.id))).name).toBe('ResourceNotFoundException');
    expect(await store.get(record.id)).toBeUndefined();
  });

  it('creates a disabled schedule DISABLED', async () => {
    const { scheduler, eventbridge } = (await lambdas())();
    const record = await scheduler.create({ workflowId: 'w', preset: 'hourly', enabled: false }, ADA);
    expect(await getSchedule(eventbridge, record.id)).toMatchObject({
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 * * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
    });
  });

  it('refuses a cron AWS cannot express as an invalid cron, creating nothing', async () => {
    const { scheduler, store } = (await lambdas())();
    const error = await refusal(scheduler.create({ workflowId: 'w', cron: '0 9 1 * 1' }, ADA));
    expect(error).toBeInstanceOf(ScheduleError);
    expect(error).toMatchObject({ status: 400, code: 'invalid-cron' });
    expect(error.message).toContain('both day-of-month (1) and day-of-week (1)');
    expect(await store.list()).toEqual([]);
  });

  it('leaves the store unchanged when EventBridge refuses the schedule', async () => {
    const lambda = (await lambdas({ newId: () => 'taken' }))();
    await lambda.eventbridge.send(
      new CreateScheduleCommand({
        Name: 'taken',
        GroupName: GROUP,
        ScheduleExpression: 'rate(1 hour)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: TARGET, RoleArn: ROLE },
      }),
    );
    const error = await refusal(lambda.scheduler.create({ workflowId: 'w', preset: 'hourly' }, ADA));
    expect(error.name).toBe('ConflictException');
    expect(await lambda.store.list()).toEqual([]);
    // The schedule that held the name is untouched.
    expect(await getSchedule(lambda.eventbridge, 'taken')).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
    });
  });

  it('deletes the EventBridge schedule again when the store write fails', async () => {
    const lambda = (await lambdas({ table: 'no-such-table', newId: () => 'orphan' }))();
    const error = await refusal(lambda.scheduler.create({ workflowId: 'w', preset: 'hourly' }, ADA));
    expect(error.name).toBe('ResourceNotFoundException');
    expect((await refusal(getSchedule(lambda.eventbridge, 'orphan'))).name).toBe('ResourceNotFoundException');
  });
});

describe('fireSchedule', () => {
  it('starts the run once under concurrent deliveries of one fire, and nothing on a redelivery', async () => {
    const lambda = await lambdas();
    const first = lambda();
    const record = await first.scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      ADA,
    );
    // 09:00 in Berlin on Monday 5 January is 08:00 UTC, as EventBridge writes it.
    expect(record.nextFireAt).toBe(Date.UTC(2026, 0, 5, 8, 0));
    const event = { scheduleId: record.id, scheduledTime: '2026-01-05T08:00:00Z' };
    const deliveries = Array.from({ length: 6 }, () => lambda());
    const outcomes = await Promise.all(deliveries.map((l) => fireSchedule(event, l)));

    const started = outcomes.filter((o) => o.status === 'started');
    expect(started).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'not-due')).toHaveLength(5);
    expect(first.started).toEqual([
      {
        scheduleId: record.id,
        scheduledTime: Date.UTC(2026, 0, 5, 8, 0),
        runId: (started[0] as { runId: string }).runId,
      },
    ]);
    expect(await fireSchedule(event, lambda())).toMatchObject({ status: 'not-due' });
    expect(first.started).toHaveLength(1);
    const fires = await first.store.fires(record.id);
    expect(fires).toMatchObject([{ scheduledTime: Date.UTC(2026, 0, 5, 8, 0), status: 'started' }]);
    // The schedule moved on to the next weekday's 09:00 in Berlin, the next time EventBridge fires.
    expect(await first.store.get(record.id)).toMatchObject({ nextFireAt: Date.UTC(2026, 0, 6, 8, 0) });
    const next = await fireSchedule({ ...event, scheduledTime: '2026-01-06T08:00:00Z' }, lambda());
    expect(next).toMatchObject({ status: 'started' });
  });

  it('fires a stored time whose delivery never came once, at the next delivery, and moves past it', async () => {
    const lambda = await lambdas();
    const first = lambda();
    const record = await first.scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      ADA,
    );
    const monday = Date.UTC(2026, 0, 5, 8, 0);
    // Monday's delivery was given up; Tuesday's arrives, three times at once.
    const tuesday = { scheduleId: record.id, scheduledTime: '2026-01-06T08:00:00Z' };
    const outcomes = await Promise.all([lambda(), lambda(), lambda()].map((l) => fireSchedule(tuesday, l)));
    expect(outcomes.filter((o) => o.status === 'started')).toHaveLength(1);
    expect(first.started).toMatchObject([{ scheduleId: record.id, scheduledTime: monday }]);
    expect(await first.store.get(record.id)).toMatchObject({ nextFireAt: Date.UTC(2026, 0, 7, 8, 0) });
    // Neither Tuesday's redelivery nor a late Monday one starts anything more.
    expect(await fireSchedule(tuesday, lambda())).toMatchObject({ status: 'not-due' });
    expect(await fireSchedule({ ...tuesday, scheduledTime: '2026-01-05T08:00:00Z' }, lambda())).toMatchObject(
      {
        status: 'not-due',
      },
    );
    expect(first.started).toHaveLength(1);
  });

  it('keeps firing across a daylight-saving gap, where AWS skips the time croner moves past the gap', async () => {
    const lambda = await lambdas({ start: Date.UTC(2026, 2, 28, 12, 0) });
    const first = lambda();
    const record = await first.scheduler.create(
      { workflowId: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin' },
      ADA,
    );
    // 29 March 2026: Berlin skips 02:00-03:00. croner moves 02:30 to 03:00 CEST (01:00 UTC); AWS skips it.
    expect(record.nextFireAt).toBe(Date.UTC(2026, 2, 29, 1, 0));
    const next = { scheduleId: record.id, scheduledTime: '2026-03-30T00:30:00Z' };
    expect(await fireSchedule(next, lambda())).toMatchObject({ status: 'started' });
    expect(await first.store.get(record.id)).toMatchObject({ nextFireAt: Date.UTC(2026, 2, 31, 0, 30) });
    expect(await fireSchedule({ ...next, scheduledTime: '2026-03-31T00:30:00Z' }, lambda())).toMatchObject({
      status: 'started',
    });
    expect(first.started).toHaveLength(2);
  });

  it('refuses a malformed event naming the field', async () => {
    const lambda = (await lambdas())();
    await expect(fireSchedule({ scheduledTime: '2026-01-05T08:00:00Z' }, lambda)).rejects.toThrow(
      'scheduleId',
    );
    await expect(fireSchedule({ scheduleId: 'x', scheduledTime: 'soon' }, lambda)).rejects.toThrow(
      'scheduledTime',
    );
  });
});
