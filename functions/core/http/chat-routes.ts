// The chat routes of the HTTP API: a message understood as a workflow start (functions/core/chat.ts), or as
// a question (help, my runs, my pending approvals). Mounted inside createApp after the `/api/*`
// authentication (and CSRF) middleware, so the caller is known.
//
//   POST /api/chat          { message, context?, workflowId? } → 200 { reply, action, … }
//   POST /api/chat/confirm  { token } → 201 { reply, action: 'started', runId, … }
//
// Only workflows with a manual trigger that the caller may start (the run route's rule, request.ts
// mayStart) take part: they are the only ones understood, suggested or listed. A message that plainly names
// one the caller may not start is a 403, as POST /api/workflows/:id/run would answer. The run starts with
// the trigger `{ type: 'chat', user }`. An 'ask' hands back `context` ({ workflowId, input so far }); the
// client echoes it with the answer. The input is checked again (checkInput) before any run starts.
//
// A start whose path can reach a write tool (policy.ts toolWrites: the tool's policy entry, else its MCP
// annotations; a tool the registry does not know counts as writing) is not started by the message: the
// answer is a 'confirm' showing the input understood, with a short-lived token bound to the user, the
// workflow version and that input (functions/core/chat-confirm.ts); POST /api/chat/confirm with it starts
// the run, once. A start that can reach only read-only tools starts at once.
import type { Context, Hono } from 'hono';
import type { JsonValue } from '../../../translator/template.js';
import {
  approvalsReply,
  type ChatContext,
  type ChatQuestion,
  confirmReply,
  helpReply,
  questionOf,
  reachableTools,
  replyFor,
  runsReply,
  understand,
} from '../chat.js';
import { CONFIRM_TTL_MS, pendingStartToken, readPendingStart } from '../chat-confirm.js';
import { HttpError } from '../http-error.js';
import { type PolicyConfig, toolWrites } from '../policy.js';
import type { ApprovalStore, DurableHost, StoredWorkflowView, WorkflowStore } from '../ports.js';
import type { Identity } from '../protocol.js';
import type { UserLimits } from '../user-limits.js';
import { requires } from './access.js';
import { json, problemOf } from './openapi-parts.js';
import { caller, checkedInput, jsonBody, mayStart, requireStarter } from './request.js';
import type { Env } from './types.js';

/** Options of the chat routes (AppDeps.chat). */
export interface ChatDeps {
  /** The longest message accepted, in characters (default 1000). */
  maxMessageLength?: number;
  /** The HMAC key of pending starts' confirmation tokens (platform-keys.ts chatConfirmKey). */
  confirmKey: Uint8Array;
  /** The config's `policy:`, whose `write` entries say which tools write (default: annotations only). */
  policy?: PolicyConfig;
  /** How long a confirmation token holds, in ms (default CONFIRM_TTL_MS, 5 minutes). */
  confirmTtlMs?: number;
}

export interface ChatRoutesDeps extends ChatDeps {
  workflows: Pick<WorkflowStore, 'list' | 'get'>;
  host: Pick<DurableHost, 'startRun' | 'getRun' | 'listRuns'>;
  approvalStore: Pick<ApprovalStore, 'pendingFor'>;
  clock: { now(): number };
  /** The MCP servers' tools, for a tool's annotations; without it every tool counts as writing. */
  tools?: { lookup(name: string): Promise<unknown> };
  /** Chat messages and run starts per user (functions/core/user-limits.ts); none when absent. */
  perUser?: Pick<UserLimits, 'take'>;
}

const MAX_CONTEXT_BYTES = 20_000;
/** How many runs and approvals a status answer lists. */
const STATUS_ITEMS = 5;

interface ChatRequest {
  message: string;
  context: ChatContext | undefined;
  /** The workflow a 'choose' reply's candidate names. */
  chosen: string | undefined;
}

export function mountChat(app: Hono<Env>, deps: ChatRoutesDeps): void {
  const maxLength = deps.maxMessageLength ?? 1000;

  app.post('/api/chat', async (c: Context<Env>) => {
    const identity = caller(c);
    await deps.perUser?.take('chat', identity.email);
    const request = chatRequest(await jsonBody(c), maxLength);
    const { manual, startable } = await chatWorkflows(deps, identity, request);

    // A question (help, my runs, my approvals) unless the message answers one of ours or picks a candidate.
    const question =
      request.context === undefined && request.chosen === undefined
        ? questionOf(request.message, startable)
        : undefined;
    if (question !== undefined) return c.json(await answer(deps, identity, question, startable, manual));

    const understood = understand(request.message, startable, request.context);
    if (understood.kind === 'choose' || understood.kind === 'unknown') {
      // Plainly naming a workflow the caller may not start is refused as the run route refuses it.
      if (understood.kind === 'unknown') {
        const named = understand(request.message, manual);
        if (named.kind === 'start' || named.kind === 'ask') requireStarter(named.workflow.ir, identity);
      }
      const list = understood.kind === 'choose' ? understood.candidates : understood.suggestions;
      return c.json({
        reply: replyFor(understood),
        action: understood.kind,
        candidates: list.map((w) => ({ id: w.id, name: w.name })),
      });
    }

    const workflow: StoredWorkflowView = understood.workflow;
    requireStarter(workflow.ir, identity);
    if (understood.kind === 'ask') {
      const next: ChatContext = { workflowId: workflow.id, input: understood.input };
      return c.json({
        reply: replyFor(understood),
        action: 'ask',
        workflowId: workflow.id,
        context: next,
        missing: understood.missing,
      });
    }

    const input = checkedInput(workflow.ir.inputs, understood.input);
    const writes = await writeTools(deps, workflow);
    if (writes.length > 0) {
      const { token, pending } = await pendingStartToken(
        deps.confirmKey,
        { user: identity.email, workflowId: workflow.id, version: workflow.version, input },
        deps.clock.now(),
        deps.confirmTtlMs ?? CONFIRM_TTL_MS,
      );
      return c.json({
        reply: confirmReply(workflow, understood.input, writes),
        action: 'confirm',
        workflowId: workflow.id,
        version: workflow.version,
        input: understood.input,
        writes,
        confirmation: { token, expiresAt: pending.expiresAt },
      });
    }
    await deps.perUser?.take('runStarts', identity.email);
    const runId = await startChat(deps, workflow, input, identity);
    return c.json({
      reply: replyFor(understood, runId),
      action: 'started',
      runId,
      workflowId: workflow.id,
      version: workflow.version,
      input: understood.input,
    });
  });

  app.post('/api/chat/confirm', async (c: Context<Env>) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    return c.json(await confirmed(deps, identity, body.token), 201);
  });
}

/** The message, context and chosen candidate of a chat request, checked (a 422 naming the field). */
function chatRequest(body: Record<string, unknown>, maxLength: number): ChatRequest {
  const message = body.message;
  if (typeof message !== 'string' || message.trim() === '')
    throw new HttpError(422, 'Invalid message', 'message must be a non-empty string', { field: 'message' });
  if (message.length > maxLength)
    throw new HttpError(422, 'Invalid message', `message is at most ${maxLength} characters`, {
      field: 'message',
    });
  const chosen = body.workflowId;
  if (chosen !== undefined && typeof chosen !== 'string')
    throw new HttpError(422, 'Invalid request', 'workflowId must be a string', { field: 'workflowId' });
  return { message, context: chatContext(body.context), chosen };
}

/**
 * The workflows a chat start may be among: those with a manual trigger (a chat start is a manual start),
 * narrowed to the chosen candidate; `startable` are those the caller may start. A chosen or answered
 * workflow that is not there is a 422; one the caller may not start, a 403.
 */
async function chatWorkflows(deps: ChatRoutesDeps, identity: Identity, request: ChatRequest) {
  const { chosen, context } = request;
  const manual = (await deps.workflows.list())
    .filter((w) => w.ir.triggers.some((t) => t.type === 'manual'))
    .filter((w) => chosen === undefined || w.id === chosen);
  if (chosen !== undefined && manual.length === 0)
    throw new HttpError(422, 'Invalid request', `no workflow '${chosen}' to start by chat`, {
      field: 'workflowId',
    });
  const answered = context === undefined ? undefined : manual.find((w) => w.id === context.workflowId);
  if (context !== undefined && answered === undefined)
    throw new HttpError(422, 'Invalid context', `no workflow '${context.workflowId}' to start by chat`, {
      field: 'context.workflowId',
    });
  for (const w of [...(chosen === undefined ? [] : manual), ...(answered ? [answered] : [])])
    requireStarter(w.ir, identity);
  return { manual, startable: manual.filter((w) => mayStart(w.ir, identity)) };
}

/** The answer to a question: help (what the caller can start), their latest runs, their pending approvals. */
async function answer(
  deps: ChatRoutesDeps,
  identity: Identity,
  question: ChatQuestion,
  startable: StoredWorkflowView[],
  manual: StoredWorkflowView[],
) {
  const candidates = startable
    .map((w) => ({ id: w.id, name: w.name }))
    .sort((x, y) => x.name.localeCompare(y.name));
  if (question === 'help') return { reply: helpReply(startable), action: 'help', candidates };
  // Names of every workflow, for runs and approvals of those without a manual trigger too.
  const all = new Map((await deps.workflows.list()).map((w) => [w.id, w.name]));
  for (const w of manual) all.set(w.id, w.name);
  const nameOf = (id: string) => all.get(id) ?? id;
  if (question === 'runs') {
    // The caller's own runs, as GET /api/runs lists them for a member.
    const runs = (
      await deps.host.listRuns({ triggeredBy: identity.email.toLowerCase(), limit: STATUS_ITEMS })
    ).map((r) => ({
      id: r.id,
      workflowId: r.workflowId,
      name: nameOf(r.workflowId),
      status: r.status,
      createdAt: r.createdAt,
      // What decided a completed run's path, from its record (no trail is read).
      ...(r.status === 'completed' && r.pathOutcome !== undefined ? { outcome: r.pathOutcome } : {}),
    }));
    return { reply: runsReply(runs), action: 'runs', runs };
  }
  const approvals = (await deps.approvalStore.pendingFor(identity.email)).slice(0, STATUS_ITEMS).map((a) => ({
    runId: a.runId,
    workflowId: a.workflowId,
    name: nameOf(a.workflowId),
    stepId: a.stepId,
    message: a.message,
  }));
  return { reply: approvalsReply(approvals), action: 'approvals', approvals };
}

/** The names of the write tools a run of `workflow` can reach (policy.ts toolWrites; unknown tools write). */
async function writeTools(deps: ChatRoutesDeps, workflow: StoredWorkflowView): Promise<string[]> {
  const names = new Set<string>();
  for (const step of reachableTools(workflow.ir.graph)) {
    const name = step.server === null ? step.tool : `${step.server}/${step.tool}`;
    if (names.has(name)) continue;
    const found = await deps.tools?.lookup(name).catch(() => undefined);
    const tool = registryTool(found) ?? { server: step.server, name: step.tool, annotations: undefined };
    if (toolWrites(tool, deps.policy ?? {}).write) names.add(name);
  }
  return [...names];
}

/** A registry lookup's answer as the policy reads it, or undefined when it is not one. */
function registryTool(found: unknown) {
  if (found === null || typeof found !== 'object') return undefined;
  const { server, name, annotations } = found as Record<string, unknown>;
  if (typeof server !== 'string' || typeof name !== 'string') return undefined;
  return {
    server,
    name,
    annotations:
      annotations !== null && typeof annotations === 'object'
        ? (annotations as Record<string, unknown>)
        : undefined,
  };
}

/** Starts a chat run as `identity` (under `runId` when a confirmation chose it). */
function startChat(
  deps: ChatRoutesDeps,
  workflow: StoredWorkflowView,
  input: Record<string, JsonValue>,
  identity: Identity,
  runId?: string,
): Promise<string> {
  return deps.host.startRun({
    ...(runId === undefined ? {} : { runId }),
    workflowId: workflow.id,
    ir: workflow.ir,
    version: workflow.version,
    input,
    trigger: { type: 'chat', user: identity },
  });
}

/**
 * A confirmed start: the token is ours, unexpired and the caller's; the workflow is still at the version
 * the input was understood for, and the caller may still start it; the run starts under the token's run
 * id, so a token starts one run at most (a second confirmation is a 409 naming the run).
 */
async function confirmed(deps: ChatRoutesDeps, identity: Identity, token: unknown) {
  if (typeof token !== 'string' || token === '')
    throw new HttpError(
      422,
      'Invalid confirmation',
      'token must be the confirmation token of a chat answer',
      {
        field: 'token',
      },
    );
  const read = await readPendingStart(deps.confirmKey, token, deps.clock.now());
  if (!read.ok) throw new HttpError(422, 'Invalid confirmation', read.problem, { field: 'token' });
  const { pending } = read;
  if (pending.user !== identity.email.toLowerCase())
    throw new HttpError(403, 'Forbidden', 'this confirmation was given to another user', { field: 'token' });
  const workflow = await deps.workflows.get(pending.workflowId);
  if (workflow === undefined || workflow.version !== pending.version)
    throw new HttpError(
      409,
      'Workflow changed',
      `workflow '${pending.workflowId}' changed since the confirmation was asked: ask again`,
      { field: 'token' },
    );
  requireStarter(workflow.ir, identity);
  const input = checkedInput(workflow.ir.inputs, pending.input);
  if ((await deps.host.getRun(pending.runId)) !== undefined) throw alreadyStarted(pending.runId);
  await deps.perUser?.take('runStarts', identity.email);
  const runId = await startChat(deps, workflow, input, identity, pending.runId).catch(async (error) => {
    // Two confirmations at once: the host starts the run id once; the other is told which run it is.
    if ((await deps.host.getRun(pending.runId)) !== undefined) throw alreadyStarted(pending.runId);
    throw error;
  });
  return {
    reply: replyFor({ kind: 'start', workflow, input: pending.input }, runId),
    action: 'started',
    runId,
    workflowId: workflow.id,
    version: workflow.version,
    input: pending.input,
  };
}

function alreadyStarted(runId: string): HttpError {
  return new HttpError(409, 'Already started', `this confirmation already started run ${runId}`, {
    field: 'token',
  });
}

/** The `context` of a follow-up, checked: { workflowId, input }, or a 422 naming the field. */
function chatContext(value: unknown): ChatContext | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(422, 'Invalid context', 'context must be an object', { field: 'context' });
  const { workflowId, input } = value as Record<string, unknown>;
  if (typeof workflowId !== 'string' || workflowId === '')
    throw new HttpError(422, 'Invalid context', 'context.workflowId must be a string', {
      field: 'context.workflowId',
    });
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input)))
    throw new HttpError(422, 'Invalid context', 'context.input must be an object', {
      field: 'context.input',
    });
  if (JSON.stringify(input ?? {}).length > MAX_CONTEXT_BYTES)
    throw new HttpError(
      422,
      'Invalid context',
      `context.input is at most ${MAX_CONTEXT_BYTES} characters of JSON`,
      { field: 'context.input' },
    );
  return { workflowId, input: (input ?? {}) as Record<string, JsonValue> };
}

/** The chat route's OpenAPI paths (spread into functions/core/http/openapi.ts). */
export const CHAT_PATHS = {
  '/api/chat': {
    post: {
      ...requires('member', 'chat'),
      summary:
        "Start a workflow by chat: the message names it (aliases, any order, small typos) and its input; asks for what is missing; starts as the caller (the manual trigger's minRole), or asks to confirm a start that can reach a write tool. Also answers help, 'my runs' and 'my pending approvals'",
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['message'],
              properties: {
                message: { type: 'string', maxLength: 1000 },
                context: {
                  type: 'object',
                  description: "the previous reply's context, echoed to answer its question",
                  required: ['workflowId'],
                  properties: { workflowId: { type: 'string' }, input: { type: 'object' } },
                },
                workflowId: {
                  type: 'string',
                  description: "the workflow a 'choose' reply's candidate names: only it is considered",
                },
              },
            },
          },
        },
      },
      responses: {
        '200': json(
          '{ reply, action: started | confirm | ask | choose | unknown | help | runs | approvals, runId?, workflowId?, input?, writes?, confirmation?: { token, expiresAt }, context?, missing?, candidates?, runs?, approvals? }',
        ),
        '400': problemOf('not a JSON object'),
        '401': problemOf('Not logged in'),
        '403': problemOf("the caller's role is below the workflow's manual trigger minRole"),
        '422': problemOf('invalid message or context (the field is named)'),
        '429': problemOf('too many chat messages or run starts by this user (Retry-After)'),
      },
    },
  },
  '/api/chat/confirm': {
    post: {
      ...requires('member', 'chat'),
      summary:
        "Start the run a chat 'confirm' answer asked about: its token, bound to the caller, the workflow version and the input, expires after minutes and starts one run at most",
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['token'],
              properties: {
                token: { type: 'string', description: "the 'confirm' answer's confirmation.token" },
              },
            },
          },
        },
      },
      responses: {
        '201': json('{ reply, action: started, runId, workflowId, version, input }'),
        '400': problemOf('not a JSON object'),
        '401': problemOf('Not logged in'),
        '403': problemOf("another user's confirmation, or the caller may no longer start the workflow"),
        '409': problemOf('the confirmation already started its run, or the workflow changed since'),
        '422': problemOf('no token, or one this server did not give or that expired (field token)'),
        '429': problemOf('too many run starts by this user (Retry-After)'),
      },
    },
  },
};
