// What the tests of the API's GCP composition (functions/gcp/runs.ts, setup.ts) run it on: the gcloud
// Firestore emulator (run records, trail, deployed revisions, and the ports the composition uses: the
// workflow store, the directory, the schedule store), the Workflows stand-in (test/support/workflows-emulator.ts)
// for Workflows and Executions, and one recording Google fake holding Secret Manager (versions the test
// adds, with their CRC32C) and Cloud Scheduler (jobs kept in memory, NOT_FOUND and ALREADY_EXISTS as the
// REST API answers them). The clients reach them through their REST transport; the requests are kept as
// each client library sent them.
import type { Firestore } from '@google-cloud/firestore';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { ExecutionsClient, WorkflowsClient } from '@google-cloud/workflows';
import { crc32c } from '../../adapters/gcp/crc32c.js';
import { FirestoreDirectory } from '../../adapters/gcp/directory.js';
import { FirestoreScheduleStore } from '../../adapters/gcp/schedule-store.js';
import { FirestoreWorkflowStore } from '../../adapters/gcp/workflow-store.js';
import type { GoogleRequester } from '../../adapters/gcp/workflows-host.js';
import { INSTANCE_CLOCK, lazy } from '../../functions/core/per-instance.js';
import { ENV, type GcpConfig, loadGcpConfig } from '../../functions/gcp/config.js';
import type { GcpPorts } from '../../functions/gcp/ports.js';
import { type GcpRuns, gcpRuns } from '../../functions/gcp/runs.js';
import type { TaskQueue, WorkerWork } from '../../functions/gcp/tasks.js';
import type { FirestoreEmulator } from './firestore-emulator.js';
import { fakeAuthClient, type GoogleFake, startGoogleFake } from './google-fake.js';
import type { WorkflowsEmulator } from './workflows-emulator.js';

export const PROJECT = 'stepgate-test';
export const LOCATION = 'europe-west1';
export const RUNNER = 'stepgate-workflows@stepgate-test.iam.gserviceaccount.com';
export const SCHEDULER_SA = 'stepgate-scheduler@stepgate-test.iam.gserviceaccount.com';
export const FIRE_URL = 'https://schedule-fire-abc.a.run.app/';
export const ADMIN_EMAIL = 'root@example.com';

/** The Secret Manager and Cloud Scheduler stand-ins on one recording fake. */
export interface GoogleServices {
  fake: GoogleFake;
  /** Secret versions by secret name (`projects/P/secrets/S`), the latest last. */
  secrets: Map<string, Buffer[]>;
  /** Cloud Scheduler jobs by job id. */
  jobs: Map<string, Record<string, unknown>>;
}

const googleError = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code: status, message, status: code } },
});

function jobState(jobs: Map<string, Record<string, unknown>>, id: string, state: 'ENABLED' | 'PAUSED') {
  const job = jobs.get(id);
  if (job === undefined) return googleError(404, 'NOT_FOUND', `job ${id} not found`);
  job.state = state;
  return { body: job };
}

export async function startGoogleServices(): Promise<GoogleServices> {
  const secrets = new Map<string, Buffer[]>();
  const jobs = new Map<string, Record<string, unknown>>();
  const fake = await startGoogleFake(
    [
      'GET /v1/projects/:project/secrets/:secret/versions/latest:access',
      (_, { project, secret }) => {
        const name = `projects/${project}/secrets/${secret}`;
        const data = secrets.get(name)?.at(-1);
        if (data === undefined) return googleError(404, 'NOT_FOUND', `Secret [${name}] not found`);
        const payload = { data: data.toString('base64'), dataCrc32c: String(crc32c(data)) };
        return { body: { name: `${name}/versions/1`, payload } };
      },
    ],
    [
      'POST /v1/projects/:p/locations/:l/jobs',
      (request) => {
        const job = request.body as { name: string };
        const id = job.name.split('/').pop() as string;
        if (jobs.has(id)) return googleError(409, 'ALREADY_EXISTS', `job ${id} exists`);
        jobs.set(id, { ...job, state: 'ENABLED' });
        return { body: jobs.get(id) };
      },
    ],
    ['POST /v1/projects/:p/locations/:l/jobs/:id:pause', (_r, { id = '' }) => jobState(jobs, id, 'PAUSED')],
    ['POST /v1/projects/:p/locations/:l/jobs/:id:resume', (_r, { id = '' }) => jobState(jobs, id, 'ENABLED')],
    [
      'DELETE /v1/projects/:p/locations/:l/jobs/:id',
      (_r, { id = '' }) =>
        jobs.delete(id) ? { body: {} } : googleError(404, 'NOT_FOUND', `job ${id} not found`),
    ],
    [
      'PATCH /v1/projects/:p/locations/:l/jobs/:id',
      (request, { id = '' }) => {
        const job = jobs.get(id);
        if (job === undefined) return googleError(404, 'NOT_FOUND', `job ${id} not found`);
        Object.assign(job, request.body);
        return { body: job };
      },
    ],
  );
  return { fake, secrets, jobs };
}

/** A queue that keeps what it is given. */
export function recordingQueue(): TaskQueue & { enqueued: Array<{ work: WorkerWork; at?: number }> } {
  const enqueued: Array<{ work: WorkerWork; at?: number }> = [];
  return {
    enqueued,
    enqueue: async (work, at) => void enqueued.push({ work, ...(at === undefined ? {} : { at }) }),
  };
}

/** The API's settings as the Terraform sets them, `extra` on top. */
export function apiConfig(extra: Record<string, string> = {}): GcpConfig {
  const fn = (name: string) => `https://${name}-abc.a.run.app/`;
  return loadGcpConfig(
    {
      [ENV.project]: PROJECT,
      [ENV.location]: LOCATION,
      [ENV.kmsKey]: `projects/${PROJECT}/locations/${LOCATION}/keyRings/stepgate/cryptoKeys/vault`,
      [ENV.platformSecret]: `projects/${PROJECT}/secrets/platform`,
      [ENV.emailFrom]: 'stepgate@example.com',
      [ENV.publicUrl]: 'https://stepgate.example.com',
      [ENV.tasksQueue]: `projects/${PROJECT}/locations/${LOCATION}/queues/stepgate`,
      [ENV.serviceAccount]: `functions@${PROJECT}.iam.gserviceaccount.com`,
      [ENV.workerUrl]: fn('worker'),
      [ENV.functionUrls]: JSON.stringify({
        toolCall: fn('tool-call'),
        notify: fn('notify'),
        approvalRequest: fn('approval-request'),
        approvalClose: fn('approval-close'),
        backoff: fn('backoff'),
        resolveTime: fn('resolve-time'),
        runEnd: fn('run-end'),
      }),
      [ENV.workflowsServiceAccount]: RUNNER,
      [ENV.schedulerServiceAccount]: SCHEDULER_SA,
      [ENV.scheduleFireUrl]: FIRE_URL,
      [ENV.adminEmail]: ADMIN_EMAIL,
      [ENV.adminPasswordSecret]: `projects/${PROJECT}/secrets/admin-password`,
      ...extra,
    },
    'api',
  );
}

const unused = (port: string) => (): never => {
  throw new Error(`the composition's tests do not use the ${port} port`);
};

/** The ports the composition uses, on Firestore (the others throw: the composition must not need them). */
export function firestoreTestPorts(config: GcpConfig, db: Firestore): GcpPorts {
  return {
    config,
    clock: INSTANCE_CLOCK,
    workflows: lazy(() => new FirestoreWorkflowStore(db)),
    directory: lazy(() => new FirestoreDirectory(db)),
    schedules: lazy(() => new FirestoreScheduleStore(db)),
    vault: unused('vault'),
    results: unused('results'),
    limiter: unused('limiter'),
    sessions: unused('sessions'),
    tokens: unused('tokens'),
    deliveries: unused('deliveries'),
    audit: unused('audit'),
    approvalStore: unused('approvalStore'),
    linkStore: unused('linkStore'),
    claims: unused('claims'),
    platformSecret: unused('platformSecret'),
    smtpRelayUrl: unused('smtpRelayUrl'),
  };
}

let compositions = 0;

export interface Composition {
  config: GcpConfig;
  ports: GcpPorts;
  runs: GcpRuns;
  queue: ReturnType<typeof recordingQueue>;
  close(): Promise<void>;
}

/**
 * gcpRuns over a fresh Firestore project, the Workflows stand-in and the Google services; a fresh
 * `namePrefix` per composition keeps its GCP workflows and jobs apart from other tests'.
 */
export function composeOn(
  env: { firestore: FirestoreEmulator; workflows: WorkflowsEmulator; google: GoogleServices },
  extra: Record<string, string> = {},
  edit: (config: GcpConfig) => GcpConfig = (config) => config,
): Composition {
  const config = edit(apiConfig({ [ENV.namePrefix]: `t${++compositions}-`, ...extra }));
  const db = env.firestore.client(env.firestore.freshProject());
  const ports = firestoreTestPorts(config, db);
  const queue = recordingQueue();
  // The clients bundle their own google-auth-library: the same client at run time, another type by name.
  const gax = env.google.fake.gaxOptions() as unknown as ConstructorParameters<
    typeof CloudSchedulerClient
  >[0];
  const clients = {
    workflows: new WorkflowsClient(env.workflows.clientOptions()),
    executions: new ExecutionsClient(env.workflows.clientOptions()),
    scheduler: new CloudSchedulerClient(gax),
    secrets: new SecretManagerServiceClient(
      gax as ConstructorParameters<typeof SecretManagerServiceClient>[0],
    ),
    auth: fakeAuthClient() as unknown as GoogleRequester,
    executionsEndpoint: env.workflows.url,
  };
  const runs = gcpRuns(config, { firestore: db, ports, queue: () => queue, clients });
  return {
    config,
    ports,
    runs,
    queue,
    close: async () => {
      await Promise.all([
        clients.workflows.close(),
        clients.executions.close(),
        clients.scheduler.close(),
        clients.secrets.close(),
      ]);
      await db.terminate();
    },
  };
}
