// The configuration of Stepgate's Lambdas: the only module that reads `process.env` on AWS. The CDK stack
// sets these variables (ENV names one per setting, FUNCTION_ENV which each function needs, so a function
// gets only what it uses); every other module of functions/aws takes the parsed AwsConfig. A missing or
// malformed variable fails the cold start with an error naming it. MCP servers must be Streamable HTTP: a
// Lambda cannot spawn a stdio server and keep it alive between invocations.
import { z } from 'zod';
import { httpServersOnly, type McpHttpServer } from '../../adapters/mcp/config.js';
import { describeSettingIssue, jsonVariable, textVariable } from '../core/env-variables.js';
import { DEFAULT_LIMITS, type LimitsConfig, LimitsConfigSchema } from '../core/limits.js';
import { type PolicyConfig, PolicyConfigSchema } from '../core/policy.js';

/** The environment variable of each setting: the stack sets these, `loadAwsConfig` reads them. */
export const ENV = {
  region: 'AWS_REGION',
  table: 'STEPGATE_TABLE',
  kmsKeyId: 'STEPGATE_KMS_KEY_ID',
  resultsBucket: 'STEPGATE_RESULTS_BUCKET',
  publicUrl: 'STEPGATE_PUBLIC_URL',
  linkSecretArn: 'STEPGATE_LINK_SECRET_ARN',
  emailFrom: 'STEPGATE_EMAIL_FROM',
  mcpServers: 'STEPGATE_MCP_SERVERS',
  policy: 'STEPGATE_POLICY',
  limits: 'STEPGATE_LIMITS',
  toolCallFunctionArn: 'STEPGATE_TOOL_CALL_FUNCTION_ARN',
  notifyFunctionArn: 'STEPGATE_NOTIFY_FUNCTION_ARN',
  approvalRequestFunctionArn: 'STEPGATE_APPROVAL_REQUEST_FUNCTION_ARN',
  quorumFunctionArn: 'STEPGATE_QUORUM_FUNCTION_ARN',
  approvalCloseFunctionArn: 'STEPGATE_APPROVAL_CLOSE_FUNCTION_ARN',
  stateMachinePrefix: 'STEPGATE_STATE_MACHINE_PREFIX',
  stateMachineRoleArn: 'STEPGATE_STATE_MACHINE_ROLE_ARN',
  scheduleGroup: 'STEPGATE_SCHEDULE_GROUP',
  schedulerRoleArn: 'STEPGATE_SCHEDULER_ROLE_ARN',
  scheduleFireFunctionArn: 'STEPGATE_SCHEDULE_FIRE_FUNCTION_ARN',
  adminEmail: 'STEPGATE_ADMIN_EMAIL',
  originKeyArn: 'STEPGATE_ORIGIN_KEY_ARN',
  adminPasswordArn: 'STEPGATE_ADMIN_PASSWORD_ARN',
} as const;

export type AwsSetting = keyof typeof ENV;

/** The Lambda entry points (functions/aws/<name>.ts, bundled to dist-lambda/<name>/index.mjs). */
export const LAMBDA_NAMES = [
  'api',
  'tool-call',
  'notify',
  'approval-request',
  'approval-close',
  'quorum',
  'schedule-fire',
  'run-status',
  'setup',
] as const;
export type LambdaName = (typeof LAMBDA_NAMES)[number];

const STORES: AwsSetting[] = ['table', 'kmsKeyId'];
/** What deploying a workflow version needs: the ARNs its definition names, the machines' name and role. */
const DEPLOYER: AwsSetting[] = [
  'toolCallFunctionArn',
  'notifyFunctionArn',
  'approvalRequestFunctionArn',
  'quorumFunctionArn',
  'stateMachinePrefix',
  'stateMachineRoleArn',
];
const APPROVALS: AwsSetting[] = [...STORES, 'linkSecretArn', 'publicUrl', 'emailFrom'];

/**
 * The settings each function needs (AWS_REGION is the runtime's own). The API also starts and updates
 * state machines, whose definitions name the activity functions.
 */
export const FUNCTION_ENV: Record<LambdaName, readonly AwsSetting[]> = {
  api: [
    ...APPROVALS,
    'mcpServers',
    'policy',
    'limits',
    ...DEPLOYER,
    'originKeyArn',
    'scheduleGroup',
    'schedulerRoleArn',
    'scheduleFireFunctionArn',
  ],
  'tool-call': [...STORES, 'resultsBucket', 'mcpServers', 'policy'],
  notify: [...STORES, 'emailFrom'],
  'approval-request': APPROVALS,
  'approval-close': APPROVALS,
  quorum: ['table'],
  'schedule-fire': [...STORES, 'stateMachinePrefix'],
  'run-status': ['table', 'approvalCloseFunctionArn'],
  // The deploy-time step: installs the templates (deploying their state machines) and the first admin.
  setup: [...STORES, ...DEPLOYER, 'adminEmail', 'adminPasswordArn'],
};

const text = textVariable;
const arn = (variable: string) =>
  text(variable).regex(/^arn:aws[\w-]*:/, `${variable} must be an ARN (arn:aws:…)`);

/** Refuses stdio servers: why, and what to do instead. */
const httpServers = httpServersOnly(
  'a Lambda cannot spawn a local process and keep it running between invocations',
  'for example its own Lambda, container or service',
);

/** Every setting's schema; each one is optional here, `loadAwsConfig` requires those a function needs. */
export const AwsConfigSchema = z.object({
  region: text(ENV.region),
  table: text(ENV.table),
  kmsKeyId: text(ENV.kmsKeyId),
  resultsBucket: text(ENV.resultsBucket),
  publicUrl: z.url({ protocol: /^https?$/, error: `${ENV.publicUrl} must be an http(s) URL` }),
  linkSecretArn: arn(ENV.linkSecretArn),
  emailFrom: z.email({ error: `${ENV.emailFrom} must be an email address` }),
  mcpServers: jsonVariable(ENV.mcpServers, httpServers),
  policy: jsonVariable(ENV.policy, PolicyConfigSchema),
  limits: jsonVariable(ENV.limits, LimitsConfigSchema),
  toolCallFunctionArn: arn(ENV.toolCallFunctionArn),
  notifyFunctionArn: arn(ENV.notifyFunctionArn),
  approvalRequestFunctionArn: arn(ENV.approvalRequestFunctionArn),
  quorumFunctionArn: arn(ENV.quorumFunctionArn),
  approvalCloseFunctionArn: arn(ENV.approvalCloseFunctionArn),
  stateMachinePrefix: text(ENV.stateMachinePrefix).regex(
    /^[A-Za-z0-9_-]{1,40}$/,
    `${ENV.stateMachinePrefix} must be 1-40 letters, digits, '-' or '_'`,
  ),
  stateMachineRoleArn: arn(ENV.stateMachineRoleArn),
  scheduleGroup: text(ENV.scheduleGroup),
  schedulerRoleArn: arn(ENV.schedulerRoleArn),
  scheduleFireFunctionArn: arn(ENV.scheduleFireFunctionArn),
  adminEmail: z.email({ error: `${ENV.adminEmail} must be an email address` }),
  originKeyArn: arn(ENV.originKeyArn),
  adminPasswordArn: arn(ENV.adminPasswordArn),
});

type Parsed = z.output<typeof AwsConfigSchema>;

/** The settings; those a function was not given are absent (read them with `required`). */
export type AwsConfig = Partial<Omit<Parsed, 'region' | 'mcpServers' | 'policy' | 'limits'>> & {
  region: string;
  mcpServers: Record<string, McpHttpServer>;
  policy: PolicyConfig;
  limits: LimitsConfig;
};

/** Optional settings and their defaults when unset. */
const DEFAULTS = { mcpServers: {}, policy: {}, limits: DEFAULT_LIMITS } as const;

export class AwsConfigError extends Error {
  override name = 'AwsConfigError';
}

/**
 * Reads and checks the settings `function_` needs (all of them for `'all'`); other variables that are set
 * are checked too. Throws AwsConfigError listing every problem, each naming its variable.
 */
export function loadAwsConfig(env: NodeJS.ProcessEnv, function_: LambdaName | 'all' = 'all'): AwsConfig {
  const needs = new Set<AwsSetting>(
    function_ === 'all' ? (Object.keys(ENV) as AwsSetting[]) : FUNCTION_ENV[function_],
  );
  needs.add('region');
  // Optional where needed: defaults for the first three; without an admin email, setup creates no admin;
  // without an origin key, the API answers requests that did not come through CloudFront (tests).
  const optional = new Set<AwsSetting>([
    'mcpServers',
    'policy',
    'limits',
    'adminEmail',
    'adminPasswordArn',
    'originKeyArn',
  ]);
  const shape: Record<string, z.ZodType> = {};
  const input: Record<string, string | undefined> = {};
  for (const setting of Object.keys(ENV) as AwsSetting[]) {
    const value = env[ENV[setting]];
    if (value === undefined && !(needs.has(setting) && !optional.has(setting))) continue;
    shape[setting] = AwsConfigSchema.shape[setting];
    input[setting] = value;
  }
  const checked = z.object(shape).safeParse(input);
  if (!checked.success)
    throw new AwsConfigError(
      `Stepgate's Lambda configuration is invalid:\n${checked.error.issues.map((issue) => describeSettingIssue(issue, ENV)).join('\n')}`,
    );
  return { ...DEFAULTS, ...(checked.data as Partial<Parsed>) } as AwsConfig;
}

/** A setting the caller needs; its absence names the variable (a function deployed without it). */
export function required<K extends keyof AwsConfig>(
  config: AwsConfig,
  setting: K & AwsSetting,
): NonNullable<AwsConfig[K]> {
  const value = config[setting];
  if (value === undefined || value === null) throw new AwsConfigError(`${ENV[setting]} is not set`);
  return value as NonNullable<AwsConfig[K]>;
}
