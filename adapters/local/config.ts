// `stepgate.config.yaml`: the MCP servers the tool pipeline calls and the tool policy. Problems are reported
// as `file:line:col: error: message`, like a workflow's, and never half-applied: a config with a problem is
// refused whole.
//
//   mcpServers:            # the format MCP clients use (command/args/env, or url/headers) + credentials
//     payments: { command: node, args: [dist/mcp-servers/payments.js], credentials: [{ name: PAY_KEY, env: PAY_KEY }] }
//   policy:                # functions/core/policy.ts
//     tools: { payments-charge: { minRole: member, rateLimit: 10/hour } }
//   directory:             # users created on start (demo passwords for local use only)
//   oidc:                  # accept bearer JWTs of an OpenID Connect issuer (functions/core/auth.ts)
//     { issuer: https://login.example.com, audience: stepgate }
//   approvals:             # approval links: { requireLogin: true } makes the approver log in as well
//   notifications:         # { devInboxFallback: true }: Slack/Teams/SMS without an account → the dev inbox;
//                          # allowHosts / allowPrivateNetworks: what the SSRF guard lets through anyway
//   limits:                # body sizes, nesting, login throttling, run starts and chat per user (functions/core/limits.ts)
//
// A stdio server's relative `cwd` (by default the config file's folder) is resolved against that folder,
// so a config works from wherever `stepgate` is started.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { type OidcConfig, OidcConfigSchema } from '../../functions/core/auth.js';
import { DEFAULT_LIMITS, type LimitsConfig, LimitsConfigSchema } from '../../functions/core/limits.js';
import { type PolicyConfig, PolicyConfigSchema } from '../../functions/core/policy.js';
import { ROLES } from '../../translator/definition.js';
import { type Diagnostic, formatDiagnostic } from '../../translator/diagnostics.js';
import { parseSource } from '../../translator/source.js';
import { checkSchema } from '../../translator/structure.js';
import { isStdioServer, type McpServersConfig, McpServersConfigSchema } from '../mcp/config.js';

export const CONFIG_FILE = 'stepgate.config.yaml';

const DirectoryUserSchema = z.strictObject({
  email: z.string().min(3),
  name: z.string().optional(),
  role: z.enum(ROLES),
  groups: z.array(z.string().min(1)).optional(),
  manager: z.string().min(3).optional(),
  /** A service account (a webhook's runAs): never gets a password, so nobody logs in as it. */
  service: z.boolean().optional(),
});

/** Users created on start when missing (existing ones, and their passwords, are left alone). */
const DirectorySchema = z.strictObject({
  users: z.array(DirectoryUserSchema),
  /** Local demos only: the password every seeded user gets when created. */
  demoPassword: z.string().min(8).optional(),
});
export type DirectoryConfig = z.infer<typeof DirectorySchema>;

/** How approval links behave (functions/core/approval-links.ts). */
const ApprovalsSchema = z.strictObject({
  /** The link alone is not enough: the approver must also be logged in to Stepgate as themselves. */
  requireLogin: z.boolean().optional(),
});
export type ApprovalsConfig = z.infer<typeof ApprovalsSchema>;

/** Notifications (functions/core/notify/notifier.ts). */
const NotificationsSchema = z.strictObject({
  /** Local development: Slack, Teams and SMS messages with no account go to the development mail inbox. */
  devInboxFallback: z.boolean().optional(),
  /**
   * Hosts (names or IP literals) outbound webhooks and SMTP servers from the vault may reach although the
   * SSRF guard would refuse them (private or loopback addresses, plain http): an internal Teams relay, say.
   */
  allowHosts: z.array(z.string().min(1).max(253)).optional(),
  /** Every private and loopback address (development only). */
  allowPrivateNetworks: z.boolean().optional(),
});
export type NotificationsConfig = z.infer<typeof NotificationsSchema>;

const ConfigSchema = z.strictObject({
  mcpServers: McpServersConfigSchema.optional(),
  policy: PolicyConfigSchema.optional(),
  directory: DirectorySchema.optional(),
  oidc: OidcConfigSchema.optional(),
  approvals: ApprovalsSchema.optional(),
  notifications: NotificationsSchema.optional(),
  limits: LimitsConfigSchema.prefault({}),
});

export interface StepgateConfig {
  /** The file it came from (absolute), or null for the empty default. */
  file: string | null;
  mcpServers: McpServersConfig;
  policy: PolicyConfig;
  directory: DirectoryConfig;
  /** Bearer JWTs from this OpenID Connect issuer are accepted (functions/core/auth.ts); absent: none. */
  oidc?: OidcConfig;
  approvals: ApprovalsConfig;
  notifications: NotificationsConfig;
  limits: LimitsConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Parses a config text; `file` names it in problems and anchors relative paths. */
export function parseConfig(text: string, file: string): StepgateConfig {
  const source = parseSource(text, file.endsWith('.json') ? 'json' : 'yaml');
  const fail = (diagnostics: Diagnostic[]): never => {
    throw new ConfigError(diagnostics.map((d) => formatDiagnostic(file, d)));
  };
  if (source.syntaxErrors.length > 0) fail(source.syntaxErrors);
  const value = source.value ?? {};
  const checked = checkSchema(
    ConfigSchema,
    value,
    'the Stepgate config',
    'mcpServers, policy, directory, oidc, approvals, notifications, limits',
  );
  if (!checked.ok) return fail(checked.problems.map((p) => source.place(p)));
  const base = dirname(resolve(file));
  const mcpServers: McpServersConfig = {};
  for (const [name, server] of Object.entries(checked.value.mcpServers ?? {})) {
    mcpServers[name] = isStdioServer(server) ? { ...server, cwd: resolve(base, server.cwd ?? '.') } : server;
  }
  return {
    file: resolve(file),
    mcpServers,
    policy: checked.value.policy ?? {},
    directory: checked.value.directory ?? { users: [] },
    ...(checked.value.oidc === undefined ? {} : { oidc: checked.value.oidc }),
    approvals: checked.value.approvals ?? {},
    notifications: checked.value.notifications ?? {},
    limits: checked.value.limits,
  };
}

/** Reads a config file; a missing file at the default path is an empty config, a missing given path an error. */
export function loadConfig(path: string | undefined, cwd = process.cwd()): StepgateConfig {
  const file = resolve(cwd, path ?? CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && path === undefined)
      return {
        file: null,
        mcpServers: {},
        policy: {},
        directory: { users: [] },
        approvals: {},
        notifications: {},
        limits: DEFAULT_LIMITS,
      };
    throw new ConfigError([
      `${file}:1:1: error: cannot read the Stepgate config (${missing ? 'no such file' : (error as Error).message})`,
    ]);
  }
  return parseConfig(text, file);
}
