// The tool-call pipeline: what every tool step's attempt goes through on every host, in the order of the
// product brief, each stage's decision written to the run's history (never a secret):
//   1. lookup       — which MCP server offers the tool (`server/tool` pins one)      → `tool.lookup`
//   2. identity     — `_user_email`, `_user_role`, `_user_groups` (and the step's
//                     `_idempotency_key`) added where the tool's input schema accepts
//                     them, or always for a server configured `identity: inject`;
//                     then the arguments are checked against the input schema; the
//                     values injected are recorded (what the tool really receives)   → `tool.identity`
//   3. credentials  — the server's vault entries, cascade user → group → org          → `tool.credentials`
//   4. policy       — role ≥ minRole, write allowed, rate limits                      → `tool.policy`
//   5. execution    — the MCP `tools/call`, cut at the step's timeout; the credential
//                     values masked in its result or error (redaction.ts)              → `tool.executed`
//   6. result       — stored as the step's variable (large results by reference, see
//                     results.ts, which records `tool.result`)
// A failure at any stage is an ActivityError the step's retry/onError handle; lookup, argument, credential
// and policy failures are not retried (they would fail the same way).
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../../translator/ajv.js';
import { didYouMean } from '../../translator/diagnostics.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { errorMessage } from '../../translator/util.js';
import { type ToolStage, toolStageEntry } from './audit.js';
import { nearName, reason } from './inputs.js';
import { checkPolicy, type PolicyConfig } from './policy.js';
import {
  ActivityError,
  type Clock,
  type RateLimiter,
  type ToolCallContext,
  type ToolInvoker,
  type ToolRegistry,
  type Vault,
} from './ports.js';
import { IDEMPOTENCY_ARG, IDENTITY_ARGS, operationKey, type ToolCallRequest } from './protocol.js';
import { markedNames, secretScrubber } from './redaction.js';

/** The codes a tool call fails with before it reaches a tool (from the one catalog). */
export const PIPELINE_ERROR = {
  invalidArguments: ERROR_CODE.invalidArguments,
  credentialMissing: ERROR_CODE.credentialMissing,
  policyDenied: ERROR_CODE.policyDenied,
  unknown: ERROR_CODE.toolUnavailable,
} as const;

export interface ToolPipelineDeps {
  registry: ToolRegistry;
  vault: Vault;
  policy: PolicyConfig;
  limiter: RateLimiter;
  clock: Clock;
}

// `verbose`: the problems are said in words from the property's schema (inputs.ts reason).
const ajv = createAjv({ allErrors: true, strict: false, verbose: true });

export class ToolPipeline implements ToolInvoker {
  private readonly validators = new WeakMap<object, ValidateFunction>();

  constructor(private readonly deps: ToolPipelineDeps) {}

  async call(request: ToolCallRequest, context?: ToolCallContext): Promise<unknown> {
    const audit = (stage: ToolStage): void =>
      context?.audit(toolStageEntry(request.stepId, request.attempt, stage));
    const { registry, vault, policy, limiter, clock } = this.deps;
    const requested = request.server === null ? request.tool : `${request.server}/${request.tool}`;

    // 1. Lookup.
    const tool = await registry.lookup(requested).catch((error: unknown) => {
      audit({ type: 'tool.lookup', data: { requested, found: false, error: errorMessage(error) } });
      throw activityError(error);
    });
    audit({ type: 'tool.lookup', data: { requested, found: true, server: tool.server, tool: tool.name } });

    // 2. Identity injection, then the arguments against the tool's input schema.
    const args = argsObject(request.args);
    const accepts = (key: string): boolean =>
      tool.identity === 'inject' || Object.hasOwn(propertiesOf(tool.inputSchema), key);
    const identity: Record<string, unknown> = {
      _user_email: request.identity.email,
      _user_role: request.identity.role,
      _user_groups: [...request.identity.groups],
    };
    const injected: string[] = [];
    // Identity always overwrites what the arguments say: a workflow must not act as someone else.
    for (const key of IDENTITY_ARGS) {
      delete args[key];
      if (accepts(key)) {
        args[key] = identity[key];
        injected.push(key);
      }
    }
    delete args[IDEMPOTENCY_ARG];
    if (Object.hasOwn(propertiesOf(tool.inputSchema), IDEMPOTENCY_ARG)) {
      // The visit's key, the same for every attempt: a retried charge with it charges once.
      args[IDEMPOTENCY_ARG] = operationKey(request.runId, request.stepId, request.visit);
      injected.push(IDEMPOTENCY_ARG);
    }
    const problem = this.validate(tool.inputSchema, args);
    audit({
      type: 'tool.identity',
      data: {
        mode: tool.identity,
        injected,
        // What the tool receives under those keys: the history shows these, never what the workflow wrote.
        values: Object.fromEntries(injected.map((key) => [key, args[key]])),
        arguments: problem === null ? 'valid' : `invalid: ${problem}`,
      },
    });
    if (problem !== null) {
      throw new ActivityError(
        PIPELINE_ERROR.invalidArguments,
        `arguments for ${tool.server}/${tool.name}: ${problem}`,
        false,
      );
    }

    // 3. Credentials: names only in history, never values.
    const names = registry.credentialNames(tool.server);
    const secrets = await vault.resolve(request.identity, names);
    audit({
      type: 'tool.credentials',
      data: { server: tool.server, sources: secrets.sources, missing: secrets.missing },
    });
    if (secrets.missing.length > 0) {
      throw new ActivityError(
        PIPELINE_ERROR.credentialMissing,
        `MCP server '${tool.server}' needs ${secrets.missing.map((n) => `'${n}'`).join(', ')}: no vault entry for user:${request.identity.email}, ${request.identity.groups.map((g) => `group:${g}`).join(', ') || 'no groups'} or org`,
        false,
      );
    }

    // 4. Policy.
    const verdict = await checkPolicy({
      identity: request.identity,
      tool: { server: tool.server, name: tool.name, annotations: tool.annotations ?? undefined },
      config: policy,
      limiter,
      now: clock.now(),
    });
    audit({ type: 'tool.policy', data: { allowed: verdict.allowed, decisions: verdict.decisions } });
    if (!verdict.allowed) throw new ActivityError(PIPELINE_ERROR.policyDenied, verdict.message, false);

    // 5. Execution. The credentials travel beside the arguments (as the server's env or headers), and
    // whatever comes back has their values masked before it is recorded, stored or templated anywhere.
    const scrub = secretScrubber(Object.entries(secrets.values));
    // An error the registry already masked names its credentials in its markers: they count too.
    const redacted = (message = ''): { redacted?: string[] } => {
      const marked = markedNames(message).filter((name) => Object.hasOwn(secrets.values, name));
      const names = [...new Set([...scrub.redacted(), ...marked])].sort();
      return names.length === 0 ? {} : { redacted: names };
    };
    const started = clock.now();
    try {
      const result = scrub.value(
        await registry.call(tool, args, { timeoutMs: request.timeoutMs, credentials: secrets.values }),
      );
      audit({
        type: 'tool.executed',
        data: { server: tool.server, tool: tool.name, ok: true, ms: clock.now() - started, ...redacted() },
      });
      return result;
    } catch (error) {
      const raw = activityError(error);
      const failure = new ActivityError(scrub.text(raw.code), scrub.text(raw.message), raw.retryable);
      audit({
        type: 'tool.executed',
        data: {
          server: tool.server,
          tool: tool.name,
          ok: false,
          ms: clock.now() - started,
          error: { code: failure.code, message: failure.message, retryable: failure.retryable },
          ...redacted(failure.message),
        },
      });
      throw failure;
    }
  }

  /** Null when `args` fit the schema, else the first problems, each naming its field. */
  private validate(schema: Record<string, unknown>, args: Record<string, unknown>): string | null {
    let validate = this.validators.get(schema);
    if (validate === undefined) {
      // MCP servers publish draft-07 schemas (zod's JSON Schema) as often as 2020-12 ones; the keywords
      // tools use mean the same in both, so the dialect marker is dropped rather than refused.
      const { $schema: _dialect, $id: _id, ...body } = schema;
      try {
        validate = ajv.compile(body);
      } catch {
        return null; // A schema Ajv cannot compile is the server's problem: the server validates anyway.
      }
      this.validators.set(schema, validate);
    }
    if (validate(args)) return null;
    return (validate.errors ?? []).slice(0, 3).map(describe).join('; ');
  }
}

function describe(error: ErrorObject): string {
  const field = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  const missing =
    error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing !== undefined)
    return `${field === '' ? '' : `${field}.`}${missing}: is required${nearName(error, missing, 'the arguments have')}`;
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty?: string }).additionalProperty ?? '';
    const declared = Object.keys(propertiesOf((error.parentSchema ?? {}) as Record<string, unknown>));
    return `${field === '' ? '' : `${field}.`}${extra}: is not an argument of this tool${didYouMean(extra, declared)}`;
  }
  return `${field === '' ? '(arguments)' : field}: ${reason(error)}`;
}

function propertiesOf(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = schema.properties;
  return properties !== null && typeof properties === 'object' ? (properties as Record<string, unknown>) : {};
}

function argsObject(args: unknown): Record<string, unknown> {
  return args !== null && typeof args === 'object' && !Array.isArray(args)
    ? { ...(args as Record<string, unknown>) }
    : {};
}

/** Any adapter error with a string `code` (and `retryable`) keeps them; anything else is retryable. */
function activityError(error: unknown): ActivityError {
  if (error instanceof ActivityError) return error;
  const e = error as { code?: unknown; retryable?: unknown } | null;
  const code = typeof e?.code === 'string' && e.code.length > 0 ? e.code : PIPELINE_ERROR.unknown;
  const retryable = typeof e?.retryable === 'boolean' ? e.retryable : true;
  return new ActivityError(code, errorMessage(error), retryable);
}
