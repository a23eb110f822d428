// The GCP stack's identities and functions: a service account per function (only the grants of
// functions.ts, each bound on the one resource it names), the service accounts Workflows executions, Cloud
// Tasks and Cloud Scheduler act as (each may invoke only its functions), the build service account
// (instead of the project's default compute account, which is an editor), and the functions themselves,
// configured through environment variables that hold names and URLs, never secret values.

import {
  CUSTOM_ROLES,
  type CustomRole,
  type FunctionName,
  GCP_FUNCTIONS,
  GRANTS,
  type Grant,
  type Invoker,
  TOOL_SETTINGS,
  tfName,
  WORKFLOW_ACTIVITIES,
} from './functions.js';
import type { GcpStores } from './stack.js';
import { type Address, type Body, expr, named, type TerraformDocument } from './terraform.js';

/** What the build service account needs on the project: write its logs and the functions' images. */
const BUILD_ROLES = { build_logs: 'roles/logging.logWriter', build_images: 'roles/artifactregistry.writer' };

/** The build's grants, which every function's first build waits for. */
const BUILD_GRANTS = [
  ...Object.keys(BUILD_ROLES).map((name) => `google_project_iam_member.${name}`),
  'google_storage_bucket_iam_member.build_source',
];

/** The stack's service accounts: one per function, and the ones the Google services act as. */
export interface GcpAccounts {
  functions: Record<FunctionName, Address>;
  workflows: Address;
  tasks: Address;
  scheduler: Address;
  build: Address;
}

const member = (account: Address) => `serviceAccount:\${${account.attr('email')}}`;

function serviceAccount(
  doc: TerraformDocument,
  name: string,
  description: string,
  services: string[],
): Address {
  return doc.resource('google_service_account', tfName(name), {
    account_id: named(name),
    display_name: `Stepgate ${name}`,
    description,
    depends_on: services,
  });
}

export function serviceAccounts(doc: TerraformDocument, services: string[]): GcpAccounts {
  const functions = Object.fromEntries(
    Object.keys(GCP_FUNCTIONS).map((name) => [
      name,
      serviceAccount(doc, name, `Stepgate: the ${name} function`, services),
    ]),
  ) as Record<FunctionName, Address>;
  const build = serviceAccount(doc, 'build', 'Stepgate: builds the functions from their source', services);
  for (const [name, role] of Object.entries(BUILD_ROLES))
    doc.resource('google_project_iam_member', name, {
      project: expr('var.project'),
      role,
      member: member(build),
    });
  return {
    functions,
    workflows: serviceAccount(
      doc,
      'workflows',
      'Stepgate: the workflow executions; invokes the activity functions',
      services,
    ),
    tasks: serviceAccount(doc, 'tasks', "Stepgate: Cloud Tasks' OIDC identity; invokes the worker", services),
    scheduler: serviceAccount(
      doc,
      'scheduler',
      "Stepgate: Cloud Scheduler's OIDC identity; invokes schedule-fire",
      services,
    ),
    build,
  };
}

/** The custom roles (functions.ts CUSTOM_ROLES), by grant: the role's id expression. */
function customRoles(doc: TerraformDocument, services: string[]): Record<CustomRole, string> {
  const ids = {} as Record<CustomRole, string>;
  for (const [grant, role] of Object.entries(CUSTOM_ROLES)) {
    const name = tfName(grant);
    const resource = doc.resource('google_project_iam_custom_role', name, {
      role_id: `\${replace(var.name_prefix, "-", "_")}_${name}`,
      title: role.title,
      permissions: [...role.permissions],
      depends_on: services,
    });
    ids[grant as CustomRole] = resource.ref('id');
  }
  return ids;
}

/** The functions, their grants and their invokers. Answers the functions by name. */
export function stepgateFunctions(
  doc: TerraformDocument,
  stores: GcpStores,
  accounts: GcpAccounts,
): Record<FunctionName, Address> {
  doc.resource('google_storage_bucket_iam_member', 'build_source', {
    bucket: stores.source.ref('name'),
    role: 'roles/storage.objectViewer',
    member: member(accounts.build),
  });
  const fns = {} as Record<FunctionName, Address>;
  // Declared in dependency order: a function's settings may name the URL of one declared before it.
  const order: FunctionName[] = [
    'worker',
    'approval-close',
    'run-end',
    'tool-call',
    'notify',
    'approval-request',
    'backoff',
    'resolve-time',
    'schedule-fire',
    'api',
  ];
  for (const name of order)
    fns[name] = cloudFunction(doc, name, stores, accounts, settings(name, stores, accounts, fns));
  const roles = customRoles(doc, stores.services);
  for (const name of order)
    for (const grant of GRANTS[name])
      bind(doc, { name, grant, account: accounts.functions[name], stores, accounts, roles, fns });
  for (const name of order) invoker(doc, name, fns[name], GCP_FUNCTIONS[name].invoker, accounts);
  // A branch that decides its parallel cancels the other branches by answering their callbacks
  // (translator/emit/gcp/parallel.ts: an OAuth2 http.post to the execution's own callback URL).
  doc.resource('google_project_iam_member', 'workflows_send_callbacks', {
    project: expr('var.project'),
    role: roles['send-callbacks'],
    member: member(accounts.workflows),
  });
  return fns;
}

function cloudFunction(
  doc: TerraformDocument,
  name: FunctionName,
  stores: GcpStores,
  accounts: GcpAccounts,
  environment: Record<string, string>,
): Address {
  const spec = GCP_FUNCTIONS[name];
  return doc.resource('google_cloudfunctions2_function', tfName(name), {
    name: named(name),
    location: expr('var.region'),
    description: `Stepgate: ${name}`,
    build_config: {
      runtime: 'nodejs22',
      entry_point: spec.entryPoint,
      service_account: accounts.build.ref('id'),
      source: {
        storage_source: { bucket: stores.source.ref('name'), object: stores.sourceObject.ref('name') },
      },
    },
    service_config: {
      service_account_email: accounts.functions[name].ref('email'),
      available_memory: spec.memory,
      timeout_seconds: spec.timeoutSeconds,
      min_instance_count: 0,
      max_instance_count: name === 'api' ? 50 : 20,
      ingress_settings: ingress(name),
      all_traffic_on_latest_revision: true,
      environment_variables: environment,
    },
    depends_on: [...stores.services, ...BUILD_GRANTS],
  });
}

/**
 * Where a function may be reached from. Workflows, Cloud Tasks and Cloud Scheduler of the same project
 * count as internal traffic on the run.app URL, so the functions only they call are internal-only (the
 * invoker check still applies); the api is public; a function another function calls (approval-close, from
 * run-end) takes all traffic, since a Cloud Run function's requests are internal only through a VPC.
 */
export function ingress(name: FunctionName): 'ALLOW_ALL' | 'ALLOW_INTERNAL_ONLY' {
  const calledByFunction = Object.values(GRANTS).some((grants) => grants.includes(`invoke-${name}` as Grant));
  return GCP_FUNCTIONS[name].invoker === 'public' || calledByFunction ? 'ALLOW_ALL' : 'ALLOW_INTERNAL_ONLY';
}

/** The environment variable names the functions read (functions/gcp's configuration reads the same). */
export const GCP_ENV = {
  project: 'STEPGATE_GCP_PROJECT',
  region: 'STEPGATE_GCP_REGION',
  database: 'STEPGATE_FIRESTORE_DATABASE',
  kmsKey: 'STEPGATE_KMS_KEY',
  resultsBucket: 'STEPGATE_RESULTS_BUCKET',
  linkSecret: 'STEPGATE_LINK_SECRET',
  publicUrl: 'STEPGATE_PUBLIC_URL',
  adminEmail: 'STEPGATE_ADMIN_EMAIL',
  adminPasswordSecret: 'STEPGATE_ADMIN_PASSWORD_SECRET',
  smtpHost: 'STEPGATE_SMTP_HOST',
  smtpPort: 'STEPGATE_SMTP_PORT',
  smtpUsername: 'STEPGATE_SMTP_USERNAME',
  smtpFrom: 'STEPGATE_SMTP_FROM',
  smtpPasswordSecret: 'STEPGATE_SMTP_PASSWORD_SECRET',
  tasksQueue: 'STEPGATE_TASKS_QUEUE',
  tasksServiceAccount: 'STEPGATE_TASKS_SERVICE_ACCOUNT',
  workerUrl: 'STEPGATE_WORKER_URL',
  workflowPrefix: 'STEPGATE_WORKFLOW_PREFIX',
  workflowsServiceAccount: 'STEPGATE_WORKFLOWS_SERVICE_ACCOUNT',
  functionUrls: 'STEPGATE_FUNCTION_URLS',
  schedulerServiceAccount: 'STEPGATE_SCHEDULER_SERVICE_ACCOUNT',
  scheduleFireUrl: 'STEPGATE_SCHEDULE_FIRE_URL',
  scheduleJobPrefix: 'STEPGATE_SCHEDULE_JOB_PREFIX',
  approvalCloseUrl: 'STEPGATE_APPROVAL_CLOSE_URL',
  mcpServers: 'STEPGATE_MCP_SERVERS',
  policy: 'STEPGATE_POLICY',
  limits: 'STEPGATE_LIMITS',
} as const;

/** The variable each tool setting comes from (JSON text, checked by the variable's validation). */
const TOOL_VARIABLES = { mcpServers: 'mcp_servers', policy: 'policy', limits: 'limits' } as const;

/** What a function reads, from its grants: the names and URLs of what it was granted. */
function settings(
  name: FunctionName,
  stores: GcpStores,
  accounts: GcpAccounts,
  fns: Partial<Record<FunctionName, Address>>,
): Record<string, string> {
  const env: Record<string, string> = {
    [GCP_ENV.project]: expr('var.project'),
    [GCP_ENV.region]: expr('var.region'),
  };
  const url = (fn: FunctionName) => {
    const address = fns[fn];
    if (address === undefined) throw new Error(`${name} reads the URL of ${fn}, declared after it`);
    return address;
  };
  const functionUrls = () =>
    expr(
      `jsonencode({${Object.entries(WORKFLOW_ACTIVITIES)
        .map(([key, fn]) => `${key} = ${url(fn).attr('url')}`)
        .join(', ')}})`,
    );
  const add: Record<Grant, () => Record<string, string>> = {
    firestore: () => ({ [GCP_ENV.database]: stores.database.ref('name') }),
    'vault-encrypt': () => ({ [GCP_ENV.kmsKey]: stores.vaultKey.ref('id') }),
    'vault-decrypt': () => ({ [GCP_ENV.kmsKey]: stores.vaultKey.ref('id') }),
    'results-read': () => ({ [GCP_ENV.resultsBucket]: stores.results.ref('name') }),
    'results-write': () => ({ [GCP_ENV.resultsBucket]: stores.results.ref('name') }),
    'link-key': () => ({
      [GCP_ENV.linkSecret]: stores.secrets.linkKey.ref('id'),
      [GCP_ENV.publicUrl]: expr('local.public_url'),
    }),
    'admin-password': () => ({
      [GCP_ENV.adminPasswordSecret]: stores.secrets.adminPassword.ref('id'),
      [GCP_ENV.adminEmail]: expr('var.admin_email'),
    }),
    smtp: () => ({
      [GCP_ENV.smtpHost]: expr('var.smtp_host'),
      [GCP_ENV.smtpPort]: expr('tostring(var.smtp_port)'),
      [GCP_ENV.smtpUsername]: expr('var.smtp_username'),
      [GCP_ENV.smtpFrom]: expr('var.smtp_from'),
      [GCP_ENV.smtpPasswordSecret]: stores.secrets.smtpPassword.ref('id'),
    }),
    enqueue: () => ({
      [GCP_ENV.tasksQueue]: stores.queue.ref('id'),
      [GCP_ENV.tasksServiceAccount]: accounts.tasks.ref('email'),
      [GCP_ENV.workerUrl]: url('worker').ref('url'),
    }),
    'deploy-workflows': () => ({
      [GCP_ENV.workflowPrefix]: named(''),
      [GCP_ENV.workflowsServiceAccount]: accounts.workflows.ref('email'),
      [GCP_ENV.functionUrls]: functionUrls(),
    }),
    'start-runs': () => ({
      [GCP_ENV.workflowPrefix]: named(''),
      [GCP_ENV.functionUrls]: functionUrls(),
    }),
    'control-runs': () => ({}),
    'read-runs': () => ({}),
    'send-callbacks': () => ({}),
    'manage-schedules': () => ({
      [GCP_ENV.schedulerServiceAccount]: accounts.scheduler.ref('email'),
      [GCP_ENV.scheduleFireUrl]: url('schedule-fire').ref('url'),
      [GCP_ENV.scheduleJobPrefix]: named(''),
    }),
    'invoke-approval-close': () => ({ [GCP_ENV.approvalCloseUrl]: url('approval-close').ref('url') }),
  };
  for (const grant of GRANTS[name]) Object.assign(env, add[grant]());
  for (const setting of TOOL_SETTINGS[name] ?? [])
    env[GCP_ENV[setting]] = expr(`var.${TOOL_VARIABLES[setting]}`);
  return env;
}

interface Binding {
  name: FunctionName;
  grant: Grant;
  account: Address;
  stores: GcpStores;
  accounts: GcpAccounts;
  roles: Record<CustomRole, string>;
  fns: Record<FunctionName, Address>;
}

/** The IAM binding(s) of one grant of one function, on the resource the grant names. */
function bind(doc: TerraformDocument, b: Binding): void {
  const id = `${tfName(b.name)}_${tfName(b.grant)}`;
  const who = member(b.account);
  const secretAccess = (secret: Address, suffix = '') =>
    doc.resource('google_secret_manager_secret_iam_member', `${id}${suffix}`, {
      secret_id: secret.ref('id'),
      role: 'roles/secretmanager.secretAccessor',
      member: who,
    });
  const actAs = (account: Address) =>
    doc.resource('google_service_account_iam_member', `${id}_act_as`, {
      service_account_id: account.ref('name'),
      role: 'roles/iam.serviceAccountUser',
      member: who,
    });
  const projectRole = (role: string, condition?: Body) =>
    doc.resource('google_project_iam_member', id, {
      project: expr('var.project'),
      role,
      member: who,
      ...(condition === undefined ? {} : { condition }),
    });
  const key = (role: string) =>
    doc.resource('google_kms_crypto_key_iam_member', id, {
      crypto_key_id: b.stores.vaultKey.ref('id'),
      role,
      member: who,
    });
  const bucket = (role: string) =>
    doc.resource('google_storage_bucket_iam_member', id, {
      bucket: b.stores.results.ref('name'),
      role,
      member: who,
    });
  switch (b.grant) {
    case 'firestore':
      projectRole('roles/datastore.user', {
        title: 'Stepgate database only',
        expression: `resource.name == "projects/\${var.project}/databases/${b.stores.database.ref('name')}"`,
      });
      return;
    case 'vault-encrypt':
      key('roles/cloudkms.cryptoKeyEncrypterDecrypter');
      return;
    case 'vault-decrypt':
      key('roles/cloudkms.cryptoKeyDecrypter');
      return;
    case 'results-read':
      bucket('roles/storage.objectViewer');
      return;
    case 'results-write':
      bucket('roles/storage.objectUser');
      return;
    case 'link-key':
      secretAccess(b.stores.secrets.linkKey);
      return;
    case 'admin-password':
      secretAccess(b.stores.secrets.adminPassword);
      return;
    case 'smtp':
      secretAccess(b.stores.secrets.smtpPassword);
      return;
    case 'enqueue':
      doc.resource('google_cloud_tasks_queue_iam_member', id, {
        name: b.stores.queue.ref('name'),
        location: expr('var.region'),
        role: 'roles/cloudtasks.enqueuer',
        member: who,
      });
      actAs(b.accounts.tasks);
      return;
    case 'deploy-workflows':
      projectRole(b.roles[b.grant]);
      actAs(b.accounts.workflows);
      return;
    case 'manage-schedules':
      projectRole(b.roles[b.grant]);
      actAs(b.accounts.scheduler);
      return;
    case 'start-runs':
    case 'control-runs':
    case 'read-runs':
    case 'send-callbacks':
      projectRole(b.roles[b.grant]);
      return;
    case 'invoke-approval-close':
      runInvoker(doc, id, b.fns['approval-close'], who);
      return;
  }
}

function runInvoker(doc: TerraformDocument, id: string, fn: Address, who: string): void {
  doc.resource('google_cloud_run_v2_service_iam_member', id, {
    name: fn.ref('name'),
    location: expr('var.region'),
    role: 'roles/run.invoker',
    member: who,
  });
}

/** Who may invoke the function: everyone for the api, one of the stack's service accounts for the rest. */
function invoker(
  doc: TerraformDocument,
  name: FunctionName,
  fn: Address,
  who: Invoker,
  accounts: GcpAccounts,
): void {
  const members: Record<Invoker, string> = {
    public: 'allUsers',
    workflows: member(accounts.workflows),
    tasks: member(accounts.tasks),
    scheduler: member(accounts.scheduler),
  };
  runInvoker(doc, `${tfName(name)}_invoker`, fn, members[who]);
}
