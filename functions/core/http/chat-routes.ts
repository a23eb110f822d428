// The chat route of the HTTP API: a message understood as a workflow start (functions/core/chat.ts).
// Mounted inside createApp after the `/api/*` authentication (and CSRF) middleware, so the caller is known.
//
//   POST /api/chat   { message, context?, workflowId? } → 200 { reply, action, runId?, workflowId?, context?, missing?, candidates? }
//
// Only workflows with a manual trigger can be started by chat (a chat start is a manual start by the
// chatting user): once the workflow is known (action 'started' or 'ask'), the caller needs the manual
// trigger's minRole, as for POST /api/workflows/:id/run (403 otherwise). The run starts with the trigger
// `{ type: 'chat', user }`. An 'ask' hands back `context` ({ workflowId, input so far }); the client echoes
// it with the answer. The input is checked again (checkInput) before any run starts.
import type { Context, Hono } from 'hono';
import type { JsonValue } from '../../../translator/template.js';
import { type ChatContext, replyFor, understand } from '../chat.js';
import { HttpError } from '../http-error.js';
import type { DurableHost, StoredWorkflowView, WorkflowStore } from '../ports.js';
import type { Identity } from '../protocol.js';
import type { UserLimits } from '../user-limits.js';
import { requires } from './access.js';
import { json, problemOf } from './openapi-parts.js';
import { checkedInput, jsonBody, requireStarter } from './request.js';
import type { Env } from './types.js';

/** Options of the chat route (AppDeps.chat). */
export interface ChatDeps {
  /** The longest message accepted, in characters (default 1000). */
  maxMessageLength?: number;
}

export interface ChatRoutesDeps extends ChatDeps {
  workflows: Pick<WorkflowStore, 'list'>;
  host: Pick<DurableHost, 'startRun'>;
  /** Chat messages and run starts per user (functions/core/user-limits.ts); none when absent. */
  perUser?: Pick<UserLimits, 'take'>;
}

const MAX_CONTEXT_BYTES = 20_000;

export function mountChat(app: Hono<Env>, deps: ChatRoutesDeps): void {
  const maxLength = deps.maxMessageLength ?? 1000;

  app.post('/api/chat', async (c: Context<Env>) => {
    const identity: Identity = c.get('principal').identity;
    await deps.perUser?.take('chat', identity.email);
    const body = await jsonBody(c);
    const message = body.message;
    if (typeof message !== 'string' || message.trim() === '')
      throw new HttpError(422, 'Invalid message', 'message must be a non-empty string', { field: 'message' });
    if (message.length > maxLength)
      throw new HttpError(422, 'Invalid message', `message is at most ${maxLength} characters`, {
        field: 'message',
      });
    const context = chatContext(body.context);

    // A chat start is a manual start: only workflows with a manual trigger take part. `workflowId` (the
    // answer to a "which one?") narrows them to that one.
    const chosen = body.workflowId;
    if (chosen !== undefined && typeof chosen !== 'string')
      throw new HttpError(422, 'Invalid request', 'workflowId must be a string', { field: 'workflowId' });
    const workflows = (await deps.workflows.list())
      .filter((w) => w.ir.triggers.some((t) => t.type === 'manual'))
      .filter((w) => chosen === undefined || w.id === chosen);
    if (chosen !== undefined && workflows.length === 0)
      throw new HttpError(422, 'Invalid request', `no workflow '${chosen}' to start by chat`, {
        field: 'workflowId',
      });
    if (context !== undefined && !workflows.some((w) => w.id === context.workflowId))
      throw new HttpError(422, 'Invalid context', `no workflow '${context.workflowId}' to start by chat`, {
        field: 'context.workflowId',
      });
    const understood = understand(message, workflows, context);

    if (understood.kind === 'choose' || understood.kind === 'unknown') {
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
    await deps.perUser?.take('runStarts', identity.email);
    const runId = await deps.host.startRun({
      workflowId: workflow.id,
      ir: workflow.ir,
      version: workflow.version,
      input,
      trigger: { type: 'chat', user: identity },
    });
    return c.json({
      reply: replyFor(understood, runId),
      action: 'started',
      runId,
      workflowId: workflow.id,
      version: workflow.version,
      input: understood.input,
    });
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
        "Start a workflow by chat: the message names it (aliases, any order, small typos) and its input; asks for what is missing; starts as the caller (the manual trigger's minRole)",
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
        '200': json('{ reply, action: started | ask | choose | unknown, runId?, workflowId?, context? }'),
        '400': problemOf('not a JSON object'),
        '401': problemOf('Not logged in'),
        '403': problemOf("the caller's role is below the workflow's manual trigger minRole"),
        '422': problemOf('invalid message or context (the field is named)'),
        '429': problemOf('too many chat messages or run starts by this user (Retry-After)'),
      },
    },
  },
};
