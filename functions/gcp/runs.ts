// What runs workflows on Google Cloud, composed once per instance over the ports, as functions/aws/runs.ts
// is on AWS: the deployer that turns a saved workflow version into a GCP workflow (the API only: it alone is
// given the executions' service account), the workflow store that deploys before it saves, the run host on
// Workflows executions (its records and trail in Firestore, the run timeout a Cloud Task), and the
// schedules synced with Cloud Scheduler (the API creates, pauses and deletes the jobs; schedule-fire fires
// them from the store alone).
//
// Decisions:
// - The host finds a version's GCP workflow in the deployer's Firestore records (deployedWorkflow), not
//   through the deployer: run-end and schedule-fire start or end runs without a WorkflowsClient and without
//   the executions' service account.
// - The function URLs are read when a run starts: run-end's host never starts one and is not given them
//   (STEPGATE_FUNCTION_URLS is named if it ever does).
// - The step entries are read over REST with GoogleAuth (cloud-platform scope) at the configured Google API
//   endpoint, or Google's; `clients` replaces any client (tests: the Workflows stand-in, the Google fake).
// - The host's timeOut and recordEnd answer what they did; GcpRunHost's answer nothing: wrapped thinly.
import type { Firestore } from '@google-cloud/firestore';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { ExecutionsClient, WorkflowsClient } from '@google-cloud/workflows';
import { GoogleAuth } from 'google-auth-library';
import { FirestoreRunAudit } from '../../adapters/gcp/audit.js';
import { CloudSchedulerJobs, SyncedScheduleStore } from '../../adapters/gcp/cloud-scheduler.js';
import { FirestoreRunStore } from '../../adapters/gcp/run-store.js';
import {
  deployedWorkflow,
  GcpWorkflowStore,
  GcpWorkflowsDeployer,
} from '../../adapters/gcp/workflows-deployer.js';
import {
  type GcpFunctionUrls,
  GcpWorkflowsHost,
  type GoogleRequester,
} from '../../adapters/gcp/workflows-host.js';
import type { AppDeps } from '../core/http/app.js';
import { scheduledRuns } from '../core/http/schedule-routes.js';
import { lazy } from '../core/per-instance.js';
import type { WorkflowStore } from '../core/ports.js';
import { Scheduler } from '../core/triggers/schedules.js';
import { ENV, type GcpConfig, GcpConfigError, required } from './config.js';
import { type GcpPorts, type GcpRunHost, googleClientOptions } from './ports.js';
import { scheduleRunTimeout, type TaskQueue } from './tasks.js';

/** The Google clients the composition makes unless given (tests give stand-ins). */
export interface GcpClients {
  workflows?: WorkflowsClient;
  executions?: ExecutionsClient;
  scheduler?: CloudSchedulerClient;
  secrets?: SecretManagerServiceClient;
  /** Authorised REST requests for the executions' step entries. */
  auth?: GoogleRequester;
  /** Where the step entries are read (default: the configured Google API endpoint, or Google's). */
  executionsEndpoint?: string;
}

export interface GcpRunsParts {
  /** The Firestore client of the deployment's database (run records, trail, deployed revisions). */
  firestore: Firestore;
  ports: GcpPorts;
  queue: () => TaskQueue;
  clients?: GcpClients;
}

/** What runs workflows on GCP; each part made on first use. */
export interface GcpRuns {
  deployer(): GcpWorkflowsDeployer;
  /** GcpDeps.deployingWorkflows: a version is deployed as a GCP workflow before it is saved. */
  deployingWorkflows(): WorkflowStore;
  /** The Workflows host with its Firestore records (what run-end and the timeout task call too). */
  workflowsHost(): GcpWorkflowsHost;
  /** GcpDeps.host */
  host(): GcpRunHost;
  /** The schedule store whose changes change the Cloud Scheduler jobs (resync at setup). */
  scheduleStore(): SyncedScheduleStore;
  /** GcpDeps.schedules: /api/schedules over the synced store. */
  schedules(): NonNullable<AppDeps['schedules']>;
  /** Secret Manager (the first admin's password at setup). */
  secrets(): SecretManagerServiceClient;
}

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

export function gcpRuns(config: GcpConfig, parts: GcpRunsParts): GcpRuns {
  const { firestore, ports } = parts;
  const given = parts.clients ?? {};
  const options = googleClientOptions(config);
  const endpoint = given.executionsEndpoint ?? config.googleApiEndpoint;
  const location = () => `projects/${required(config, 'project')}/locations/${required(config, 'location')}`;
  const deployer = lazy(
    () =>
      new GcpWorkflowsDeployer({
        workflows: given.workflows ?? new WorkflowsClient(options),
        firestore,
        parent: location(),
        serviceAccount: required(config, 'workflowsServiceAccount'),
        namePrefix: config.namePrefix,
        clock: ports.clock,
      }),
  );
  const workflowsHost = lazy(() => {
    const trail = new FirestoreRunAudit(firestore, ports.clock);
    return new GcpWorkflowsHost({
      executions: given.executions ?? new ExecutionsClient(options),
      records: new FirestoreRunStore(firestore, trail),
      trail,
      deployments: { deployed: (id, version) => deployedWorkflow(firestore, id, version) },
      workflows: ports.workflows(),
      functions: functionUrls(config),
      timeouts: { schedule: (runId, at) => scheduleRunTimeout(parts.queue(), runId, at) },
      auth: given.auth ?? (new GoogleAuth({ scopes: [CLOUD_PLATFORM] }) as unknown as GoogleRequester),
      ...(endpoint === undefined ? {} : { executionsEndpoint: endpoint }),
      clock: ports.clock,
    });
  });
  const scheduleStore = lazy(
    () =>
      new SyncedScheduleStore(
        ports.schedules(),
        new CloudSchedulerJobs({
          client: given.scheduler ?? new CloudSchedulerClient(options),
          project: required(config, 'project'),
          location: required(config, 'location'),
          prefix: config.namePrefix,
          targetUrl: required(config, 'scheduleFireUrl'),
          serviceAccountEmail: required(config, 'schedulerServiceAccount'),
        }),
      ),
  );
  const host = lazy(() => runHost(workflowsHost()));
  return {
    deployer,
    deployingWorkflows: lazy(() => new GcpWorkflowStore(ports.workflows(), deployer())),
    workflowsHost,
    host,
    scheduleStore,
    schedules: lazy(() => ({ scheduler: syncedScheduler(ports, scheduleStore(), host()) })),
    secrets: lazy(() => given.secrets ?? new SecretManagerServiceClient(options)),
  };
}

/** GcpRunHost over the Workflows host: the same calls, timeOut and recordEnd answering nothing. */
function runHost(host: GcpWorkflowsHost): GcpRunHost {
  return {
    startRun: (start) => host.startRun(start),
    getRun: (runId) => host.getRun(runId),
    cancelRun: (runId, by) => host.cancelRun(runId, by),
    listRuns: (filter) => host.listRuns(filter),
    audit: (runId) => host.audit(runId),
    timeOut: async (runId) => void (await host.timeOut(runId)),
    recordEnd: async (body) => void (await host.recordEnd(body)),
  };
}

/**
 * The Scheduler the schedule routes drive (never started: Cloud Scheduler keeps the time): its changes go
 * through the synced store; a fire it makes (none through the routes) starts the latest version.
 */
function syncedScheduler(ports: GcpPorts, store: SyncedScheduleStore, host: GcpRunHost): Scheduler {
  const directory = ports.directory();
  return new Scheduler({
    store,
    clock: ports.clock,
    ...scheduledRuns({ workflows: ports.workflows(), host, lookup: (email) => directory.user(email) }),
  });
}

/** The configured function URLs; without them, each read names the variable (see the top). */
function functionUrls(config: GcpConfig): GcpFunctionUrls {
  if (config.functionUrls !== undefined) return config.functionUrls;
  const missing = (): never => {
    throw new GcpConfigError(`${ENV.functionUrls} is not set: this function cannot start runs`);
  };
  const keys: Array<keyof GcpFunctionUrls> = [
    'toolCall',
    'notify',
    'approvalRequest',
    'approvalClose',
    'backoff',
    'resolveTime',
    'runEnd',
  ];
  return Object.defineProperties(
    {},
    Object.fromEntries(keys.map((key) => [key, { get: missing, enumerable: true }])),
  ) as GcpFunctionUrls;
}
