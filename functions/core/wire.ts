// What compiled definitions send to the handlers, per target: the payloads an ASL Task passes to a Lambda
// and the bodies a GCP workflow posts to a function, and what comes back. A handler turns them into the
// host-independent messages of protocol.ts (ToolCallRequest, NotifyRequest, ApprovalRequest, ...) by
// resolving the static templates against the variables with the shared resolveTemplate; so `args`,
// `message`, `to`, `approvers` and `time` travel as the IR's template JSON, never pre-resolved.
// Documented in docs/task-protocol.md ("Compiled payloads").
import type { IrApprovalRequire, IrRetry } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import type { RunStart } from './orchestrator.js';
import {
  type ApprovalClose,
  type ApprovalRequestResult,
  type Identity,
  identityJson,
  type RunError,
} from './protocol.js';

/** The run's variables as the compiled definition holds them (a branch: its own copy). */
export type WireVars = Record<string, JsonValue>;

// ---- AWS Step Functions (the Task's Parameters / Payload) -------------------------------------------

/** `$.ctx`: set once by whoever starts the execution. */
export interface AslRunContext {
  runId: string;
  workflowId: string;
  identity: Identity;
  /** A delegated run's token owner (`RunTrigger.by`): a requester, like `identity`. */
  by?: string;
}

/** An execution's input: the state document a compiled machine starts from (translator/emit/aws-asl.ts). */
export interface AslExecutionInput {
  ctx: AslRunContext;
  vars: WireVars;
}

/**
 * The execution input of a run started at `startedAt` (ms since epoch): `$.ctx` (who the run acts for, and
 * a delegated run's token owner) and `$.vars`, the inputs with the built-ins `trigger` and `run` set after
 * them, as the embedded orchestrator sets them, so an input field never shadows a built-in.
 */
export function aslExecutionInput(
  start: Pick<RunStart, 'runId' | 'workflowId' | 'input' | 'trigger'>,
  startedAt: number,
): AslExecutionInput {
  const { runId, workflowId, trigger } = start;
  return {
    ctx: {
      runId,
      workflowId,
      identity: trigger.user,
      ...(typeof trigger.by === 'string' ? { by: trigger.by } : {}),
    },
    vars: {
      ...start.input,
      trigger: { type: trigger.type, user: identityJson(trigger.user) },
      run: { id: runId, startedAt: new Date(startedAt).toISOString(), workflowId },
    },
  };
}

interface AslStepPayload {
  ctx: AslRunContext;
  stepId: string;
  /** `$$.State.RetryCount`: 0 on the first attempt of a visit. */
  attempt: number;
  /**
   * `$$.State.EnteredTime`: distinct per visit of the state, stable across its retries (see `aslVisit`,
   * functions/core/handlers/visits.ts).
   */
  enteredTime: string;
  vars: WireVars;
}

export interface AslToolCallPayload extends AslStepPayload {
  activity: 'tool.call';
  server: string | null;
  tool: string;
  /** The IR template of the arguments, as JSON text. */
  args: string;
  timeoutMs: number | null;
}

export interface AslNotifyPayload extends AslStepPayload {
  activity: 'notify.send';
  channel: 'email' | 'slack' | 'teams' | 'sms';
  /** JSON text of the recipients' IR templates. */
  to: string;
  subject: string | null;
  message: string;
}

/**
 * `lambda:invoke.waitForTaskToken`'s Payload. The request handler keeps `taskToken` on the level's approval
 * record (its callback handle, encrypted at rest); the decision handler answers it from there.
 */
export interface AslApprovalPayload {
  activity: 'approval.request';
  ctx: AslRunContext;
  stepId: string;
  output: string;
  level: number;
  /** JSON text of the level's IrApprover list. */
  approvers: string;
  require: IrApprovalRequire;
  message: string;
  /** JSON text of the step's IrApprovalContext (absent: compiled before approvals carried context). */
  context?: string;
  timeoutMs: number | null;
  /** Without onReject a rejection fails the step: the SendTaskFailure cause then carries `error`. */
  rejectFails: boolean;
  /** Whether the cause carries the step's result (not when a failure leaves a branch: it commits nothing). */
  rejectKeepsResult: boolean;
  /** The step's `allowSelfApproval` (absent: the run's requesters are not approvers). */
  allowSelfApproval?: true;
  /** `$$.State.EnteredTime` of the level's state: level 1's numbers the step's visit (see `aslVisit`). */
  enteredTime: string;
  taskToken: string;
  vars: WireVars;
}

/** A finished branch of a `require: N` Parallel, counted by the quorum handler. */
export interface AslQuorumPayload {
  activity: 'quorum';
  ctx: AslRunContext;
  stepId: string;
  branch: number;
  branches: number;
  require: number;
  outcome: 'succeeded' | 'failed';
  /** The branch's result overlay (what the join commits if the branch counts). */
  written: WireVars;
  /** A failed branch's caught error (`{ Error, Cause }`). */
  error?: { Error: string; Cause: string };
}

// ---- GCP Workflows (http.post bodies to the functions named in `sg.functions`) ----------------------

export interface GcpStepBody {
  workflowId: string;
  runId: string;
  stepId: string;
  /** `visits.<step>`: 1 on the step's first visit. */
  visit: number;
  identity: Identity;
}

/** tool.call / notify.send: acknowledged at once, answered later on `callbackUrl` (GcpActivityCallback). */
export interface GcpToolCallBody extends GcpStepBody {
  kind: 'tool.call';
  attempt: number;
  server: string | null;
  tool: string;
  args: string;
  timeoutMs: number | null;
  vars: WireVars;
  callbackUrl: string;
}

export interface GcpNotifyBody extends GcpStepBody {
  kind: 'notify.send';
  attempt: number;
  channel: 'email' | 'slack' | 'teams' | 'sms';
  to: string;
  subject: string | null;
  message: string;
  vars: WireVars;
  callbackUrl: string;
}

export type GcpActivityAck = { accepted: true };

/** Posted to an activity's callback URL when the work is done. */
export type GcpActivityCallback =
  | { ok: true; result: JsonValue }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** approval.request: answered at once; the decision handler later posts the ApprovalOutcome to `eventName`. */
export interface GcpApprovalRequestBody extends GcpStepBody {
  level: number;
  approvers: string;
  require: IrApprovalRequire;
  message: string;
  /** JSON text of the step's IrApprovalContext (absent: compiled before approvals carried context). */
  context?: string;
  timeoutMs: number | null;
  /** The level's callback URL: the decision is posted there. */
  eventName: string;
  vars: WireVars;
  /** `sg.by`: a delegated run's token owner (`RunTrigger.by`), a requester like `identity`; else null. */
  by: string | null;
  /** The step's `allowSelfApproval` (absent: the run's requesters are not approvers). */
  allowSelfApproval?: true;
}

export type GcpApprovalRequestResponse =
  | { ok: true; result: ApprovalRequestResult }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

export type GcpApprovalCloseBody = ApprovalClose;

/** The delay before the next attempt (the shared backoffDelay, jitter included). */
export interface GcpBackoffBody {
  retry: IrRetry;
  runId: string;
  stepId: string;
  visit: number;
  attempt: number;
  /** In a branch: a callback URL the handler answers with GcpWaitCallback once the delay has passed. */
  wakeUrl?: string;
}

export interface GcpBackoffResponse {
  delayMs: number;
}

/** A delay's `until`: the template resolved to an ISO-8601 time. */
export interface GcpResolveTimeBody {
  stepId: string;
  time: string;
  vars: WireVars;
  wakeUrl?: string;
}

export type GcpResolveTimeResponse = { fireAt: number; waitMs: number } | { fireAt: null; error: RunError };

/** Posted to a branch's wait callback: the wait is over, or the branch's parallel was decided. */
export type GcpWaitCallback = { wake: true } | { cancelled: true };

/**
 * run.end: what a deployed GCP workflow posts to `sg.functions.runEnd` as its last act (its `main` wraps
 * the compiled one, see the deployer): the outcome it returned, or the one it raised. A cancelled execution
 * posts nothing; whoever cancels it (the cancel route, the run-timeout task) records the end.
 */
export interface GcpRunEndBody {
  runId: string;
  outcome: { status: string; error: RunError | null; vars: WireVars };
}
