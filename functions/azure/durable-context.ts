// The shared orchestrator on Azure Durable Functions (durable-functions v3): a DurableContext over the
// orchestration context's `df` API, and the driver generator that runs `orchestrate()` inside a DF
// orchestrator function, turning each of our `any`s into `context.df.Task.any` and the winning DF task
// back into ours.
//
// Two DF rules shape the driver. (1) A DF task is scheduled only when it is yielded, and its id is its
// position in yield order, so tasks the orchestrator starts without waiting on them (approval.close,
// the audit batch) are added to the next `Task.any` — always, replaying or not, or the ids would shift;
// when one of them wins, the driver waits again. (2) durable-functions 3.x puts every child's action in
// a new `Task.any`, even a child an earlier `Task.any` already scheduled (which would run the activity
// twice; Azure/azure-functions-durable-js#574), so the driver keeps only the actions of children that
// were not scheduled before. Audit entries go out as one `record` activity per yield, numbered so the
// host can ignore a redelivered batch.
//
// (3) Once the orchestrator returned and its last batch is written (`finish`), the driver calls the `run-end`
// activity with the outcome (`end`): the run's record ends then, after the trail holds every entry of the
// run. It is always the last action, replaying or not; a failed run-end leaves the record running for the
// host to reconcile with the instance's status (AzureDurableHost.waitForRun), and the outcome stands.
import type {
  Task as DfTask,
  TimerTask as DfTimerTask,
  DurableOrchestrationContext,
  OrchestrationContext,
} from 'durable-functions';
import { azureFunctionName } from '../../translator/emit/azure-durable.js';
import type { AuditEntry, DurableContext, DurableTask, TaskError, TimerTask } from '../core/durable.js';
import { orchestrate, type RunStart } from '../core/orchestrator.js';
import type { RunOutcome } from '../core/protocol.js';
import {
  decodeActivityError,
  RECORD_ACTIVITY,
  type RecordBatch,
  type RecordedEntry,
  RUN_END_ACTIVITY,
  type RunEnd,
} from './activities.js';

type Kind = 'activity' | 'timer' | 'event';

class AzureTask implements TimerTask {
  scheduled = false;
  cancelled = false;

  constructor(
    readonly id: number,
    readonly kind: Kind,
    readonly df: DfTask,
  ) {}

  get isCompleted(): boolean {
    return this.df.isCompleted || this.df.isFaulted;
  }

  get isFaulted(): boolean {
    return this.df.isFaulted;
  }

  get result(): unknown {
    return this.df.isCompleted ? this.df.result : undefined;
  }

  get error(): TaskError | undefined {
    return this.df.isFaulted ? decodeActivityError(this.df.result) : undefined;
  }

  cancel(): void {
    if (this.kind !== 'timer' || this.cancelled || this.isCompleted) return;
    this.cancelled = true;
    // A timer that was never yielded was never scheduled: there is nothing to cancel in DF.
    if (this.scheduled) (this.df as DfTimerTask).cancel();
  }
}

class AzureAny implements DurableTask {
  readonly id = -1;
  constructor(readonly children: readonly AzureTask[]) {}
  get isCompleted(): boolean {
    return this.children.some((c) => c.isCompleted);
  }
  get isFaulted(): boolean {
    return false;
  }
  get result(): unknown {
    return undefined;
  }
  get error(): TaskError | undefined {
    return undefined;
  }
}

export class AzureDurableContext implements DurableContext {
  private nextId = 0;
  private seq = 0;
  /** Tasks created since the last yield: each is scheduled by the next one. */
  private created: AzureTask[] = [];
  private entries: RecordedEntry[] = [];

  constructor(
    private readonly df: DurableOrchestrationContext,
    private readonly runId: string,
  ) {}

  get instanceId(): string {
    return this.df.instanceId;
  }

  get isReplaying(): boolean {
    return this.df.isReplaying;
  }

  now(): number {
    return this.df.currentUtcDateTime.getTime();
  }

  callActivity(name: string, input: unknown): DurableTask {
    return this.track(
      new AzureTask(this.nextId++, 'activity', this.df.callActivity(azureFunctionName(name), input)),
    );
  }

  createTimer(fireAt: number): TimerTask {
    return this.track(new AzureTask(this.nextId++, 'timer', this.df.createTimer(new Date(fireAt))));
  }

  waitForEvent(name: string): DurableTask {
    return this.track(new AzureTask(this.nextId++, 'event', this.df.waitForExternalEvent(name)));
  }

  any(tasks: readonly DurableTask[]): DurableTask {
    return new AzureAny(tasks.map(ownTask));
  }

  record(entry: AuditEntry): void {
    this.entries.push({ ...entry, seq: ++this.seq, at: this.now() });
  }

  /** Waits in DF for the first of `any`'s children; returns that child. */
  *wait(any: AzureAny): Generator<DfTask, AzureTask, unknown> {
    for (;;) {
      const done = any.children.find((c) => c.isCompleted);
      if (done !== undefined) return done;
      const background = this.takeBackground(any.children);
      const children = [...background, ...any.children];
      const won = yield this.compound('any', children);
      const ours = any.children.find((c) => c.df === won);
      if (ours !== undefined) return ours;
      if (!children.some((c) => c.df === won))
        throw new Error('durable-functions resumed with a foreign task');
      // A fire-and-forget task (audit, approval.close) finished first: wait again for ours.
    }
  }

  /**
   * After the orchestrator returned: schedules what it left unawaited and waits for it, ignoring failures.
   * Event waits it never yielded (the cancel event of a run that ended before its first wait) are not work
   * to wait for: they would keep the instance running for ever.
   */
  *finish(): Generator<DfTask, void, unknown> {
    const background = this.takeBackground([]).filter((t) => t.kind !== 'event');
    if (background.length === 0) return;
    try {
      yield this.compound('all', background);
    } catch {
      // A failed close or audit write does not change the run's outcome.
    }
  }

  /** After `finish`: ends the run's record with its outcome (the `run-end` activity), ignoring a failure. */
  *end(outcome: RunOutcome): Generator<DfTask, void, unknown> {
    const input: RunEnd = { runId: this.runId, outcome };
    try {
      yield this.df.callActivity(azureFunctionName(RUN_END_ACTIVITY), input);
    } catch {
      // The record stays running: the host reconciles it with the instance's status.
    }
  }

  private track(task: AzureTask): AzureTask {
    this.created.push(task);
    return task;
  }

  /** The tasks created since the last yield that nobody waits for, plus the pending audit batch. */
  private takeBackground(waited: readonly AzureTask[]): AzureTask[] {
    const background = this.created.filter((t) => !waited.includes(t) && !t.cancelled);
    this.created = [];
    if (this.entries.length > 0) {
      const batch: RecordBatch = { runId: this.runId, entries: this.entries };
      this.entries = [];
      // Created and scheduled on every replay alike: its id must not depend on isReplaying.
      background.unshift(
        new AzureTask(
          this.nextId++,
          'activity',
          this.df.callActivity(azureFunctionName(RECORD_ACTIVITY), batch),
        ),
      );
    }
    return background;
  }

  private compound(kind: 'any' | 'all', children: readonly AzureTask[]): DfTask {
    const task =
      kind === 'any'
        ? this.df.Task.any(children.map((c) => c.df))
        : this.df.Task.all(children.map((c) => c.df));
    keepUnscheduledActions(
      task,
      children.map((c) => !c.scheduled),
    );
    for (const child of children) child.scheduled = true;
    return task;
  }
}

function ownTask(task: DurableTask): AzureTask {
  if (!(task instanceof AzureTask)) throw new Error('the orchestrator waited on a task of another host');
  return task;
}

/**
 * The DF boundary: a compound task's action lists its children's actions in order; keep only those of
 * children not scheduled by an earlier yield, so each activity and timer is scheduled exactly once.
 */
function keepUnscheduledActions(task: DfTask, keep: readonly boolean[]): void {
  const action: unknown = (task as unknown as { actionObj?: unknown }).actionObj;
  const actions =
    action !== null && typeof action === 'object'
      ? (action as { compoundActions?: unknown }).compoundActions
      : undefined;
  if (!Array.isArray(actions) || actions.length !== keep.length)
    throw new Error('durable-functions: a compound task without the expected compoundActions');
  (action as { compoundActions: unknown[] }).compoundActions = actions.filter((_, i) => keep[i] === true);
}

/** Checks the orchestration input at the DF boundary. */
export function parseRunStart(input: unknown): RunStart {
  const v = input as Partial<RunStart> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    typeof v.runId === 'string' &&
    typeof v.workflowId === 'string' &&
    typeof v.ir === 'object' &&
    v.ir !== null &&
    typeof v.ir.graph === 'object' &&
    typeof v.input === 'object' &&
    v.input !== null &&
    typeof v.trigger === 'object' &&
    v.trigger !== null &&
    typeof v.trigger.user?.email === 'string';
  if (!ok)
    throw new Error(
      'the stepgate orchestration needs a RunStart input ({runId, workflowId, ir, input, trigger})',
    );
  return v as RunStart;
}

/** The DF orchestrator function: `df.app.orchestration('stepgate', stepgateOrchestrator)`. */
export function* stepgateOrchestrator(context: OrchestrationContext): Generator<DfTask, RunOutcome, unknown> {
  const start = parseRunStart(context.df.getInput());
  const ctx = new AzureDurableContext(context.df, start.runId);
  const run = orchestrate(ctx, start);
  let step = run.next();
  while (!step.done) {
    if (!(step.value instanceof AzureAny))
      throw new Error('the orchestrator yielded something other than any()');
    const winner: AzureTask = yield* ctx.wait(step.value);
    step = run.next(winner);
  }
  yield* ctx.finish();
  yield* ctx.end(step.value);
  return step.value;
}
