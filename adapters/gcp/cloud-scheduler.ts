// Stepgate schedules as Cloud Scheduler jobs, and the fire that comes back from them.
//
// One job per Stepgate schedule: `projects/<project>/locations/<location>/jobs/<prefix><id>`, its
// `schedule` the 5-field cron as Cloud Scheduler takes it (gcpCron, scheduler-cron.ts) in the schedule's
// own `timeZone`, an HTTP target POSTing `{"scheduleId": "<id>"}` to the schedule-fire function with an
// OIDC token of the scheduler's service account (the only member allowed to invoke that function), a retry
// config (a fire is claimed once, so a retried delivery is harmless) and the job PAUSED while the schedule
// is disabled. Cloud Scheduler has no placeholder for the fire's time in the body: it sends it in the
// `X-CloudScheduler-ScheduleTime` header (RFC 3339, UTC), which fireScheduleJob reads.
//
// The seam is the ScheduleStore, as on AWS: SyncedScheduleStore (functions/core/triggers/synced-schedules.ts,
// shared with AWS) wraps the Firestore (or any) schedule store over CloudSchedulerJobs, and its insert,
// setEnabled and delete change the job with the record — Cloud Scheduler first, then the store, a failed
// store write undone on Cloud Scheduler (create → delete, pause ↔ resume, delete → recreate) — so the
// Scheduler (functions/core/triggers/schedules.ts) and the HTTP routes stay as they are. Cloud Scheduler's
// side of that: the cron check is gcpCron's, and an enabled change pauses or resumes the job (a job is
// paused only while enabled and resumed only while paused, so nothing is sent when the state stays).
// GCP's SyncedScheduleStore extends the shared one with `resync`, which patches every stored schedule's
// job to the current target (a redeploy may move the function's URL or service account) with an update
// mask, creating the jobs that are missing and pausing or resuming the ones whose state drifted; it stays
// here because only Cloud Scheduler's jobs are re-pointed at deploy.
import type { CloudSchedulerClient, protos } from '@google-cloud/scheduler';
import type { ScheduleRecord, ScheduleStore } from '../../functions/core/ports.js';
import type { FireOutcome, Scheduler } from '../../functions/core/triggers/schedules.js';
import {
  type CloudSchedules,
  conversionProblem,
  SyncedScheduleStore as SharedSyncedScheduleStore,
  undoing,
} from '../../functions/core/triggers/synced-schedules.js';
import { GcpCronError, gcpCron } from './scheduler-cron.js';

export { GcpCronError, gcpCron } from './scheduler-cron.js';

type Job = protos.google.cloud.scheduler.v1.IJob;

export interface CloudSchedulerJobsOptions {
  client: CloudSchedulerClient;
  project: string;
  /** The region the jobs live in (Cloud Scheduler's location, e.g. `europe-west1`). */
  location: string;
  /** The start of every Stepgate job's id (letters, digits, '-', '_'), so the jobs of one deployment are known. */
  prefix: string;
  /** The schedule-fire function's URL (also the OIDC token's audience). */
  targetUrl: string;
  /** The service account Cloud Scheduler signs the OIDC token as (run.invoker on schedule-fire only). */
  serviceAccountEmail: string;
}

/** Cloud Scheduler job ids: letters, digits, `-`, `_`, at most 500. */
const JOB_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** The fields `resync` replaces on an existing job (everything jobRequest sets but the name). */
export const JOB_UPDATE_MASK = [
  'description',
  'schedule',
  'time_zone',
  'http_target',
  'retry_config',
  'attempt_deadline',
];

/** Retries of a failed delivery: a few, backing off from 30 s to 10 min (Cloud Scheduler's own fields). */
export const RETRY_CONFIG = {
  retryCount: 3,
  maxRetryDuration: { seconds: 3600 },
  minBackoffDuration: { seconds: 30 },
  maxBackoffDuration: { seconds: 600 },
  maxDoublings: 3,
};

/** How long one delivery may take: the fire starts a run and answers (the function's own timeout is longer). */
const ATTEMPT_DEADLINE = { seconds: 120 };

/** The job's full name for schedule `id`; throws naming the id when it cannot name a job. */
export function jobName(id: string, options: Omit<CloudSchedulerJobsOptions, 'client'>): string {
  const jobId = `${options.prefix}${id}`;
  if (!JOB_ID.test(jobId))
    throw new Error(
      `schedule id '${id}' cannot name a Cloud Scheduler job as '${jobId}' (1-500 letters, digits, '-', '_')`,
    );
  return `projects/${options.project}/locations/${options.location}/jobs/${jobId}`;
}

/** The job of `record` (what CreateJob takes; UpdateJob takes it with JOB_UPDATE_MASK). */
export function jobRequest(record: ScheduleRecord, options: Omit<CloudSchedulerJobsOptions, 'client'>): Job {
  return {
    name: jobName(record.id, options),
    description: `Stepgate schedule of workflow ${record.workflowId}`.slice(0, 500),
    schedule: gcpCron(record.cron),
    timeZone: record.timezone,
    httpTarget: {
      uri: options.targetUrl,
      httpMethod: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify({ scheduleId: record.id })),
      oidcToken: { serviceAccountEmail: options.serviceAccountEmail, audience: options.targetUrl },
    },
    retryConfig: RETRY_CONFIG,
    attemptDeadline: ATTEMPT_DEADLINE,
  };
}

/** NOT_FOUND as the client library's errors carry it: gRPC's code 5, or HTTP's 404 over its REST transport. */
const NOT_FOUND = [5, 404];
const isNotFound = (error: unknown) =>
  NOT_FOUND.includes((error as { code?: unknown } | null)?.code as number);

/** Creates, pauses, resumes, patches and deletes the Cloud Scheduler job of a Stepgate schedule. */
export class CloudSchedulerJobs implements CloudSchedules {
  constructor(private readonly options: CloudSchedulerJobsOptions) {}

  /** gcpCron's message for a cron Cloud Scheduler cannot take. */
  cronProblem(cron: string): string | undefined {
    return conversionProblem(gcpCron, GcpCronError, cron);
  }

  /** Creates the job of `record`, paused when the schedule is disabled (deleted again if the pause fails). */
  async create(record: ScheduleRecord): Promise<void> {
    const { project, location } = this.options;
    const job = jobRequest(record, this.options);
    await this.options.client.createJob({ parent: `projects/${project}/locations/${location}`, job });
    if (!record.enabled)
      await undoing(
        () => this.setState(record.id, false),
        () => this.delete(record.id),
      );
  }

  /** Pauses (false) or resumes (true) the job of schedule `id`. */
  async setState(id: string, enabled: boolean): Promise<void> {
    const name = jobName(id, this.options);
    if (enabled) await this.options.client.resumeJob({ name });
    else await this.options.client.pauseJob({ name });
  }

  /** Pauses or resumes the job of `current` when `enabled` differs from its state; no call when it stays. */
  async setEnabled(current: ScheduleRecord, enabled: boolean): Promise<void> {
    if (current.enabled !== enabled) await this.setState(current.id, enabled);
  }

  /** Replaces the job's target, schedule and retries with `record`'s; the job as it is now, undefined when there is none. */
  async update(record: ScheduleRecord): Promise<Job | undefined> {
    try {
      const [job] = await this.options.client.updateJob({
        job: jobRequest(record, this.options),
        updateMask: { paths: JOB_UPDATE_MASK },
      });
      return job;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Deletes the job of schedule `id`; false when there was none. */
  async delete(id: string): Promise<boolean> {
    try {
      await this.options.client.deleteJob({ name: jobName(id, this.options) });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}

/** The shared SyncedScheduleStore over Cloud Scheduler's jobs, with `resync` at deploy (see the header). */
export class SyncedScheduleStore extends SharedSyncedScheduleStore {
  constructor(
    store: ScheduleStore,
    private readonly jobs: CloudSchedulerJobs,
  ) {
    super(store, jobs);
  }

  /**
   * Brings every stored schedule's job to the current target and state (at deploy): patched with
   * JOB_UPDATE_MASK, created when missing, paused or resumed when its state differs from the record's.
   * Returns the ids of the jobs it created.
   */
  async resync(): Promise<string[]> {
    const created: string[] = [];
    for (const record of await this.store.list()) {
      const job = await this.jobs.update(record);
      if (job === undefined) {
        await this.jobs.create(record);
        created.push(record.id);
        continue;
      }
      const paused = job.state === 'PAUSED';
      if (paused === record.enabled) await this.jobs.setState(record.id, record.enabled);
    }
    return created;
  }
}

/** The header Cloud Scheduler sends the fire's scheduled time in (lower case, as Node reads headers). */
export const SCHEDULE_TIME_HEADER = 'x-cloudscheduler-scheduletime';

/** A delivery of a job: the JSON body jobRequest set and the request's headers. */
export interface ScheduleJobDelivery {
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The schedule-fire function's core: one fire of the delivery's schedule at the header's scheduled time,
 * claimed once (a retried delivery answers `not-due` and starts nothing), with catch-up as on AWS
 * (Scheduler.fireOnce: a stored time behind the delivered one fires now, once). A malformed delivery
 * throws, naming the field; store errors are thrown (the function answers 500 and Cloud Scheduler retries).
 */
export async function fireScheduleJob(
  delivery: ScheduleJobDelivery,
  deps: { scheduler: Pick<Scheduler, 'fireOnce'> },
): Promise<FireOutcome> {
  const { scheduleId } = (delivery.body ?? {}) as { scheduleId?: unknown };
  if (typeof scheduleId !== 'string' || scheduleId === '')
    throw new Error("schedule fire: the body's scheduleId must be a non-empty string");
  const header = delivery.headers[SCHEDULE_TIME_HEADER];
  const at = typeof header === 'string' ? Date.parse(header) : Number.NaN;
  if (Number.isNaN(at))
    throw new Error(
      `schedule fire: the ${SCHEDULE_TIME_HEADER} header must be an RFC 3339 time, got ${JSON.stringify(header)}`,
    );
  return deps.scheduler.fireOnce(scheduleId, at, { catchUp: true });
}
