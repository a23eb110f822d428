// Stepgate schedules as Cloud Scheduler jobs (adapters/gcp/cloud-scheduler.ts) against the recording
// stand-in for the Cloud Scheduler API (test/support/google-fake.ts, reached by @google-cloud/scheduler's
// REST transport): the Scheduler over SyncedScheduleStore (the local SQLite schedule store inside) sends the
// exact CreateJob (cron, time zone, OIDC target, base64 body, retries), pause and resume, delete and the
// PATCH with its update mask that resync sends; a refused Cloud Scheduler call leaves the store unchanged,
// and a failed store write is undone on Cloud Scheduler. The fire reads the schedule time Cloud Scheduler
// puts in its header and starts the run once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CloudSchedulerJobs,
  fireScheduleJob,
  JOB_UPDATE_MASK,
  SCHEDULE_TIME_HEADER,
  SyncedScheduleStore,
} from '../../adapters/gcp/cloud-scheduler.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { SqliteScheduleStore } from '../../adapters/local/schedule-store.js';
import type { ScheduleRecord, ScheduleStore } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ScheduleError, Scheduler } from '../../functions/core/triggers/schedules.js';
import { FAKE_TOKEN, type FakeRequest, type GoogleFake, startGoogleFake } from '../support/google-fake.js';

const PROJECT = 'acme-prod';
const LOCATION = 'europe-west1';
const PARENT = `/v1/projects/${PROJECT}/locations/${LOCATION}/jobs`;
const TARGET = 'https://europe-west1-acme-prod.cloudfunctions.net/stepgate-schedule-fire';
const SCHEDULER_SA = 'stepgate-scheduler@acme-prod.iam.gserviceaccount.com';
const ADA: Identity = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
// Monday 5 January 2026, 07:30 UTC (08:30 in Berlin).
const START = Date.UTC(2026, 0, 5, 7, 30);

/** The jobs the stand-in holds, by job id, with Cloud Scheduler's state; ids in `refuse` answer 409. */
const jobs = new Map<string, Record<string, unknown>>();
const refuse = new Set<string>();
let fake: GoogleFake;

const notFound = (id: string) => ({
  status: 404,
  body: { error: { code: 404, message: `job ${id} not found`, status: 'NOT_FOUND' } },
});

function setState(id: string, state: 'ENABLED' | 'PAUSED') {
  const job = jobs.get(id);
  if (job === undefined) return notFound(id);
  job.state = state;
  return { body: job };
}

beforeAll(async () => {
  fake = await startGoogleFake(
    [
      'POST /v1/projects/:p/locations/:l/jobs',
      (request) => {
        const job = request.body as { name: string };
        const id = job.name.split('/').pop() as string;
        if (refuse.has(id) || jobs.has(id))
          return { status: 409, body: { error: { code: 409, message: 'exists', status: 'ALREADY_EXISTS' } } };
        jobs.set(id, { ...job, state: 'ENABLED' });
        return { body: jobs.get(id) };
      },
    ],
    ['POST /v1/projects/:p/locations/:l/jobs/:id:pause', (_r, { id = '' }) => setState(id, 'PAUSED')],
    ['POST /v1/projects/:p/locations/:l/jobs/:id:resume', (_r, { id = '' }) => setState(id, 'ENABLED')],
    [
      'PATCH /v1/projects/:p/locations/:l/jobs/:id',
      (request, { id = '' }) => {
        const job = jobs.get(id);
        if (job === undefined) return notFound(id);
        Object.assign(job, request.body);
        return { body: job };
      },
    ],
    [
      'DELETE /v1/projects/:p/locations/:l/jobs/:id',
      (_r, { id = '' }) => (jobs.delete(id) ? { body: {} } : notFound(id)),
    ],
  );
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  jobs.clear();
  refuse.clear();
  fake.requests.length = 0;
});

/** What Cloud Scheduler received, as `METHOD path` with the body. */
const sent = () => fake.requests.map((r: FakeRequest) => ({ call: `${r.method} ${r.path}`, body: r.body }));

type Failing = 'insert' | 'setEnabled' | 'delete';

/** A SQLite schedule store in a fresh file; `fail` makes one of its writes throw. */
function sqliteStore(fail?: Failing): ScheduleStore {
  const store = new SqliteScheduleStore(openDatabase(join(mkdtempSync(join(tmpdir(), 'sg-cs-')), 'db')));
  return fail === undefined ? store : new Proxy(store, failingMethod(fail));
}

function setup(options: { store?: ScheduleStore; newId?: () => string } = {}) {
  // The scheduler's gax carries its own copy of google-auth-library's types; the fake's client is one of them.
  const client = new CloudSchedulerClient(
    fake.gaxOptions() as unknown as ConstructorParameters<typeof CloudSchedulerClient>[0],
  );
  const store = options.store ?? sqliteStore();
  const cloud = new CloudSchedulerJobs({
    client,
    project: PROJECT,
    location: LOCATION,
    prefix: 'stepgate-',
    targetUrl: TARGET,
    serviceAccountEmail: SCHEDULER_SA,
  });
  const synced = new SyncedScheduleStore(store, cloud);
  const started: { scheduleId: string; scheduledTime: number; runId: string }[] = [];
  const scheduler = new Scheduler({
    store: synced,
    clock: new VirtualClock(START),
    authorize: () => true,
    startRun: async (schedule: ScheduleRecord, scheduledTime: number, runId: string) => {
      started.push({ scheduleId: schedule.id, scheduledTime, runId });
    },
    runExists: (runId) => started.some((s) => s.runId === runId),
    ...(options.newId === undefined ? {} : { newId: options.newId }),
  });
  return { scheduler, synced, store, started, cloud };
}

const JOB = (id: string) => `${PARENT}/stepgate-${id}`;

/** The job CreateJob must send for schedule `id` of workflow `weekly-report`, as JSON on the wire. */
function expectedJob(id: string, schedule: string, timeZone: string) {
  return {
    name: `projects/${PROJECT}/locations/${LOCATION}/jobs/stepgate-${id}`,
    description: 'Stepgate schedule of workflow weekly-report',
    schedule,
    timeZone,
    httpTarget: {
      uri: TARGET,
      httpMethod: 1, // POST, as the client encodes enums (enum-encoding=int)
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ scheduleId: id })).toString('base64'),
      oidcToken: { serviceAccountEmail: SCHEDULER_SA, audience: TARGET },
    },
    retryConfig: {
      retryCount: 3,
      maxRetryDuration: '3600s',
      minBackoffDuration: '30s',
      maxBackoffDuration: '600s',
      maxDoublings: 3,
    },
    attemptDeadline: '120s',
  };
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('Cloud Scheduler jobs', () => {
  it('creates the job with the exact schedule, time zone, OIDC target, body and retries, pauses, resumes and deletes it', async () => {
    const { scheduler, store } = setup({ newId: () => 'sch1' });
    const record = await scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * mon-fri', timezone: 'Europe/Berlin' },
      ADA,
    );
    await scheduler.update(record.id, { enabled: false }, ADA);
    expect(await store.get(record.id)).toMatchObject({ enabled: false, nextFireAt: null });
    expect(jobs.get('stepgate-sch1')?.state).toBe('PAUSED');
    // Disabling again changes nothing on Cloud Scheduler (a paused job cannot be paused).
    await scheduler.update(record.id, { enabled: false }, ADA);
    await scheduler.update(record.id, { enabled: true }, ADA);
    await scheduler.delete(record.id, ADA);

    expect(sent()).toEqual([
      { call: `POST ${PARENT}`, body: expectedJob('sch1', '0 9 * * MON-FRI', 'Europe/Berlin') },
      { call: `POST ${JOB('sch1')}:pause`, body: {} },
      { call: `POST ${JOB('sch1')}:resume`, body: {} },
      { call: `DELETE ${JOB('sch1')}`, body: undefined },
    ]);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    expect(jobs.size).toBe(0);
    expect(await store.get(record.id)).toBeUndefined();
  });

  it('creates a disabled schedule and pauses its job', async () => {
    const { scheduler } = setup({ newId: () => 'off' });
    await scheduler.create({ workflowId: 'weekly-report', preset: 'hourly', enabled: false }, ADA);
    expect(sent()).toEqual([
      { call: `POST ${PARENT}`, body: expectedJob('off', '0 * * * *', 'UTC') },
      { call: `POST ${JOB('off')}:pause`, body: {} },
    ]);
    expect(jobs.get('stepgate-off')?.state).toBe('PAUSED');
  });

  it('refuses a cron Cloud Scheduler cannot take as an invalid cron, sending nothing', async () => {
    const { scheduler, store } = setup();
    const error = await refusal(scheduler.create({ workflowId: 'w', cron: '0 9 L * *' }, ADA));
    expect(error).toBeInstanceOf(ScheduleError);
    expect(error).toMatchObject({ status: 400, code: 'invalid-cron' });
    expect(error.message).toContain("the day-of-month field 'L'");
    expect(fake.requests).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('leaves the store unchanged when Cloud Scheduler refuses the job', async () => {
    refuse.add('stepgate-taken');
    const { scheduler, store } = setup({ newId: () => 'taken' });
    const error = await refusal(scheduler.create({ workflowId: 'w', preset: 'hourly' }, ADA));
    expect(error.message).toContain('exists');
    expect(await store.list()).toEqual([]);
    expect(sent().map((s) => s.call)).toEqual([`POST ${PARENT}`]);
  });
});

describe('undoing on Cloud Scheduler when the store fails', () => {
  it('deletes the job it created when the insert fails', async () => {
    const { scheduler } = setup({ store: sqliteStore('insert'), newId: () => 'orphan' });
    const error = await refusal(scheduler.create({ workflowId: 'w', preset: 'hourly' }, ADA));
    expect(error.message).toBe('store insert failed');
    expect(sent().map((s) => s.call)).toEqual([`POST ${PARENT}`, `DELETE ${JOB('orphan')}`]);
    expect(jobs.size).toBe(0);
  });

  it('resumes the job it paused when disabling fails in the store', async () => {
    const inner = sqliteStore();
    const { scheduler } = setup({ store: inner, newId: () => 's' });
    await scheduler.create({ workflowId: 'w', preset: 'hourly' }, ADA);
    const failing = setup({ store: new Proxy(inner, failingMethod('setEnabled')) });
    await refusal(failing.scheduler.update('s', { enabled: false }, ADA));
    expect(
      sent()
        .map((s) => s.call)
        .slice(1),
    ).toEqual([`POST ${JOB('s')}:pause`, `POST ${JOB('s')}:resume`]);
    expect(jobs.get('stepgate-s')?.state).toBe('ENABLED');
    expect(await inner.get('s')).toMatchObject({ enabled: true });
  });

  it('recreates the job it deleted when the store delete fails', async () => {
    const inner = sqliteStore();
    const { scheduler } = setup({ store: inner, newId: () => 'kept' });
    await scheduler.create(
      { workflowId: 'weekly-report', cron: '30 6 * * *', timezone: 'Asia/Tokyo', enabled: false },
      ADA,
    );
    const failing = setup({ store: new Proxy(inner, failingMethod('delete')) });
    await refusal(failing.scheduler.delete('kept', ADA));
    expect(sent().slice(2)).toEqual([
      { call: `DELETE ${JOB('kept')}`, body: undefined },
      { call: `POST ${PARENT}`, body: expectedJob('kept', '30 6 * * *', 'Asia/Tokyo') },
      { call: `POST ${JOB('kept')}:pause`, body: {} },
    ]);
    expect(jobs.get('stepgate-kept')?.state).toBe('PAUSED');
    expect(await inner.get('kept')).toMatchObject({ enabled: false });
  });
});

/** A proxy handler making `method` of a store throw. */
function failingMethod(method: Failing): ProxyHandler<ScheduleStore> {
  return {
    get: (target, key) =>
      key === method
        ? () => Promise.reject(new Error(`store ${method} failed`))
        : (target[key as keyof ScheduleStore] as (...args: unknown[]) => unknown).bind(target),
  };
}

describe('resync', () => {
  it('patches every job with the update mask, recreates a missing one and corrects a drifted state', async () => {
    const ids = ['a', 'b', 'c'];
    const { scheduler, synced } = setup({ newId: () => ids.shift() as string });
    await scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      ADA,
    );
    await scheduler.create({ workflowId: 'weekly-report', preset: 'daily-9am', enabled: false }, ADA);
    await scheduler.create({ workflowId: 'weekly-report', preset: 'hourly' }, ADA);
    jobs.delete('stepgate-b');
    (jobs.get('stepgate-c') as { state: string }).state = 'PAUSED';
    fake.requests.length = 0;

    expect(await synced.resync()).toEqual(['b']);

    const patches = fake.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => r.path).sort()).toEqual([JOB('a'), JOB('b'), JOB('c')]);
    for (const patch of patches) expect(patch.query.updateMask).toBe(JOB_UPDATE_MASK.join(','));
    const { name: _name, ...patched } = expectedJob('a', '0 9 * * 1-5', 'Europe/Berlin');
    expect(patches.find((r) => r.path === JOB('a'))?.body).toEqual(patched);
    const others = sent().filter((s) => !s.call.startsWith('PATCH'));
    expect(others.map((s) => s.call).sort()).toEqual(
      [`POST ${PARENT}`, `POST ${JOB('b')}:pause`, `POST ${JOB('c')}:resume`].sort(),
    );
    expect([...jobs.entries()].map(([id, job]) => [id, job.state]).sort()).toEqual([
      ['stepgate-a', 'ENABLED'],
      ['stepgate-b', 'PAUSED'],
      ['stepgate-c', 'ENABLED'],
    ]);
  });
});

describe('fireScheduleJob', () => {
  it('starts the run once for the header time, and nothing on a retried delivery', async () => {
    const { scheduler, started, store } = setup({ newId: () => crypto.randomUUID() });
    const record = await scheduler.create(
      { workflowId: 'weekly-report', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' },
      ADA,
    );
    const delivery = {
      body: { scheduleId: record.id },
      headers: { [SCHEDULE_TIME_HEADER]: '2026-01-05T08:00:00Z', 'x-cloudscheduler': 'true' },
    };
    expect(await fireScheduleJob(delivery, { scheduler })).toMatchObject({ status: 'started' });
    expect(await fireScheduleJob(delivery, { scheduler })).toMatchObject({ status: 'not-due' });
    expect(started).toMatchObject([{ scheduleId: record.id, scheduledTime: Date.UTC(2026, 0, 5, 8, 0) }]);
    expect(await store.get(record.id)).toMatchObject({ nextFireAt: Date.UTC(2026, 0, 6, 8, 0) });
  });

  it('refuses a malformed delivery naming the field', async () => {
    const { scheduler } = setup();
    const time = { [SCHEDULE_TIME_HEADER]: '2026-01-05T08:00:00Z' };
    await expect(fireScheduleJob({ body: {}, headers: time }, { scheduler })).rejects.toThrow('scheduleId');
    await expect(fireScheduleJob({ body: { scheduleId: 'x' }, headers: {} }, { scheduler })).rejects.toThrow(
      SCHEDULE_TIME_HEADER,
    );
  });
});
