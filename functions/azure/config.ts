// The configuration of Stepgate's Azure Functions app: the only module that reads `process.env` on Azure.
// The infrastructure (infra/azure) sets these app settings, the same for every function of the app (one app
// runs them all); every other module of functions/azure takes the parsed AzureConfig. A missing or
// malformed setting fails the first request with an error naming it.
//
// Secrets never travel in a setting: the app reaches every Azure service with its managed identity
// (`AZURE_CLIENT_ID` names the user-assigned identity, as DefaultAzureCredential expects), and
// STEPGATE_PLATFORM_SECRET, STEPGATE_ADMIN_PASSWORD_SECRET and STEPGATE_SMTP_RELAY_SECRET name Key Vault
// secrets (the platform key; the first admin's password; the relay's smtp:// URL, which holds its password),
// read by the ports. STEPGATE_STORAGE_AUTH=development is for Azurite only: its published account key
// instead of an identity. MCP servers must be Streamable HTTP: a function instance cannot keep a stdio
// server's process alive between invocations.
import { z } from 'zod';
import { TABLE_PREFIX_PATTERN } from '../../adapters/azure/tables.js';
import { httpServersOnly, type McpHttpServer } from '../../adapters/mcp/config.js';
import { describeSettingIssue, jsonVariable, textVariable } from '../core/env-variables.js';
import { DEFAULT_LIMITS, type LimitsConfig, LimitsConfigSchema } from '../core/limits.js';
import { type PolicyConfig, PolicyConfigSchema } from '../core/policy.js';

/** The app setting of each Stepgate setting. */
export const ENV = {
  /** The table service: a storage account's or a Cosmos DB for Table account's endpoint. */
  tablesEndpoint: 'STEPGATE_TABLES_ENDPOINT',
  /** Starts every table name of this deployment. */
  tablePrefix: 'STEPGATE_TABLE_PREFIX',
  /** The blob service large tool results go to, and their container. */
  blobEndpoint: 'STEPGATE_BLOB_ENDPOINT',
  resultsContainer: 'STEPGATE_RESULTS_CONTAINER',
  /** `managed-identity` (deployed) or `development` (Azurite's published key). */
  storageAuth: 'STEPGATE_STORAGE_AUTH',
  /** `https://<vault>.vault.azure.net`: the vault's wrapping key and the platform secrets. */
  keyVaultUrl: 'STEPGATE_KEY_VAULT_URL',
  /** The Key Vault key (RSA) that wraps the vault's data key. */
  vaultKey: 'STEPGATE_VAULT_KEY',
  /** The Key Vault secret holding the platform key (sessions, approval links). */
  platformSecret: 'STEPGATE_PLATFORM_SECRET',
  /** `acs` (Azure Communication Services Email) or `smtp` (a relay). */
  emailTransport: 'STEPGATE_EMAIL_TRANSPORT',
  /** `https://<resource>.communication.azure.com`, with `acs`. */
  acsEndpoint: 'STEPGATE_ACS_ENDPOINT',
  /** The Key Vault secret holding the relay's smtp:// URL, with `smtp`. */
  smtpRelaySecret: 'STEPGATE_SMTP_RELAY_SECRET',
  emailFrom: 'STEPGATE_EMAIL_FROM',
  /** The app's own https URL: approval links and the dashboard. */
  publicUrl: 'STEPGATE_PUBLIC_URL',
  mcpServers: 'STEPGATE_MCP_SERVERS',
  policy: 'STEPGATE_POLICY',
  limits: 'STEPGATE_LIMITS',
  /** The Durable Functions task hub's name (host.json reads it: `%STEPGATE_TASK_HUB%`). */
  taskHub: 'STEPGATE_TASK_HUB',
  /** The first admin, made by the setup when the directory has none, and the secret with their password. */
  adminEmail: 'STEPGATE_ADMIN_EMAIL',
  adminPasswordSecret: 'STEPGATE_ADMIN_PASSWORD_SECRET',
} as const;

export type AzureSetting = keyof typeof ENV;

/** Settings with a default, or whose absence turns a feature off. */
const OPTIONAL = new Set<AzureSetting>([
  'tablePrefix',
  'taskHub',
  'storageAuth',
  'resultsContainer',
  'emailTransport',
  'acsEndpoint',
  'smtpRelaySecret',
  'mcpServers',
  'policy',
  'limits',
  'adminEmail',
  'adminPasswordSecret',
]);

const text = textVariable;
const url = (variable: string) =>
  z.url({ protocol: /^https?$/, error: `${variable} must be an http(s) URL` });
/** A Key Vault object name: 1-127 letters, digits and dashes. */
const vaultName = (variable: string) =>
  text(variable).regex(/^[0-9A-Za-z-]{1,127}$/, `${variable} must be a Key Vault name (letters, digits, -)`);

/** Refuses stdio servers: why, and what to do instead. */
const httpServers = httpServersOnly(
  'an Azure Functions instance cannot keep a local process running between invocations',
  'an Azure Container App, for example',
);

export const AzureConfigSchema = z.object({
  tablesEndpoint: url(ENV.tablesEndpoint),
  tablePrefix: text(ENV.tablePrefix).regex(
    TABLE_PREFIX_PATTERN,
    `${ENV.tablePrefix} must be a letter followed by at most 39 letters and digits`,
  ),
  blobEndpoint: url(ENV.blobEndpoint),
  resultsContainer: text(ENV.resultsContainer).regex(
    /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
    `${ENV.resultsContainer} must be a blob container name (3-63 lowercase letters, digits, -)`,
  ),
  storageAuth: z.enum(['managed-identity', 'development'], {
    error: `${ENV.storageAuth} must be managed-identity or development`,
  }),
  keyVaultUrl: url(ENV.keyVaultUrl),
  vaultKey: vaultName(ENV.vaultKey),
  platformSecret: vaultName(ENV.platformSecret),
  emailTransport: z.enum(['acs', 'smtp'], { error: `${ENV.emailTransport} must be acs or smtp` }),
  acsEndpoint: url(ENV.acsEndpoint),
  smtpRelaySecret: vaultName(ENV.smtpRelaySecret),
  emailFrom: z.email({ error: `${ENV.emailFrom} must be an email address` }),
  publicUrl: url(ENV.publicUrl),
  mcpServers: jsonVariable(ENV.mcpServers, httpServers),
  policy: jsonVariable(ENV.policy, PolicyConfigSchema),
  limits: jsonVariable(ENV.limits, LimitsConfigSchema),
  taskHub: text(ENV.taskHub).regex(
    /^[A-Za-z][A-Za-z0-9]{2,44}$/,
    `${ENV.taskHub} must be 3-45 letters and digits, starting with a letter (a task hub name)`,
  ),
  adminEmail: z.email({ error: `${ENV.adminEmail} must be an email address` }),
  adminPasswordSecret: vaultName(ENV.adminPasswordSecret),
});

type Parsed = z.output<typeof AzureConfigSchema>;

export type AzureConfig = Omit<
  Parsed,
  | 'tablePrefix'
  | 'resultsContainer'
  | 'storageAuth'
  | 'emailTransport'
  | 'acsEndpoint'
  | 'smtpRelaySecret'
  | 'mcpServers'
  | 'policy'
  | 'limits'
  | 'adminEmail'
  | 'adminPasswordSecret'
  | 'taskHub'
> & {
  tablePrefix: string;
  resultsContainer: string;
  storageAuth: 'managed-identity' | 'development';
  emailTransport: 'acs' | 'smtp';
  acsEndpoint?: string;
  smtpRelaySecret?: string;
  mcpServers: Record<string, McpHttpServer>;
  policy: PolicyConfig;
  limits: LimitsConfig;
  adminEmail?: string;
  adminPasswordSecret?: string;
  /** Read by the Functions host only; the infrastructure always sets it. */
  taskHub?: string;
};

const DEFAULTS = {
  tablePrefix: 'stepgate',
  resultsContainer: 'stepgate-results',
  storageAuth: 'managed-identity',
  emailTransport: 'acs',
  mcpServers: {},
  policy: {},
  limits: DEFAULT_LIMITS,
} as const;

export class AzureConfigError extends Error {
  override name = 'AzureConfigError';
}

/**
 * Reads and checks every setting. Throws AzureConfigError listing every problem, each naming its setting:
 * a required one missing, a malformed one, the transport's own setting missing (ACS's endpoint, the relay's
 * secret), or the first admin's email without the secret holding their password (or the other way round).
 */
export function loadAzureConfig(env: NodeJS.ProcessEnv): AzureConfig {
  const shape: Record<string, z.ZodType> = {};
  const input: Record<string, string | undefined> = {};
  for (const setting of Object.keys(ENV) as AzureSetting[]) {
    const value = env[ENV[setting]];
    if (value === undefined && OPTIONAL.has(setting)) continue;
    shape[setting] = AzureConfigSchema.shape[setting];
    input[setting] = value;
  }
  const checked = z.object(shape).safeParse(input);
  const problems = checked.success
    ? []
    : checked.error.issues.map((issue) => describeSettingIssue(issue, ENV));
  const config = {
    ...DEFAULTS,
    ...(checked.success ? (checked.data as Partial<Parsed>) : {}),
  } as AzureConfig;
  if (checked.success) {
    if (config.emailTransport === 'acs' && config.acsEndpoint === undefined)
      problems.push(`  ${ENV.acsEndpoint} is not set (${ENV.emailTransport} is acs)`);
    if (config.emailTransport === 'smtp' && config.smtpRelaySecret === undefined)
      problems.push(`  ${ENV.smtpRelaySecret} is not set (${ENV.emailTransport} is smtp)`);
    if ((config.adminEmail === undefined) !== (config.adminPasswordSecret === undefined))
      problems.push(`  ${ENV.adminEmail} and ${ENV.adminPasswordSecret} go together: set both or neither`);
  }
  if (problems.length > 0)
    throw new AzureConfigError(`Stepgate's Azure configuration is invalid:\n${problems.join('\n')}`);
  return config;
}
