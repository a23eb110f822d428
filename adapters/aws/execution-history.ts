// A Step Functions execution's history (GetExecutionHistory) read as the step entries of a run's audit
// trail: the same AuditEntry types the embedded orchestrator writes for steps, so the run view draws a run
// on AWS as it draws one run locally. The handler Lambdas write the rest of the trail themselves (the tool
// pipeline's stages, approval requests, notifications and decisions); the host writes the run entries.
//
// State names are the compiled machine's (translator/emit/aws-asl.ts): a step's state is named by its id,
// helper states `<id>.<something>` (an approval's further levels are `<id>.level<n>`), and step ids have no
// dot. An event that names no state belongs to the state its `previousEventId` chain leads to. The mapping:
//
// | history | audit entry |
// | --- | --- |
// | `<kind>StateEntered` of a step's own state | `step.entered` {kind (from the IR), visit (1, 2, ... per step)} |
// | tool/notify: `LambdaFunctionScheduled` (or `TaskScheduled`) | `attempt.started` {attempt, idempotencyKey, the request as the handler decodes it from the payload} |
// | tool/notify: `…Succeeded` | `attempt.finished` {ok: true} |
// | tool/notify: `…Failed`, `…TimedOut`, `…StartFailed`, `…ScheduleFailed` | `attempt.finished` {ok: false, error} (code and message from the handler's cause) |
// | tool/notify: a further `…Scheduled` after a failure | `retry.scheduled` {attempt failed, delayMs}, at the failure's time |
// | tool/notify: the step's state exited after a success | `step.finished` ({output, result} / {delivered, result}) |
// | tool/notify: exited after a failure (caught), or the execution ended with it | `step.error-handled` {error, next} with an onError, else `step.failed` |
// | approval: `TaskSucceeded` then exit | `step.finished` {approved, level, decidedBy} |
// | approval: `TaskFailed` `Stepgate.Rejected` | `step.finished` {approved: false, level, decidedBy} (from the cause's result) |
// | approval: `TaskTimedOut` / `TaskFailed` `States.Timeout` | `approval.timed-out` {level, escalatesTo}; after the last level `step.finished` {approved: false, timedOut: true} |
// | `ChoiceStateExited` | `step.finished` {condition, result: whether the next state entered is its onTrue} |
// | `WaitStateExited` | `step.finished` {} |
// | `ParallelStateExited` | `step.finished` {ok: true}; after `ParallelStateFailed` (not a reached quorum) `step.failed` / `step.error-handled` |
//
// Not derived: `branch.*` (a Parallel's branches are not named in the history) and `timer.started` (a Wait's
// fire time is not either). The entries carry the events' timestamps; the host merges them with the
// table's trail in time order.
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { AuditEntry } from '../../functions/core/audit.js';
import { notifyFromAsl } from '../../functions/core/handlers/notify.js';
import { toolCallFromAsl } from '../../functions/core/handlers/tool-call.js';
import { authoredArgs, type RunError, type TaskError } from '../../functions/core/protocol.js';
import type { AslNotifyPayload, AslToolCallPayload } from '../../functions/core/wire.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { END, type IrGraph, type IrNode, type IrWorkflow } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';

/** An audit entry derived from the history, at the time of the event it came from. */
export interface HistoryEntry {
  at: number;
  entry: AuditEntry;
}

/** How an approval step finished (`step.finished`'s data for an approval). */
type ApprovalFinish =
  | { approved: boolean; level: number; decidedBy: string | null }
  | { approved: false; timedOut: true; level: number };

/** What one visit of a step has seen so far. */
interface StepState {
  node: IrNode;
  visit: number;
  attempt: number;
  level: number;
  /** The last attempt's failure (cleared by a success), for a retry or the step's error. */
  failure: { at: number; error: TaskError } | undefined;
  result: JsonValue | undefined;
  /** An approval's outcome, once its task was answered. */
  approval: ApprovalFinish | undefined;
  ended: boolean;
}

/** The step entries of an execution's history (oldest first), for a run of `ir` with id `runId`. */
export function historyEntries(runId: string, ir: IrWorkflow, events: HistoryEvent[]): HistoryEntry[] {
  const reader = new HistoryReader(runId, nodesOf(ir.graph, new Map()));
  for (const event of events) reader.read(event);
  return reader.finish();
}

class HistoryReader {
  private readonly out: HistoryEntry[] = [];
  /** The state each event belongs to, by event id. */
  private readonly owner = new Map<number, string>();
  private readonly visits = new Map<string, number>();
  private readonly steps = new Map<string, StepState>();
  /** Choice states exited, by event id, waiting for the state they lead to. */
  private readonly choices = new Map<number, StepState>();

  constructor(
    private readonly runId: string,
    private readonly nodes: Map<string, IrNode>,
  ) {}

  read(event: HistoryEvent): void {
    const at = event.timestamp instanceof Date ? event.timestamp.getTime() : Number(event.timestamp ?? 0);
    const type = event.type ?? '';
    const entered = event.stateEnteredEventDetails?.name;
    const name =
      entered ?? event.stateExitedEventDetails?.name ?? this.owner.get(event.previousEventId ?? -1);
    if (event.id !== undefined && name !== undefined) this.owner.set(event.id, name);
    if (entered !== undefined) {
      this.enter(entered, event, at);
      return;
    }
    const step = name === undefined ? undefined : this.steps.get(name.split('.')[0] ?? '');
    if (step === undefined || step.ended) return;
    if (type.endsWith('StateExited')) this.exit(step, event, at);
    else if (step.node.kind === 'approval') this.approvalEvent(step, event, at);
    else if (step.node.kind === 'tool' || step.node.kind === 'notify') this.taskEvent(step, event, at);
    else if (type === 'ParallelStateFailed') step.failure = { at, error: failureOf(event) };
  }

  /** Steps that failed without leaving their state: the execution ended with their error. */
  finish(): HistoryEntry[] {
    for (const step of this.steps.values())
      if (!step.ended && step.failure !== undefined) this.failed(step, step.failure.at);
    return this.out;
  }

  private push(at: number, entry: AuditEntry): void {
    this.out.push({ at, entry });
  }

  private enter(name: string, event: HistoryEvent, at: number): void {
    const choice = this.choices.get(event.previousEventId ?? -1);
    if (choice !== undefined && choice.node.kind === 'condition') {
      // The compiled machine ends a path in its `(end)` state (translator/emit/aws-asl.ts).
      const target = name === '(end)' ? END : name.split('.')[0];
      const result = target === choice.node.onTrue;
      this.push(at, {
        type: 'step.finished',
        step: choice.node.id,
        data: { condition: choice.node.expression, result },
      });
      choice.ended = true;
    }
    const [id = '', helper] = name.split('.');
    const node = this.nodes.get(id);
    if (node === undefined) return;
    if (helper !== undefined) {
      const level = /^level(\d+)$/.exec(helper);
      const step = this.steps.get(id);
      if (level !== null && step !== undefined) step.level = Number(level[1]);
      return;
    }
    const visit = (this.visits.get(id) ?? 0) + 1;
    this.visits.set(id, visit);
    this.steps.set(id, {
      node,
      visit,
      attempt: 0,
      level: 1,
      failure: undefined,
      result: undefined,
      approval: undefined,
      ended: false,
    });
    this.push(at, { type: 'step.entered', step: id, data: { kind: node.kind, visit } });
  }

  private taskEvent(step: StepState, event: HistoryEvent, at: number): void {
    const type = event.type ?? '';
    const id = step.node.id;
    if (type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') {
      if (step.failure !== undefined)
        this.push(step.failure.at, {
          type: 'retry.scheduled',
          step: id,
          data: { attempt: step.attempt, delayMs: Math.max(0, at - step.failure.at) },
        });
      step.attempt++;
      step.failure = undefined;
      const input =
        event.lambdaFunctionScheduledEventDetails?.input ?? event.taskScheduledEventDetails?.parameters;
      this.push(at, { type: 'attempt.started', step: id, data: this.attemptInput(step, input) });
      return;
    }
    if (type === 'LambdaFunctionSucceeded' || type === 'TaskSucceeded') {
      const output =
        event.lambdaFunctionSucceededEventDetails?.output ?? event.taskSucceededEventDetails?.output;
      step.result = parseJson(output) as JsonValue;
      this.push(at, { type: 'attempt.finished', step: id, data: { attempt: step.attempt, ok: true } });
      return;
    }
    if (/^(LambdaFunction|Task)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$/.test(type)) {
      const error = failureOf(event);
      step.failure = { at, error };
      this.push(at, {
        type: 'attempt.finished',
        step: id,
        data: { attempt: step.attempt, ok: false, error },
      });
    }
  }

  /** An attempt's input as the handler decoded it from the Task's payload (`attempt.started`'s data). */
  private attemptInput(
    step: StepState,
    input: string | undefined,
  ): Extract<AuditEntry, { type: 'attempt.started' }>['data'] {
    const payload = parseJson(input) as (AslToolCallPayload & AslNotifyPayload) | undefined;
    const base = { attempt: step.attempt, idempotencyKey: `${this.runId}:${step.node.id}:${step.attempt}` };
    if (payload === undefined || typeof payload !== 'object')
      return { ...base, tool: step.node.id, args: null };
    if (step.node.kind === 'notify') {
      const request = notifyFromAsl(payload, step.visit);
      const { channel, to, subject, message } = request;
      return { ...base, idempotencyKey: request.idempotencyKey, channel, to, subject, message };
    }
    const request = toolCallFromAsl(payload, step.visit);
    const tool = request.server ? `${request.server}/${request.tool}` : request.tool;
    return { ...base, idempotencyKey: request.idempotencyKey, tool, args: authoredArgs(request.args) };
  }

  private approvalEvent(step: StepState, event: HistoryEvent, at: number): void {
    if (step.node.kind !== 'approval') return;
    const type = event.type ?? '';
    if (type === 'TaskScheduled') {
      const level = (
        parseJson(event.taskScheduledEventDetails?.parameters) as { Payload?: { level?: unknown } }
      )?.Payload?.level;
      if (typeof level === 'number') step.level = level;
      return;
    }
    if (type === 'TaskSucceeded') {
      const result = parseJson(event.taskSucceededEventDetails?.output) as
        | Record<string, unknown>
        | undefined;
      step.approval = decided(result, step.level);
      return;
    }
    const error = failureOf(event);
    if (error.code === ERROR_CODE.rejected) {
      const cause = parseJson(event.taskFailedEventDetails?.cause) as Record<string, unknown> | undefined;
      const result = cause?.[step.node.output] as Record<string, unknown> | undefined;
      step.approval = { ...decided(result, step.level), approved: false };
      return;
    }
    if (type === 'TaskTimedOut' || error.code === 'States.Timeout') {
      const last = step.level >= step.node.levels.length;
      this.push(at, {
        type: 'approval.timed-out',
        step: step.node.id,
        data: { level: step.level, escalatesTo: last ? null : step.level + 1 },
      });
      if (last) step.approval = { approved: false, timedOut: true, level: step.level };
      return;
    }
    // A level with nobody to ask escalates like a timeout (the handler wrote `approval.no-approvers`).
    if (error.code === ERROR_CODE.noApprovers && step.level < step.node.levels.length) return;
    if (type.endsWith('Failed')) step.failure = { at, error };
  }

  private exit(step: StepState, event: HistoryEvent, at: number): void {
    const { node } = step;
    const name = event.stateExitedEventDetails?.name ?? '';
    if (node.kind === 'condition') {
      if (event.id !== undefined) this.choices.set(event.id, step);
      return;
    }
    if (node.kind === 'approval') {
      if (step.approval === undefined) {
        if (step.failure !== undefined) this.failed(step, at);
        return;
      }
      this.push(at, { type: 'step.finished', step: node.id, data: step.approval });
      step.ended = true;
      return;
    }
    if (name !== node.id) return;
    if (step.failure !== undefined) {
      this.failed(step, at);
      return;
    }
    const result = step.result ?? null;
    const data =
      node.kind === 'tool'
        ? { output: node.output, result }
        : node.kind === 'notify'
          ? { delivered: true as const, result }
          : node.kind === 'parallel'
            ? { ok: true as const }
            : {};
    this.push(at, { type: 'step.finished', step: node.id, data } as AuditEntry);
    step.ended = true;
  }

  /** The step ends with its last failure: handled when it has an onError, else failed. */
  private failed(step: StepState, at: number): void {
    const { node } = step;
    const failure = step.failure?.error ?? { code: 'States.Runtime', message: 'failed' };
    step.ended = true;
    if (failure.code === ERROR_CODE.quorumReached) {
      this.push(at, { type: 'step.finished', step: node.id, data: { ok: true } });
      return;
    }
    const error: RunError = { code: failure.code, message: failure.message, step: node.id };
    const onError = 'onError' in node ? node.onError : null;
    if (onError !== null)
      this.push(at, { type: 'step.error-handled', step: node.id, data: { error, next: onError } });
    else this.push(at, { type: 'step.failed', step: node.id, data: { error } });
  }
}

function decided(
  result: Record<string, unknown> | undefined,
  level: number,
): { approved: boolean; level: number; decidedBy: string | null } {
  return {
    approved: result?.approved === true,
    level: typeof result?.level === 'number' ? result.level : level,
    decidedBy: typeof result?.decidedBy === 'string' ? result.decidedBy : null,
  };
}

/**
 * A failure's error and cause as a TaskError. The handlers' cause is `{"error": {code, message, step}}`,
 * as it stands or as a Lambda error's `errorMessage`; any other cause is the message as it is.
 */
export function failureOf(event: HistoryEvent): TaskError {
  const details =
    event.lambdaFunctionFailedEventDetails ??
    event.lambdaFunctionTimedOutEventDetails ??
    event.lambdaFunctionStartFailedEventDetails ??
    event.lambdaFunctionScheduleFailedEventDetails ??
    event.taskFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.taskStartFailedEventDetails ??
    event.taskSubmitFailedEventDetails ??
    event.executionFailedEventDetails;
  return taskErrorOf(details?.error, details?.cause);
}

/** An error name and cause (a failed event's, an execution's) as a TaskError (see failureOf). */
export function taskErrorOf(
  errorName: string | null | undefined,
  causeText: string | null | undefined,
): TaskError {
  const name = errorName ?? 'States.Runtime';
  const cause = causeText ?? '';
  let parsed = parseJson(cause) as Record<string, unknown> | undefined;
  if (typeof parsed?.errorMessage === 'string') parsed = parseJson(parsed.errorMessage) as typeof parsed;
  const inner = parsed?.error as { code?: unknown; message?: unknown } | undefined;
  const error: TaskError = {
    code: typeof inner?.code === 'string' ? inner.code : name,
    message: typeof inner?.message === 'string' ? inner.message : cause || name,
  };
  if (name === ERROR_CODE.retryable) error.retryable = true;
  if (name === ERROR_CODE.fatal) error.retryable = false;
  return error;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function nodesOf(graph: IrGraph, into: Map<string, IrNode>): Map<string, IrNode> {
  for (const node of graph.nodes) {
    into.set(node.id, node);
    if (node.kind === 'parallel') for (const branch of node.branches) nodesOf(branch, into);
  }
  return into;
}
