// An approval decision on every host. Recording it, counting it against the level's `require` and raising
// the outcome once is ApprovalService.decide (approvals.ts), whichever channel it came by; this module
// turns the raised outcome into what each target's waiting step takes: on GCP and Azure the outcome itself
// (posted to the level's callback, raised as the level's event), on AWS the task token's answer —
// SendTaskSuccess with the step's ApprovalResult, or SendTaskFailure with Stepgate.Rejected.
import { ERROR_CODE } from '../../../translator/error-codes.js';
import type { JsonValue } from '../../../translator/template.js';
import { type ApprovalOutcome, type ApprovalResult, ERROR } from '../protocol.js';
import type { AslApprovalPayload } from '../wire.js';

/** What an ASL level's callback handle holds: the task token, and what its answer needs of the step. */
interface AslCallback {
  taskToken: string;
  step: Pick<AslApprovalPayload, 'stepId' | 'output' | 'level' | 'rejectFails' | 'rejectKeepsResult'>;
}

/** The callback handle an ASL level's request carries (ApprovalRequest.callback), from its Task payload. */
export function aslCallback(payload: AslApprovalPayload): string {
  const { taskToken, stepId, output, level, rejectFails, rejectKeepsResult } = payload;
  const callback: AslCallback = {
    taskToken,
    step: { stepId, output, level, rejectFails, rejectKeepsResult },
  };
  return JSON.stringify(callback);
}

/**
 * What the decision handler sends once the level's outcome is known: the task token the level's stored
 * callback handle names, and its answer (SendTaskSuccess or SendTaskFailure).
 */
export function aslCallbackAnswer(
  callback: string,
  outcome: ApprovalOutcome,
): { taskToken: string; answer: AslTaskAnswer } {
  const parsed = JSON.parse(callback) as AslCallback;
  return { taskToken: parsed.taskToken, answer: aslApprovalAnswer(parsed.step, outcome) };
}

/** How a task token is answered: the task's output, or its error and cause (the cause as JSON). */
export type AslTaskAnswer =
  | { ok: true; output: ApprovalResult }
  | { ok: false; error: string; cause: Record<string, JsonValue> };

/**
 * The answer to a level's task token once its outcome is known. A rejection fails the task: its cause
 * carries the step's result (unless a failure leaves a branch) and, without an onReject, the run's error.
 */
export function aslApprovalAnswer(
  payload: Pick<AslApprovalPayload, 'stepId' | 'output' | 'level' | 'rejectFails' | 'rejectKeepsResult'>,
  outcome: ApprovalOutcome,
): AslTaskAnswer {
  const result: ApprovalResult = { ...outcome, level: payload.level, timedOut: false };
  if (outcome.approved) return { ok: true, output: result };
  const error = {
    code: ERROR.rejected,
    message: `rejected by ${outcome.decidedBy ?? 'an approver'}`,
    step: payload.stepId,
  };
  return {
    ok: false,
    error: ERROR_CODE.rejected,
    cause: {
      ...(payload.rejectKeepsResult ? { [payload.output]: result as unknown as JsonValue } : {}),
      ...(payload.rejectFails ? { error } : {}),
    },
  };
}
