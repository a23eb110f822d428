// What the Cloud Run functions run on, by the core's interfaces: the storage ports (GcpPorts: Firestore,
// Cloud KMS, Cloud Storage, Secret Manager in a deployment), the run host (GcpRunHost: GCP Workflows
// executions and their records), the Cloud Tasks queue and the callback poster. The functions depend on
// these interfaces only, so a test composes them over the local SQLite adapters, and the deployment
// (deployment.ts) over the Firestore ones (firestore-ports.ts; the run host, deployer and schedules of
// runs.ts). Everything is built once per instance on first use (functions/core/per-instance.ts): a
// function that never touches Cloud Storage needs no bucket, and a missing variable is named when a
// function needs it.
import type { ActivityClaims } from '../core/activity-claims.js';
import type { ApprovalLinkStore } from '../core/approval-links.js';
import type { AuditEntry, AuditRecord } from '../core/audit.js';
import type { AppDeps } from '../core/http/app.js';
import type { TemplateEntry } from '../core/http/template-routes.js';
import type { AttemptCounter } from '../core/login-throttle.js';
import type {
  AdminDirectory,
  ApiTokenStore,
  ApprovalStore,
  Clock,
  Directory,
  DurableHost,
  Notifier,
  RateLimiter,
  ResultStore,
  ScheduleStore,
  SessionStore,
  ToolInvoker,
  Vault,
  WebhookDeliveryStore,
  WorkflowStore,
} from '../core/ports.js';
import type { GcpRunEndBody } from '../core/wire.js';
import type { CallbackPoster } from './callbacks.js';
import type { GcpConfig } from './config.js';
import type { TaskQueue } from './tasks.js';

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
  /**
   * The external services when a test substitutes them (the conformance runs: the scenario's mocked tools
   * and channels); absent, the tool pipeline and the notifier are made from the ports.
   */
  services?: { tools?(): ToolInvoker; notifier?(): Notifier };
  /** The deployment's setup (setup.ts), awaited before a request is served; never rejects. */
  setup?(): Promise<void>;
}

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
