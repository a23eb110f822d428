// The configuration of Stepgate's Cloud Run functions: the only module that reads `process.env` on GCP.
// The Terraform (infra/gcp) sets these variables, each function only those FUNCTION_ENV lists for it; every
// other module of functions/gcp takes the parsed GcpConfig. A missing or malformed variable fails the first
// request with an error naming it. Secrets never travel in a variable: STEPGATE_PLATFORM_SECRET and
// STEPGATE_SMTP_RELAY_SECRET name Secret Manager secrets (the platform key; the relay's smtp:// URL, which
// holds its password), read by the ports. MCP servers must be Streamable HTTP: a Cloud Run instance cannot
// keep a stdio server's process alive between requests. STEPGATE_GOOGLE_API_ENDPOINT points every Google
// API client (Cloud Tasks, KMS, Secret Manager, ...) at another endpoint over the REST transport: tests.
import { z } from 'zod';
import { httpServersOnly, type McpHttpServer } from '../../adapters/mcp/config.js';
import { describeSettingIssue, jsonVariable, textVariable } from '../core/env-variables.js';
import { DEFAULT_LIMITS, type LimitsConfig, LimitsConfigSchema } from '../core/limits.js';
import { type PolicyConfig, PolicyConfigSchema } from '../core/policy.js';

/** The environment variable of each setting. */
export const ENV = {
  project: 'STEPGATE_PROJECT',
  location: 'STEPGATE_LOCATION',
  firestoreDatabase: 'STEPGATE_FIRESTORE_DATABASE',
  kmsKey: 'STEPGATE_KMS_KEY',
  platformSecret: 'STEPGATE_PLATFORM_SECRET',
  smtpRelaySecret: 'STEPGATE_SMTP_RELAY_SECRET',
  emailFrom: 'STEPGATE_EMAIL_FROM',
  resultsBucket: 'STEPGATE_RESULTS_BUCKET',
  tasksQueue: 'STEPGATE_TASKS_QUEUE',
  serviceAccount: 'STEPGATE_SERVICE_ACCOUNT',
  workerUrl: 'STEPGATE_WORKER_URL',
  functionUrls: 'STEPGATE_FUNCTION_URLS',
  callbackBase: 'STEPGATE_CALLBACK_BASE',
  publicUrl: 'STEPGATE_PUBLIC_URL',
  mcpServers: 'STEPGATE_MCP_SERVERS',
  policy: 'STEPGATE_POLICY',
  limits: 'STEPGATE_LIMITS',
  googleApiEndpoint: 'STEPGATE_GOOGLE_API_ENDPOINT',
  workflowsServiceAccount: 'STEPGATE_WORKFLOWS_SERVICE_ACCOUNT',
  namePrefix: 'STEPGATE_NAME_PREFIX',
  schedulerServiceAccount: 'STEPGATE_SCHEDULER_SERVICE_ACCOUNT',
  scheduleFireUrl: 'STEPGATE_SCHEDULE_FIRE_URL',
  adminEmail: 'STEPGATE_ADMIN_EMAIL',
  adminPasswordSecret: 'STEPGATE_ADMIN_PASSWORD_SECRET',
} as const;

export type GcpSetting = keyof typeof ENV;

/** The functions of functions/gcp/index.ts, by the name each is registered (and deployed) under. */
export const FUNCTION_NAMES = [
  'api',
  'tool-call',
  'notify',
  'worker',
  'approval-request',
  'approval-close',
  'backoff',
  'resolve-time',
  'run-end',
  'schedule-fire',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

const STORES: GcpSetting[] = ['project', 'firestoreDatabase'];
const QUEUE: GcpSetting[] = ['tasksQueue', 'serviceAccount', 'workerUrl'];
const APPROVALS: GcpSetting[] = [...STORES, 'kmsKey', 'platformSecret', 'publicUrl', 'emailFrom'];

/** The settings each function needs (the optional ones are in OPTIONAL). */
export const FUNCTION_ENV: Record<FunctionName, readonly GcpSetting[]> = {
  api: [
    ...APPROVALS,
    'smtpRelaySecret',
    ...QUEUE,
    'location',
    'functionUrls',
    'callbackBase',
    'mcpServers',
    'policy',
    'limits',
    'workflowsServiceAccount',
    'namePrefix',
    'schedulerServiceAccount',
    'scheduleFireUrl',
    'adminEmail',
    'adminPasswordSecret',
  ],
  'tool-call': QUEUE,
  notify: QUEUE,
  worker: [
    ...STORES,
    'kmsKey',
    'smtpRelaySecret',
    'resultsBucket',
    'emailFrom',
    'callbackBase',
    'mcpServers',
    'policy',
    ...QUEUE,
  ],
  'approval-request': [...APPROVALS, 'smtpRelaySecret'],
  'approval-close': APPROVALS,
  backoff: QUEUE,
  'resolve-time': QUEUE,
  'run-end': [...STORES, 'location', 'namePrefix', ...QUEUE],
  'schedule-fire': [...STORES, 'location', 'functionUrls', 'namePrefix', ...QUEUE],
};

/** Settings with a default, or whose absence turns a feature off. */
const OPTIONAL = new Set<GcpSetting>([
  'firestoreDatabase',
  'callbackBase',
  'mcpServers',
  'policy',
  'limits',
  'smtpRelaySecret',
  'googleApiEndpoint',
  'namePrefix',
  'adminEmail',
  'adminPasswordSecret',
]);

const text = textVariable;
const resource = (variable: string, pattern: RegExp, shape: string) =>
  text(variable).regex(pattern, `${variable} must be a resource name ${shape}`);
const url = (variable: string) =>
  z.url({ protocol: /^https?$/, error: `${variable} must be an http(s) URL` });

/** Refuses stdio servers: why, and what to do instead. */
const httpServers = httpServersOnly(
  'a Cloud Run function cannot keep a local process running between requests',
  'its own Cloud Run service, for example',
);

/** The activity functions' URLs, as the deployed workflows name them (`sg.functions`). */
const FunctionUrlsSchema = z.object({
  toolCall: z.url(),
  notify: z.url(),
  approvalRequest: z.url(),
  approvalClose: z.url(),
  backoff: z.url(),
  resolveTime: z.url(),
  runEnd: z.url(),
});
export type FunctionUrls = z.output<typeof FunctionUrlsSchema>;

export const GcpConfigSchema = z.object({
  project: text(ENV.project).regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, `${ENV.project} must be a project id`),
  location: text(ENV.location).regex(/^[a-z]+-[a-z]+\d+$/, `${ENV.location} must be a region (us-central1)`),
  firestoreDatabase: text(ENV.firestoreDatabase),
  kmsKey: resource(
    ENV.kmsKey,
    /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
    'projects/P/locations/L/keyRings/R/cryptoKeys/K',
  ),
  platformSecret: resource(ENV.platformSecret, /^projects\/[^/]+\/secrets\/[^/]+$/, 'projects/P/secrets/S'),
  smtpRelaySecret: resource(ENV.smtpRelaySecret, /^projects\/[^/]+\/secrets\/[^/]+$/, 'projects/P/secrets/S'),
  emailFrom: z.email({ error: `${ENV.emailFrom} must be an email address` }),
  resultsBucket: text(ENV.resultsBucket),
  tasksQueue: resource(
    ENV.tasksQueue,
    /^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+$/,
    'projects/P/locations/L/queues/Q',
  ),
  serviceAccount: z.email({ error: `${ENV.serviceAccount} must be a service account's email` }),
  workerUrl: url(ENV.workerUrl),
  functionUrls: jsonVariable(ENV.functionUrls, FunctionUrlsSchema),
  callbackBase: url(ENV.callbackBase),
  publicUrl: url(ENV.publicUrl),
  mcpServers: jsonVariable(ENV.mcpServers, httpServers),
  policy: jsonVariable(ENV.policy, PolicyConfigSchema),
  limits: jsonVariable(ENV.limits, LimitsConfigSchema),
  googleApiEndpoint: url(ENV.googleApiEndpoint),
  /** The service account workflow executions run as (invokes the activity functions, sends callbacks). */
  workflowsServiceAccount: z.email({
    error: `${ENV.workflowsServiceAccount} must be a service account's email`,
  }),
  /** The start of every GCP workflow id and Cloud Scheduler job id of this deployment. */
  namePrefix: text(ENV.namePrefix).regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,19}$/,
    `${ENV.namePrefix} must start with a letter and hold at most 20 letters, digits, '-' and '_'`,
  ),
  /** The service account Cloud Scheduler signs its OIDC tokens as (invokes schedule-fire only). */
  schedulerServiceAccount: z.email({
    error: `${ENV.schedulerServiceAccount} must be a service account's email`,
  }),
  scheduleFireUrl: url(ENV.scheduleFireUrl),
  /** The first admin, made by the API's setup when the directory has no admin. */
  adminEmail: z.email({ error: `${ENV.adminEmail} must be an email address` }),
  /** The Secret Manager secret holding the first admin's password. */
  adminPasswordSecret: resource(
    ENV.adminPasswordSecret,
    /^projects\/[^/]+\/secrets\/[^/]+$/,
    'projects/P/secrets/S',
  ),
});

type Parsed = z.output<typeof GcpConfigSchema>;

/** The settings; those a function was not given are absent (read them with `required`). */
export type GcpConfig = Partial<Omit<Parsed, 'mcpServers' | 'policy' | 'limits'>> & {
  firestoreDatabase: string;
  namePrefix: string;
  /** Where workflow callbacks live: the worker and the API post to no other URL with their identity. */
  callbackBase: string;
  mcpServers: Record<string, McpHttpServer>;
  policy: PolicyConfig;
  limits: LimitsConfig;
};

/** Where Workflows callback URLs point (`https://workflowexecutions.googleapis.com/v1/projects/...`). */
export const WORKFLOWS_CALLBACK_BASE = 'https://workflowexecutions.googleapis.com/';

const DEFAULTS = {
  firestoreDatabase: '(default)',
  namePrefix: 'stepgate-',
  callbackBase: WORKFLOWS_CALLBACK_BASE,
  mcpServers: {},
  policy: {},
  limits: DEFAULT_LIMITS,
} as const;

export class GcpConfigError extends Error {
  override name = 'GcpConfigError';
}

/**
 * Reads and checks the settings `function_` needs (all of them for `'all'`); other variables that are set
 * are checked too. Throws GcpConfigError listing every problem, each naming its variable.
 */
export function loadGcpConfig(env: NodeJS.ProcessEnv, function_: FunctionName | 'all' = 'all'): GcpConfig {
  const needs = new Set<GcpSetting>(
    function_ === 'all' ? (Object.keys(ENV) as GcpSetting[]) : FUNCTION_ENV[function_],
  );
  const shape: Record<string, z.ZodType> = {};
  const input: Record<string, string | undefined> = {};
  for (const setting of Object.keys(ENV) as GcpSetting[]) {
    const value = env[ENV[setting]];
    if (value === undefined && !(needs.has(setting) && !OPTIONAL.has(setting))) continue;
    shape[setting] = GcpConfigSchema.shape[setting];
    input[setting] = value;
  }
  const checked = z.object(shape).safeParse(input);
  if (!checked.success)
    throw new GcpConfigError(
      `Stepgate's Cloud Run configuration is invalid:\n${checked.error.issues.map((issue) => describeSettingIssue(issue, ENV)).join('\n')}`,
    );
  return { ...DEFAULTS, ...(checked.data as Partial<Parsed>) } as GcpConfig;
}

/** A setting the caller needs; its absence names the variable (a function deployed without it). */
export function required<K extends keyof GcpConfig>(
  config: GcpConfig,
  setting: K & GcpSetting,
): NonNullable<GcpConfig[K]> {
  const value = config[setting];
  if (value === undefined || value === null) throw new GcpConfigError(`${ENV[setting]} is not set`);
  return value as NonNullable<GcpConfig[K]>;
}
