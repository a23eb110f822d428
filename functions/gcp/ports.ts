// What the Cloud Run functions run on, by the core's interfaces: the storage ports (GcpPorts: Firestore,
// Cloud KMS, Cloud Storage, Secret Manager in a deployment), the run host (GcpRunHost: GCP Workflows
// executions and their records), the Cloud Tasks queue and the callback poster. The functions depend on
// these interfaces only, so a test composes them over the local SQLite adapters, and the deployment over
// the Firestore ones (`firestorePorts`; the run host, deployer and schedules of runs.ts). Everything
// is built once per instance on first use (functions/core/per-instance.ts): a function that never
// touches Cloud Storage needs no bucket, and a missing variable is named when a function needs it.
import { Firestore } from '@google-cloud/firestore';
import { CloudTasksClient } from '@google-cloud/tasks';
import type { ActivityClaims } from '../core/activity-claims.js';
import type { ApprovalLinkStore } from '../core/approval-links.js';
import type { AuditEntry, AuditRecord } from '../core/audit.js';
import type { AppDeps } from '../core/http/app.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { AttemptCounter } from '../core/login-throttle.js';
import { lazy } from '../core/per-instance.js';
import type {
  AdminDirectory,
  ApiTokenStore,
  ApprovalStore,
  Clock,
  Directory,
  DurableHost,
  RateLimiter,
  ResultStore,
  ScheduleStore,
  SessionStore,
  TimerHandle,
  Vault,
  WebhookDeliveryStore,
  WorkflowStore,
} from '../core/ports.js';
import { bundledGallery } from '../core/template-gallery.js';
import type { GcpRunEndBody } from '../core/wire.js';
import { CallbackPoster, googleAccessTokens } from './callbacks.js';
import { type FunctionName, type GcpConfig, loadGcpConfig, required } from './config.js';
import { type GcpRuns, gcpRuns } from './runs.js';
import { setUp, setupOnFirstRequest } from './setup.js';
import { CloudTasksQueue, type TaskQueue } from './tasks.js';

/** A run's audit trail (FirestoreRunAudit). */
export interface RunTrail {
  append(runId: string, entry: AuditEntry): Promise<unknown>;
  list(runId: string): Promise<AuditRecord[]>;
}

/** The storage ports of one instance; each is made on first use. */
export interface GcpPorts {
  readonly config: GcpConfig;
  readonly clock: Clock;
  vault(): Vault;
  results(): ResultStore;
  limiter(): RateLimiter & AttemptCounter;
  directory(): Directory & AdminDirectory;
  sessions(): SessionStore;
  tokens(): ApiTokenStore;
  workflows(): WorkflowStore;
  deliveries(): WebhookDeliveryStore;
  audit(): RunTrail;
  /** The approval store, each level's callback handle sealed with `callbackKey`. */
  approvalStore(callbackKey: Uint8Array): ApprovalStore;
  linkStore(): ApprovalLinkStore;
  schedules(): ScheduleStore;
  claims(): ActivityClaims;
  /** The 32-byte platform secret (Secret Manager) the approval and chat keys derive from. */
  platformSecret(): Promise<Uint8Array>;
  /** The SMTP relay's smtp(s):// URL (Secret Manager), when the deployment has one. */
  smtpRelayUrl(): Promise<string | undefined>;
}

/**
 * The run host as the functions call it: the API's runs (start, read, list, cancel, their trail) and the
 * ends only a function learns of.
 */
export interface GcpRunHost
  extends Pick<DurableHost, 'startRun' | 'getRun' | 'cancelRun' | 'listRuns' | 'audit'> {
  /** The run's timeout has come: cancel its execution and record it timed out. */
  timeOut(runId: string): Promise<void>;
  /** The run's workflow posted its outcome as its last act (run-end). */
  recordEnd(body: GcpRunEndBody): Promise<void>;
}

/** Everything the functions of one instance use. */
export interface GcpDeps {
  ports: GcpPorts;
  host(): GcpRunHost;
  queue(): TaskQueue;
  callbacks(): CallbackPoster;
  /** /api/schedules synced with Cloud Scheduler; absent: not mounted. */
  schedules?(): AppDeps['schedules'];
  /** The workflow store the API saves through (deploying each version as a Workflows revision). */
  deployingWorkflows?(): WorkflowStore;
  templates?: TemplateEntry[];
  /** The deployment's setup (setup.ts), awaited before a request is served; never rejects. */
  setup?(): Promise<void>;
}

/** An instance's clock: `now` only. Waits belong to the workflow and to scheduled tasks, never to a process. */
export const INSTANCE_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(): TimerHandle {
    throw new Error('a Cloud Run instance keeps no timers: waits belong to the workflow or a scheduled task');
  },
  clearTimer(): void {},
};

/** Options of a Google API client: the configured endpoint over REST (tests), else the default. */
export function googleClientOptions(config: GcpConfig): {
  fallback?: true;
  protocol?: string;
  apiEndpoint?: string;
  port?: number;
} {
  if (config.googleApiEndpoint === undefined) return {};
  const endpoint = new URL(config.googleApiEndpoint);
  return {
    fallback: true,
    protocol: endpoint.protocol.replace(':', ''),
    apiEndpoint: endpoint.hostname,
    port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
  };
}

/**
 * FILLED AT MERGE (issue 16): the Firestore composition of GcpPorts — FirestoreWorkflowStore,
 * FirestoreSessionStore, FirestoreApiTokenStore, FirestoreDirectory, FirestoreWebhookDeliveryStore,
 * FirestoreRateLimiter, FirestoreApprovalStore, FirestoreApprovalLinkStore, FirestoreScheduleStore,
 * FirestoreRunAudit, FirestoreActivityClaims on one Firestore client of `config.project` /
 * `config.firestoreDatabase`; KmsVault, GcsResultStore and the platform secrets, written in parallel.
 */
export function firestorePorts(config: GcpConfig): GcpPorts {
  throw new Error(
    `the Firestore ports of project ${config.project ?? '(unset)'} are composed at merge (issue 16): ` +
      'functions/gcp/ports.ts firestorePorts',
  );
}

/** The run host on GCP Workflows: the composition's (functions/gcp/runs.ts). */
export function workflowsHost(runs: GcpRuns): GcpRunHost {
  return runs.host();
}

/** The Firestore client of the deployment's database, which the run records and deployed revisions use. */
function deploymentFirestore(config: GcpConfig): Firestore {
  return new Firestore({ projectId: required(config, 'project'), databaseId: config.firestoreDatabase });
}

/**
 * The deployed composition of one function: its settings from the environment, the real clients. The API
 * alone deploys workflows, syncs schedules with Cloud Scheduler, lists the gallery and runs the setup.
 */
export function deployedDeps(name: FunctionName, env: NodeJS.ProcessEnv): GcpDeps {
  const config = loadGcpConfig(env, name);
  const ports = firestorePorts(config);
  const queue = lazy(
    () =>
      new CloudTasksQueue({
        client: new CloudTasksClient(googleClientOptions(config)),
        queue: required(config, 'tasksQueue'),
        workerUrl: required(config, 'workerUrl'),
        serviceAccount: required(config, 'serviceAccount'),
      }),
  );
  const runs = lazy(() => gcpRuns(config, { firestore: deploymentFirestore(config), ports, queue }));
  const deps: GcpDeps = {
    ports,
    host: lazy(() => workflowsHost(runs())),
    queue,
    callbacks: lazy(() => new CallbackPoster(googleAccessTokens(), config.callbackBase)),
  };
  if (name !== 'api') return deps;
  const templates = bundledGallery(import.meta.dirname);
  return {
    ...deps,
    deployingWorkflows: () => runs().deployingWorkflows(),
    schedules: () => runs().schedules(),
    templates,
    setup: setupOnFirstRequest(() => setUp({ ports, runs: runs(), templates }), { clock: ports.clock }),
  };
}
