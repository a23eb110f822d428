// The GCP stack's identities and functions: a service account per function (only the grants of
// functions.ts, each bound on the one resource it names), the service accounts Workflows executions, Cloud
// Tasks and Cloud Scheduler act as (each may invoke only its functions), the build service account
// (instead of the project's default compute account, which is an editor), and the functions themselves.
//
// Decisions:
// - One source of truth for the settings: each function's environment is exactly the variables
//   functions/gcp/config.ts FUNCTION_ENV lists for it, named by ENV, each valued from the stack's
//   resources (SETTING_VALUES) — nothing else, so a setting the functions add or drop changes the
//   Terraform with it. STEPGATE_GOOGLE_API_ENDPOINT (tests only) is never set: a function listing it fails
//   the synth.
// - Secrets travel as Secret Manager resource names, never values, and a function may read a secret
//   exactly when its settings name it (SECRET_SETTINGS): the accessor bindings follow FUNCTION_ENV too.
// - Every function deploys from the one bundle (`npm run bundle:gcp`, zipped and uploaded by stack.ts)
//   with its registered name as the entry point (functions-framework's target).

import {
  ENV,
  FUNCTION_ENV,
  FUNCTION_NAMES,
  type FunctionName,
  type GcpSetting,
  WORKFLOWS_CALLBACK_BASE,
} from '../../functions/gcp/config.js';
import {
  CUSTOM_ROLES,
  type CustomRole,
  GCP_FUNCTIONS,
  GRANTS,
  type Grant,
  type Invoker,
  tfName,
  WORKFLOW_ACTIVITIES,
} from './functions.js';
import type { GcpStores } from './stack.js';
import { type Address, type Body, expr, named, type TerraformDocument } from './terraform.js';

/** The settings each function is deployed with: functions/gcp's FUNCTION_ENV unless a test says otherwise. */
export type FunctionEnv = Record<FunctionName, readonly GcpSetting[]>;

/** The settings that name a Secret Manager secret, and the stack's secret each names. */
export const SECRET_SETTINGS = {
  platformSecret: 'platform',
  smtpRelaySecret: 'smtpRelay',
  adminPasswordSecret: 'adminPassword',
} as const satisfies Partial<Record<GcpSetting, keyof GcpStores['secrets']>>;

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
    FUNCTION_NAMES.map((name) => [
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
  functionEnv: FunctionEnv = FUNCTION_ENV,
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
  for (const name of order) {
    const environment = functionEnvironment(name, functionEnv[name], { stores, accounts, fns });
    fns[name] = cloudFunction(doc, name, stores, accounts, environment);
  }
  const roles = customRoles(doc, stores.services);
  for (const name of order) {
    for (const grant of GRANTS[name])
      bind(doc, { name, grant, account: accounts.functions[name], stores, accounts, roles });
    secretAccess(doc, name, functionEnv[name], stores, accounts.functions[name]);
  }
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
      // The name functions/gcp/index.ts registers the function under (functions-framework's target).
      entry_point: name,
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
 * invoker check still applies); the api is public. No function calls another over HTTP.
 */
export function ingress(name: FunctionName): 'ALLOW_ALL' | 'ALLOW_INTERNAL_ONLY' {
  return GCP_FUNCTIONS[name].invoker === 'public' ? 'ALLOW_ALL' : 'ALLOW_INTERNAL_ONLY';
}

/** What the value of a setting is made from: the stack's resources and the functions declared so far. */
interface SettingSources {
  stores: GcpStores;
  accounts: GcpAccounts;
  fns: Partial<Record<FunctionName, Address>>;
}

/** The variable each tool setting comes from (JSON text, checked by the variable's validation). */
const TOOL_VARIABLES = { mcpServers: 'mcp_servers', policy: 'policy', limits: 'limits' } as const;

/** The Terraform value of every setting, as functions/gcp/config.ts reads it. */
function settingValues(
  name: FunctionName,
  { stores, accounts, fns }: SettingSources,
): Record<GcpSetting, () => string> {
  const url = (fn: FunctionName) => {
    const address = fns[fn];
    if (address === undefined) throw new Error(`${name} reads the URL of ${fn}, declared after it`);
    return address;
  };
  const tool = (setting: keyof typeof TOOL_VARIABLES) => () => expr(`var.${TOOL_VARIABLES[setting]}`);
  const secret = (setting: keyof typeof SECRET_SETTINGS) => () =>
    stores.secrets[SECRET_SETTINGS[setting]].ref('id');
  return {
    project: () => expr('var.project'),
    location: () => expr('var.region'),
    firestoreDatabase: () => stores.database.ref('name'),
    kmsKey: () => stores.vaultKey.ref('id'),
    platformSecret: secret('platformSecret'),
    smtpRelaySecret: secret('smtpRelaySecret'),
    emailFrom: () => expr('var.email_from'),
    resultsBucket: () => stores.results.ref('name'),
    tasksQueue: () => stores.queue.ref('id'),
    serviceAccount: () => accounts.tasks.ref('email'),
    workerUrl: () => expr('local.worker_url'),
    functionUrls: () =>
      expr(
        `jsonencode({${Object.entries(WORKFLOW_ACTIVITIES)
          .map(([key, fn]) => `${key} = ${url(fn).attr('url')}`)
          .join(', ')}})`,
      ),
    callbackBase: () => WORKFLOWS_CALLBACK_BASE,
    publicUrl: () => expr('local.public_url'),
    mcpServers: tool('mcpServers'),
    policy: tool('policy'),
    limits: tool('limits'),
    googleApiEndpoint: () => {
      throw new Error(`${name} lists ${ENV.googleApiEndpoint}: it points the clients at a test endpoint`);
    },
    workflowsServiceAccount: () => accounts.workflows.ref('email'),
    namePrefix: () => named(''),
    schedulerServiceAccount: () => accounts.scheduler.ref('email'),
    scheduleFireUrl: () => url('schedule-fire').ref('url'),
    adminEmail: () => expr('var.admin_email'),
    adminPasswordSecret: secret('adminPasswordSecret'),
  };
}

/** A function's environment: exactly the variables of its settings, each valued from the stack. */
export function functionEnvironment(
  name: FunctionName,
  settings: readonly GcpSetting[],
  sources: SettingSources,
): Record<string, string> {
  const values = settingValues(name, sources);
  return Object.fromEntries(settings.map((setting) => [ENV[setting], values[setting]()]));
}

/** Secret Manager accessor on each secret the function's settings name, and on no other. */
function secretAccess(
  doc: TerraformDocument,
  name: FunctionName,
  settings: readonly GcpSetting[],
  stores: GcpStores,
  account: Address,
): void {
  for (const setting of settings) {
    if (!(setting in SECRET_SETTINGS)) continue;
    const secret = SECRET_SETTINGS[setting as keyof typeof SECRET_SETTINGS];
    doc.resource('google_secret_manager_secret_iam_member', `${tfName(name)}_reads_${secret}`, {
      secret_id: stores.secrets[secret].ref('id'),
      role: 'roles/secretmanager.secretAccessor',
      member: member(account),
    });
  }
}

interface Binding {
  name: FunctionName;
  grant: Grant;
  account: Address;
  stores: GcpStores;
  accounts: GcpAccounts;
  roles: Record<CustomRole, string>;
}

/** The IAM binding(s) of one grant of one function, on the resource the grant names. */
function bind(doc: TerraformDocument, b: Binding): void {
  const id = `${tfName(b.name)}_${tfName(b.grant)}`;
  const who = member(b.account);
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
    case 'results-write':
      bucket('roles/storage.objectUser');
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
