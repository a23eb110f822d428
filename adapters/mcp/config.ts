// The `mcpServers` section of `stepgate.config.yaml`: the MCP servers Stepgate calls tools on, in the shape
// MCP clients already use (`command`/`args`/`env`/`cwd` for stdio, `url`/`headers` for Streamable HTTP),
// plus which vault entries each server needs and how they are handed to it. Values here are never secrets:
// `credentials` names vault entries, the registry fills them in per call.
import { z } from 'zod';

const SERVER_NAME = /^[A-Za-z0-9_-]+$/;
const VAULT_ENTRY_NAME = /^[A-Za-z0-9_.:/-]+$/;
const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Errors of an object schema: a named message for unknown keys and for a value that is no object. */
function objectError(what: string, notAnObject: string): z.core.$ZodErrorMap {
  return (issue) => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => `'${k}'`).join(', ');
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys} in ${what}`;
    }
    return issue.code === 'invalid_type' ? notAnObject : undefined;
  };
}

const vaultEntryName = z
  .string({ error: 'credential name must be a string (the vault entry name)' })
  .regex(VAULT_ENTRY_NAME, 'credential name must be a vault entry name (letters, digits, _ . : / -)');

/** A vault entry passed to a stdio server as an environment variable. */
export interface McpEnvCredential {
  name: string;
  env: string;
}
/** A vault entry passed to an HTTP server as a header, e.g. `{ header: Authorization, prefix: 'Bearer ' }`. */
export interface McpHeaderCredential {
  name: string;
  header: string;
  prefix?: string;
}
export type McpCredential = McpEnvCredential | McpHeaderCredential;

// One object with every key optional and refinements, rather than a union: a union's error is a bare
// "Invalid input", these name the field.
export const McpCredentialSchema = z
  .strictObject(
    {
      name: vaultEntryName,
      env: z
        .string({ error: 'credential env must be a string' })
        .regex(ENV_VAR_NAME, 'credential env must be an environment variable name (letters, digits, _)')
        .optional(),
      header: z
        .string({ error: 'credential header must be a string' })
        .regex(HEADER_NAME, 'credential header must be an HTTP header name')
        .optional(),
      prefix: z.string({ error: 'credential prefix must be a string' }).optional(),
    },
    {
      error: objectError(
        'a credential',
        'a credential is { name, env } (stdio) or { name, header, prefix? } (HTTP)',
      ),
    },
  )
  .superRefine((c, ctx) => {
    if (c.env === undefined && c.header === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a credential needs `env` (stdio) or `header` (HTTP)' });
    } else if (c.env !== undefined && c.header !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['header'],
        message: 'a credential has `env` or `header`, not both',
      });
    } else if (c.env !== undefined && c.prefix !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        message: '`prefix` applies to `header` credentials only',
      });
    }
  })
  .transform((c): McpCredential => {
    if (c.env !== undefined) return { name: c.name, env: c.env };
    return { name: c.name, header: c.header ?? '', ...(c.prefix !== undefined ? { prefix: c.prefix } : {}) };
  })
  .describe('A vault entry the server needs: { name, env } for stdio, { name, header, prefix? } for HTTP.');

const stringMap = (field: string) =>
  z.record(z.string(), z.string({ error: `${field} values must be strings` }), {
    error: `${field} must be a map of strings`,
  });

interface McpServerCommon {
  credentials: McpCredential[];
  identity: 'inject' | 'schema';
  timeoutMs?: number;
}
export interface McpStdioServer extends McpServerCommon {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}
export interface McpHttpServer extends McpServerCommon {
  url: string;
  headers: Record<string, string>;
}
export type McpServerConfig = McpStdioServer | McpHttpServer;

const STDIO_ONLY = ['args', 'env', 'cwd'] as const;
const HTTP_ONLY = ['headers'] as const;

export const McpServerSchema = z
  .strictObject(
    {
      command: z.string({ error: 'command must be a string' }).min(1, 'command must not be empty').optional(),
      args: z
        .array(z.string({ error: 'args must be strings' }), { error: 'args must be a list of strings' })
        .optional(),
      env: stringMap('env').optional(),
      cwd: z.string({ error: 'cwd must be a string' }).optional(),
      url: z.url({ protocol: /^https?$/, error: 'url must be an http(s) URL' }).optional(),
      headers: stringMap('headers').optional(),
      credentials: z
        .array(McpCredentialSchema, { error: 'credentials must be a list' })
        .optional()
        .describe('Vault entries this server needs and how they are passed.'),
      identity: z
        .enum(['inject', 'schema'], { error: "identity must be 'inject' or 'schema'" })
        .default('schema')
        .describe(
          "How the caller's identity (_user_email, _user_role, _user_groups) is added to arguments: " +
            "'inject' always, 'schema' only the fields the tool's input schema declares.",
        ),
      timeoutMs: z
        .number({ error: 'timeoutMs must be a number of milliseconds' })
        .int('timeoutMs must be a whole number of milliseconds')
        .positive('timeoutMs must be positive')
        .max(2_147_483_647, 'timeoutMs must be at most 2147483647')
        .optional()
        .describe("Default per-call timeout when a step sets none (else the MCP SDK's 60 s)."),
    },
    { error: objectError('an MCP server', 'a server is an object with `command` (stdio) or `url` (HTTP)') },
  )
  .superRefine((s, ctx) => {
    if (s.command === undefined && s.url === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a server needs `command` (stdio) or `url` (HTTP)' });
      return;
    }
    if (s.command !== undefined && s.url !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'a server has `command` (stdio) or `url` (HTTP), not both',
      });
      return;
    }
    const stdio = s.command !== undefined;
    for (const key of stdio ? HTTP_ONLY : STDIO_ONLY) {
      if (s[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `\`${key}\` applies to ${stdio ? 'HTTP (`url`)' : 'stdio (`command`)'} servers only`,
        });
      }
    }
    (s.credentials ?? []).forEach((credential, i) => {
      if (stdio && 'header' in credential) {
        ctx.addIssue({
          code: 'custom',
          path: ['credentials', i, 'header'],
          message: 'a stdio server receives credentials as environment variables: use { name, env }',
        });
      } else if (!stdio && 'env' in credential) {
        ctx.addIssue({
          code: 'custom',
          path: ['credentials', i, 'env'],
          message: 'an HTTP server receives credentials as headers: use { name, header, prefix? }',
        });
      }
    });
  })
  .transform((s): McpServerConfig => {
    const common: McpServerCommon = {
      credentials: s.credentials ?? [],
      identity: s.identity,
      ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    };
    if (s.command !== undefined) {
      return {
        command: s.command,
        args: s.args ?? [],
        env: s.env ?? {},
        ...(s.cwd !== undefined ? { cwd: s.cwd } : {}),
        ...common,
      };
    }
    return { url: s.url ?? '', headers: s.headers ?? {}, ...common };
  });

export const McpServersConfigSchema = z
  .record(
    z.string().regex(SERVER_NAME, 'server names are letters, digits, - and _ (they appear in `server/tool`)'),
    McpServerSchema,
    {
      error: (issue) =>
        issue.code === 'invalid_key'
          ? 'server names are letters, digits, - and _ (they appear in `server/tool`)'
          : issue.code === 'invalid_type'
            ? 'mcpServers must be a map of server name to server'
            : undefined,
    },
  )
  .describe('MCP servers by name: { command, args?, env?, cwd? } for stdio or { url, headers? } for HTTP.');

/** The parsed section (defaults applied). */
export type McpServersConfig = Record<string, McpServerConfig>;
/** The section as written (before defaults). */
export type McpServersConfigInput = z.input<typeof McpServersConfigSchema>;

export function isStdioServer(server: McpServerConfig): server is McpStdioServer {
  return 'command' in server;
}

/**
 * The servers a cloud function may use: Streamable HTTP only. A stdio server is refused naming it, with
 * why (`why`: what the host cannot do) and what to deploy instead (`instead`).
 */
export function httpServersOnly(why: string, instead: string) {
  return McpServersConfigSchema.transform((servers, ctx) => {
    const http: Record<string, McpHttpServer> = {};
    for (const [name, server] of Object.entries(servers)) {
      if ('command' in server) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            `MCP server '${name}' is a stdio server (command '${server.command}'): ${why}. Deploy it behind ` +
            `Streamable HTTP (${instead}) and configure it with \`url\` instead of \`command\`.`,
        });
        continue;
      }
      http[name] = server;
    }
    return http;
  });
}
