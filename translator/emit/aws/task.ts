// The Task state of a tool or notify step, with the states its failures go through: a per-attempt
// timeout (the step's own, capped at what a Lambda runs) becomes a static Stepgate.Timeout error, a
// handler's error is merged into `error` (onError), and a failure nobody handles fails the run or counts
// the branch for its quorum.
import type { IrNotify, IrTool } from '../../ir.js';
import { activityParameters } from './payloads.js';
import {
  ASL_ERROR,
  ASL_PLACEHOLDERS,
  catchTo,
  errorLayer,
  failOrCount,
  type Json,
  lambdaRetrier,
  lambdaTimeoutSeconds,
  mergeCaught,
  passResult,
  renderNextEnd,
  renderRetryCatch,
  type Scope,
  type States,
  unhandled,
  writeLayer,
} from './state.js';

/** A tool.call or notify.send step: its Task state first, then the states its catchers lead to. */
export function renderTask(node: IrTool | IrNotify, scope: Scope): States {
  const { catchers, states } = taskFailures(node, scope);
  return {
    [node.id]: {
      Type: 'Task',
      Resource: node.kind === 'tool' ? ASL_PLACEHOLDERS.toolCall : ASL_PLACEHOLDERS.notify,
      Parameters: activityParameters(node, scope),
      TimeoutSeconds: lambdaTimeoutSeconds(node.timeoutMs, node.source),
      ResultPath: node.kind === 'tool' ? `$.${writeLayer(scope)}.${node.output}` : null,
      ...renderRetryCatch(lambdaRetrier(node.retry, node.source), catchers),
      ...renderNextEnd(node.next, scope),
    },
    ...states,
  };
}

/** The Task's catchers and the states they lead to. */
function taskFailures(node: IrTool | IrNotify, scope: Scope): { catchers: Json[]; states: States } {
  const timeout = `${node.id}.timeout`;
  // A timeout longer than a Lambda runs is capped (lambdaTimeoutSeconds): the error says when it struck.
  const timeoutMs = node.timeoutMs === null ? null : lambdaTimeoutSeconds(node.timeoutMs, node.source) * 1000;
  const timeoutError = {
    error: { code: ASL_ERROR.timeout, message: `no result within ${timeoutMs} ms`, step: node.id },
  };
  if (node.onError !== null) {
    const error = `${node.id}.error`;
    return {
      catchers: [catchTo(['States.Timeout'], timeout), catchTo(['States.ALL'], error)],
      states: {
        // The per-attempt timeout is a static error: no cause to merge.
        [timeout]: passResult(timeoutError.error, `$.${errorLayer(scope)}.error`, node.onError, scope),
        [error]: mergeCaught(scope, node.onError, 'error'),
      },
    };
  }
  if (node.timeoutMs === null) return { catchers: unhandled(scope), states: {} };
  return {
    catchers: [catchTo(['States.Timeout'], timeout), ...unhandled(scope)],
    states: { [timeout]: failOrCount(scope, ASL_ERROR.timeout, JSON.stringify(timeoutError)) },
  };
}
