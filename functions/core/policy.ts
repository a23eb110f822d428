// The policy check of the tool-call pipeline: may this identity call this tool now? Three rules in order —
// role ≥ the tool's minRole, the role may call write tools (when the tool writes), and the rate limits
// (per user, per group, across the org) — each recorded as a decision for the run's history. Pure except
// for the rate limiter port.
//
// The `policy:` section of stepgate.config.yaml:
//
//   policy:
//     defaults: { minRole: viewer, rateLimit: 60/minute }   # for tools without their own entry or key
//     roles:                                                # which roles may call write tools
//       viewer: { write: false }
//     tools:                                                # key `tool` (any server) or `server/tool`
//       payments/charge: { minRole: manager, write: true, rateLimit: 10/hour, orgRateLimit: 100/day }
//
// Defaults: minRole viewer; no rate limit; viewers may not call write tools, members and every role above
// may. Whether a tool writes: its entry's `write` when given, otherwise its MCP annotations — write unless
// `readOnlyHint: true` (and not `destructiveHint: true`); a tool without annotations writes, because
// annotations are hints a server may omit and the safe reading of silence is "may change something". An
// untrusted server can claim `readOnlyHint: true`; an explicit `write: true` overrides it.
//
// A `server/tool` entry wins over a `tool` entry; per field, a tool's value wins over `defaults`. Rate
// limits count only calls that pass the role and write rules, and all buckets are taken together or not at
// all (a call refused by the org limit costs the user nothing). `groupRateLimit` applies to each of the
// caller's groups. Buckets: `user:<email>|<tool>`, `group:<name>|<tool>`, `org|<tool>`, where <tool> is
// `server/tool` (or `tool` without a server).
import { z } from 'zod';
import { ROLES, type Role, TOOL_NAME_PATTERN } from '../../translator/definition.js';
import { roleRank } from '../../translator/roles.js';
import type { PolicyDecision, PolicyRule } from './audit.js';
import type { RateLimitBucket, RateLimiter } from './ports.js';
import type { Identity } from './protocol.js';

export const RATE_LIMIT_PATTERN = /^([1-9][0-9]{0,8})\/(second|minute|hour|day)$/;
const WINDOW_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Roles that may call write tools unless `policy.roles` says otherwise. */
export const DEFAULT_ROLE_WRITE: Readonly<Record<Role, boolean>> = {
  viewer: false,
  member: true,
  lead: true,
  manager: true,
  director: true,
  admin: true,
};

const RateLimit = z
  .string()
  .regex(RATE_LIMIT_PATTERN, {
    error: (issue) =>
      `invalid rate limit '${String(issue.input)}': use N/second, N/minute, N/hour or N/day (e.g. 10/hour)`,
  })
  .meta({ description: 'At most N calls per sliding window: 10/hour, 100/day, 5/second.' });

const MinRole = z.enum(ROLES).meta({ description: 'The lowest role that may call the tool.' });

const ToolPolicy = z.strictObject({
  minRole: MinRole.optional(),
  write: z.boolean().optional().meta({
    description: "Whether the tool changes something; derived from the tool's MCP annotations when absent.",
  }),
  rateLimit: RateLimit.optional().meta({ description: 'Per calling user.' }),
  groupRateLimit: RateLimit.optional().meta({ description: "Per group, for each of the caller's groups." }),
  orgRateLimit: RateLimit.optional().meta({ description: 'Across the whole org.' }),
});

const ToolKey = z.string().regex(TOOL_NAME_PATTERN, {
  error: (issue) => `invalid tool '${String(issue.input)}' in policy.tools: use tool or server/tool`,
});

export const PolicyConfigSchema = z
  .strictObject({
    defaults: z
      .strictObject({
        minRole: MinRole.optional(),
        rateLimit: RateLimit.optional(),
        groupRateLimit: RateLimit.optional(),
        orgRateLimit: RateLimit.optional(),
      })
      .optional(),
    roles: z.partialRecord(z.enum(ROLES), z.strictObject({ write: z.boolean() })).optional(),
    tools: z.record(ToolKey, ToolPolicy).optional(),
  })
  .meta({ description: 'Who may call which tool, write tools per role, and rate limits.' });
export type PolicyConfig = z.infer<typeof PolicyConfigSchema>;

/** The MCP tool annotations the write rule reads (the rest of an annotations object is ignored). */
export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  [hint: string]: unknown;
}

export interface PolicyTool {
  server: string | null;
  name: string;
  /** The tool's MCP annotations; undefined when the server gave none. */
  annotations?: ToolAnnotations | undefined;
}

export type PolicyResult =
  | { allowed: true; decisions: PolicyDecision[] }
  | { allowed: false; rule: PolicyRule; message: string; decisions: PolicyDecision[] };

export interface PolicyCheck {
  identity: Pick<Identity, 'email' | 'role' | 'groups'>;
  tool: PolicyTool;
  config: PolicyConfig;
  limiter: RateLimiter;
  /** ms since epoch: the rate limits' clock. */
  now: number;
}

export function parseRateLimit(text: string): { limit: number; windowMs: number } {
  const match = RATE_LIMIT_PATTERN.exec(text);
  if (match === null) throw new RangeError(`invalid rate limit '${text}'`);
  return { limit: Number(match[1]), windowMs: WINDOW_MS[match[2] as keyof typeof WINDOW_MS] };
}

/** Whether a tool writes, and what said so: the policy entry, the annotations, or the safe default. */
export function toolWrites(
  tool: PolicyTool,
  config: PolicyConfig,
): { write: boolean; from: 'config' | 'annotations' | 'default' } {
  const write = toolPolicy(tool, config)?.write;
  if (write !== undefined) return { write, from: 'config' };
  const annotations = tool.annotations;
  if (annotations === undefined) return { write: true, from: 'default' };
  return {
    write: annotations.readOnlyHint !== true || annotations.destructiveHint === true,
    from: 'annotations',
  };
}

export async function checkPolicy(check: PolicyCheck): Promise<PolicyResult> {
  const { identity, tool, config } = check;
  const toolId = tool.server === null ? tool.name : `${tool.server}/${tool.name}`;
  const entry = toolPolicy(tool, config);
  const decisions: PolicyDecision[] = [];
  const deny = (rule: PolicyRule, message: string, unchecked: PolicyRule[]): PolicyResult => {
    for (const r of unchecked)
      decisions.push({ rule: r, outcome: 'skipped', detail: `not checked: ${rule} denied` });
    return { allowed: false, rule, message: `PolicyDenied: ${message}`, decisions };
  };

  const rank = roleRank(identity.role);
  if (rank < 0) {
    decisions.push({ rule: 'role', outcome: 'deny', detail: `unknown role ${identity.role}` });
    return deny('role', `role ${identity.role} is not one of ${ROLES.join(', ')} (calling ${toolId})`, [
      'write',
      'rateLimit',
    ]);
  }
  const role = identity.role as Role;

  const minRole = entry?.minRole ?? config.defaults?.minRole ?? 'viewer';
  if (rank < roleRank(minRole)) {
    decisions.push({ rule: 'minRole', outcome: 'deny', detail: `role ${role} < minRole ${minRole}` });
    return deny('minRole', `role ${role} is below minRole ${minRole} for ${toolId}`, ['write', 'rateLimit']);
  }
  decisions.push({ rule: 'minRole', outcome: 'allow', detail: `role ${role} >= minRole ${minRole}` });

  const writes = toolWrites(tool, config);
  if (writes.write) {
    const roleWrites = config.roles?.[role]?.write ?? DEFAULT_ROLE_WRITE[role];
    if (!roleWrites) {
      decisions.push({
        rule: 'write',
        outcome: 'deny',
        detail: `write tool (${writes.from}); role ${role} may not write`,
      });
      return deny('write', `role ${role} may not call write tool ${toolId}`, ['rateLimit']);
    }
    decisions.push({
      rule: 'write',
      outcome: 'allow',
      detail: `write tool (${writes.from}); role ${role} may write`,
    });
  } else {
    decisions.push({ rule: 'write', outcome: 'allow', detail: `read-only tool (${writes.from})` });
  }

  const email = identity.email.toLowerCase();
  const limits: { rule: PolicyRule; text: string; bucket: RateLimitBucket; who: string }[] = [];
  const add = (rule: PolicyRule, text: string | undefined, key: string, who: string) => {
    if (text !== undefined) limits.push({ rule, text, bucket: { key, ...parseRateLimit(text) }, who });
  };
  add('rateLimit', entry?.rateLimit ?? config.defaults?.rateLimit, `user:${email}|${toolId}`, email);
  for (const group of new Set(identity.groups))
    add(
      'groupRateLimit',
      entry?.groupRateLimit ?? config.defaults?.groupRateLimit,
      `group:${group}|${toolId}`,
      `group ${group}`,
    );
  add('orgRateLimit', entry?.orgRateLimit ?? config.defaults?.orgRateLimit, `org|${toolId}`, 'the org');
  if (limits.length === 0) {
    decisions.push({ rule: 'rateLimit', outcome: 'allow', detail: 'no rate limit' });
    return { allowed: true, decisions };
  }

  const verdict = await check.limiter.takeAll(
    limits.map((l) => l.bucket),
    check.now,
  );
  if (!verdict.allowed) {
    const full = limits.find((l) => l.bucket.key === verdict.key);
    for (const l of limits)
      decisions.push(
        l === full
          ? { rule: l.rule, outcome: 'deny', detail: `${l.text} reached for ${l.who}` }
          : {
              rule: l.rule,
              outcome: 'skipped',
              detail: `${l.text} for ${l.who} not taken: another limit denied`,
            },
      );
    const rule = full?.rule ?? 'rateLimit';
    return {
      allowed: false,
      rule,
      message: `PolicyDenied: ${rule} ${full?.text ?? ''} reached for ${full?.who ?? email} on ${toolId}`,
      decisions,
    };
  }
  for (const l of limits)
    decisions.push({ rule: l.rule, outcome: 'allow', detail: `${l.text} for ${l.who}` });
  return { allowed: true, decisions };
}

function toolPolicy(tool: PolicyTool, config: PolicyConfig): z.infer<typeof ToolPolicy> | undefined {
  const tools = config.tools;
  if (tools === undefined) return undefined;
  return (tool.server === null ? undefined : tools[`${tool.server}/${tool.name}`]) ?? tools[tool.name];
}
