// Stepgate's Cloud Run functions on GCP (issue 16) and what each may touch, as data: one entry per entry
// point, its service account's grants and who may invoke it. infra/gcp/stack.ts turns each grant into IAM
// bindings on the one resource it names (never the project, except Firestore, which is conditioned on the
// database, and Workflows and Cloud Scheduler, which have no resource-level IAM) and each function's
// settings into environment variables. A reader sees here in one place who may do what:
//
// | function | Firestore | vault key | results | secrets | Cloud Tasks | Workflows | Cloud Scheduler | invoked by |
// | --- | --- | --- | --- | --- | --- | --- | --- | --- |
// | api | ✓ | encrypt/decrypt | read | link key, admin password, SMTP | enqueue (run timeouts) | deploy, start, cancel, read, callbacks | manage jobs | everyone (public) |
// | tool-call | ✓ | – | – | – | enqueue | – | – | workflows |
// | notify | ✓ | – | – | – | enqueue | – | – | workflows |
// | worker | ✓ | decrypt | read/write | SMTP | – | callbacks, cancel | – | tasks |
// | approval-request | ✓ | decrypt | – | link key, SMTP | – | – | – | workflows |
// | approval-close | ✓ | decrypt | – | link key, SMTP | – | callbacks | – | workflows, run-end |
// | backoff | – | – | – | – | enqueue (a branch's wake) | – | – | workflows |
// | resolve-time | – | – | – | – | enqueue (a branch's wake) | – | – | workflows |
// | run-end | ✓ | – | – | – | – | read executions | – | workflows |
// | schedule-fire | ✓ | decrypt | – | – | enqueue (run timeouts) | start | – | scheduler |
//
// Why a worker: Cloud Run throttles a function's CPU once it has answered, and a Workflows `http.post`
// waits for the answer at most 30 minutes (a tool call or an email may take longer, and a retry loop far
// longer). So the functions a workflow calls with a callback URL answer at once and hand the work to
// Cloud Tasks, which delivers it to `worker` (OIDC as the tasks service account); the worker does it and
// posts the callback with its own identity (`workflows.callbacks.send`). Cloud Tasks retries a delivery
// that failed, so the worker claims each piece of work once (a tool call is never made twice by a retry).
// The run-timeout task (scheduled at a run's start) reaches the worker too, which cancels the execution.

/** The entry points, as functions/gcp exports them (functions-framework targets, camelCase). */
export const GCP_FUNCTIONS = {
  api: { entryPoint: 'api', invoker: 'public', timeoutSeconds: 60, memory: '1Gi' },
  'tool-call': { entryPoint: 'toolCall', invoker: 'workflows', timeoutSeconds: 60, memory: '512Mi' },
  notify: { entryPoint: 'notify', invoker: 'workflows', timeoutSeconds: 60, memory: '512Mi' },
  worker: { entryPoint: 'worker', invoker: 'tasks', timeoutSeconds: 1800, memory: '1Gi' },
  'approval-request': {
    entryPoint: 'approvalRequest',
    invoker: 'workflows',
    timeoutSeconds: 120,
    memory: '512Mi',
  },
  'approval-close': {
    entryPoint: 'approvalClose',
    invoker: 'workflows',
    timeoutSeconds: 120,
    memory: '512Mi',
  },
  backoff: { entryPoint: 'backoff', invoker: 'workflows', timeoutSeconds: 30, memory: '256Mi' },
  'resolve-time': { entryPoint: 'resolveTime', invoker: 'workflows', timeoutSeconds: 30, memory: '256Mi' },
  'run-end': { entryPoint: 'runEnd', invoker: 'workflows', timeoutSeconds: 120, memory: '512Mi' },
  'schedule-fire': { entryPoint: 'scheduleFire', invoker: 'scheduler', timeoutSeconds: 120, memory: '512Mi' },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof GCP_FUNCTIONS;

/** Who may invoke a function: everyone (the API), or one of the stack's service accounts. */
export type Invoker = 'public' | 'workflows' | 'tasks' | 'scheduler';

export interface FunctionSpec {
  entryPoint: string;
  invoker: Invoker;
  timeoutSeconds: number;
  memory: string;
}

/** The functions a compiled workflow calls, by the key of `sg.functions` in its execution argument. */
export const WORKFLOW_ACTIVITIES = {
  toolCall: 'tool-call',
  notify: 'notify',
  approvalRequest: 'approval-request',
  approvalClose: 'approval-close',
  backoff: 'backoff',
  resolveTime: 'resolve-time',
  runEnd: 'run-end',
} as const satisfies Record<string, FunctionName>;

/** One kind of access; stack.ts binds each to the resource it names. */
export type Grant =
  | 'firestore'
  | 'vault-encrypt'
  | 'vault-decrypt'
  | 'results-read'
  | 'results-write'
  | 'link-key'
  | 'admin-password'
  | 'smtp'
  | 'enqueue'
  | 'deploy-workflows'
  | 'start-runs'
  | 'control-runs'
  | 'read-runs'
  | 'send-callbacks'
  | 'manage-schedules'
  | 'invoke-approval-close';

/** What each function's service account is granted (the module comment's table). */
export const GRANTS: Record<FunctionName, readonly Grant[]> = {
  api: [
    'firestore',
    'vault-encrypt',
    'results-read',
    'link-key',
    'admin-password',
    'smtp',
    'enqueue',
    'deploy-workflows',
    'send-callbacks',
    'manage-schedules',
  ],
  'tool-call': ['firestore', 'enqueue'],
  notify: ['firestore', 'enqueue'],
  worker: ['firestore', 'vault-decrypt', 'results-write', 'smtp', 'control-runs', 'send-callbacks'],
  'approval-request': ['firestore', 'vault-decrypt', 'link-key', 'smtp'],
  'approval-close': ['firestore', 'vault-decrypt', 'link-key', 'smtp', 'send-callbacks'],
  backoff: ['enqueue'],
  'resolve-time': ['enqueue'],
  'run-end': ['firestore', 'read-runs', 'invoke-approval-close'],
  'schedule-fire': ['firestore', 'vault-decrypt', 'enqueue', 'start-runs'],
};

/** The tool configuration each function reads (as stepgate.config.yaml's keys), besides what its grants name. */
export const TOOL_SETTINGS: Partial<Record<FunctionName, readonly ('mcpServers' | 'policy' | 'limits')[]>> = {
  api: ['mcpServers', 'policy', 'limits'],
  worker: ['mcpServers', 'policy'],
};

/**
 * The IAM permissions of each Workflows and Cloud Scheduler grant, as custom roles: the predefined roles
 * are wider (workflows.editor may delete any workflow of the project and read every execution's data;
 * workflows.invoker may start any workflow), and neither service has resource-level IAM, so a custom role
 * with exactly these permissions is the narrowest GCP allows.
 */
export const CUSTOM_ROLES = {
  'deploy-workflows': {
    title: 'Stepgate workflow deployer',
    permissions: [
      'workflows.workflows.create',
      'workflows.workflows.get',
      'workflows.workflows.update',
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
    permissions: ['workflows.executions.create', 'workflows.executions.get'],
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
