// The GCP stack's Terraform JSON (infra/gcp), checked as a structure without providers (nothing here can
// download them): the document's shape is Terraform JSON's (blocks, labels, variables, outputs) and every
// reference resolves to something declared; every function runs as a service account of its own; no
// primitive role anywhere; every IAM member is one of the stack's service accounts, or allUsers on the api's
// invoker only; secrets reach functions by name, each one a declared secret the function may read; the
// Firestore TTL policies and indexes are those of the collection list; and the output is deterministic.
// Against functions/gcp/config.ts (the one list of settings): every function is deployed under its
// registered name from the one bundle, with exactly the variables its FUNCTION_ENV lists, valued so that
// the functions' own loadGcpConfig accepts them; every secret it names is a secret of the stack it may
// read, and it reads no other; its grants need the settings that say what it touches.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ENV,
  FUNCTION_ENV,
  FUNCTION_NAMES,
  type FunctionName,
  type GcpSetting,
  loadGcpConfig,
} from '../../functions/gcp/config.js';
import {
  CUSTOM_ROLES,
  GCP_FUNCTIONS,
  GRANTS,
  type Grant,
  tfName,
  WORKFLOW_ACTIVITIES,
} from '../../infra/gcp/functions.js';
import { SECRET_SETTINGS } from '../../infra/gcp/identities.js';
import { synthFiles } from '../../infra/gcp/main.js';
import { type CollectionOf, gcpStack } from '../../infra/gcp/stack.js';
import { type Body, expr, type Json, TerraformDocument } from '../../infra/gcp/terraform.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';

type Resources = Record<string, Record<string, Body>>;

const doc = gcpStack({ collections: {} }).toJSON();
const resources = doc.resource as Resources;
const of = (type: string): Record<string, Body> => resources[type] ?? {};
const IAM_TYPES = Object.keys(resources).filter((type) => type.endsWith('_iam_member'));
const FUNCTIONS = of('google_cloudfunctions2_function');
const ACCOUNTS = of('google_service_account');
/** The stack's own service accounts, as an IAM member names each. */
const MEMBERS = new Set(
  Object.keys(ACCOUNTS).map((name) => `serviceAccount:\${google_service_account.${name}.email}`),
);

/** Every string in `value`, with the path to it. */
function strings(value: Json, path = ''): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => strings(item, `${path}[${i}]`));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([key, item]) =>
      strings(item, path === '' ? key : `${path}.${key}`),
    );
  return [];
}

/** The addresses an expression refers to (`type.name`, `data.type.name`, `var.x`, `local.x`). */
function references(text: string): string[] {
  const found: string[] = [];
  for (const [, inner = ''] of text.matchAll(/\$\{((?:[^{}]|\{[^{}]*\})*)\}/g)) {
    const code = inner.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => ` ${references(literal).join(' ')} `);
    for (const m of code.matchAll(
      /\b(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|(?:google|random)_[a-z0-9_]+\.[A-Za-z0-9_-]+|var\.\w+|local\.\w+)/g,
    ))
      found.push(m[1] as string);
  }
  return found;
}

function declared(address: string): boolean {
  const [head, ...rest] = address.split('.');
  if (head === 'var') return rest[0] !== undefined && rest[0] in (doc.variable as Body);
  if (head === 'local') return rest[0] !== undefined && rest[0] in (doc.locals as Body);
  if (head === 'data') return (doc.data as Resources)[rest[0] as string]?.[rest[1] as string] !== undefined;
  return resources[head as string]?.[rest[0] as string] !== undefined;
}

/** The service account a function runs as (the name of its google_service_account). */
function accountOf(fn: Body): string {
  const email = (fn.service_config as Body).service_account_email as string;
  const m = /^\$\{google_service_account\.([a-z_]+)\.email\}$/.exec(email);
  if (m === null) throw new Error(`not a service account of the stack: ${email}`);
  return m[1] as string;
}

/** The IAM bindings whose member is service account `account`, as `type role`. */
function bindingsOf(account: string): string[] {
  const member = `serviceAccount:\${google_service_account.${account}.email}`;
  return IAM_TYPES.flatMap((type) =>
    Object.values(of(type))
      .filter((b) => b.member === member)
      .map((b) => `${type} ${b.role}`),
  );
}

/** A function's resource, by its registered name. */
const fnOf = (name: FunctionName): Body => FUNCTIONS[tfName(name)] as Body;
/** A function's environment variables, as the Terraform sets them. */
const envOf = (name: FunctionName): Record<string, string> =>
  (fnOf(name).service_config as Body).environment_variables as Record<string, string>;

/** The URL a sample deployment gives the function `tf` (its Terraform name). */
const sampleUrl = (tf: string) => `https://stepgate-${tf.replaceAll('_', '-')}-x7abc.a.run.app`;
const SAMPLE = 'projects/demo-project';
/** What each reference of a function's settings is in a sample deployment (project demo-project, europe-west1). */
function sampleValue(reference: string): string {
  const variables: Record<string, string> = {
    'var.project': 'demo-project',
    'var.region': 'europe-west1',
    'var.name_prefix': 'stepgate',
    'var.email_from': 'stepgate@example.com',
    'var.admin_email': 'admin@example.com',
    'local.public_url': 'https://stepgate-api-123456.europe-west1.run.app',
    'local.worker_url': 'https://stepgate-worker-123456.europe-west1.run.app',
  };
  if (reference in variables) return variables[reference] as string;
  const tool = /^var\.(mcp_servers|policy|limits)$/.exec(reference);
  if (tool !== null) return (doc.variable as Record<string, Body>)[tool[1] as string]?.default as string;
  const [type, name = '', attribute] = reference.split('.');
  const known: Record<string, () => string> = {
    'google_service_account email': () => `${name.replaceAll('_', '-')}@demo-project.iam.gserviceaccount.com`,
    'google_cloudfunctions2_function url': () => sampleUrl(name),
    'google_secret_manager_secret id': () => `${SAMPLE}/secrets/stepgate-${name.replaceAll('_', '-')}`,
    'google_kms_crypto_key id': () =>
      `${SAMPLE}/locations/europe-west1/keyRings/stepgate-vault/cryptoKeys/${name}`,
    'google_cloud_tasks_queue id': () => `${SAMPLE}/locations/europe-west1/queues/stepgate-${name}`,
    'google_firestore_database name': () => 'stepgate-db',
    'google_storage_bucket name': () => `demo-project-stepgate-${name}`,
  };
  const value = known[`${type} ${attribute}`];
  if (value === undefined) throw new Error(`no sample value for ${reference}`);
  return value();
}

/** One Terraform expression of the settings: a reference, or jsonencode({key = reference, ...}). */
function evaluate(code: string): string {
  const json = /^jsonencode\(\{(.*)\}\)$/.exec(code);
  if (json === null) return sampleValue(code);
  const pairs = (json[1] as string).split(',').map((pair) => pair.split('=').map((part) => part.trim()));
  return JSON.stringify(Object.fromEntries(pairs.map(([key, ref]) => [key, sampleValue(ref as string)])));
}

/** A function's environment as a sample deployment would hand it over: every expression evaluated. */
function resolveEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      value.replace(/\$\{((?:[^{}]|\{[^{}]*\})*)\}/g, (_, code: string) => evaluate(code)),
    ]),
  );
}

describe('the GCP stack as Terraform JSON', () => {
  it('has only Terraform JSON blocks, with identifier labels and well-formed variables and outputs', () => {
    expect(Object.keys(doc).sort()).toEqual([
      'data',
      'locals',
      'output',
      'provider',
      'resource',
      'terraform',
      'variable',
    ]);
    for (const section of ['resource', 'data'] as const)
      for (const [type, named] of Object.entries(doc[section] as Resources)) {
        expect(type).toMatch(/^(google|random|archive)_[a-z0-9_]+$/);
        for (const [name, body] of Object.entries(named)) {
          expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/);
          expect(typeof body === 'object' && body !== null && !Array.isArray(body)).toBe(true);
        }
      }
    for (const [name, variable] of Object.entries(doc.variable as Record<string, Body>)) {
      expect(['string', 'number', 'bool'], name).toContain(variable.type);
      expect(typeof variable.description, name).toBe('string');
      for (const rule of (variable.validation ?? []) as Body[])
        expect(references(rule.condition as string), name).toContain(`var.${name}`);
    }
    for (const output of Object.values(doc.output as Record<string, Body>))
      expect(Object.keys(output).sort()).toEqual(['description', 'value']);
    expect((doc.terraform as Body).required_providers).toMatchObject({
      google: { source: 'hashicorp/google' },
      random: { source: 'hashicorp/random' },
      archive: { source: 'hashicorp/archive' },
    });
  });

  it('refers only to what it declares, in expressions and depends_on', () => {
    const all = strings(doc.resource as Json)
      .concat(strings(doc.data as Json, 'data'))
      .concat(strings(doc.output as Json, 'output'))
      .concat(strings(doc.locals as Json, 'locals'));
    const unresolved = all.flatMap(([path, text]) =>
      references(text)
        .filter((r) => !declared(r))
        .map((r) => `${path}: ${r}`),
    );
    expect(unresolved).toEqual([]);
    expect(all.filter(([path]) => path.includes('depends_on')).filter(([, text]) => !declared(text))).toEqual(
      [],
    );
    // Every input is used: a variable nothing reads is a setting that silently does nothing.
    const used = new Set(all.flatMap(([, text]) => references(text)));
    expect(Object.keys(doc.variable as Body).filter((name) => !used.has(`var.${name}`))).toEqual([]);
    // The check can fail: a reference inside a nested string literal is found, an undeclared one refused.
    expect(references(expr(`coalesce(var.a, "x-${expr('google_b.c.id')}")`))).toEqual([
      'var.a',
      'google_b.c',
    ]);
    expect(declared('google_storage_bucket.results')).toBe(true);
    expect(declared('google_storage_bucket.nope')).toBe(false);
    // The references were found at all: the functions' settings name dozens of resources.
    expect(all.flatMap(([, text]) => references(text)).length).toBeGreaterThan(100);
  });

  it('runs every function as a service account of its own, used by no other function', () => {
    expect(Object.keys(FUNCTIONS).sort()).toEqual(
      Object.keys(GCP_FUNCTIONS)
        .map((n) => n.replaceAll('-', '_'))
        .sort(),
    );
    const accounts = Object.values(FUNCTIONS).map(accountOf);
    expect(new Set(accounts).size).toBe(accounts.length);
    for (const account of accounts)
      expect(['workflows', 'tasks', 'scheduler', 'build']).not.toContain(account);
    const reachable = Object.entries(FUNCTIONS)
      .filter(([, fn]) => (fn.service_config as Body).ingress_settings !== 'ALLOW_INTERNAL_ONLY')
      .map(([name]) => name);
    // Only the public api takes traffic from outside Google (no function calls another over HTTP).
    expect(reachable).toEqual(['api']);
    for (const fn of Object.values(FUNCTIONS)) {
      expect((fn.build_config as Body).runtime).toBe('nodejs22');
      expect((fn.build_config as Body).service_account).toBe(expr('google_service_account.build.id'));
    }
  });

  it('grants no primitive role, and custom roles list exact permissions', () => {
    const roles = IAM_TYPES.flatMap((type) => Object.values(of(type)).map((b) => b.role as string));
    expect(roles.length).toBeGreaterThan(40);
    for (const role of roles) expect(['roles/owner', 'roles/editor', 'roles/viewer']).not.toContain(role);
    for (const role of Object.values(of('google_project_iam_custom_role')))
      for (const permission of role.permissions as string[]) {
        expect(permission).toMatch(/^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$/);
        expect(permission).not.toMatch(/\*|setIamPolicy/);
      }
    // Deleting workflows (a Stepgate workflow deleted) is the deployer's, and only the api deploys.
    const deleters = Object.entries(CUSTOM_ROLES)
      .filter(([, role]) => (role.permissions as readonly string[]).includes('workflows.workflows.delete'))
      .map(([grant]) => grant);
    expect(deleters).toEqual(['deploy-workflows']);
    expect(FUNCTION_NAMES.filter((name) => GRANTS[name].includes('deploy-workflows'))).toEqual(['api']);
  });

  it('binds only the stack service accounts, and allUsers only as invoker of the api', () => {
    const strangers = IAM_TYPES.flatMap((type) =>
      Object.entries(of(type))
        .filter(([, b]) => !MEMBERS.has(b.member as string))
        .map(([name, b]) => `${type}.${name} ${b.role} ${b.member}`),
    );
    expect(strangers).toEqual([
      'google_cloud_run_v2_service_iam_member.api_invoker roles/run.invoker allUsers',
    ]);
    expect(of('google_cloud_run_v2_service_iam_member').api_invoker?.name).toBe(
      expr('google_cloudfunctions2_function.api.name'),
    );
  });

  it('lets each function be invoked by the one caller it serves', () => {
    const invokers = of('google_cloud_run_v2_service_iam_member');
    const callers = Object.fromEntries(
      Object.keys(GCP_FUNCTIONS).map((name) => {
        const fn = `\${google_cloudfunctions2_function.${name.replaceAll('-', '_')}.name}`;
        const members = Object.values(invokers)
          .filter((b) => b.name === fn)
          .map((b) =>
            (b.member as string).replace(/^serviceAccount:\$\{google_service_account\.(\w+)\.email\}$/, '$1'),
          )
          .sort();
        return [name, members.join(' ')];
      }),
    );
    expect(callers).toEqual({
      api: 'allUsers',
      'tool-call': 'workflows',
      notify: 'workflows',
      worker: 'tasks',
      'approval-request': 'workflows',
      'approval-close': 'workflows',
      backoff: 'workflows',
      'resolve-time': 'workflows',
      'run-end': 'workflows',
      'schedule-fire': 'scheduler',
    });
  });

  it('gives each function only what its work needs', () => {
    // tool-call only enqueues the attempt for the worker, as the tasks account.
    expect(bindingsOf('tool_call').sort()).toEqual([
      'google_cloud_tasks_queue_iam_member roles/cloudtasks.enqueuer',
      'google_service_account_iam_member roles/iam.serviceAccountUser',
    ]);
    expect(bindingsOf('approval_close').sort()).toEqual([
      'google_project_iam_member roles/datastore.user',
      'google_secret_manager_secret_iam_member roles/secretmanager.secretAccessor',
    ]);
    // The executions may invoke the activities and answer their own callbacks (a parallel's cancellations).
    expect(bindingsOf('workflows').sort()).toEqual([
      ...Object.values(WORKFLOW_ACTIVITIES).map(
        () => 'google_cloud_run_v2_service_iam_member roles/run.invoker',
      ),
      `google_project_iam_member ${expr('google_project_iam_custom_role.send_callbacks.id')}`,
    ]);
    expect(bindingsOf('backoff')).not.toContain('google_project_iam_member roles/datastore.user');
    const keyUsers = Object.values(of('google_kms_crypto_key_iam_member'));
    expect(
      keyUsers.filter((b) => b.role === 'roles/cloudkms.cryptoKeyEncrypterDecrypter').map((b) => b.member),
    ).toEqual([`serviceAccount:${expr('google_service_account.api.email')}`]);
    const writers = Object.values(of('google_storage_bucket_iam_member')).filter(
      (b) =>
        b.bucket === expr('google_storage_bucket.results.name') && b.role !== 'roles/storage.objectViewer',
    );
    expect(writers.map((b) => b.member)).toEqual([
      `serviceAccount:${expr('google_service_account.worker.email')}`,
    ]);
    // Firestore is granted on the stack's database only.
    for (const b of Object.values(of('google_project_iam_member')).filter(
      (b) => b.role === 'roles/datastore.user',
    ))
      expect((b.condition as Body).expression).toBe(
        `resource.name == "projects/${expr('var.project')}/databases/${expr('google_firestore_database.stepgate.name')}"`,
      );
    // Deploying a workflow that runs as the workflows account, and creating jobs that sign as the
    // scheduler's, is acting as them: only the api may.
    const actAs = Object.values(of('google_service_account_iam_member'));
    expect(
      actAs
        .filter((b) => b.service_account_id !== expr('google_service_account.tasks.name'))
        .map((b) => `${b.service_account_id} ${b.member}`)
        .sort(),
    ).toEqual([
      `${expr('google_service_account.scheduler.name')} serviceAccount:${expr('google_service_account.api.email')}`,
      `${expr('google_service_account.workflows.name')} serviceAccount:${expr('google_service_account.api.email')}`,
    ]);
  });

  it('deploys every function under its registered name, from the one bundle', () => {
    expect(Object.keys(GCP_FUNCTIONS).sort()).toEqual([...FUNCTION_NAMES].sort());
    const bundle = (doc.data as Resources).archive_file?.functions;
    expect(bundle).toMatchObject({
      type: 'zip',
      source_dir: expr('var.function_source_dir'),
      excludes: ['metafile.json'],
    });
    expect(of('google_storage_bucket_object').functions).toEqual({
      bucket: expr('google_storage_bucket.source.name'),
      name: `functions-${expr('data.archive_file.functions.output_md5')}.zip`,
      source: expr('data.archive_file.functions.output_path'),
    });
    for (const name of FUNCTION_NAMES) {
      const build = fnOf(name).build_config as Body;
      expect(build.entry_point, name).toBe(name);
      expect((build.source as Body).storage_source, name).toEqual({
        bucket: expr('google_storage_bucket.source.name'),
        object: expr('google_storage_bucket_object.functions.name'),
      });
    }
  });

  it("sets exactly each function's FUNCTION_ENV, and the functions accept the values", () => {
    for (const name of FUNCTION_NAMES) {
      const env = envOf(name);
      expect(Object.keys(env).sort(), name).toEqual(FUNCTION_ENV[name].map((s) => ENV[s]).sort());
      const config = loadGcpConfig(resolveEnv(env), name);
      for (const setting of FUNCTION_ENV[name])
        expect(config[setting as keyof typeof config], `${name} ${setting}`).toBeDefined();
    }
    // The workflows' function URLs are those of the functions they name.
    const api = loadGcpConfig(resolveEnv(envOf('api')), 'api');
    expect(api.functionUrls).toEqual(
      Object.fromEntries(
        Object.entries(WORKFLOW_ACTIVITIES).map(([key, fn]) => [key, sampleUrl(tfName(fn))]),
      ),
    );
    expect(api.namePrefix).toBe('stepgate-');
    expect(api.firestoreDatabase).toBe('stepgate-db');
    expect(api.serviceAccount).toBe('tasks@demo-project.iam.gserviceaccount.com');
    expect(api.scheduleFireUrl).toBe(sampleUrl('schedule_fire'));
    // The check can fail: a required variable left out is named by the functions' own loader.
    const { [ENV.tasksQueue]: _, ...withoutQueue } = resolveEnv(envOf('worker'));
    expect(() => loadGcpConfig(withoutQueue, 'worker')).toThrow(`${ENV.tasksQueue} is not set`);
  });

  it('hands secrets to functions by name only, each a declared secret only its readers may read', () => {
    const secrets = of('google_secret_manager_secret');
    const accessors = Object.values(of('google_secret_manager_secret_iam_member'));
    let named = 0;
    for (const name of FUNCTION_NAMES) {
      const account = `serviceAccount:\${google_service_account.${tfName(name)}.email}`;
      const env = envOf(name);
      for (const value of Object.values(env))
        expect(value).not.toMatch(/random_|var\.smtp_relay_url\b|secret_data/);
      const mine = accessors.filter((b) => b.member === account);
      const expected = FUNCTION_ENV[name].filter((s) => s in SECRET_SETTINGS);
      expect(mine.length, name).toBe(expected.length);
      for (const setting of expected) {
        const secret = /^\$\{google_secret_manager_secret\.(\w+)\.id\}$/.exec(
          env[ENV[setting]] as string,
        )?.[1];
        expect(secret, `${name} ${setting}`).toBeDefined();
        named++;
        expect(secrets[secret as string], `${name}: ${setting}`).toBeDefined();
        expect(
          mine.some(
            (b) =>
              b.secret_id === `\${google_secret_manager_secret.${secret}.id}` &&
              b.role === 'roles/secretmanager.secretAccessor',
          ),
          `${name} may read ${secret}`,
        ).toBe(true);
      }
    }
    // api, approval-request and approval-close name the platform secret; the api the admin's password.
    expect(named).toBeGreaterThanOrEqual(4);
    // The platform secret is 32 random bytes, base64 (44 characters: platform-secrets.ts reads that).
    expect(of('random_bytes').platform_secret).toEqual({ length: 32 });
    expect(of('google_secret_manager_secret_version').platform_secret?.secret_data).toBe(
      expr('random_bytes.platform_secret.base64'),
    );
    // The SMTP relay's URL goes to Secret Manager through a write-only argument from an ephemeral variable.
    expect((doc.variable as Record<string, Body>).smtp_relay_url).toMatchObject({
      ephemeral: true,
      sensitive: true,
    });
    expect(of('google_secret_manager_secret_version').smtp_relay).toEqual({
      secret: expr('google_secret_manager_secret.smtp_relay.id'),
      secret_data_wo: expr('var.smtp_relay_url'),
      secret_data_wo_version: expr('var.smtp_relay_url_version'),
    });
  });

  it('grants only what the settings say a function touches', () => {
    const needs: Record<Grant, GcpSetting> = {
      firestore: 'firestoreDatabase',
      'vault-encrypt': 'kmsKey',
      'vault-decrypt': 'kmsKey',
      'results-write': 'resultsBucket',
      enqueue: 'tasksQueue',
      'deploy-workflows': 'workflowsServiceAccount',
      'start-runs': 'functionUrls',
      // The execution to cancel is found in the run's record.
      'control-runs': 'firestoreDatabase',
      'read-runs': 'location',
      'send-callbacks': 'callbackBase',
      'manage-schedules': 'schedulerServiceAccount',
    };
    for (const name of FUNCTION_NAMES)
      for (const grant of GRANTS[name])
        expect(FUNCTION_ENV[name], `${name} ${grant}`).toContain(needs[grant]);
  });

  it('follows FUNCTION_ENV: a setting added is set and its secret made readable; a test-only one refused', () => {
    // The senders of mail read the relay's secret; notify only enqueues, until its list says otherwise.
    for (const sender of ['api', 'worker', 'approval_request'])
      expect(resources.google_secret_manager_secret_iam_member?.[`${sender}_reads_smtpRelay`]).toBeDefined();
    const functionEnv = { ...FUNCTION_ENV, notify: [...FUNCTION_ENV.notify, 'smtpRelaySecret' as const] };
    const changed = gcpStack({ collections: {}, functionEnv }).toJSON().resource as Resources;
    const notify = changed.google_cloudfunctions2_function?.notify?.service_config as Body;
    expect((notify.environment_variables as Body)[ENV.smtpRelaySecret]).toBe(
      expr('google_secret_manager_secret.smtp_relay.id'),
    );
    expect(changed.google_secret_manager_secret_iam_member?.notify_reads_smtpRelay).toEqual({
      secret_id: expr('google_secret_manager_secret.smtp_relay.id'),
      role: 'roles/secretmanager.secretAccessor',
      member: `serviceAccount:${expr('google_service_account.notify.email')}`,
    });
    expect(resources.google_secret_manager_secret_iam_member?.notify_reads_smtpRelay).toBeUndefined();
    expect(() =>
      gcpStack({ collections: {}, functionEnv: { ...FUNCTION_ENV, notify: ['googleApiEndpoint'] } }),
    ).toThrow(`notify lists ${ENV.googleApiEndpoint}`);
  });
});

describe('the functions the compiled workflows call', () => {
  it('include every one a template posts to, each invokable by the workflows account', () => {
    const dir = join(import.meta.dirname, '..', '..', 'templates');
    const called = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))) {
      const ir = validateWorkflow(readFileSync(join(dir, file), 'utf8'), formatOf(file)).ir;
      if (ir === undefined) throw new Error(`${file} does not compile`);
      for (const m of emitGcpWorkflows(ir).matchAll(/sg\.functions\.(\w+)/g)) called.add(m[1] as string);
    }
    expect(called.size).toBeGreaterThan(4);
    for (const key of called) expect(Object.keys(WORKFLOW_ACTIVITIES)).toContain(key);
    for (const fn of Object.values(WORKFLOW_ACTIVITIES)) expect(GCP_FUNCTIONS[fn].invoker).toBe('workflows');
    const urls = ((FUNCTIONS.api as Body).service_config as Body).environment_variables as Record<
      string,
      string
    >;
    for (const [key, fn] of Object.entries(WORKFLOW_ACTIVITIES))
      expect(urls[ENV.functionUrls]).toContain(
        `${key} = google_cloudfunctions2_function.${fn.replaceAll('-', '_')}.url`,
      );
  });
});

describe('Firestore from the collection list', () => {
  const COLLECTIONS: Record<string, CollectionOf> = {
    claims: { name: 'claims', ttlField: 'expireAt' },
    versions: { name: 'workflowVersions', unindexed: ['source', 'ir'] },
    buckets: { name: 'rateBuckets', ttlField: 'expireAt', unindexed: ['hits', 'expireAt'] },
    runs: {
      name: 'runs',
      indexes: [
        [
          { field: 'workflowId', order: 'ASCENDING' },
          { field: 'startedAt', order: 'DESCENDING' },
        ],
        [
          { field: 'groups', order: 'CONTAINS' },
          { field: 'startedAt', order: 'DESCENDING' },
        ],
      ],
    },
    'rate-windows': { name: 'rateWindows', ttlField: 'expireAt', indexes: [] },
  };
  const firestore = gcpStack({ collections: COLLECTIONS }).toJSON().resource as Resources;

  it('declares a TTL policy for every TTL field and an index exemption for every unindexed one, once per field', () => {
    const fields = Object.values(firestore.google_firestore_field ?? {});
    for (const f of fields) expect(f.database).toBe(expr('google_firestore_database.stepgate.name'));
    expect(fields.map(({ database: _, ...f }) => f)).toEqual([
      { collection: 'rateBuckets', field: 'expireAt', ttl_config: {}, index_config: {} },
      { collection: 'rateBuckets', field: 'hits', index_config: {} },
      { collection: 'claims', field: 'expireAt', ttl_config: {} },
      { collection: 'rateWindows', field: 'expireAt', ttl_config: {} },
      { collection: 'workflowVersions', field: 'ir', index_config: {} },
      { collection: 'workflowVersions', field: 'source', index_config: {} },
    ]);
  });

  it('declares every composite index with its fields in order', () => {
    const indexes = Object.values(firestore.google_firestore_index ?? {});
    expect(indexes).toEqual([
      {
        collection: 'runs',
        database: expr('google_firestore_database.stepgate.name'),
        query_scope: 'COLLECTION',
        fields: [
          { field_path: 'workflowId', order: 'ASCENDING' },
          { field_path: 'startedAt', order: 'DESCENDING' },
        ],
      },
      {
        collection: 'runs',
        database: expr('google_firestore_database.stepgate.name'),
        query_scope: 'COLLECTION',
        fields: [
          { array_config: 'CONTAINS', field_path: 'groups' },
          { field_path: 'startedAt', order: 'DESCENDING' },
        ],
      },
    ]);
  });

  it('declares none for an empty list', () => {
    expect(resources.google_firestore_field).toBeUndefined();
    expect(resources.google_firestore_index).toBeUndefined();
  });
});

describe('synthesis', () => {
  it('is deterministic: the same bytes twice, keys sorted', () => {
    const a = synthFiles(gcpStack().toJSON());
    const b = synthFiles(gcpStack().toJSON());
    expect(a).toEqual(b);
    const main = a['main.tf.json'] as string;
    expect(Object.keys(JSON.parse(main))).toEqual([...Object.keys(JSON.parse(main))].sort());
    expect(JSON.parse(a['variables.tf.json'] as string).variable.project.type).toBe('string');
  });

  it('writes both files with the command the README gives', async () => {
    const out = mkdtempSync(join(tmpdir(), 'sg-gcp-synth-'));
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('npx', ['tsx', 'infra/gcp/main.ts', '--out', out], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const files = synthFiles(gcpStack().toJSON());
    for (const [name, text] of Object.entries(files))
      expect(readFileSync(join(out, name), 'utf8')).toBe(text);
  });

  it('refuses a label that is not an identifier, and a name declared twice', () => {
    const d = new TerraformDocument();
    expect(() => d.resource('google_x', 'a.b', {})).toThrow("name 'a.b' is not an identifier");
    d.resource('google_x', 'a', {});
    expect(() => d.resource('google_x', 'a', {})).toThrow('declared twice');
  });
});
