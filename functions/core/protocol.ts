// The messages between the orchestrator and the activities it calls (tool call, notify, approval
// request/close) and the event an approval decision raises. Every host uses these types; secrets are
// never part of them — only identity is.

import { ERROR_CODE } from '../../translator/error-codes.js';
import type { IrApprovalRequire } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import { normalizeEmail } from './identity.js';

export const ACTIVITY = {
  toolCall: 'tool.call',
  notify: 'notify.send',
  approvalRequest: 'approval.request',
  approvalClose: 'approval.close',
} as const;
export type ActivityName = (typeof ACTIVITY)[keyof typeof ACTIVITY];

/** Who a run acts for: the user who triggered it, or a schedule's or webhook's configured identity. */
export interface Identity {
  email: string;
  role: string;
  groups: string[];
  manager: string | null;
  name?: string | null;
  /** A service account (a webhook's `runAs`): present, and true, only for one. Nobody logs in as it. */
  service?: boolean;
}

export type TriggerType = 'manual' | 'webhook' | 'schedule' | 'chat';

export interface RunTrigger {
  type: TriggerType;
  /** Who the run acts as: the person, or a webhook's `runAs` service account. */
  user: Identity;
  /** Who started it when that is not `user`: the owner of the API token a `runAs` webhook was called with. */
  by?: string;
}

/**
 * Who asked for a run, normalised: the user it acts for and, for a delegated run, the token owner who
 * started it. Separation of duties leaves them out of the run's approvers (unless a step allows it).
 */
export function requestersOf(trigger: { user: Pick<Identity, 'email'>; by?: string | null }): string[] {
  const requesters = [normalizeEmail(trigger.user.email)];
  if (typeof trigger.by === 'string') requesters.push(normalizeEmail(trigger.by));
  return [...new Set(requesters)];
}

/** An identity as a workflow sees it (`trigger.user`), the same on every target. */
export function identityJson(identity: Identity): JsonValue {
  return {
    email: identity.email,
    role: identity.role,
    groups: identity.groups,
    manager: identity.manager,
    name: identity.name ?? null,
  };
}

export interface StepMessage {
  workflowId: string;
  runId: string;
  stepId: string;
  /** 1 on the step's first visit; a loop through an approval or delay visits a step again. */
  visit: number;
  identity: Identity;
}

export interface ToolCallRequest extends StepMessage {
  attempt: number;
  /** Stable across redeliveries of the same attempt: `runId:stepId:attempt` (`stepId#visit` after the first visit). */
  idempotencyKey: string;
  server: string | null;
  tool: string;
  args: JsonValue;
  timeoutMs: number | null;
}

/** The `$ref` of a ResultRef. */
export const RESULT_REF = 'stepgate-result';

/**
 * What a tool step's variable holds instead of a result whose JSON exceeds `RESULT_INLINE_LIMIT_BYTES`:
 * the handler stored the full JSON (`functions/core/results.ts`) and returns this reference, so the run's
 * state (a Step Functions document is at most 256 KB) never carries it. Templates and conditions can read
 * `uri`, `bytes`, `sha256` and `preview`; fields of the original result are not there. `$ref` marks the
 * object as a reference (it is not a valid path segment, so no template reads it). About 0.5 KB.
 */
export interface ResultRef {
  $ref: typeof RESULT_REF;
  /** Where the full JSON lives: `sqlite:tool_results/...` locally, the deployment's blob store elsewhere. */
  uri: string;
  /** Size of the stored JSON text in UTF-8 bytes. */
  bytes: number;
  /** SHA-256 of the stored JSON text (UTF-8), lower-case hex. */
  sha256: string;
  /** The first `RESULT_PREVIEW_CHARS` characters of the JSON text (never a half surrogate pair). */
  preview: string;
}

/**
 * Tool results whose JSON is larger than this (UTF-8 bytes) are stored and referenced. 16 KiB keeps any
 * one inline result at 1/16 of Step Functions' 256 KB state document, which also holds the inputs, trigger,
 * approval results and every other step's result (and is copied into each parallel branch): fifteen
 * results at the limit still fit. It is 1/32 of a GCP execution's 512 KB of variables, and below the 64 KB
 * Azure Storage queue message and table property limits (a 16 KiB ASCII JSON text is 32 KB as UTF-16), so
 * Durable Functions never takes its large-message blob path for a tool result.
 */
export const RESULT_INLINE_LIMIT_BYTES = 16 * 1024;

/** How much of an offloaded result's JSON text its ResultRef repeats as `preview`. */
export const RESULT_PREVIEW_CHARS = 200;

export function isResultRef(value: unknown): value is ResultRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    v.$ref === RESULT_REF &&
    typeof v.uri === 'string' &&
    typeof v.bytes === 'number' &&
    typeof v.sha256 === 'string' &&
    typeof v.preview === 'string'
  );
}

export interface NotifyRequest extends StepMessage {
  attempt: number;
  idempotencyKey: string;
  channel: 'email' | 'slack' | 'teams' | 'sms';
  to: string[];
  subject: string | null;
  message: string;
}

export interface ApprovalContextEntry {
  /** A detail's label, an input's name, or the id of the step whose result it is. */
  label: string;
  value: JsonValue;
}

/** What a request shows beside its message (approval-context.ts), rendered when the level is requested. */
export interface ApprovalContext {
  details: ApprovalContextEntry[];
  inputs: ApprovalContextEntry[];
  /** The latest step results, oldest first. */
  results: ApprovalContextEntry[];
}

export interface ApprovalRequest extends StepMessage {
  level: number;
  /** Emails, role:NAME or group:NAME, templates already resolved. */
  approvers: string[];
  require: IrApprovalRequire;
  message: string;
  /** The step's details, the run's inputs and latest results; absent from a request made before. */
  context?: ApprovalContext;
  /** When this level times out (ms since epoch), or null. */
  deadline: number | null;
  /** The event the decision raises on the run once the level is decided. */
  eventName: string;
  /** Who asked for the run (`requestersOf`): left out of the approvers, and refused if they decide. */
  requesters: string[];
  /** The step's `allowSelfApproval`: the requesters stay approvers (their decisions are marked). */
  allowSelfApproval: boolean;
  /**
   * The host's handle to resume the run once the level is decided, where the event name is not enough (a
   * Step Functions task token with how to answer it): kept on the approval record, encrypted at rest, and
   * handed back to `raiseEvent`. Absent on the embedded engine and Azure, whose runs wait on the event.
   */
  callback?: string | null;
}

export interface ApprovalRequestResult {
  /** The concrete approvers (emails) the request went to. */
  approvers: string[];
}

export interface ApprovalClose {
  runId: string;
  stepId: string;
  visit: number;
  level: number;
  reason: 'timeout' | 'cancelled' | 'run-ended';
}

export interface ApprovalDecisionEntry {
  by: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  at: string;
  channel?: string;
  /** The decider asked for the run themselves; only where the step allows self-approval. */
  selfApproval?: true;
}

/** The payload of the approval event: the level's outcome, counted by the decision handler. */
export interface ApprovalOutcome {
  approved: boolean;
  decidedBy: string | null;
  comment: string | null;
  decisions: ApprovalDecisionEntry[];
}

/** What an approval step stores under its output. */
export interface ApprovalResult extends ApprovalOutcome {
  level: number;
  timedOut: boolean;
}

/** Why an activity failed (the durable port's task error, durable.ts). */
export interface TaskError {
  code: string;
  message: string;
  /** false: retrying cannot help (e.g. a policy denial). */
  retryable?: boolean;
}

export interface RunError extends TaskError {
  step: string | null;
}

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';
export type FinalStatus = Exclude<RunStatus, 'running'>;

export interface RunOutcome {
  status: FinalStatus;
  error: RunError | null;
  /** The run's variables at the end: inputs and step results (trigger and run omitted). */
  vars: Record<string, JsonValue>;
}

/** The event that cancels a run. */
export const CANCEL_EVENT = '$cancel';

export function approvalEventName(stepId: string, visit: number, level: number): string {
  return `approval:${stepId}:${visit}:${level}`;
}

/** One visit of a step, the same for all its attempts: `runId:stepId`, `runId:stepId#visit` after the first. */
export function operationKey(runId: string, stepId: string, visit: number): string {
  return `${runId}:${visit === 1 ? stepId : `${stepId}#${visit}`}`;
}

export function idempotencyKey(runId: string, stepId: string, visit: number, attempt: number): string {
  return `${operationKey(runId, stepId, visit)}:${attempt}`;
}

/** The argument keys only the tool pipeline sets: identity, and the key that makes a retried call act once. */
export const IDENTITY_ARGS = ['_user_email', '_user_role', '_user_groups'] as const;
export const IDEMPOTENCY_ARG = '_idempotency_key';

/**
 * A tool step's arguments without the keys the pipeline owns. What a workflow writes there never reaches the
 * tool (the pipeline overwrites or drops it), so the history and approval previews must not show it either.
 */
export function authoredArgs<T>(args: T): T {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return args;
  const own = { ...(args as Record<string, unknown>) };
  for (const key of [...IDENTITY_ARGS, IDEMPOTENCY_ARG]) delete own[key];
  return own as T;
}

/** Error codes the engine itself raises (from the one catalog, translator/error-codes.ts). */
export const ERROR = {
  rejected: ERROR_CODE.rejected,
  approvalTimeout: ERROR_CODE.approvalTimeout,
  timeout: ERROR_CODE.timeout,
  invalidTime: ERROR_CODE.invalidTime,
  noApprovers: ERROR_CODE.noApprovers,
  unknown: ERROR_CODE.unknown,
  unknownStep: ERROR_CODE.unknownStep,
} as const;
