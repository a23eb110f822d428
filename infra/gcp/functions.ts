// Stepgate's Cloud Run functions on GCP (issue 16) and what each may touch, as data. The functions, their
// names (each one's entry point: the name functions/gcp registers it under with functions-framework) and
// the settings each reads are functions/gcp/config.ts's FUNCTION_NAMES and FUNCTION_ENV: this module adds
// what the Terraform needs besides — who may invoke each function, its size, and its service account's
// grants. infra/gcp/stack.ts binds each grant on the one resource it names (never the project, except
// Firestore, which is conditioned on the database, and Workflows and Cloud Scheduler, which have no
// resource-level IAM), and lets a function read a Secret Manager secret exactly when its settings name it
// (the platform secret, the SMTP relay's URL, the first admin's password). The grants follow what each
// function does in functions/gcp (its handlers and the adapters they compose):
//
// | function | Firestore | vault key | results | Cloud Tasks | Workflows | Cloud Scheduler | invoked by |
// | --- | --- | --- | --- | --- | --- | --- | --- |
// | api | ✓ | encrypt/decrypt | – | enqueue (run timeouts) | deploy, delete, start, cancel, read, callbacks | manage jobs | everyone (public) |
// | tool-call | – | – | – | enqueue | – | – | workflows |
// | notify | – | – | – | enqueue | – | – | workflows |
// | worker | ✓ | decrypt | read/write | enqueue (a task past the horizon) | callbacks, cancel | – | tasks |
// | approval-request | ✓ | decrypt (the notifier's vault) | – | – | – | – | workflows |
// | approval-close | ✓ | – | – | – | – | – | workflows |
// | backoff | – | – | – | enqueue (a branch's wake) | – | – | workflows |
// | resolve-time | – | – | – | enqueue (a branch's wake) | – | – | workflows |
// | run-end | ✓ | – | – | – | read executions and step entries | – | workflows |
// | schedule-fire | ✓ | – | – | enqueue (run timeouts) | start (cancel a start that failed) | – | scheduler |
//
// Why a worker: Cloud Run throttles a function's CPU once it has answered, and a Workflows `http.post`
// waits for the answer at most 30 minutes (a tool call or an email may take longer, and a retry loop far
// longer). So the functions a workflow calls with a callback URL answer at once and hand the work to
// Cloud Tasks, which delivers it to `worker` (OIDC as the tasks service account); the worker does it and
// posts the callback with its own identity (`workflows.callbacks.send`). Cloud Tasks retries a delivery
// that failed, so the worker claims each piece of work once (a tool call is never made twice by a retry).
// The run-timeout task (scheduled at a run's start) reaches the worker too, which cancels the execution.
import { FUNCTION_NAMES, type FunctionName } from '../../functions/gcp/config.js';

export { FUNCTION_NAMES, type FunctionName };

/** Who may invoke each function, and its size (the entry point is its name: see the top). */
export const GCP_FUNCTIONS = {
  api: { invoker: 'public', timeoutSeconds: 60, memory: '1Gi' },
  'tool-call': { invoker: 'workflows', timeoutSeconds: 60, memory: '512Mi' },
  notify: { invoker: 'workflows', timeoutSeconds: 60, memory: '512Mi' },
  worker: { invoker: 'tasks', timeoutSeconds: 1800, memory: '1Gi' },
  'approval-request': { invoker: 'workflows', timeoutSeconds: 120, memory: '512Mi' },
  'approval-close': { invoker: 'workflows', timeoutSeconds: 120, memory: '512Mi' },
  backoff: { invoker: 'workflows', timeoutSeconds: 30, memory: '256Mi' },
  'resolve-time': { invoker: 'workflows', timeoutSeconds: 30, memory: '256Mi' },
  'run-end': { invoker: 'workflows', timeoutSeconds: 120, memory: '512Mi' },
  'schedule-fire': { invoker: 'scheduler', timeoutSeconds: 120, memory: '512Mi' },
} as const satisfies Record<FunctionName, FunctionSpec>;

/** Who may invoke a function: everyone (the API), or one of the stack's service accounts. */
export type Invoker = 'public' | 'workflows' | 'tasks' | 'scheduler';

export interface FunctionSpec {
  invoker: Invoker;
  timeoutSeconds: number;
  memory: string;
}

/**
 * The functions a compiled workflow calls, by the key of `sg.functions` in its execution argument (the
 * keys of STEPGATE_FUNCTION_URLS, functions/gcp/config.ts FunctionUrls).
 */
export const WORKFLOW_ACTIVITIES = {
  toolCall: 'tool-call',
  notify: 'notify',
  approvalRequest: 'approval-request',
  approvalClose: 'approval-close',
  backoff: 'backoff',
  resolveTime: 'resolve-time',
  runEnd: 'run-end',
} as const satisfies Record<string, FunctionName>;

/** One kind of access besides the secrets (those follow the settings); stack.ts binds each to its resource. */
export type Grant =
  | 'firestore'
  | 'vault-encrypt'
  | 'vault-decrypt'
  | 'results-write'
  | 'enqueue'
  | 'deploy-workflows'
  | 'start-runs'
  | 'control-runs'
  | 'read-runs'
  | 'send-callbacks'
  | 'manage-schedules';

/** What each function's service account is granted (the module comment's table). */
export const GRANTS: Record<FunctionName, readonly Grant[]> = {
  api: ['firestore', 'vault-encrypt', 'enqueue', 'deploy-workflows', 'send-callbacks', 'manage-schedules'],
  'tool-call': ['enqueue'],
  notify: ['enqueue'],
  worker: ['firestore', 'vault-decrypt', 'results-write', 'enqueue', 'control-runs', 'send-callbacks'],
  'approval-request': ['firestore', 'vault-decrypt'],
  'approval-close': ['firestore'],
  backoff: ['enqueue'],
  'resolve-time': ['enqueue'],
  'run-end': ['firestore', 'read-runs'],
  'schedule-fire': ['firestore', 'enqueue', 'start-runs'],
};

/**
 * The IAM permissions of each Workflows and Cloud Scheduler grant, as custom roles: the predefined roles
 * are wider (workflows.editor also sets IAM policy and reads every location's data; workflows.invoker
 * lists and reads executions it does not need), and neither service has resource-level IAM, so a custom
 * role with exactly these permissions is the narrowest GCP allows. The limit: they are project-wide, so the
 * api (the only deployer) may update or delete any workflow of the project, not only those named with the
 * deployment's prefix: give Stepgate a project of its own.
 */
export const CUSTOM_ROLES = {
  'deploy-workflows': {
    title: 'Stepgate workflow deployer',
    permissions: [
      'workflows.workflows.create',
      'workflows.workflows.get',
      'workflows.workflows.update',
      // A Stepgate workflow deleted deletes its GCP workflows (workflows-deployer.ts `remove`).
      'workflows.workflows.delete',
      'workflows.operations.get',
      'workflows.executions.create',
      'workflows.executions.get',
      'workflows.executions.list',
      'workflows.executions.cancel',
      'workflows.stepEntries.get',
      'workflows.stepEntries.list',
    ],
  },
  'start-runs': {
    title: 'Stepgate run starter',
    // cancel: a start whose record could not be attached is cancelled (workflows-host.ts startRun).
    permissions: ['workflows.executions.create', 'workflows.executions.get', 'workflows.executions.cancel'],
  },
  'control-runs': {
    title: 'Stepgate run controller',
    permissions: ['workflows.executions.cancel', 'workflows.executions.get'],
  },
  'read-runs': {
    title: 'Stepgate run reader',
    permissions: ['workflows.executions.get', 'workflows.stepEntries.list'],
  },
  'send-callbacks': { title: 'Stepgate callback sender', permissions: ['workflows.callbacks.send'] },
  'manage-schedules': {
    title: 'Stepgate schedule manager',
    permissions: [
      'cloudscheduler.jobs.create',
      'cloudscheduler.jobs.update',
      'cloudscheduler.jobs.delete',
      'cloudscheduler.jobs.get',
      'cloudscheduler.jobs.list',
      'cloudscheduler.jobs.pause',
      'cloudscheduler.jobs.enable',
    ],
  },
} as const satisfies Partial<Record<Grant, { title: string; permissions: readonly string[] }>>;

export type CustomRole = keyof typeof CUSTOM_ROLES;

/** `tool-call` → `tool_call` (a Terraform resource name). */
export const tfName = (name: string): string => name.replaceAll('-', '_');
