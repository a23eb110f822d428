// The `approval.request` activity on every host: the compiled payloads decoded into an ApprovalRequest
// (approvers and message rendered, the deadline from the level's timeout, the run's requesters) and opened
// by the ApprovalService. A state machine requests one level per Lambda call and cannot count the step's
// visits: the ASL handler enters a visit on the StepVisits port at level 1 and reads it at later levels.
import type { IrApprover } from '../../../translator/ir.js';
import type { Template } from '../../../translator/template.js';
import { parseApprovalContext, renderApprovalContext } from '../approval-context.js';
import type { ApprovalService } from '../approvals.js';
import type { Clock, StepVisits } from '../ports.js';
import {
  type ApprovalRequest,
  type ApprovalRequestResult,
  approvalEventName,
  requestersOf,
} from '../protocol.js';
import { approverSpecs, renderText } from '../render.js';
import type {
  AslApprovalPayload,
  GcpApprovalRequestBody,
  GcpApprovalRequestResponse,
  WireVars,
} from '../wire.js';
import { aslActivityFailure, gcpFailure } from './answers.js';
import { aslCallback } from './approval-decision.js';
import { aslStep, gcpStep } from './step.js';

/** The fields both targets render the same way: approvers, message, context and deadline. */
function rendered(
  wire: { approvers: string; message: string; context?: string; timeoutMs: number | null },
  vars: WireVars,
  now: number,
): Pick<ApprovalRequest, 'approvers' | 'message' | 'context' | 'deadline'> {
  const context = renderApprovalContext(parseApprovalContext(wire.context), vars);
  return {
    approvers: (JSON.parse(wire.approvers) as IrApprover[]).flatMap((a) => approverSpecs(a, vars)),
    message: renderText(JSON.parse(wire.message) as Template, vars),
    ...(context === undefined ? {} : { context }),
    deadline: wire.timeoutMs === null ? null : now + wire.timeoutMs,
  };
}

/** An ASL Task's payload as the request of the step's `visit`; `now` is when the level opens. */
export function approvalRequestFromAsl(
  payload: AslApprovalPayload,
  visit: number,
  now: number,
): ApprovalRequest {
  const { ctx, stepId, level } = payload;
  return {
    ...aslStep(payload, visit),
    level,
    require: payload.require,
    ...rendered(payload, payload.vars, now),
    eventName: approvalEventName(stepId, visit, level),
    requesters: requestersOf({ user: ctx.identity, by: ctx.by ?? null }),
    allowSelfApproval: payload.allowSelfApproval === true,
    callback: aslCallback(payload),
  };
}

/** A GCP workflow's `approval.request` body as a request; `now` is when the level opens. */
export function approvalRequestFromGcp(body: GcpApprovalRequestBody, now: number): ApprovalRequest {
  return {
    ...gcpStep(body),
    level: body.level,
    require: body.require,
    ...rendered(body, body.vars, now),
    eventName: body.eventName,
    requesters: requestersOf({ user: body.identity, by: body.by }),
    allowSelfApproval: body.allowSelfApproval === true,
  };
}

/** Opens a level the orchestrator asked for directly (the embedded engine, Azure): the message needs no decoding. */
export function openApproval(
  approvals: Pick<ApprovalService, 'request'>,
  request: ApprovalRequest,
): Promise<ApprovalRequestResult> {
  return approvals.request(request);
}

export interface ApprovalRequestPorts {
  approvals: Pick<ApprovalService, 'request' | 'close'>;
  clock: Clock;
  /** Counts the visits of a step a state machine asks for (ASL only). */
  visits?: StepVisits;
}

/**
 * The request an ASL Task asks for: the step's next visit entered at level 1 (the current one read at later
 * levels), the payload decoded at the clock's now.
 */
export async function aslApprovalRequest(
  ports: Pick<ApprovalRequestPorts, 'clock' | 'visits'>,
  payload: AslApprovalPayload,
): Promise<ApprovalRequest> {
  const { runId } = payload.ctx;
  const visits = ports.visits;
  if (visits === undefined) throw new Error('the ASL approval handler needs a StepVisits port');
  // Level 1 is the visit's first state: its entered time numbers the visit, so a retried invocation (the
  // Lambda service's own retries) opens the same level again, not a second visit. A later level is a state
  // of the same visit: the latest one.
  const visit =
    payload.level === 1
      ? await visits.visitAt(runId, payload.stepId, payload.enteredTime)
      : Math.max(1, await visits.latest(runId, payload.stepId));
  return approvalRequestFromAsl(payload, visit, ports.clock.now());
}

/**
 * Opens an ASL Task's level; a failure is thrown as the Lambda error the state machine catches. A later
 * level's state is entered only when the previous level timed out (or had nobody to ask): that level is
 * closed first, so its links and inbox entries are refused from then on — a state machine has no other
 * moment to say so (the embedded engine closes it when its timer fires).
 */
export async function openAslApproval(
  approvals: Pick<ApprovalService, 'request' | 'close'>,
  request: ApprovalRequest,
): Promise<ApprovalRequestResult> {
  try {
    const { runId, stepId, visit, level } = request;
    if (level > 1) await approvals.close({ runId, stepId, visit, level: level - 1, reason: 'timeout' });
    return await approvals.request(request);
  } catch (error) {
    throw aslActivityFailure(error, request.stepId);
  }
}

/**
 * The ASL handler (`lambda:invoke.waitForTaskToken`): counts the visit, opens the level and answers the
 * request it opened; the level's decision answers the task token later (approval-decision.ts).
 */
export async function requestAslApproval(
  ports: ApprovalRequestPorts,
  payload: AslApprovalPayload,
): Promise<ApprovalRequest> {
  const request = await aslApprovalRequest(ports, payload);
  await openAslApproval(ports.approvals, request);
  return request;
}

/** The GCP handler: opens the level and answers at once; the decision later posts to `eventName`. */
export async function requestGcpApproval(
  ports: ApprovalRequestPorts,
  body: GcpApprovalRequestBody,
): Promise<GcpApprovalRequestResponse> {
  try {
    return {
      ok: true,
      result: await ports.approvals.request(approvalRequestFromGcp(body, ports.clock.now())),
    };
  } catch (error) {
    return gcpFailure(error);
  }
}
