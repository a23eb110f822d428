// The configuration of Stepgate's Cloud Run functions: the only module that reads `process.env` on GCP.
// The Terraform (infra/gcp) sets these variables, each function only those FUNCTION_ENV lists for it; every
// other module of functions/gcp takes the parsed GcpConfig. A missing or malformed variable fails the first
// request with an error naming it. Secrets never travel in a variable: STEPGATE_PLATFORM_SECRET and
// STEPGATE_SMTP_RELAY_SECRET name Secret Manager secrets (the platform key; the relay's smtp:// URL, which
// holds its password), read by the ports. MCP servers must be Streamable HTTP: a Cloud Run instance cannot
// keep a stdio server's process alive between requests. STEPGATE_GOOGLE_API_ENDPOINT points every Google
// API client (Cloud Tasks, KMS, Secret Manager, ...) at another endpoint over the REST transport: tests.
import { z } from 'zod';
import { type McpHttpServer, McpServersConfigSchema } from '../../adapters/mcp/config.js';
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
  api: [...APPROVALS, 'location', 'functionUrls', 'callbackBase', 'mcpServers', 'policy', 'limits'],
  'tool-call': QUEUE,
  notify: QUEUE,
  worker: [
    ...STORES,
    'kmsKey',
    'resultsBucket',
    'emailFrom',
    'callbackBase',
    'mcpServers',
    'policy',
    ...QUEUE,
  ],
  'approval-request': APPROVALS,
  'approval-close': APPROVALS,
  backoff: QUEUE,
  'resolve-time': QUEUE,
  'run-end': [...STORES, 'location'],
  'schedule-fire': [...STORES, 'location', 'functionUrls'],
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
]);

const text = (variable: string) =>
  z
    .string({ error: `${variable} is not set` })
    .trim()
    .min(1, `${variable} is empty`);
const resource = (variable: string, pattern: RegExp, shape: string) =>
  text(variable).regex(pattern, `${variable} must be a resource name ${shape}`);
const url = (variable: string) =>
  z.url({ protocol: /^https?$/, error: `${variable} must be an http(s) URL` });

/** A variable holding JSON, parsed, then checked by `schema`; errors name the variable. */
function jsonVariable<T extends z.ZodType>(variable: string, schema: T) {
  return z
    .string({ error: `${variable} is not set` })
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${variable} is not JSON` });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** Refuses stdio servers: why, and what to do instead. */
const httpServersOnly = McpServersConfigSchema.transform((servers, ctx) => {
  const http: Record<string, McpHttpServer> = {};
  for (const [name, server] of Object.entries(servers)) {
    if ('command' in server) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message:
          `MCP server '${name}' is a stdio server (command '${server.command}'): a Cloud Run function cannot ` +
          'keep a local process running between requests. Deploy it behind Streamable HTTP (its own Cloud ' +
          'Run service, for example) and configure it with `url` instead of `command`.',
      });
      continue;
    }
    http[name] = server;
  }
  return http;
});

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
  mcpServers: jsonVariable(ENV.mcpServers, httpServersOnly),
  policy: jsonVariable(ENV.policy, PolicyConfigSchema),
  limits: jsonVariable(ENV.limits, LimitsConfigSchema),
  googleApiEndpoint: url(ENV.googleApiEndpoint),
});

type Parsed = z.output<typeof GcpConfigSchema>;

/** The settings; those a function was not given are absent (read them with `required`). */
export type GcpConfig = Partial<Omit<Parsed, 'mcpServers' | 'policy' | 'limits'>> & {
  firestoreDatabase: string;
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
      `Stepgate's Cloud Run configuration is invalid:\n${checked.error.issues.map(describeIssue).join('\n')}`,
    );
  return { ...DEFAULTS, ...(checked.data as Partial<Parsed>) } as GcpConfig;
}

/** One problem, led by its variable (and the path inside a JSON one) unless the message names it. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const [setting, ...inside] = issue.path.map(String);
  const variable = ENV[setting as GcpSetting] ?? setting;
  if (issue.message.startsWith(variable)) return `  ${issue.message}`;
  return `  ${variable}${inside.length > 0 ? ` (${inside.join('.')})` : ''}: ${issue.message}`;
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
