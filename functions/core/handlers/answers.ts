// How a handler's failure reaches each target: a Lambda's error (its name is the Step Functions error
// type the state machine catches and retries on, its message the cause as JSON) and a GCP function's
// `{ ok: false, error }` body. Azure's encoding is the activity host's (functions/azure/activities.ts).
import { ERROR_CODE } from '../../../translator/error-codes.js';
import { errorMessage } from '../../../translator/util.js';
import { ActivityError } from '../ports.js';
import { ERROR } from '../protocol.js';
import type { GcpActivityCallback } from '../wire.js';

/** An error as a Lambda throws it: Step Functions sees `name` as the error and the message as the cause. */
export function aslError(name: string, cause: unknown): Error {
  const error = new Error(JSON.stringify(cause));
  error.name = name;
  return error;
}

/**
 * A failed activity as the state machine expects it: Stepgate.Retryable or Stepgate.Fatal (a level with
 * nobody to ask: Stepgate.NoApprovers, on which it escalates), the cause carrying `{ code, message, step }`.
 */
export function aslActivityFailure(error: unknown, step: string): Error {
  const code = error instanceof ActivityError ? error.code : ERROR_CODE.unknown;
  const retryable = error instanceof ActivityError ? error.retryable : true;
  const name =
    code === ERROR.noApprovers ? ERROR_CODE.noApprovers : retryable ? ERROR_CODE.retryable : ERROR_CODE.fatal;
  return aslError(name, { error: { code, message: errorMessage(error), step } });
}

/** A failed activity as a GCP function answers it (a callback body, or the response of approval.request). */
export function gcpFailure(error: unknown): Extract<GcpActivityCallback, { ok: false }> {
  if (error instanceof ActivityError)
    return { ok: false, error: { code: error.code, message: error.message, retryable: error.retryable } };
  return { ok: false, error: { code: ERROR_CODE.unknown, message: errorMessage(error), retryable: true } };
}
