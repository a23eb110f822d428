// A test oracle for GCP Workflows: executes exactly the subset of the language the GCP compiler emits
// (assign, switch, call of http.post / events.create_callback_endpoint / events.await_callback / sys.sleep
// and subworkflows, try/retry/except, raise, return, parallel with shared variables, next) on a clock: the
// VirtualClock of the scenario suite, or any Clock (the SystemClock of the Workflows API stand-in,
// test/support/workflows-emulator.ts, which also gives callback endpoints real URLs and http.post a real
// request). It is not a product runtime. GCP rules it enforces: a branch may assign a parent variable only
// when it is `shared`; jumps resolve in the current step list or an enclosing one, never out of a branch;
// expressions raise on type errors (testing/gcp-oracle/expression.ts).
import type { Clock, TimerHandle } from '../../functions/core/ports.js';
import { evaluate, GcpRaise, type GcpValue, runtimeError } from './expression.js';

export type { GcpValue } from './expression.js';
export { GcpRaise } from './expression.js';

type Step = Record<string, unknown>;
type StepList = Array<Record<string, Step>>;
type Flow = { kind: 'next' } | { kind: 'jump'; to: string } | { kind: 'return'; value: GcpValue };

/**
 * The handler behind an http.post URL: gets the evaluated body (and the call's `auth` argument), returns the
 * response body; a failed request raises (GcpRaise) what GCP raises, e.g. an HttpError map.
 */
export type HttpRoute = (url: string, body: GcpValue, call: { auth: GcpValue }) => Promise<GcpValue>;

export interface InterpreterOptions {
  clock: Clock;
  http: HttpRoute;
  /** The URL of the execution's `n`th callback endpoint (default: GCP's own form, unreachable). */
  callbackUrl?: (executionId: string, n: number) => string;
  /** Called as each named step starts: `entry` numbers the steps run, from 1. */
  onStep?: (name: string, where: StepWhere) => void;
  /** Called as a step that started ends: `raised` is what it raised (not called for a cancelled step). */
  onStepEnd?: (name: string, where: StepWhere, raised: GcpValue | undefined) => void;
}

/** Where a step runs: its routine (`main`, a subworkflow), its number among the steps run, its body. */
export interface StepWhere {
  routine: string;
  entry: number;
  body: Readonly<Record<string, unknown>>;
}

export type ExecutionResult =
  | { state: 'succeeded'; result: GcpValue }
  | { state: 'failed'; error: GcpValue }
  | { state: 'cancelled' };

class Cancelled extends Error {}

class Scope {
  readonly values = new Map<string, GcpValue>();
  constructor(
    readonly parent: Scope | null,
    readonly shared: ReadonlySet<string> = new Set(),
    readonly routine: string = parent?.routine ?? 'main',
  ) {}

  lookup(name: string): GcpValue {
    for (let s: Scope | null = this; s !== null; s = s.parent) {
      if (s.values.has(name)) return s.values.get(name) ?? null;
    }
    throw runtimeError('KeyError', `variable not found: ${name}`);
  }

  /** The scope that owns `name` for an assignment, enforcing GCP's `shared` rule for branches. */
  owner(name: string): Scope {
    let s: Scope | null = this;
    let crossed = false;
    let allowed = true;
    while (s !== null) {
      if (s.values.has(name)) {
        if (crossed && !allowed)
          throw runtimeError('ScopeError', `a branch assigns unshared variable '${name}'`);
        return s;
      }
      if (s.parent !== null) {
        crossed = true;
        allowed = allowed && s.shared.has(name);
      }
      s = s.parent;
    }
    return this;
  }
}

interface Endpoint {
  url: string;
  queue: GcpValue[];
  waiter: ((payload: GcpValue, first?: boolean) => void) | undefined;
}

const EXPRESSION = /^\$\{([\s\S]+)\}$/;

function clone(value: GcpValue): GcpValue {
  return value === null || typeof value !== 'object'
    ? value
    : (JSON.parse(JSON.stringify(value)) as GcpValue);
}

export class GcpInterpreter {
  private busy = 0;
  private callbackCount = 0;
  private entryCount = 0;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly waits = new Set<(error: Error) => void>();
  // One thread (main or a branch) runs at a time, like the orchestrator's threads: it holds the token
  // until it waits; threads that are ready to run queue for it in order.
  private tokenHeld = false;
  private readonly ready: Array<() => void> = [];
  private stopped = false;
  private main: Scope | undefined;
  /** The scope of each subworkflow's latest call. */
  private readonly routines = new Map<string, Scope>();
  running = false;

  constructor(
    private readonly doc: Record<string, { params?: string[]; steps: StepList }>,
    private readonly options: InterpreterOptions,
    private readonly executionId: string,
  ) {}

  /** Work in flight that is not waiting on the clock (the VirtualClock's idea of an engine). */
  pending(): number {
    return this.busy;
  }

  /** Runs a background job (a handler finishing its work) as pending work. */
  track(job: Promise<unknown>): void {
    this.busy++;
    void job.finally(() => {
      this.busy--;
    });
  }

  /**
   * A variable's value in the main scope, or in the latest call of subworkflow `routine` (for observing a
   * cancelled execution).
   */
  variable(name: string, routine = 'main'): GcpValue {
    const scope = routine === 'main' ? this.main : this.routines.get(routine);
    return scope?.values.get(name) ?? null;
  }

  /** The execution cancel API: every wait ends and no further step runs. */
  cancel(): void {
    this.stopped = true;
    for (const stop of [...this.waits]) stop(new Cancelled());
  }

  /** Delivers an HTTP callback; false when there is no such endpoint. `first`: the waiter runs next. */
  deliver(url: string, body: GcpValue, first = false): boolean {
    const endpoint = this.endpoints.get(url);
    if (endpoint === undefined || this.stopped) return false;
    const payload = clone(body);
    if (endpoint.waiter !== undefined) endpoint.waiter(payload, first);
    else endpoint.queue.push(payload);
    return true;
  }

  async execute(argument: GcpValue): Promise<ExecutionResult> {
    const main = this.doc.main;
    if (main === undefined) throw new Error('no main workflow');
    this.main = new Scope(null);
    const param = main.params?.[0];
    if (param !== undefined) this.main.values.set(param, clone(argument));
    this.busy++;
    this.running = true;
    await this.acquire();
    try {
      const flow = await this.runSteps(main.steps, this.main);
      if (flow.kind === 'jump' && flow.to !== 'end') throw new Error(`unknown step ${flow.to}`);
      return { state: 'succeeded', result: flow.kind === 'return' ? flow.value : null };
    } catch (error) {
      if (error instanceof Cancelled) return { state: 'cancelled' };
      if (error instanceof GcpRaise) return { state: 'failed', error: error.value };
      throw error;
    } finally {
      this.running = false;
      this.busy--;
      this.release();
    }
  }

  private value(raw: unknown, scope: Scope): GcpValue {
    if (typeof raw === 'string') {
      const m = EXPRESSION.exec(raw);
      return m === null ? raw : clone(evaluate(m[1] ?? '', (name) => scope.lookup(name)));
    }
    if (raw === null || typeof raw !== 'object') return raw as GcpValue;
    if (Array.isArray(raw)) return raw.map((item) => this.value(item, scope));
    const out: { [key: string]: GcpValue } = {};
    for (const [key, item] of Object.entries(raw)) out[key] = this.value(item, scope);
    return out;
  }

  private assign(target: string, value: GcpValue, scope: Scope): void {
    const [name, ...keys] = target.split('.');
    if (name === undefined) throw new Error('empty assignment target');
    const owner = keys.length === 0 ? scope.owner(name) : scope.owner(name);
    if (keys.length === 0) {
      owner.values.set(name, value);
      return;
    }
    let container = owner.values.get(name);
    if (container === undefined) throw runtimeError('KeyError', `variable not found: ${name}`);
    for (const key of keys.slice(0, -1)) {
      if (container === null || typeof container !== 'object' || Array.isArray(container))
        throw runtimeError('TypeError', `cannot assign into ${target}`);
      container = container[key];
      if (container === undefined) throw runtimeError('KeyError', `key not found: ${key} in ${target}`);
    }
    if (container === null || typeof container !== 'object' || Array.isArray(container))
      throw runtimeError('TypeError', `cannot assign into ${target}`);
    container[keys[keys.length - 1] as string] = value;
  }

  private async runSteps(steps: StepList, scope: Scope): Promise<Flow> {
    let index = 0;
    while (index < steps.length) {
      if (this.stopped) throw new Cancelled();
      const entry = steps[index] as Record<string, Step>;
      const [name, body] = Object.entries(entry)[0] as [string, Step];
      const flow = await this.namedStep(name, body, scope);
      if (flow.kind === 'return') return flow;
      if (flow.kind === 'next') {
        index++;
        continue;
      }
      if (flow.to === 'end') return flow;
      const found = steps.findIndex((s) => Object.keys(s)[0] === flow.to);
      if (found === -1) return flow;
      index = found;
    }
    return { kind: 'next' };
  }

  /** A step with the onStep / onStepEnd hooks around it. */
  private async namedStep(name: string, body: Step, scope: Scope): Promise<Flow> {
    const where: StepWhere = { routine: scope.routine, entry: ++this.entryCount, body };
    this.options.onStep?.(name, where);
    try {
      const flow = await this.step(body, scope);
      this.options.onStepEnd?.(name, where, undefined);
      return flow;
    } catch (error) {
      if (error instanceof GcpRaise) this.options.onStepEnd?.(name, where, error.value);
      throw error;
    }
  }

  private after(body: Step): Flow {
    return typeof body.next === 'string' ? { kind: 'jump', to: body.next } : { kind: 'next' };
  }

  private async step(body: Step, scope: Scope): Promise<Flow> {
    if (Array.isArray(body.assign)) {
      for (const item of body.assign as Array<Record<string, unknown>>) {
        const [target, raw] = Object.entries(item)[0] as [string, unknown];
        this.assign(target, this.value(raw, scope), scope);
      }
      return this.after(body);
    }
    if (typeof body.call === 'string') {
      const result = await this.call(body.call, this.value(body.args ?? {}, scope), scope);
      if (typeof body.result === 'string') this.assign(body.result, result, scope);
      return this.after(body);
    }
    if (Array.isArray(body.switch)) {
      for (const condition of body.switch as Step[]) {
        const test = this.value(condition.condition, scope);
        if (typeof test !== 'boolean')
          throw runtimeError('TypeError', 'a switch condition must be a boolean');
        if (!test) continue;
        const { condition: _c, ...rest } = condition;
        return this.step(rest, scope);
      }
      return this.after(body);
    }
    if (body.try !== undefined) return this.tryStep(body, scope);
    if (body.raise !== undefined) throw new GcpRaise(this.value(body.raise, scope));
    if (body.return !== undefined) return { kind: 'return', value: this.value(body.return, scope) };
    if (body.parallel !== undefined) {
      await this.parallel(body.parallel as Step, scope);
      return this.after(body);
    }
    if (Array.isArray(body.steps)) {
      const flow = await this.runSteps(body.steps as StepList, scope);
      return flow.kind === 'next' ? this.after(body) : flow;
    }
    if (typeof body.next === 'string') return this.after(body);
    throw new Error(`unsupported step ${JSON.stringify(body)}`);
  }

  private async tryStep(body: Step, scope: Scope): Promise<Flow> {
    const retry = body.retry as
      | {
          predicate: string;
          max_retries: number;
          backoff: { initial_delay: number; max_delay: number; multiplier: number };
        }
      | undefined;
    const except = body.except as { as: string; steps: StepList } | undefined;
    let retries = 0;
    for (;;) {
      try {
        const flow = await this.step(body.try as Step, scope);
        return flow.kind === 'next' ? this.after(body) : flow;
      } catch (error) {
        if (!(error instanceof GcpRaise)) throw error;
        if (retry !== undefined && retries < retry.max_retries) {
          const predicate = EXPRESSION.exec(retry.predicate)?.[1] ?? '';
          const again = await this.subworkflow(predicate, [error.value]);
          if (again === true) {
            const { initial_delay, max_delay, multiplier } = retry.backoff;
            const delay = Math.min(initial_delay * multiplier ** retries, max_delay);
            retries++;
            await this.sleep(delay * 1000);
            continue;
          }
        }
        if (except === undefined) throw error;
        this.assign(except.as, error.value, scope);
        const flow = await this.runSteps(except.steps, scope);
        return flow.kind === 'next' ? this.after(body) : flow;
      }
    }
  }

  private async subworkflow(name: string, args: GcpValue[] | Record<string, GcpValue>): Promise<GcpValue> {
    const sub = this.doc[name];
    if (sub === undefined || name === 'main')
      throw runtimeError('SyntaxError', `unknown subworkflow ${name}`);
    const scope = new Scope(null, new Set(), name);
    this.routines.set(name, scope);
    (sub.params ?? []).forEach((param, i) => {
      const value = Array.isArray(args) ? args[i] : args[param];
      if (value === undefined) throw runtimeError('TypeError', `missing argument ${param} of ${name}`);
      scope.values.set(param, value);
    });
    const flow = await this.runSteps(sub.steps, scope);
    if (flow.kind === 'jump' && flow.to !== 'end') throw new Error(`unknown step ${flow.to} in ${name}`);
    return flow.kind === 'return' ? flow.value : null;
  }

  private async call(name: string, args: GcpValue, _scope: Scope): Promise<GcpValue> {
    const a = (args ?? {}) as Record<string, GcpValue>;
    switch (name) {
      case 'http.post': {
        const url = a.url;
        if (typeof url !== 'string') throw runtimeError('TypeError', 'http.post needs a url');
        if (this.endpoints.has(url)) {
          // The execution answering its own callback (a branch cancelling another): handled at once.
          this.deliver(url, a.body ?? null, true);
          return { code: 200, body: null, headers: {} };
        }
        const body = await this.options.http(url, clone(a.body ?? null), { auth: clone(a.auth ?? null) });
        if (this.stopped) throw new Cancelled();
        return { code: 200, body: clone(body), headers: {} };
      }
      case 'sys.sleep': {
        const seconds = a.seconds;
        if (typeof seconds !== 'number') throw runtimeError('TypeError', 'sys.sleep needs seconds');
        await this.sleep(seconds * 1000);
        return null;
      }
      case 'events.create_callback_endpoint': {
        const n = ++this.callbackCount;
        const url =
          this.options.callbackUrl?.(this.executionId, n) ??
          `https://workflowexecutions.googleapis.com/v1/${this.executionId}/callbacks/${n}`;
        this.endpoints.set(url, { url, queue: [], waiter: undefined });
        return { url };
      }
      case 'events.await_callback': {
        const callback = a.callback as { url?: GcpValue } | null;
        const endpoint = typeof callback?.url === 'string' ? this.endpoints.get(callback.url) : undefined;
        if (endpoint === undefined) throw runtimeError('ValueError', 'unknown callback');
        const timeout = typeof a.timeout === 'number' ? a.timeout : 43_200;
        // Even an answer that is already there is taken in turn, after the threads ready before it.
        const body = await this.awaitCallback(endpoint, timeout * 1000);
        return {
          http_request: { body, headers: {}, method: 'POST', query: {}, url: endpoint.url },
          received_time: new Date(this.options.clock.now()).toISOString(),
          type: 'HTTP',
        };
      }
      default:
        return this.subworkflow(name, a);
    }
  }

  /** Blocks this thread until `wake` or `fail` is called by a clock timer or a delivery. */
  /** `first`: the thread runs next (a joined parallel's owner, a cancelled branch), as the orchestrator does. */
  private async acquire(first = false): Promise<void> {
    if (!this.tokenHeld) {
      this.tokenHeld = true;
      return;
    }
    await new Promise<void>((resolve) => (first ? this.ready.unshift(resolve) : this.ready.push(resolve)));
  }

  private release(): void {
    const next = this.ready.shift();
    if (next === undefined) this.tokenHeld = false;
    else next();
  }

  /** Blocks this thread until `wake` or `fail` is called by a clock timer or a delivery. */
  private async block<T>(
    arm: (wake: (value: T, first?: boolean) => void, fail: (error: Error) => void) => () => void,
  ): Promise<T> {
    if (this.stopped) throw new Cancelled();
    this.busy--;
    this.release();
    // The thread takes its place in the ready queue the moment it is woken, not a microtask later.
    let granted: Promise<void> = Promise.resolve();
    const waited = new Promise<T>((resolve, reject) => {
      let settled = false;
      let disarm: () => void = () => {};
      const finish = (first: boolean): boolean => {
        if (settled) return false;
        settled = true;
        this.waits.delete(fail);
        disarm();
        this.busy++;
        granted = this.acquire(first);
        return true;
      };
      const wake = (value: T, first = false): void => {
        if (finish(first)) resolve(value);
      };
      const fail = (error: Error): void => {
        if (finish(false)) reject(error);
      };
      this.waits.add(fail);
      disarm = arm(wake, fail);
    });
    try {
      return await waited;
    } finally {
      await granted;
    }
  }

  private sleep(ms: number): Promise<void> {
    const clock = this.options.clock;
    return this.block<void>((wake) => {
      const timer: TimerHandle = clock.setTimer(clock.now() + Math.max(0, ms), () => wake());
      return () => clock.clearTimer(timer);
    });
  }

  private awaitCallback(endpoint: Endpoint, ms: number): Promise<GcpValue> {
    const clock = this.options.clock;
    return this.block<GcpValue>((wake, fail) => {
      const queued = endpoint.queue.shift();
      if (queued !== undefined) {
        wake(queued);
        return () => {};
      }
      endpoint.waiter = wake;
      const timer = clock.setTimer(clock.now() + ms, () =>
        fail(runtimeError('TimeoutError', 'timed out waiting for a callback')),
      );
      return () => {
        endpoint.waiter = undefined;
        clock.clearTimer(timer);
      };
    });
  }

  private async parallel(spec: Step, scope: Scope): Promise<void> {
    const shared = new Set((spec.shared as string[] | undefined) ?? []);
    for (const name of shared) scope.lookup(name);
    const branches = (spec.branches as StepList).map((b) => Object.values(b)[0] as { steps: StepList });
    const errors: GcpValue[] = [];
    let failure: Error | undefined;
    let remaining = branches.length;
    let join: (() => void) | undefined;
    // Like the orchestrator's fork: the branches queue in order and each runs until it first waits.
    // Depth first, as the orchestrator spawns them: they run before every thread that was ready already.
    const starts: Array<() => void> = [];
    for (const branch of branches) {
      this.busy++;
      const start = new Promise<void>((resolve) => starts.push(resolve));
      void (async () => {
        await start;
        try {
          const flow = await this.runSteps(branch.steps, new Scope(scope, shared));
          if (flow.kind === 'jump' && flow.to !== 'end')
            throw new Error(`jump out of a branch to ${flow.to}`);
        } catch (error) {
          if (error instanceof GcpRaise) errors.push(error.value);
          else if (!(error instanceof Cancelled)) failure ??= error as Error;
        } finally {
          this.busy--;
          remaining--;
          if (remaining === 0) join?.();
          this.release();
        }
      })();
    }
    this.ready.unshift(...starts);
    await this.block<void>((wake) => {
      join = () => wake(undefined, true);
      if (remaining === 0) wake(undefined, true);
      return () => {};
    });
    if (failure !== undefined) throw failure;
    if (this.stopped) throw new Cancelled();
    const [first] = errors;
    if (first !== undefined) throw new GcpRaise(first);
  }
}
