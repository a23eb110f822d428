// A replay harness for Azure Durable Functions orchestrations built on durable-functions' own replay
// machinery: each episode hands the `Orchestrator` of durable-functions (the very class `df.app.
// orchestration` registers) the orchestration trigger the Functions host would send — the whole history
// as DF wire events (OrchestratorStarted, ExecutionStarted, TaskScheduled/TaskCompleted/TaskFailed,
// TimerCreated/TimerFired, EventRaised), JSON-serialised — and reads back the actions it wants. Like the
// DF extension (replay schema V1), it numbers CallActivity/CreateTimer actions in order, appends the new
// ones to history, runs activities, arms timers on a Clock (a VirtualClock in tests), and appends the
// completions, fires and raised events of each batch after a new OrchestratorStarted, until it is done.
// Batching follows the embedded host: events that arrive while nothing else runs form one episode.
import { createRequire } from 'node:module';
import { DummyOrchestrationContext, type OrchestrationHandler } from 'durable-functions';
import type { Clock, TimerHandle } from '../functions/core/ports.js';
import type { RunOutcome } from '../functions/core/protocol.js';
import { errorMessage } from '../translator/util.js';

/** HistoryEventType of durable-functions / DTFx. */
const EVENT = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
} as const;

/** ActionType of durable-functions. */
const ACTION = {
  CallActivity: 0,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  WhenAny: 11,
  WhenAll: 12,
} as const;

export interface WireEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}

interface WireAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  fireAt?: string | Date;
  isCanceled?: boolean;
  compoundActions?: WireAction[];
}

type Listener = (trigger: unknown, context: unknown) => Promise<unknown>;

/** The DF boundary: durable-functions' internal Orchestrator (not in its public types), checked on load. */
function dfListener(handler: OrchestrationHandler): Listener {
  const require = createRequire(import.meta.url);
  const mod: unknown = require('durable-functions/lib/src/orchestrations/Orchestrator.js');
  const Orchestrator = (mod as { Orchestrator?: unknown }).Orchestrator;
  if (typeof Orchestrator !== 'function')
    throw new Error('durable-functions no longer exports lib/src/orchestrations/Orchestrator');
  const instance = new (Orchestrator as new (fn: OrchestrationHandler) => { listen(): Listener })(handler);
  return instance.listen();
}

export type ReplayActivity = (input: unknown) => Promise<unknown>;

export interface DfReplayHostOptions {
  instanceId: string;
  input: unknown;
  orchestrator: OrchestrationHandler;
  activities: Readonly<Record<string, ReplayActivity>>;
  clock: Clock;
}

export type ReplayStatus = 'pending' | 'running' | 'completed' | 'failed' | 'terminated';

/** What a bench counts (bench/azure-costs.ts): the billable work the Functions host would do. */
export interface ReplayCounter {
  /** One orchestrator invocation (a replay over the whole history). */
  episode(instanceId: string): void;
  /** One activity function execution. */
  activity(instanceId: string, name: string): void;
  /** One external event raised (an approval decision or a cancel: an HTTP request to the app). */
  event(instanceId: string, name: string): void;
}

export class DfReplayHost {
  /** Counters told of every host's episodes, activities and events while registered; they change nothing. */
  private static readonly counters = new Set<ReplayCounter>();

  /** Registers `counter` for every host until the returned function is called. */
  static count(counter: ReplayCounter): () => void {
    DfReplayHost.counters.add(counter);
    return () => void DfReplayHost.counters.delete(counter);
  }

  readonly history: WireEvent[] = [];
  /** Every action list the SDK returned, per episode (for tests). */
  readonly episodes: WireAction[][] = [];
  status: ReplayStatus = 'pending';
  output: unknown;
  failure: string | undefined;
  private readonly listener: Listener;
  private readonly scheduled: Array<{ type: 'activity'; name: string } | { type: 'timer' }> = [];
  private readonly armed = new Map<number, TimerHandle>();
  private inbox: WireEvent[] = [];
  private inflight = 0;
  private flushing = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: DfReplayHostOptions) {
    this.listener = dfListener(options.orchestrator);
  }

  /** Starts the orchestration; resolves once its first episode ran. */
  start(): Promise<void> {
    this.status = 'running';
    this.inbox.push(
      this.event(EVENT.ExecutionStarted, { Name: 'stepgate', Input: JSON.stringify(this.options.input) }),
    );
    return this.afterFlush();
  }

  raiseEvent(name: string, payload: unknown): Promise<void> {
    if (this.status !== 'running')
      return Promise.reject(new Error(`${this.options.instanceId} is not running`));
    for (const counter of DfReplayHost.counters) counter.event(this.options.instanceId, name);
    this.enqueue(this.event(EVENT.EventRaised, { Name: name, Input: JSON.stringify(payload ?? null) }));
    return this.afterFlush();
  }

  /** Terminates the instance as the extension does: no episode after, its output the reason. */
  terminate(reason: string): void {
    if (this.status !== 'running' && this.status !== 'pending') return;
    this.status = 'terminated';
    this.output = reason;
    this.history.push(this.event(EVENT.ExecutionTerminated, { Input: JSON.stringify(reason) }));
    this.close();
    this.inbox = [];
  }

  get running(): boolean {
    return this.status === 'running';
  }

  /** Activities running plus batches waiting; 0 when idle (what VirtualClock.run waits for). */
  pending(): number {
    return this.inflight + this.inbox.length + (this.flushing ? 1 : 0);
  }

  close(): void {
    for (const handle of this.armed.values()) this.options.clock.clearTimer(handle);
    this.armed.clear();
  }

  private event(type: number, fields: Record<string, unknown>): WireEvent {
    return {
      EventType: type,
      EventId: -1,
      IsPlayed: false,
      Timestamp: new Date(this.options.clock.now()).toISOString(),
      ...fields,
    };
  }

  private enqueue(event: WireEvent): void {
    if (this.status !== 'running') return;
    this.inbox.push(event);
    this.scheduleFlush();
  }

  private afterFlush(): Promise<void> {
    this.scheduleFlush();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.inbox;
    this.inbox = [];
    const waiters = this.waiters.splice(0);
    if (batch.length > 0 && this.status === 'running') {
      for (const event of this.history) event.IsPlayed = true;
      this.history.push(this.event(EVENT.OrchestratorStarted, {}), ...batch);
      await this.episode();
    }
    this.flushing = false;
    for (const resolve of waiters) resolve();
    if (this.inbox.length > 0 || this.waiters.length > 0) this.scheduleFlush();
  }

  /** One orchestrator invocation over the whole history, as the Functions host makes it. */
  private async episode(): Promise<void> {
    for (const counter of DfReplayHost.counters) counter.episode(this.options.instanceId);
    const trigger = JSON.parse(
      JSON.stringify({
        history: this.history,
        input: this.options.input,
        instanceId: this.options.instanceId,
        isReplaying: this.history.some((e) => e.IsPlayed),
        parentInstanceId: '',
        upperSchemaVersion: 0,
        maximumShortTimerDuration: '6.00:00:00',
        longRunningTimerIntervalDuration: '3.00:00:00',
        defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
      }),
    ) as unknown;
    const context = new DummyOrchestrationContext(
      'stepgate',
      `${this.options.instanceId}:${this.history.length}`,
      () => {},
    );
    let state: { isDone?: unknown; actions?: unknown; output?: unknown };
    try {
      state = (await this.listener(trigger, context)) as typeof state;
    } catch (error) {
      this.end(
        'failed',
        undefined,
        error instanceof Error ? error.message.split('\n\n$OutOfProcData$')[0] : String(error),
      );
      return;
    }
    // Terminated while the orchestrator ran: what it asked for is dropped, as the extension drops it.
    if ((this.status as ReplayStatus) !== 'running') return;
    const actions = flatten(state.actions);
    this.episodes.push(actions);
    const durable = actions.filter(
      (a) => a.actionType === ACTION.CallActivity || a.actionType === ACTION.CreateTimer,
    );
    const fresh: Array<{ id: number; action: WireAction }> = [];
    durable.forEach((action, id) => {
      const known = this.scheduled[id];
      if (known === undefined) {
        fresh.push({ id, action });
        return;
      }
      const same =
        action.actionType === ACTION.CallActivity
          ? known.type === 'activity' && known.name === action.functionName
          : known.type === 'timer';
      if (!same) throw new Error(`non-deterministic replay: action ${id} is not what history scheduled`);
      if (action.actionType === ACTION.CreateTimer && action.isCanceled === true) this.disarm(id);
    });
    for (const { id, action } of fresh) this.schedule(id, action);
    if (state.isDone === true) {
      this.end('completed', state.output, undefined);
      return;
    }
    this.history.push(this.event(EVENT.OrchestratorCompleted, {}));
  }

  private schedule(id: number, action: WireAction): void {
    if (action.actionType === ACTION.CreateTimer) {
      const fireAt = new Date(action.fireAt ?? Number.NaN).getTime();
      this.scheduled[id] = { type: 'timer' };
      this.history.push(
        this.event(EVENT.TimerCreated, { EventId: id, FireAt: new Date(fireAt).toISOString() }),
      );
      if (action.isCanceled !== true) {
        this.armed.set(
          id,
          this.options.clock.setTimer(fireAt, () => {
            this.armed.delete(id);
            this.enqueue(
              this.event(EVENT.TimerFired, { TimerId: id, FireAt: new Date(fireAt).toISOString() }),
            );
          }),
        );
      }
      return;
    }
    const name = String(action.functionName);
    this.scheduled[id] = { type: 'activity', name };
    // The wire carries the input as JSON; a string input the SDK already serialised.
    const input: unknown =
      typeof action.input === 'string'
        ? JSON.parse(action.input)
        : JSON.parse(JSON.stringify(action.input ?? null));
    this.history.push(
      this.event(EVENT.TaskScheduled, { EventId: id, Name: name, Input: JSON.stringify(input) }),
    );
    const handler = this.options.activities[name];
    for (const counter of DfReplayHost.counters) counter.activity(this.options.instanceId, name);
    this.inflight++;
    const run =
      handler === undefined
        ? Promise.reject(new Error(`no activity function named ${name}`))
        : Promise.resolve().then(() => handler(input));
    run
      .then(
        (result) =>
          this.enqueue(
            this.event(EVENT.TaskCompleted, { TaskScheduledId: id, Result: JSON.stringify(result ?? null) }),
          ),
        (error: unknown) => {
          const message = errorMessage(error);
          this.enqueue(
            this.event(EVENT.TaskFailed, {
              TaskScheduledId: id,
              Reason: `Activity function '${name}' failed: ${message}`,
              Details: error instanceof Error ? (error.stack ?? '') : '',
            }),
          );
        },
      )
      .finally(() => {
        this.inflight--;
      });
  }

  private disarm(id: number): void {
    const handle = this.armed.get(id);
    if (handle !== undefined) this.options.clock.clearTimer(handle);
    this.armed.delete(id);
  }

  private end(status: 'completed' | 'failed', output: unknown, failure: string | undefined): void {
    this.status = status;
    this.output = output;
    this.failure = failure;
    this.history.push(
      this.event(EVENT.ExecutionCompleted, {
        OrchestrationStatus: status,
        Result: JSON.stringify(output ?? null),
      }),
    );
    this.close();
    this.inbox = [];
  }
}

/** Replay schema V1: one list of actions per yield, compound actions flattened (checked, not trusted). */
function flatten(actions: unknown): WireAction[] {
  if (!Array.isArray(actions)) throw new Error('durable-functions returned no action list');
  const out: WireAction[] = [];
  const visit = (action: unknown): void => {
    if (
      action === null ||
      typeof action !== 'object' ||
      typeof (action as WireAction).actionType !== 'number'
    )
      throw new Error(`durable-functions returned an unexpected action ${JSON.stringify(action)}`);
    const a = action as WireAction;
    if (a.actionType === ACTION.WhenAny || a.actionType === ACTION.WhenAll) {
      for (const child of a.compoundActions ?? []) visit(child);
      return;
    }
    if (
      a.actionType !== ACTION.CallActivity &&
      a.actionType !== ACTION.CreateTimer &&
      a.actionType !== ACTION.WaitForExternalEvent
    )
      throw new Error(`the harness does not support DF action type ${a.actionType}`);
    out.push(a);
  };
  for (const group of actions) {
    if (Array.isArray(group)) for (const action of group) visit(action);
    else visit(group);
  }
  return out;
}

export type { RunOutcome };
