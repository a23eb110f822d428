// The ports: every way core code reaches the outside world. Each host (local, aws, azure, gcp) provides
// implementations; core code and tests depend only on these interfaces.

import type { IrWorkflow } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import type { AuditEntry, AuditRecord } from './audit.js';
import type { RunStart } from './orchestrator.js';
import type {
  ApprovalContext,
  ApprovalDecisionEntry,
  FinalStatus,
  Identity,
  NotifyRequest,
  RunOutcome,
  RunStatus,
  ToolCallRequest,
} from './protocol.js';
import type { RunOutcomeView } from './run-outcome.js';

/** Time, injectable: the real clock in production, a virtual one in tests and `stepgate test`. */
export interface Clock {
  now(): number;
  setTimer(at: number, fire: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
export interface TimerHandle {
  readonly at: number;
}

/** An activity failed; `code` is what `error.code` shows in the workflow, `retryable: false` stops retries. */
export class ActivityError extends Error {
  override name = 'ActivityError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = true,
  ) {
    super(message);
  }
}

/** What a tool call may do besides answering: write its decisions to the run's history. */
export interface ToolCallContext {
  audit(entry: AuditEntry): void;
}

/** Executes a tool step's attempt (the MCP pipeline in production, mocks in scenario tests). */
export interface ToolInvoker {
  call(request: ToolCallRequest, context?: ToolCallContext): Promise<unknown>;
}

/** A tool as the registry found it on an MCP server. */
export interface RegistryTool {
  name: string;
  server: string;
  inputSchema: Record<string, unknown>;
  annotations?: Record<string, unknown> | null | undefined;
  /** `inject`: the server takes the identity arguments on every tool; `schema`: where declared. */
  identity: 'inject' | 'schema';
}

/** The MCP servers a deployment registered (adapters/mcp/registry.ts). */
export interface ToolRegistry {
  /** `tool` or `server/tool`; throws with a `code` (not found, ambiguous, unavailable). */
  lookup(name: string): Promise<RegistryTool>;
  /** The vault entries a server is configured to receive. */
  credentialNames(server: string): string[];
  call(
    tool: RegistryTool,
    args: Record<string, unknown>,
    options: { timeoutMs: number | null; credentials: Record<string, string> },
  ): Promise<unknown>;
}

/** Which tool attempt produced a stored result: a redelivered attempt has the same key. */
export interface ResultKey {
  runId: string;
  stepId: string;
  visit: number;
  attempt: number;
}

/**
 * Where tool results too large for the run's state live (see ResultRef in functions/core/protocol.ts):
 * SQLite locally, the deployment's blob store (S3, GCS, Blob Storage) elsewhere.
 */
export interface ResultStore {
  /**
   * Stores a result's JSON text and returns its uri. Idempotent: the same key with the same JSON stores
   * once and returns the same uri; different JSON under the same key (a tool answering a redelivered
   * attempt differently) is kept beside it under its own uri, so every reference names its own content.
   */
  put(key: ResultKey, json: string): Promise<string>;
  /** The JSON text stored under `uri`, or undefined when there is none. */
  get(uri: string): Promise<string | undefined>;
}

/** Delivers a notify step's message (SMTP, Slack, ... in production; an in-memory outbox in tests). */
export interface Notifier {
  send(request: NotifyRequest): Promise<{ messageId?: string }>;
}

/** Users, roles, groups and managers. */
export interface Directory {
  /** The identity of an enabled user, looked up case-insensitively; undefined for anyone else. */
  user(email: string): Promise<Identity | undefined>;
  /** Emails of the users an approver spec (email, role:NAME, group:NAME) stands for. */
  resolve(spec: string): Promise<string[]>;
}

/** A user as the admin sees it: never a password hash. */
export interface AdminUserRecord extends Identity {
  disabled: boolean;
  hasPassword: boolean;
}

/** A user as an admin (or the config's seed) writes it. */
export interface AdminUserInput {
  email: string;
  name?: string | null;
  role: string;
  /** In order; the vault's group cascade follows it. Duplicates are dropped (the first one stays). */
  groups?: string[];
  manager?: string | null;
  /** Left as it is when omitted on an update; false for a new user. */
  disabled?: boolean;
  /**
   * A service account: nobody logs in as it (its password is removed and none can be set), a webhook may
   * run as it. Like `disabled` when omitted.
   */
  service?: boolean;
}

/** What the user routes need of the directory (SqliteDirectory); its errors carry the `field` at fault. */
export interface AdminDirectory {
  listUsers(): Promise<AdminUserRecord[]>;
  getUser(email: string): Promise<AdminUserRecord | undefined>;
  /**
   * Validates the whole record before writing any of it; throws an error with `field` when invalid.
   * Refuses with `LastAdminError`, writing nothing, to demote or disable the last enabled admin: the check
   * and the write are one atomic step, so of two admins demoting each other at once exactly one succeeds.
   */
  upsertUser(input: AdminUserInput): Promise<AdminUserRecord>;
  /** False when there was no such user. Refuses the last enabled admin as `upsertUser` does. */
  deleteUser(email: string): Promise<boolean>;
  setPassword(email: string, password: string): Promise<void>;
  verifyPassword(email: string, password: string): Promise<Identity | null>;
}

/** The change would leave the directory without an enabled admin (see AdminDirectory). */
export class LastAdminError extends Error {
  override name = 'LastAdminError';
  constructor(readonly email: string) {
    super(`${email} is the last enabled admin; make someone else an admin first`);
  }
}

/** The published workflows, every version kept (adapters/local/workflow-store.ts). */
export interface WorkflowStore {
  save(input: {
    ir: IrWorkflow;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): Promise<{ id: string; version: number }>;
  /** The latest version, unless the workflow was deleted. */
  get(id: string): Promise<StoredWorkflowView | undefined>;
  /** The latest version of every workflow not deleted, by id. */
  list(): Promise<StoredWorkflowView[]>;
  /** Every version of a workflow, oldest first, deleted or not. */
  history(id: string): Promise<StoredWorkflowView[]>;
  /** False when there was no such workflow. */
  delete(id: string): Promise<boolean>;
}

/** One stored version of a workflow: its source as written and the IR it was lowered to. */
export interface StoredWorkflowView {
  id: string;
  version: number;
  name: string;
  format: 'yaml' | 'json';
  source: string;
  ir: IrWorkflow;
  createdAt: number;
  createdBy: string;
}

/** What a new login session hands the browser: the token (the cookie's value, shown once) and its CSRF token. */
export interface SessionGrant {
  token: string;
  csrf: string;
  expiresAt: number;
}

export interface SessionInfo {
  email: string;
  csrf: string;
  expiresAt: number;
}

/**
 * Login sessions. Only a SHA-256 hash of each session token is stored, so a copy of the store logs nobody
 * in.
 */
export interface SessionStore {
  createSession(email: string, ttlMs: number): Promise<SessionGrant>;
  /** The session a token opens, or null (unknown or expired; an expired one is deleted). */
  getSession(token: string): Promise<SessionInfo | null>;
  deleteSession(token: string): Promise<void>;
  /** Ends every session of a user (password change, account disabled); the number ended. */
  deleteSessionsFor(email: string): Promise<number>;
}

/** An API token as listings show it: never its secret. */
export interface ApiTokenInfo {
  id: string;
  email: string;
  name: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface VerifiedApiToken {
  id: string;
  email: string;
  scopes: string[];
}

/**
 * API tokens (`sg_<id>_<secret>`): looked up by id, the secret compared by its SHA-256 hash, which is all
 * that is stored. Scopes are checked by functions/core/auth.ts (`API_SCOPES`).
 */
export interface ApiTokenStore {
  /** The token text is in the answer once and nowhere else. */
  createApiToken(email: string, name: string, scopes: string[]): Promise<{ id: string; token: string }>;
  /** The owner and scopes of a valid, unrevoked token; null otherwise. */
  verifyApiToken(text: string): Promise<VerifiedApiToken | null>;
  /** False when there was no such unrevoked token. */
  revokeApiToken(id: string): Promise<boolean>;
  listApiTokens(email: string): Promise<ApiTokenInfo[]>;
}

export interface RunRecord {
  id: string;
  workflowId: string;
  status: RunStatus;
  trigger: RunStart['trigger'];
  input: RunStart['input'];
  createdAt: number;
  endedAt: number | null;
  outcome: RunOutcome | null;
  /**
   * What decided a completed run's path (approved, rejected, timed out, error handled: `runOutcome` of
   * functions/core/run-outcome.ts over its trail). Every DurableHost computes it ONCE, when the run ends
   * completed, from the trail as it stands then, and stores it with the record's end (in the same write
   * where the store allows), so a listing reads no trail. Absent while the run runs, for a run that did not
   * complete (its status says how it ended) and for a completed run nothing decided.
   */
  pathOutcome?: RunOutcomeView;
}

export type { AuditRecord } from './audit.js';

export interface RunFilter {
  status?: RunStatus;
  workflowId?: string;
  /** The email of the user the run was triggered by (or acts as), case-insensitive. */
  triggeredBy?: string;
  /** Created at or after (ms since epoch). */
  from?: number;
  /** Created before (ms since epoch). */
  to?: number;
  /** At most this many, newest first (default 100). */
  limit?: number;
}

/** The durable engine: starts runs, delivers events to them, cancels them, and answers for their state. */
export interface DurableHost {
  /**
   * Starts a run and answers its id. Exactly once per id: of several starts with one explicit `runId`,
   * concurrent or not, exactly one starts the run; the others reject and start nothing.
   */
  startRun(start: Omit<RunStart, 'runId'> & { runId?: string }): Promise<string>;
  raiseEvent(runId: string, name: string, payload: unknown): Promise<void>;
  cancelRun(runId: string, by: string): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  audit(runId: string): Promise<AuditRecord[]>;
  /** Resolves when nothing is in flight: no activity running, no batch waiting to commit. */
  idle(): Promise<void>;
  /** Resolves with the final status once the run has ended. */
  waitForRun(runId: string): Promise<FinalStatus>;
  close(): Promise<void>;
}

/** Approval requests and decisions, as the decision handler keeps them. */
export interface ApprovalRecord {
  runId: string;
  workflowId: string;
  stepId: string;
  visit: number;
  level: number;
  eventName: string;
  approvers: string[];
  require: 'any' | 'all' | number;
  message: string;
  /** What the approver is shown beside the message; absent on a request made before it was kept. */
  context?: ApprovalContext;
  requestedBy: string;
  /** Who asked for the run (normalised): not approvers, refused if they decide, unless `allowSelfApproval`. */
  requesters: string[];
  /** The step lets its requesters approve (`allowSelfApproval: true`). */
  allowSelfApproval: boolean;
  deadline: number | null;
  status: 'open' | 'approved' | 'rejected' | 'closed';
  decisions: ApprovalDecisionEntry[];
  createdAt: number;
  /** Set once the run has durably received the level's outcome (the outbox flag behind redelivery). */
  delivered: boolean;
  /**
   * How the run waits for the level's outcome where the host needs a handle to resume it: a Step Functions
   * task token, a GCP callback URL, an Azure instance id and event name, serialised by whoever sets it and
   * opaque to everyone else. Encrypted at rest (it resumes the run). Null on the embedded engine.
   */
  callback?: string | null;
  /** The stored version: 1 when created, one more on every successful `update` (see ApprovalStore.update). */
  version: number;
}

/**
 * Approval requests, keyed by (runId, stepId, visit, level). Writes are conditional, so two deciders on
 * different machines (or a decision racing a close) never overwrite each other, whatever the store.
 */
export interface ApprovalStore {
  /**
   * Stores a new request, with version 1 whatever `record.version` says. Exactly once: of several creates
   * under one key, exactly one answers true; the others answer false and change nothing.
   */
  create(record: ApprovalRecord): Promise<boolean>;
  get(runId: string, stepId: string, visit: number, level: number): Promise<ApprovalRecord | undefined>;
  /** The open request of a run's step (any visit and level), if there is one. */
  openFor(runId: string, stepId: string): Promise<ApprovalRecord | undefined>;
  pendingFor(email: string): Promise<ApprovalRecord[]>;
  /** Decided requests whose outcome the run has not yet received (a crash came in between). */
  undelivered(): Promise<ApprovalRecord[]>;
  /**
   * Compare-and-set: writes `record`'s status, decisions, delivered flag and callback only while the
   * stored version is still `record.version` (the version it was read at), and advances it by one.
   * Answers the record as now stored, or undefined when the version moved on (or there is no such
   * record): nothing was written; re-read and decide again. Exactly once: of several updates made from
   * the same read, exactly one succeeds. With `audit`, the entry joins the run's audit trail in the same
   * atomic write, and only when the update succeeds: a crash never leaves one without the other.
   */
  update(record: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined>;
}

/** Where a credential lives: one user's (`user:<email>`), one group's (`group:<name>`) or the whole org's. */
export type VaultScope = 'org' | `user:${string}` | `group:${string}`;

/** Which level of the cascade answered for a credential. */
export type SecretSource = 'user' | 'org' | `group:${string}`;

/** A stored credential as listings show it: never its value. */
export interface SecretEntry {
  scope: VaultScope;
  name: string;
  /** When the value was last set (ms since epoch). */
  updatedAt: number;
}

export interface ResolvedSecrets {
  values: Record<string, string>;
  sources: Record<string, SecretSource>;
  /** Requested names no level of the cascade holds, in the order asked. */
  missing: string[];
}

/**
 * Credentials, encrypted at rest. `resolve` runs the cascade user → group → org per name for the identity
 * a run acts for. Asynchronous because the cloud hosts' vaults (Secrets Manager, Key Vault, Secret
 * Manager) are network calls.
 */
export interface Vault {
  resolve(identity: Pick<Identity, 'email' | 'groups'>, names: string[]): Promise<ResolvedSecrets>;
  set(scope: VaultScope, name: string, value: string): Promise<void>;
  /** False when there was nothing to delete. */
  delete(scope: VaultScope, name: string): Promise<boolean>;
  /** Every credential (of one scope when given), ordered by scope then name; never values. */
  list(scope?: VaultScope): Promise<SecretEntry[]>;
}

/** One bucket a tool call draws from: at most `limit` calls per `windowMs` under `key`. */
export interface RateLimitBucket {
  key: string;
  limit: number;
  windowMs: number;
}

/**
 * Counts calls per key. A call is counted only when it is allowed; a denied call costs nothing.
 */
export interface RateLimiter {
  /** Takes one call from `key`'s bucket: true when it fitted (and is now counted), false when full. */
  take(key: string, limit: number, windowMs: number, now: number): Promise<boolean>;
  /**
   * All or nothing: takes one call from every bucket when each has room, otherwise takes none and names
   * the first full bucket (in the order given). Exactly the limit: of N concurrent takes against a bucket
   * with room for M < N calls, exactly M are allowed, whichever process or connection makes them.
   */
  takeAll(buckets: RateLimitBucket[], now: number): Promise<RateLimitVerdict>;
}

export type RateLimitVerdict = { allowed: true } | { allowed: false; key: string };

/** The outcome of claiming a webhook delivery: the run it belongs to, and whether an earlier claim won. */
export interface WebhookClaim {
  runId: string;
  /** True when the delivery was claimed before (a redelivery): `runId` is the first claim's. */
  existing: boolean;
}

/**
 * Webhook deliveries already accepted, per workflow, keyed by the `webhook-id` (or `Idempotency-Key`)
 * header: a redelivery maps to the run the first delivery claimed. `claim` is atomic.
 */
export interface WebhookDeliveryStore {
  /**
   * Exactly once: of any number of claims of one (workflowId, deliveryId), concurrent or not, exactly one
   * answers `existing: false` with its own `runId`; every other answers `existing: true` with that run.
   */
  claim(workflowId: string, deliveryId: string, runId: string): Promise<WebhookClaim>;
  /** Forgets deliveries claimed before `before` (ms since epoch); returns how many. */
  prune(before: number): Promise<number>;
}

/** Whose identity and credentials a scheduled run uses (see functions/core/triggers/schedules.ts). */
export type ScheduleScope = 'user' | 'group' | 'org';

export interface ScheduleRecord {
  id: string;
  workflowId: string;
  /** Five fields; a preset is stored as the cron it stands for. */
  cron: string;
  /** IANA time zone the cron is read in. */
  timezone: string;
  scope: ScheduleScope;
  /** `user`: the creator's email; `group`: the group's name; `org`: null. */
  scopeRef: string | null;
  createdBy: string;
  input: Record<string, unknown>;
  enabled: boolean;
  /** The next scheduled time (ms since epoch); null while disabled. */
  nextFireAt: number | null;
  lastFiredAt: number | null;
  createdAt: number;
}

/** `claimed`: recorded, run not (yet) started; the others are final. */
export type ScheduleFireStatus = 'claimed' | 'started' | 'skipped' | 'failed';

/** One scheduled time of one schedule, recorded once: `(scheduleId, scheduledTime)` is unique. */
export interface ScheduleFireRecord {
  scheduleId: string;
  scheduledTime: number;
  firedAt: number;
  status: ScheduleFireStatus;
  /** The run this fire starts (or would have started): chosen when the fire is claimed. */
  runId: string;
  /** Why a fire was skipped or failed. */
  reason: string | null;
}

export interface ScheduleFilter {
  workflowId?: string;
  enabled?: boolean;
  createdBy?: string;
}

/** Schedules and their fires. */
export interface ScheduleStore {
  insert(record: ScheduleRecord): Promise<void>;
  get(id: string): Promise<ScheduleRecord | undefined>;
  list(filter?: ScheduleFilter): Promise<ScheduleRecord[]>;
  /** Sets `enabled` and `nextFireAt` together; false when there is no such schedule. */
  setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean>;
  /** Deletes the schedule and its fires; false when there was none. */
  delete(id: string): Promise<boolean>;
  /**
   * Atomically records the fire (status `claimed`) and advances the schedule to `nextFireAt`, but only
   * while the schedule is enabled and still due at `fire.scheduledTime` and that fire is not recorded
   * yet; false otherwise (another scheduler fired it first, or the schedule changed). Exactly once: of
   * any number of claims of one scheduled time, concurrent or not, exactly one returns true.
   */
  claimFire(fire: Omit<ScheduleFireRecord, 'status' | 'reason'>, nextFireAt: number | null): Promise<boolean>;
  finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void>;
  /** A schedule's fires, newest first. */
  fires(scheduleId: string, limit?: number): Promise<ScheduleFireRecord[]>;
  /** Fires still `claimed`: a scheduler stopped between recording them and starting their run. */
  unfinishedFires(): Promise<ScheduleFireRecord[]>;
}

/**
 * The visits of a run's step where the compiled definition cannot count them (a state machine requests an
 * approval's levels one Lambda call at a time). The approval-request handler enters a visit at level 1.
 */
export interface StepVisits {
  /**
   * The visit of a state entered at `enteredTime` (`$$.State.EnteredTime`, the same across a visit's
   * retries): a time not seen before for the step takes its next number (1 on the first; concurrent new
   * times get distinct numbers), a time seen before answers the number it took.
   */
  visitAt(runId: string, stepId: string, enteredTime: string): Promise<number>;
  /** The highest visit `visitAt` has numbered for the step; 0 before the first. */
  latest(runId: string, stepId: string): Promise<number>;
}

/** How one branch of a `require: N` parallel finished, as the quorum handler counts it. */
export interface BranchFinish {
  branch: number;
  outcome: 'succeeded' | 'failed';
  /** A succeeded branch's result overlay. */
  written?: Record<string, JsonValue>;
  /** A failed branch's caught error (`{ Error, Cause }`). */
  error?: { Error: string; Cause: string };
}

/** The finished branches of a run's quorum parallels. */
export interface QuorumTallies {
  /**
   * Records a branch's finish and answers the parallel's finishes recorded up to and including it, in the
   * order they were recorded: of finishes recorded concurrently, only the last sees them all, so one of
   * them decides the parallel. Exactly once: a branch already recorded keeps its first finish (and place).
   */
  add(runId: string, stepId: string, finish: BranchFinish): Promise<BranchFinish[]>;
}
