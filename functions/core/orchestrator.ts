// The workflow semantics, written once: a deterministic orchestrator that walks the IR and yields durable
// tasks through the DurableContext port. It never reads a clock, draws a random number or does I/O except
// through that port, so replaying it over a run's history rebuilds exactly the same state.
//
// Parallel branches run as threads multiplexed by one scheduler: each thread is a generator that yields the
// tasks it waits for (the first of them to complete resumes it) or a fork; the scheduler waits for the
// first completion among all threads' tasks with one `any`, which both hosts provide.
import { formatIsoTime, parseIsoTime } from '../../translator/duration.js';
import { evaluateExpression } from '../../translator/expression.js';
import {
  backoffDelay,
  type Edge,
  END,
  type IrApproval,
  type IrDelay,
  type IrGraph,
  type IrNode,
  type IrNotify,
  type IrParallel,
  type IrRetry,
  type IrTool,
  type IrWorkflow,
  timedOutApproval,
} from '../../translator/ir.js';
import { type JsonValue, resolveTemplate } from '../../translator/template.js';
import { assertNever } from '../../translator/util.js';
import { renderApprovalContext } from './approval-context.js';
import { type AttemptInput, runStartedEntry } from './audit.js';
import type { DurableContext, DurableTask, Orchestration, TaskError, TimerTask } from './durable.js';
import {
  ACTIVITY,
  type ApprovalClose,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalRequestResult,
  type ApprovalResult,
  approvalEventName,
  authoredArgs,
  CANCEL_EVENT,
  ERROR,
  type FinalStatus,
  type Identity,
  idempotencyKey,
  identityJson,
  type NotifyRequest,
  type RunError,
  type RunOutcome,
  type RunTrigger,
  requestersOf,
  type ToolCallRequest,
} from './protocol.js';
import { approverSpecs, renderList, renderText } from './render.js';

/** Everything a run starts from; the orchestrator's input on every host. */
export interface RunStart {
  runId: string;
  workflowId: string;
  ir: IrWorkflow;
  /**
   * The stored version `ir` is (StoredWorkflowView.version), when the run starts from a stored workflow:
   * hosts that deploy each version (Step Functions) start the run on that version's deployment.
   */
  version?: number;
  input: Record<string, JsonValue>;
  trigger: RunTrigger;
}

type Vars = Record<string, JsonValue>;
type StepResult = { next: Edge } | { error: RunError };
type BranchEnd = { ok: true } | { ok: false; error: RunError };
interface Fork {
  fork: IrParallel;
}
type ThreadYield = readonly DurableTask[] | Fork;
type Thread = Generator<ThreadYield, BranchEnd, DurableTask | BranchEnd>;

interface ThreadState {
  gen: Thread;
  waiting: readonly DurableTask[];
  parent: ForkState | undefined;
  /** The variables this thread writes: the run's on the main thread, a branch's own copy-on-write layer. */
  scope: Scope;
  /** How the branch ended (set when it ends; a cancelled branch has none). */
  end: BranchEnd | undefined;
  forkState: ForkState | undefined;
  timers: Set<TimerTask>;
  approvals: Map<string, ApprovalClose>;
  /** The tool call or notification the thread is waiting on, if any: a cancelled thread leaves it running. */
  inFlight: InFlight | undefined;
  done: boolean;
}

/** An attempt's activity: which step and attempt it is, for the trail to say how it ended. */
interface InFlight {
  task: DurableTask;
  step: string;
  visit: number;
  attempt: number;
}

/** A thread's variables: writes go to `own`, reads see `own` over the enclosing scopes. */
interface Scope {
  own: Vars;
  parent: Scope | undefined;
}

interface ForkState {
  node: IrParallel;
  owner: ThreadState;
  children: ThreadState[];
  /** While the branches are being started, ends wait here: every branch starts before any can decide. */
  starting: ThreadState[] | undefined;
  succeeded: number;
  failed: number;
  firstError: RunError | undefined;
  done: boolean;
}

export function* orchestrate(ctx: DurableContext, start: RunStart): Orchestration<RunOutcome> {
  const run = new Run(ctx, start);
  return yield* run.execute();
}

class Run {
  private readonly vars: Vars;
  private readonly visits = new Map<string, number>();
  private readonly nodes = new Map<string, IrNode>();
  private threads: ThreadState[] = [];
  /**
   * Activities of cancelled branches still running: watched while the run lasts so that the trail says what
   * they did (a message sent after the join was decided was still sent), never resumed.
   */
  private orphans: InFlight[] = [];
  private outcome: { status: FinalStatus; error: RunError | null } | undefined;

  constructor(
    private readonly ctx: DurableContext,
    private readonly start: RunStart,
  ) {
    this.vars = { ...start.input };
    const index = (graph: IrGraph): void => {
      for (const node of graph.nodes) {
        this.nodes.set(node.id, node);
        if (node.kind === 'parallel') for (const branch of node.branches) index(branch);
      }
    };
    index(start.ir.graph);
  }

  *execute(): Orchestration<RunOutcome> {
    const { ctx, start } = this;
    // Built-ins are set after the input so that a stray input field cannot shadow them; the validator
    // keeps step outputs from using their names.
    this.vars.trigger = { type: start.trigger.type, user: identityJson(start.trigger.user) };
    this.vars.run = {
      id: start.runId,
      startedAt: formatIsoTime(ctx.now()),
      workflowId: start.workflowId,
    };
    ctx.record(runStartedEntry(start));
    const runTimer =
      start.ir.timeoutMs === null ? undefined : ctx.createTimer(ctx.now() + start.ir.timeoutMs);
    const cancel = ctx.waitForEvent(CANCEL_EVENT);
    this.spawn(start.ir.graph, undefined, { own: this.vars, parent: undefined });
    while (this.outcome === undefined) {
      this.threads = this.threads.filter((t) => !t.done);
      const waiting = this.threads.flatMap((t) => t.waiting);
      const extra = runTimer === undefined ? [cancel] : [cancel, runTimer];
      const winner = yield ctx.any([...waiting, ...this.orphans.map((o) => o.task), ...extra]);
      if (winner === runTimer) {
        ctx.record({ type: 'run.timed-out', data: { timeoutMs: start.ir.timeoutMs } });
        this.outcome = {
          status: 'timed_out',
          error: { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null },
        };
        break;
      }
      if (winner === cancel) {
        const by = (cancel.result as { by?: string } | null)?.by ?? null;
        ctx.record({ type: 'run.cancelled', data: { by } });
        this.outcome = { status: 'cancelled', error: null };
        break;
      }
      const orphan = this.orphans.find((o) => o.task === winner);
      if (orphan !== undefined) {
        this.orphans = this.orphans.filter((o) => o !== orphan);
        this.recordLate(orphan);
        continue;
      }
      const owner = this.threads.find((t) => !t.done && t.waiting.includes(winner));
      if (owner !== undefined) this.resume(owner, winner);
    }
    runTimer?.cancel();
    for (const thread of this.threads) if (!thread.done) this.cancelThread(thread, 'run-ended');
    const outcome = this.outcome;
    ctx.record({ type: 'run.finished', data: { status: outcome.status, error: outcome.error } });
    const { trigger: _trigger, run: _run, ...vars } = this.vars;
    return { status: outcome.status, error: outcome.error, vars };
  }

  /** How an activity of a cancelled branch ended, in the trail as its attempt's late end. */
  private recordLate({ task, step, visit, attempt }: InFlight): void {
    const error = task.error ?? { code: ERROR.unknown, message: 'the activity failed' };
    const late = { late: true as const, visit };
    this.ctx.record({
      type: 'attempt.finished',
      step,
      data: task.isFaulted ? { attempt, ok: false, error, ...late } : { attempt, ok: true, ...late },
    });
  }

  private spawn(graph: IrGraph, parent: ForkState | undefined, scope: Scope): ThreadState {
    const thread: ThreadState = {
      // Set right below: the generator needs the state it belongs to.
      gen: undefined as unknown as Thread,
      waiting: [],
      parent,
      scope,
      end: undefined,
      forkState: undefined,
      timers: new Set(),
      approvals: new Map(),
      inFlight: undefined,
      done: false,
    };
    thread.gen = this.walk(graph, thread);
    this.threads.push(thread);
    this.step(thread, thread.gen.next());
    return thread;
  }

  private resume(thread: ThreadState, value: DurableTask | BranchEnd): void {
    thread.waiting = [];
    this.step(thread, thread.gen.next(value));
  }

  private step(thread: ThreadState, result: IteratorResult<ThreadYield, BranchEnd>): void {
    if (result.done) {
      thread.done = true;
      this.finishThread(thread, result.value);
      return;
    }
    const yielded = result.value;
    if ('fork' in yielded) {
      const state: ForkState = {
        node: yielded.fork,
        owner: thread,
        children: [],
        succeeded: 0,
        failed: 0,
        firstError: undefined,
        done: false,
        starting: [] as ThreadState[],
      };
      const ended = state.starting as ThreadState[];
      thread.forkState = state;
      // Every branch starts (runs to its first wait) before a branch's end is counted, as on the clouds,
      // where the branches of a Parallel start together: a branch that ends at once cannot keep its
      // siblings from starting.
      yielded.fork.branches.forEach((branch, i) => {
        this.ctx.record({
          type: 'branch.started',
          step: yielded.fork.id,
          data: { branch: i, name: branch.name },
        });
        state.children.push(this.spawn(branch, state, { own: {}, parent: thread.scope }));
      });
      state.starting = undefined;
      for (const child of ended) this.finishThread(child, child.end as BranchEnd);
      return;
    }
    thread.waiting = yielded;
  }

  private finishThread(thread: ThreadState, end: BranchEnd): void {
    const fork = thread.parent;
    if (fork === undefined) {
      this.outcome = end.ok
        ? { status: 'completed', error: null }
        : { status: end.error.code === ERROR.approvalTimeout ? 'timed_out' : 'failed', error: end.error };
      return;
    }
    thread.end = end;
    if (fork.starting !== undefined) {
      fork.starting.push(thread);
      return;
    }
    if (fork.done) return;
    const index = fork.children.indexOf(thread);
    this.ctx.record({
      type: 'branch.finished',
      step: fork.node.id,
      data: {
        branch: index === -1 ? fork.children.length : index,
        ok: end.ok,
        ...(end.ok ? {} : { error: end.error }),
      },
    });
    if (end.ok) fork.succeeded++;
    else {
      fork.failed++;
      fork.firstError ??= end.error;
    }
    const total = fork.node.branches.length;
    const needed = fork.node.require === 'all' ? total : fork.node.require;
    const succeeded = fork.succeeded >= needed;
    const impossible = fork.failed > total - needed;
    if (!succeeded && !impossible) return;
    fork.done = true;
    for (const child of fork.children) {
      if (!child.done) {
        this.ctx.record({
          type: 'branch.cancelled',
          step: fork.node.id,
          data: { branch: fork.children.indexOf(child) },
        });
        this.cancelThread(child, 'cancelled');
      }
    }
    fork.owner.forkState = undefined;
    // A parallel commits at its join: the variables written by the branches that completed, in branch
    // order, each branch's `error` excepted (it belongs to the branch). A failed parallel commits nothing.
    if (succeeded) {
      for (const child of fork.children) {
        if (child.end?.ok !== true) continue;
        for (const [name, value] of Object.entries(child.scope.own))
          if (name !== 'error') fork.owner.scope.own[name] = value;
      }
    }
    const joined: BranchEnd = succeeded
      ? { ok: true }
      : { ok: false, error: fork.firstError ?? unknownError(fork.node.id) };
    this.resume(fork.owner, joined);
  }

  /** Stops a thread and everything under it: timers cancelled, open approval requests closed. */
  private cancelThread(thread: ThreadState, reason: ApprovalClose['reason']): void {
    if (thread.done) return;
    thread.done = true;
    thread.waiting = [];
    // A branch cancelled at its parallel's join leaves its call running; a run that ended watches no more.
    if (thread.inFlight !== undefined && reason === 'cancelled') this.orphans.push(thread.inFlight);
    thread.inFlight = undefined;
    for (const timer of thread.timers) timer.cancel();
    thread.timers.clear();
    for (const close of thread.approvals.values())
      this.ctx.callActivity(ACTIVITY.approvalClose, { ...close, reason });
    thread.approvals.clear();
    if (thread.forkState !== undefined) {
      thread.forkState.done = true;
      for (const child of thread.forkState.children) this.cancelThread(child, reason);
    }
    thread.gen.return({ ok: true });
  }

  private *walk(graph: IrGraph, thread: ThreadState): Thread {
    let at = graph.start;
    while (at !== END) {
      const node = this.nodes.get(at);
      if (node === undefined)
        return { ok: false, error: { code: ERROR.unknownStep, message: `no step '${at}'`, step: null } };
      const visit = (this.visits.get(node.id) ?? 0) + 1;
      this.visits.set(node.id, visit);
      this.ctx.record({ type: 'step.entered', step: node.id, data: { kind: node.kind, visit } });
      const result: StepResult = yield* this.node(node, visit, thread);
      if ('error' in result) {
        this.ctx.record({ type: 'step.failed', step: node.id, data: { error: result.error } });
        return { ok: false, error: result.error };
      }
      at = result.next;
    }
    return { ok: true };
  }

  private *node(
    node: IrNode,
    visit: number,
    thread: ThreadState,
  ): Generator<ThreadYield, StepResult, DurableTask | BranchEnd> {
    switch (node.kind) {
      case 'tool':
        return yield* this.tool(node, visit, thread);
      case 'notify':
        return yield* this.notify(node, visit, thread);
      case 'condition': {
        const value = evaluateExpression(node.condition, this.view(thread));
        this.ctx.record({
          type: 'step.finished',
          step: node.id,
          data: { condition: node.expression, result: value },
        });
        return { next: value ? node.onTrue : node.onFalse };
      }
      case 'approval':
        return yield* this.approval(node, visit, thread);
      case 'parallel': {
        // A failed parallel is atomic: its branches' writes were never committed (see finishThread), as a
        // Step Functions Parallel discards its branches' output.
        const joined = (yield { fork: node }) as BranchEnd;
        if (joined.ok) {
          this.ctx.record({ type: 'step.finished', step: node.id, data: { ok: true } });
          return { next: node.next };
        }
        return this.handled(node, joined.error, node.onError, thread);
      }
      case 'delay':
        return yield* this.delay(node, thread);
      default:
        return assertNever(node, 'IR node');
    }
  }

  /** The variables as `thread` sees them: its own writes over its enclosing scopes'. */
  private view(thread: ThreadState): Vars {
    const { scope } = thread;
    if (scope.parent === undefined) return scope.own;
    const layers: Vars[] = [];
    for (let s: Scope | undefined = scope; s !== undefined; s = s.parent) layers.push(s.own);
    return Object.assign({}, ...layers.reverse()) as Vars;
  }

  private handled(node: IrNode, error: RunError, onError: Edge | null, thread: ThreadState): StepResult {
    if (onError === null) return { error };
    thread.scope.own.error = errorJson(error);
    this.ctx.record({ type: 'step.error-handled', step: node.id, data: { error, next: onError } });
    return { next: onError };
  }

  private *tool(
    node: IrTool,
    visit: number,
    thread: ThreadState,
  ): Generator<ThreadYield, StepResult, DurableTask | BranchEnd> {
    const outcome = yield* this.attempts(node, visit, node.retry, node.timeoutMs, thread, (attempt, key) => {
      const request: ToolCallRequest = {
        ...this.stepMessage(node.id, visit),
        attempt,
        idempotencyKey: key,
        server: node.server,
        tool: node.tool,
        args: resolveTemplate(node.args, this.view(thread)),
        timeoutMs: node.timeoutMs,
      };
      return {
        name: ACTIVITY.toolCall,
        request,
        audit: {
          tool: node.server ? `${node.server}/${node.tool}` : node.tool,
          args: authoredArgs(request.args),
        },
      };
    });
    if (!outcome.ok) return this.handled(node, outcome.error, node.onError, thread);
    const value = toJson(outcome.result);
    thread.scope.own[node.output] = value;
    this.ctx.record({
      type: 'step.finished',
      step: node.id,
      data: { output: node.output, result: value },
    });
    return { next: node.next };
  }

  private *notify(
    node: IrNotify,
    visit: number,
    thread: ThreadState,
  ): Generator<ThreadYield, StepResult, DurableTask | BranchEnd> {
    const outcome = yield* this.attempts(node, visit, node.retry, node.timeoutMs, thread, (attempt, key) => {
      const view = this.view(thread);
      const request: NotifyRequest = {
        ...this.stepMessage(node.id, visit),
        attempt,
        idempotencyKey: key,
        channel: node.channel,
        to: node.to.flatMap((t) => renderList(t, view)),
        subject: node.subject === null ? null : renderText(node.subject, view),
        message: renderText(node.message, view),
      };
      return {
        name: ACTIVITY.notify,
        request,
        audit: {
          channel: request.channel,
          to: request.to,
          subject: request.subject,
          message: request.message,
        },
      };
    });
    if (!outcome.ok) return this.handled(node, outcome.error, node.onError, thread);
    this.ctx.record({
      type: 'step.finished',
      step: node.id,
      data: { delivered: true, result: toJson(outcome.result) },
    });
    return { next: node.next };
  }

  /** Attempts with per-attempt timeout and exponential backoff; each attempt carries its idempotency key. */
  private *attempts(
    node: IrTool | IrNotify,
    visit: number,
    retry: IrRetry,
    timeoutMs: number | null,
    thread: ThreadState,
    build: (attempt: number, key: string) => { name: string; request: unknown; audit: AttemptInput },
  ): Generator<
    ThreadYield,
    { ok: true; result: unknown } | { ok: false; error: RunError },
    DurableTask | BranchEnd
  > {
    let lastError: TaskError = { code: ERROR.unknown, message: 'no attempt was made' };
    for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
      const key = idempotencyKey(this.start.runId, node.id, visit, attempt);
      const { name, request, audit } = build(attempt, key);
      this.ctx.record({
        type: 'attempt.started',
        step: node.id,
        data: { attempt, idempotencyKey: key, ...audit },
      });
      const task = this.ctx.callActivity(name, request);
      const timer = timeoutMs === null ? undefined : this.timer(thread, this.ctx.now() + timeoutMs);
      thread.inFlight = { task, step: node.id, visit, attempt };
      const winner = (yield timer === undefined ? [task] : [task, timer]) as DurableTask;
      thread.inFlight = undefined;
      if (timer !== undefined) this.clearTimer(thread, timer);
      if (winner === timer) {
        lastError = { code: ERROR.timeout, message: `no result within ${timeoutMs} ms` };
      } else if (task.isFaulted) {
        lastError = task.error ?? { code: ERROR.unknown, message: 'the activity failed' };
      } else {
        this.ctx.record({ type: 'attempt.finished', step: node.id, data: { attempt, ok: true } });
        return { ok: true, result: task.result };
      }
      this.ctx.record({
        type: 'attempt.finished',
        step: node.id,
        data: { attempt, ok: false, error: lastError },
      });
      if (lastError.retryable === false || attempt === retry.maxAttempts) break;
      const delay = backoffDelay(retry, attempt, `${this.start.runId}:${node.id}:${visit}:${attempt}`);
      this.ctx.record({
        type: 'retry.scheduled',
        step: node.id,
        data: { attempt: attempt + 1, delayMs: delay },
      });
      const wait = this.timer(thread, this.ctx.now() + delay);
      yield [wait];
      this.clearTimer(thread, wait);
    }
    return { ok: false, error: { code: lastError.code, message: lastError.message, step: node.id } };
  }

  /**
   * The tool call an approval lets through, for the approver to see: the first tool step on the approve
   * path (past notify and delay steps; a condition, approval or parallel in between makes it unknowable),
   * its arguments resolved against the variables as they stand when the request opens.
   */
  private nextToolPreview(
    node: IrApproval,
    view: unknown,
  ): { next?: { step: string; tool: string; args: JsonValue } } {
    let at: string = node.next;
    for (let hops = 0; hops < 20 && at !== END; hops++) {
      const next = this.nodes.get(at);
      if (next === undefined) return {};
      if (next.kind === 'tool') {
        let args: JsonValue;
        try {
          args = authoredArgs(resolveTemplate(next.args, view));
        } catch {
          return {};
        }
        return {
          next: { step: next.id, tool: next.server ? `${next.server}/${next.tool}` : next.tool, args },
        };
      }
      if (next.kind !== 'notify' && next.kind !== 'delay') return {};
      at = next.next;
    }
    return {};
  }

  private *approval(
    node: IrApproval,
    visit: number,
    thread: ThreadState,
  ): Generator<ThreadYield, StepResult, DurableTask | BranchEnd> {
    for (let index = 0; index < node.levels.length; index++) {
      const level = node.levels[index];
      if (level === undefined) break;
      const levelNo = index + 1;
      const view = this.view(thread);
      const deadline = level.timeoutMs === null ? null : this.ctx.now() + level.timeoutMs;
      const eventName = approvalEventName(node.id, visit, levelNo);
      const context = renderApprovalContext(node.context, view);
      const request: ApprovalRequest = {
        ...this.stepMessage(node.id, visit),
        level: levelNo,
        approvers: level.approvers.flatMap((a) => approverSpecs(a, view)),
        require: level.require,
        message: renderText(level.message, view),
        ...(context === undefined ? {} : { context }),
        deadline,
        eventName,
        requesters: requestersOf(this.start.trigger),
        allowSelfApproval: node.allowSelfApproval === true,
      };
      const close: ApprovalClose = {
        runId: this.start.runId,
        stepId: node.id,
        visit,
        level: levelNo,
        reason: 'timeout',
      };
      const requested = this.ctx.callActivity(ACTIVITY.approvalRequest, request);
      // Registered before the request completes, so a cancellation meanwhile still closes it.
      thread.approvals.set(eventName, close);
      yield [requested];
      if (requested.isFaulted) {
        thread.approvals.delete(eventName);
        const error = requested.error ?? { code: ERROR.noApprovers, message: 'the approval request failed' };
        // A level with nobody to ask (its only approvers asked for the run) is passed like a timeout.
        if (error.code === ERROR.noApprovers && levelNo < node.levels.length) {
          this.ctx.record({
            type: 'approval.no-approvers',
            step: node.id,
            data: { level: levelNo, message: error.message, escalatesTo: levelNo + 1 },
          });
          continue;
        }
        return { error: { code: error.code, message: error.message, step: node.id } };
      }
      const approvers = (requested.result as ApprovalRequestResult).approvers;
      this.ctx.record({
        type: 'approval.requested',
        step: node.id,
        data: {
          level: levelNo,
          approvers,
          require: level.require,
          message: request.message,
          ...(context === undefined ? {} : { context }),
          deadline,
          ...(request.allowSelfApproval ? { allowSelfApproval: true } : {}),
          ...this.nextToolPreview(node, view),
        },
      });
      const decision = this.ctx.waitForEvent(eventName);
      const timer = deadline === null ? undefined : this.timer(thread, deadline);
      const winner = (yield timer === undefined ? [decision] : [decision, timer]) as DurableTask;
      if (timer !== undefined) this.clearTimer(thread, timer);
      thread.approvals.delete(eventName);
      if (winner === decision) {
        const outcome = decision.result as ApprovalOutcome;
        const result: ApprovalResult = { ...outcome, level: levelNo, timedOut: false };
        thread.scope.own[node.output] = toJson(result);
        this.ctx.record({
          type: 'step.finished',
          step: node.id,
          data: { approved: outcome.approved, level: levelNo, decidedBy: outcome.decidedBy },
        });
        if (outcome.approved) return { next: node.next };
        if (node.onReject !== null) return { next: node.onReject };
        return {
          error: {
            code: ERROR.rejected,
            message: `rejected by ${outcome.decidedBy ?? 'an approver'}`,
            step: node.id,
          },
        };
      }
      this.ctx.callActivity(ACTIVITY.approvalClose, close);
      this.ctx.record({
        type: 'approval.timed-out',
        step: node.id,
        data: { level: levelNo, escalatesTo: levelNo < node.levels.length ? levelNo + 1 : null },
      });
    }
    const result: ApprovalResult = timedOutApproval(node);
    thread.scope.own[node.output] = toJson(result);
    if (node.onTimeout !== null) {
      this.ctx.record({
        type: 'step.finished',
        step: node.id,
        data: { approved: false, timedOut: true, level: result.level },
      });
      return { next: node.onTimeout };
    }
    return {
      error: {
        code: ERROR.approvalTimeout,
        message: 'no decision before the last approval level timed out',
        step: node.id,
      },
    };
  }

  private *delay(
    node: IrDelay,
    thread: ThreadState,
  ): Generator<ThreadYield, StepResult, DurableTask | BranchEnd> {
    let fireAt: number;
    if (node.wait.kind === 'duration') fireAt = this.ctx.now() + node.wait.ms;
    else {
      const value = resolveTemplate(node.wait.time, this.view(thread));
      const parsed = typeof value === 'string' ? parseIsoTime(value) : undefined;
      fireAt = parsed ?? Number.NaN;
      if (parsed === undefined) {
        return {
          error: {
            code: ERROR.invalidTime,
            message: `'until' resolved to ${JSON.stringify(value)}, not an ISO-8601 time with a zone`,
            step: node.id,
          },
        };
      }
    }
    this.ctx.record({
      type: 'timer.started',
      step: node.id,
      data: { fireAt: formatIsoTime(fireAt) },
    });
    if (fireAt > this.ctx.now()) {
      const timer = this.timer(thread, fireAt);
      yield [timer];
      this.clearTimer(thread, timer);
    }
    this.ctx.record({ type: 'step.finished', step: node.id, data: {} });
    return { next: node.next };
  }

  private timer(thread: ThreadState, fireAt: number): TimerTask {
    const timer = this.ctx.createTimer(fireAt);
    thread.timers.add(timer);
    return timer;
  }

  private clearTimer(thread: ThreadState, timer: TimerTask): void {
    if (!timer.isCompleted) timer.cancel();
    thread.timers.delete(timer);
  }

  private stepMessage(
    stepId: string,
    visit: number,
  ): { workflowId: string; runId: string; stepId: string; visit: number; identity: Identity } {
    return {
      workflowId: this.start.workflowId,
      runId: this.start.runId,
      stepId,
      visit,
      identity: this.start.trigger.user,
    };
  }
}

function toJson(value: unknown): JsonValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JsonValue);
}

function errorJson(error: RunError): JsonValue {
  return { code: error.code, message: error.message, step: error.step };
}

function unknownError(step: string): RunError {
  return { code: ERROR.unknown, message: 'a branch failed', step };
}
