// The `tool.call` activity on every host: the compiled payloads decoded into a ToolCallRequest (the
// argument templates resolved against the run's variables), and the call made through the tool invoker
// with large results stored and referenced (results.ts), its pipeline stages written to the run's history.
import { type JsonValue, resolveTemplate, type Template } from '../../../translator/template.js';
import type { ResultStore, ToolCallContext, ToolInvoker } from '../ports.js';
import { idempotencyKey, type ToolCallRequest } from '../protocol.js';
import { offloadLargeResults } from '../results.js';
import type { AslToolCallPayload, GcpToolCallBody } from '../wire.js';

/**
 * An ASL Task's payload as the request of the state's `visit` (aslVisit: from its entered time). The
 * attempt is `$$.State.RetryCount` + 1.
 */
export function toolCallFromAsl(payload: AslToolCallPayload, visit: number): ToolCallRequest {
  const { ctx, stepId } = payload;
  const attempt = payload.attempt + 1;
  return {
    workflowId: ctx.workflowId,
    runId: ctx.runId,
    stepId,
    visit,
    identity: ctx.identity,
    attempt,
    idempotencyKey: idempotencyKey(ctx.runId, stepId, visit, attempt),
    server: payload.server,
    tool: payload.tool,
    args: resolveTemplate(JSON.parse(payload.args) as Template, payload.vars),
    timeoutMs: payload.timeoutMs,
  };
}

/** A GCP workflow's `tool.call` body as a request. */
export function toolCallFromGcp(body: GcpToolCallBody): ToolCallRequest {
  return {
    workflowId: body.workflowId,
    runId: body.runId,
    stepId: body.stepId,
    visit: body.visit,
    identity: body.identity,
    attempt: body.attempt,
    idempotencyKey: idempotencyKey(body.runId, body.stepId, body.visit, body.attempt),
    server: body.server,
    tool: body.tool,
    args: resolveTemplate(JSON.parse(body.args) as Template, body.vars),
    timeoutMs: body.timeoutMs,
  };
}

export interface ToolCallPorts {
  tools: ToolInvoker;
  /** Where results larger than `resultLimitBytes` go (16 KiB by default). */
  results: ResultStore;
  resultLimitBytes?: number;
}

/** Runs one attempt; `context.audit` takes the pipeline's history entries. Answers the result (null for none). */
export type ToolCallHandler = (request: ToolCallRequest, context?: ToolCallContext) => Promise<JsonValue>;

/** The `tool.call` handler over its ports. */
export function toolCallHandler(ports: ToolCallPorts): ToolCallHandler {
  const tools = offloadLargeResults(ports.tools, ports.results, ports.resultLimitBytes);
  // offloadLargeResults answers null for a tool that returned nothing, and JSON values otherwise.
  return (request, context) => tools.call(request, context) as Promise<JsonValue>;
}
