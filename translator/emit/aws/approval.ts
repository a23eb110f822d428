// The Task states of an approval step, one per escalation level (`lambda:invoke.waitForTaskToken`: the
// decision handler answers the token), and the states a rejection or the last level's timeout go to. A
// level waits for a person, not for the Lambda, so it keeps the level's timeout rather than a Lambda's,
// and has no HeartbeatSeconds: nothing beats while an approver thinks, so a heartbeat would only fail it.
import { type IrApproval, type IrApprovalLevel, timedOutApproval } from '../../ir.js';
import { approvalPayload } from './payloads.js';
import {
  ASL_ERROR,
  ASL_PLACEHOLDERS,
  catchTo,
  failOrCount,
  lambdaRetrier,
  mergeCaught,
  passResult,
  renderNextEnd,
  renderRetryCatch,
  type Scope,
  type State,
  type States,
  timeoutSeconds,
  unhandled,
  writeLayer,
} from './state.js';

/** An approval step: its levels (the first named after the step), then its `.rejected` and `.timedOut`. */
export function renderApproval(node: IrApproval, scope: Scope): States {
  const states: States = {};
  node.levels.forEach((level, index) => {
    states[levelName(node, index + 1)] = renderLevel(node, level, index + 1, scope);
  });
  // A rejection: the decision handler's cause holds the result variable.
  states[`${node.id}.rejected`] =
    node.onReject !== null
      ? mergeCaught(scope, node.onReject, 'results')
      : failOrCount(scope, ASL_ERROR.rejected);
  states[`${node.id}.timedOut`] = renderTimedOut(node, scope);
  return states;
}

function levelName(node: IrApproval, level: number): string {
  return level === 1 ? node.id : `${node.id}.level${level}`;
}

/** One level: a timeout escalates to the next level (or times the step out), so does nobody to ask. */
function renderLevel(node: IrApproval, level: IrApprovalLevel, levelNo: number, scope: Scope): State {
  const last = levelNo === node.levels.length;
  const escalate = levelName(node, levelNo + 1);
  const catchers = [
    catchTo(['States.Timeout'], last ? `${node.id}.timedOut` : escalate),
    catchTo([ASL_ERROR.rejected], `${node.id}.rejected`),
    ...(last ? [] : [catchTo([ASL_ERROR.noApprovers], escalate)]),
    ...unhandled(scope),
  ];
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Parameters: {
      FunctionName: ASL_PLACEHOLDERS.approvalRequest,
      Payload: approvalPayload(node, level, levelNo, scope),
    },
    TimeoutSeconds: timeoutSeconds(level.timeoutMs, node.source),
    ResultPath: `$.${writeLayer(scope)}.${node.output}`,
    ...renderRetryCatch(lambdaRetrier(null, node.source), catchers),
    ...renderNextEnd(node.next, scope),
  };
}

/** After the last level timed out: onTimeout gets the timed-out result, else the step fails. */
function renderTimedOut(node: IrApproval, scope: Scope): State {
  const timedOut = timedOutApproval(node);
  if (node.onTimeout !== null)
    return passResult(timedOut, `$.${writeLayer(scope)}.${node.output}`, node.onTimeout, scope);
  // A run that fails here keeps the step's result; a branch that fails here keeps nothing.
  const timeoutError = {
    ...(scope.depth === 0 ? { [node.output]: timedOut } : {}),
    error: {
      code: ASL_ERROR.approvalTimeout,
      message: 'no decision before the last approval level timed out',
      step: node.id,
    },
  };
  return failOrCount(scope, ASL_ERROR.approvalTimeout, JSON.stringify(timeoutError));
}
