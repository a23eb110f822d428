// The fields every step's message carries (protocol.ts StepMessage) and, for a tool or notify attempt, the
// attempt and its idempotency key, read from each target's wire shape: the ASL payload's run context and
// `$$.State.RetryCount`, or the GCP body's own fields.
import { idempotencyKey, type StepMessage } from '../protocol.js';
import type { AslRunContext, GcpStepBody } from '../wire.js';

/** The step an ASL payload comes from, in its `visit`. */
export function aslStep(payload: { ctx: AslRunContext; stepId: string }, visit: number): StepMessage {
  const { ctx, stepId } = payload;
  return { workflowId: ctx.workflowId, runId: ctx.runId, stepId, visit, identity: ctx.identity };
}

/** An ASL tool or notify payload's step and attempt: `$$.State.RetryCount` + 1. */
export function aslAttempt(
  payload: { ctx: AslRunContext; stepId: string; attempt: number },
  visit: number,
): StepMessage & { attempt: number; idempotencyKey: string } {
  const attempt = payload.attempt + 1;
  const step = aslStep(payload, visit);
  return { ...step, attempt, idempotencyKey: idempotencyKey(step.runId, step.stepId, visit, attempt) };
}

/** The step a GCP body comes from. */
export function gcpStep(body: GcpStepBody): StepMessage {
  const { workflowId, runId, stepId, visit, identity } = body;
  return { workflowId, runId, stepId, visit, identity };
}

/** A GCP tool or notify body's step and attempt. */
export function gcpAttempt(
  body: GcpStepBody & { attempt: number },
): StepMessage & { attempt: number; idempotencyKey: string } {
  const { runId, stepId, visit, attempt } = body;
  return { ...gcpStep(body), attempt, idempotencyKey: idempotencyKey(runId, stepId, visit, attempt) };
}
