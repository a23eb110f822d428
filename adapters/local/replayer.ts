// The embedded engine's DurableContext: runs the orchestrator over a run's event history, completing its
// tasks from recorded events (replay) and, once history is exhausted, turning what it asks for into
// actions for the host to commit. Task ids are given in creation order, which the orchestrator's
// determinism keeps identical on every replay; a replay that asks for something else fails loudly.
import type {
  AuditEntry,
  DurableContext,
  DurableTask,
  TaskError,
  TimerTask,
} from '../../functions/core/durable.js';
import { orchestrate, type RunStart } from '../../functions/core/orchestrator.js';
import type { RunOutcome } from '../../functions/core/protocol.js';

export type HistoryEvent =
  | { type: 'ExecutionStarted'; at: number }
  | { type: 'TaskScheduled'; taskId: number; name: string; at: number }
  | { type: 'TimerCreated'; taskId: number; fireAt: number; at: number }
  | { type: 'TaskCompleted'; taskId: number; result: unknown; at: number }
  | { type: 'TaskFailed'; taskId: number; error: TaskError; at: number }
  | { type: 'TimerFired'; taskId: number; at: number }
  | { type: 'EventRaised'; name: string; payload: unknown; at: number }
  | { type: 'ExecutionCompleted'; outcome: RunOutcome; at: number };

export type Action =
  | { type: 'schedule'; taskId: number; name: string; input: unknown }
  | { type: 'timer'; taskId: number; fireAt: number }
  | { type: 'cancelTimer'; taskId: number }
  | { type: 'record'; entry: AuditEntry; at: number }
  | { type: 'complete'; outcome: RunOutcome };

export class NonDeterminismError extends Error {
  override name = 'NonDeterminismError';
}

type TaskKind = 'activity' | 'timer' | 'event' | 'any';

class LocalTask implements TimerTask {
  completedAs = 0;
  result: unknown;
  error: TaskError | undefined;
  cancelled = false;

  constructor(
    readonly id: number,
    readonly kind: TaskKind,
    private readonly owner: Replayer,
    readonly children: readonly LocalTask[] = [],
  ) {}

  get isCompleted(): boolean {
    if (this.kind === 'any') return this.children.some((c) => c.isCompleted);
    return this.completedAs > 0;
  }

  get isFaulted(): boolean {
    return this.error !== undefined;
  }

  /** For `any`: the child that completed first. */
  winner(): LocalTask | undefined {
    let best: LocalTask | undefined;
    for (const child of this.children) {
      if (child.isCompleted && (best === undefined || child.completedAs < best.completedAs)) best = child;
    }
    return best;
  }

  cancel(): void {
    if (this.kind !== 'timer' || this.cancelled || this.isCompleted) return;
    this.cancelled = true;
    this.owner.timerCancelled(this);
  }
}

export class Replayer implements DurableContext {
  private readonly generator;
  private readonly pending = new Map<number, LocalTask>();
  private readonly scheduled = new Map<number, string>();
  private readonly buffered = new Map<string, unknown[]>();
  private readonly waiters = new Map<string, LocalTask[]>();
  private readonly queue: HistoryEvent[];
  private blocked: LocalTask | undefined;
  private nextId = 0;
  private completions = 0;
  private time: number;
  private replaying: boolean;
  private started = false;
  private actions: Action[] = [];
  outcome: RunOutcome | undefined;

  /** `history` is empty for a new run (started at `startedAt`) and the recorded events for a recovered one. */
  constructor(
    readonly instanceId: string,
    start: RunStart,
    history: HistoryEvent[],
    startedAt: number,
  ) {
    this.queue = history.filter((e) => e.type !== 'TaskScheduled' && e.type !== 'TimerCreated');
    for (const event of history) {
      if (event.type === 'TaskScheduled') this.scheduled.set(event.taskId, event.name);
      if (event.type === 'TimerCreated') this.scheduled.set(event.taskId, '$timer');
    }
    this.replaying = history.length > 0;
    this.time = history[0]?.at ?? startedAt;
    this.generator = orchestrate(this, start);
  }

  /** Runs the orchestrator as far as the events seen so far allow (replaying recorded history first). */
  run(): void {
    if (!this.started) {
      this.started = true;
      this.advance(this.generator.next());
    }
    for (;;) {
      while (this.outcome === undefined && this.blocked?.isCompleted) {
        const blocked = this.blocked;
        this.advance(this.generator.next(blocked.kind === 'any' ? (blocked.winner() ?? blocked) : blocked));
      }
      if (this.outcome !== undefined) return;
      const next = this.queue.shift();
      if (next === undefined) break;
      this.apply(next);
    }
    this.replaying = false;
  }

  /** Applies one new event; false when it no longer matters (a late completion, a cancelled timer). */
  accept(event: HistoryEvent): boolean {
    if (this.outcome !== undefined) return false;
    if (event.type === 'TaskCompleted' || event.type === 'TaskFailed' || event.type === 'TimerFired') {
      const task = this.pending.get(event.taskId);
      if (task === undefined || task.cancelled) return false;
    }
    this.apply(event);
    return true;
  }

  takeActions(): Action[] {
    const taken = this.actions;
    this.actions = [];
    return taken;
  }

  get isReplaying(): boolean {
    return this.replaying;
  }

  // DurableContext

  now(): number {
    return this.time;
  }

  callActivity(name: string, input: unknown): DurableTask {
    const task = this.newTask('activity', name);
    if (!this.replaying) this.actions.push({ type: 'schedule', taskId: task.id, name, input });
    return task;
  }

  createTimer(fireAt: number): TimerTask {
    const task = this.newTask('timer', '$timer');
    if (!this.replaying) this.actions.push({ type: 'timer', taskId: task.id, fireAt });
    return task;
  }

  waitForEvent(name: string): DurableTask {
    const task = new LocalTask(this.nextId++, 'event', this);
    const early = this.buffered.get(name);
    if (early !== undefined && early.length > 0) this.complete(task, early.shift());
    else this.waiters.set(name, [...(this.waiters.get(name) ?? []), task]);
    return task;
  }

  any(tasks: readonly DurableTask[]): DurableTask {
    return new LocalTask(-1, 'any', this, tasks as LocalTask[]);
  }

  record(entry: AuditEntry): void {
    if (!this.replaying) this.actions.push({ type: 'record', entry, at: this.time });
  }

  timerCancelled(task: LocalTask): void {
    this.pending.delete(task.id);
    if (!this.replaying) this.actions.push({ type: 'cancelTimer', taskId: task.id });
  }

  private newTask(kind: 'activity' | 'timer', name: string): LocalTask {
    const task = new LocalTask(this.nextId++, kind, this);
    if (this.replaying) {
      const recorded = this.scheduled.get(task.id);
      if (recorded !== name) {
        throw new NonDeterminismError(
          `replay of run ${this.instanceId} asked for ${name} as task ${task.id}, history has ${recorded ?? 'nothing'}`,
        );
      }
    }
    this.pending.set(task.id, task);
    return task;
  }

  private advance(result: IteratorResult<DurableTask, RunOutcome>): void {
    if (result.done) {
      this.outcome = result.value;
      this.blocked = undefined;
      if (!this.replaying) this.actions.push({ type: 'complete', outcome: result.value });
      return;
    }
    this.blocked = result.value as LocalTask;
  }

  private apply(event: HistoryEvent): void {
    this.time = event.at;
    switch (event.type) {
      case 'TaskCompleted':
      case 'TimerFired': {
        const task = this.pending.get(event.taskId);
        if (task !== undefined) this.complete(task, event.type === 'TaskCompleted' ? event.result : null);
        return;
      }
      case 'TaskFailed': {
        const task = this.pending.get(event.taskId);
        if (task !== undefined) {
          task.error = event.error;
          this.complete(task, undefined);
        }
        return;
      }
      case 'EventRaised': {
        const waiter = this.waiters.get(event.name)?.shift();
        if (waiter !== undefined) this.complete(waiter, event.payload);
        else this.buffered.set(event.name, [...(this.buffered.get(event.name) ?? []), event.payload]);
        return;
      }
      default:
        return;
    }
  }

  private complete(task: LocalTask, result: unknown): void {
    task.result = result;
    task.completedAs = ++this.completions;
    this.pending.delete(task.id);
  }
}
