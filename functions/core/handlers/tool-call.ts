// The `tool.call` activity on every host: the compiled payloads decoded into a ToolCallRequest (the
// argument templates resolved against the run's variables), and the call made through the tool invoker
// with large results stored and referenced (results.ts), its pipeline stages written to the run's history.
import { type JsonValue, resolveTemplate, type Template } from '../../../translator/template.js';
import type { ResultStore, ToolCallContext, ToolInvoker } from '../ports.js';
import type { ToolCallRequest } from '../protocol.js';
import { offloadLargeResults } from '../results.js';
import type { AslToolCallPayload, GcpToolCallBody } from '../wire.js';
import { aslAttempt, gcpAttempt } from './step.js';

/**
 * An ASL Task's payload as the request of the state's `visit` (aslVisit: from its entered time). The
 * attempt is `$$.State.RetryCount` + 1.
 */
export function toolCallFromAsl(payload: AslToolCallPayload, visit: number): ToolCallRequest {
  return {
    ...aslAttempt(payload, visit),
    server: payload.server,
    tool: payload.tool,
    args: resolveTemplate(JSON.parse(payload.args) as Template, payload.vars),
    timeoutMs: payload.timeoutMs,
  };
}

/** A GCP workflow's `tool.call` body as a request. */
export function toolCallFromGcp(body: GcpToolCallBody): ToolCallRequest {
  return {
    ...gcpAttempt(body),
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
