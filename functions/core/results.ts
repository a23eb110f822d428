// Large tool results: the handler-side wrapper every target's tool-call handler uses, so a result too big
// for the run's state (a Step Functions document is at most 256 KB) is stored and referenced instead.
//
// - JSON at most `limitBytes` (UTF-8) long: the result is returned untouched (the same value).
// - Longer: the JSON text is stored under the attempt's key (runId, stepId, visit, attempt) and a
//   ResultRef `{ $ref, uri, bytes, sha256, preview }` is returned in its place.
// - undefined: null, as the orchestrator would store it anyway (a tool with nothing to say).
// - Anything JSON.stringify cannot encode (a BigInt, a cycle, a function or symbol): the attempt fails with
//   `Stepgate.InvalidResult`, not retryable — calling the tool again would not make its answer JSON.
import { createHash } from 'node:crypto';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { errorMessage } from '../../translator/util.js';
import { type ToolStage, toolStageEntry } from './audit.js';
import { ActivityError, type ResultStore, type ToolCallContext, type ToolInvoker } from './ports.js';
import {
  RESULT_INLINE_LIMIT_BYTES,
  RESULT_PREVIEW_CHARS,
  RESULT_REF,
  type ResultRef,
  type ToolCallRequest,
} from './protocol.js';

export const INVALID_RESULT = ERROR_CODE.invalidResult;

/** Wraps a tool invoker: a result whose JSON exceeds `limitBytes` is stored in `store` and referenced. */
export function offloadLargeResults(
  invoker: ToolInvoker,
  store: ResultStore,
  limitBytes: number = RESULT_INLINE_LIMIT_BYTES,
): ToolInvoker {
  return {
    async call(request: ToolCallRequest, context?: ToolCallContext): Promise<unknown> {
      const result = await invoker.call(request, context);
      // The pipeline's last stage: how the result is kept, in the run's history.
      const kept = (data: Extract<ToolStage, { type: 'tool.result' }>['data']): void =>
        context?.audit(toolStageEntry(request.stepId, request.attempt, { type: 'tool.result', data }));
      if (result === undefined) {
        kept({ stored: 'inline', bytes: 4 });
        return null;
      }
      const json = encode(result, request);
      // UTF-8 takes at most three bytes per UTF-16 code unit, so most results are decided without counting.
      const bytes = json.length * 3 <= limitBytes ? null : Buffer.byteLength(json, 'utf8');
      if (bytes === null || bytes <= limitBytes) {
        kept({ stored: 'inline', bytes: bytes ?? Buffer.byteLength(json, 'utf8') });
        return result;
      }
      const ref = await reference(store, request, json, bytes);
      kept({ stored: 'reference', bytes, uri: ref.uri });
      return ref;
    },
  };
}

function encode(result: unknown, request: ToolCallRequest): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(result);
  } catch (error) {
    throw invalid(request, errorMessage(error));
  }
  if (json === undefined) throw invalid(request, `a ${typeof result} is not JSON`);
  return json;
}

function invalid(request: ToolCallRequest, why: string): ActivityError {
  return new ActivityError(
    INVALID_RESULT,
    `tool '${request.tool}' returned a result that is not JSON: ${why}`,
    false,
  );
}

async function reference(
  store: ResultStore,
  request: ToolCallRequest,
  json: string,
  bytes: number,
): Promise<ResultRef> {
  const { runId, stepId, visit, attempt } = request;
  const uri = await store.put({ runId, stepId, visit, attempt }, json);
  return { $ref: RESULT_REF, uri, bytes, sha256: sha256Hex(json), preview: preview(json) };
}

/** The first RESULT_PREVIEW_CHARS code units of the JSON, without a trailing lone high surrogate. */
export function preview(json: string): string {
  const head = json.slice(0, RESULT_PREVIEW_CHARS);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
