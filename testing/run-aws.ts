// Runs a scenario case on the AWS Step Functions target: the compiled ASL (emitAsl), its Lambda
// placeholders substituted as a deployment does, executes in aws-local-stepfunctions, whose task overrides
// stand in for the Lambdas (tool call, notify, approval request, quorum): each calls the handler every host
// shares (functions/core/handlers/) over the case's mocks, the same ApprovalService as the embedded engine
// and SQLite visit and quorum counters, a decision answering the level's task token. What stays here is
// the executor's part. Test tooling only, never product code:
// - Promise.withResolvers is polyfilled here (the library wants Node 22);
// - time is virtual: while a case runs, the library's setTimeout/clearTimeout go to a VirtualClock, so a
//   level's TimeoutSeconds, the machine's TimeoutSeconds (ExecutionTimeoutError) and the scenario's
//   `after` race in virtual time; the scenario's `cancel` is the execution's abort() (StopExecution);
// - retry waits follow the reference's deterministic backoff (the orchestrator's `backoffDelay`, whose
//   `full` jitter is a hash, where AWS draws at random), so timestamps agree with local runs;
// - the library keeps running a stopped branch's pending retry: a handler called in a stopped branch never
//   answers, as Step Functions would not have called it.
// The observation is read as a status API reads DescribeExecution and the history: the output's vars, or
// for a run without output the last top-level state document with the branches' variables so far.

import { randomBytes } from 'node:crypto';
import {
  ExecutionTimeoutError,
  type RunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { SqliteApprovalStore } from '../adapters/local/approval-store.js';
import { VirtualClock } from '../adapters/local/clock.js';
import { type Db, openDatabase } from '../adapters/local/database.js';
import { SqliteResultStore } from '../adapters/local/result-store.js';
import { SqliteQuorumTallies, SqliteStepVisits } from '../adapters/local/step-tallies.js';
import { ApprovalService } from '../functions/core/approvals.js';
import type { AuditEntry } from '../functions/core/audit.js';
import {
  type AslTaskAnswer,
  aslActivityFailure,
  aslApprovalRequest,
  aslCallbackAnswer,
  aslError,
  aslVisit,
  countAslQuorum,
  type NotifyHandler,
  notifyFromAsl,
  notifyHandler,
  openAslApproval,
  type ToolCallHandler,
  toolCallFromAsl,
  toolCallHandler,
} from '../functions/core/handlers/index.js';
import type { Directory, QuorumTallies, StepVisits, ToolCallContext } from '../functions/core/ports.js';
import { ERROR } from '../functions/core/protocol.js';
import {
  type AslApprovalPayload,
  type AslNotifyPayload,
  type AslQuorumPayload,
  type AslToolCallPayload,
  aslExecutionInput,
} from '../functions/core/wire.js';
import { ASL_ERROR, ASL_PLACEHOLDERS, emitAsl } from '../translator/emit/aws-asl.js';
import { ERROR_CODE } from '../translator/error-codes.js';
import type { IrGraph, IrNode, IrWorkflow } from '../translator/ir.js';
import { backoffDelay } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import type { Observation } from './observation.js';
import {
  approvalOutputs,
  caseInput,
  identityFor,
  scenarioMocks,
  scheduleDecisions,
  slug,
  TIMER_LIMIT,
  VIRTUAL_TIME_LIMIT_MS,
} from './run-local.js';
import { durationMs, type Scenario, type ScenarioCase } from './scenario.js';

/** Test tooling only (never product code): aws-local-stepfunctions calls Promise.withResolvers (Node 22). */
export function polyfillPromiseWithResolvers(): void {
  const PromiseCtor = Promise as unknown as { withResolvers?: unknown };
  if (PromiseCtor.withResolvers !== undefined) return;
  PromiseCtor.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
polyfillPromiseWithResolvers();

type Vars = Record<string, JsonValue>;
type Doc = { ctx?: unknown; vars?: Vars };
interface AslState {
  Type: string;
  Resource?: string;
  Branches?: Array<{ States: Record<string, AslState> }>;
}
interface LibraryEvent {
  type: string;
  state?: { name: string; input?: unknown; output?: unknown };
  parentState?: unknown;
  Error?: string;
  Cause?: unknown;
}

function taskStates(states: Record<string, AslState>, out: Map<string, string>): void {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource !== undefined) out.set(name, state.Resource);
    for (const branch of state.Branches ?? []) taskStates(branch.States, out);
  }
}

/** For every state, the Parallel states it runs inside. */
function enclosingParallels(definition: { States: Record<string, AslState> }): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (states: Record<string, AslState>, parents: string[]): void => {
    for (const [name, state] of Object.entries(states)) {
      out.set(name, parents);
      for (const branch of state.Branches ?? []) walk(branch.States, [...parents, name]);
    }
  };
  walk(definition.States, []);
  return out;
}

function irNodes(graph: IrGraph, out: Map<string, IrNode>): Map<string, IrNode> {
  for (const node of graph.nodes) {
    out.set(node.id, node);
    if (node.kind === 'parallel') for (const branch of node.branches) irNodes(branch, out);
  }
  return out;
}

export async function runCaseAws(ir: IrWorkflow, scenario: Scenario, c: ScenarioCase): Promise<Observation> {
  return (await runCaseAwsDetailed(ir, scenario, c)).observation;
}

/** One case's execution, as the parts of the stand-in share it. */
interface AslRun {
  ir: IrWorkflow;
  c: ScenarioCase;
  runId: string;
  clock: VirtualClock;
  definition: Record<string, unknown>;
  nodes: Map<string, IrNode>;
  /** For every state, the Parallel states it runs inside. */
  enclosing: Map<string, string[]>;
  /** Parallels that failed or reached their quorum: their branches are stopped. */
  closed: Set<string>;
  /** False once the execution ended or was stopped. */
  running: boolean;
  /** The attempts made per step: the library has no `$$.State.RetryCount`. */
  attempts: Map<string, number>;
  /** The handler invocations made (each a Lambda invocation on AWS), retries included. */
  invocations: number;
}

/** The state is in a branch of a Parallel that failed or reached its quorum, or the execution ended. */
function stopped(run: AslRun, state: string): boolean {
  return !run.running || (run.enclosing.get(state) ?? []).some((p) => run.closed.has(p));
}

/**
 * The observation, the number of state transitions (states entered, branches included) and of handler
 * invocations (Lambda invocations on AWS, retries included): what a run costs on Step Functions.
 */
export async function runCaseAwsDetailed(
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
): Promise<{ observation: Observation; transitions: number; invocations: number }> {
  const user = identityFor(scenario, c.as);
  const clock = new VirtualClock();
  const { directory, tools, notifier, toolCalls, notifications } = scenarioMocks(scenario, c, clock);
  const definition = deploy(emitAsl(ir));
  const run: AslRun = {
    ir,
    c,
    runId: `run-${slug(c.name)}`,
    clock,
    definition,
    nodes: irNodes(ir.graph, new Map()),
    enclosing: enclosingParallels(definition as unknown as { States: Record<string, AslState> }),
    closed: new Set(),
    running: true,
    attempts: new Map(),
    invocations: 0,
  };
  const db = openDatabase(':memory:');
  /** The run's audit trail, as the handlers write it (the observation does not read it). */
  const audit: AuditEntry[] = [];
  const ports: AslPorts = {
    // The shared handlers; the tool-call one stores large results and passes a reference on.
    toolCall: toolCallHandler({ tools, results: new SqliteResultStore(db) }),
    notify: notifyHandler(notifier),
    trail: { audit: (entry) => void audit.push(entry) },
    ...caseApprovals(run, db, directory, audit),
    visits: new SqliteStepVisits(db),
    tallies: new SqliteQuorumTallies(db),
  };
  const turns = sameInstantTurns(run);
  const restoreTimers = installVirtualTimers(clock);
  try {
    const startedAt = clock.now();
    const doc = aslExecutionInput(
      {
        runId: run.runId,
        workflowId: ir.id,
        input: caseInput(ir, c),
        trigger: { type: c.trigger ?? 'manual', user },
      },
      startedAt,
    );
    const seen = await execute(run, doc, turns, aslHandlers(run, ports, turns));
    return {
      observation: observe(ir, { ...seen, toolCalls, notifications }),
      transitions: seen.events.filter((e) => e.type === 'StateEntered').length,
      invocations: run.invocations,
    };
  } finally {
    run.running = false;
    restoreTimers();
    // A decision the scenario scheduled may still be writing when the execution has ended (a level
    // decided as the run stops): the database closes once none is.
    while (ports.approvals.pending() > 0) await new Promise((resolve) => setImmediate(resolve));
    db.close();
  }
}

/**
 * The approval service over the case's database. A level's request carries its task token as the callback
 * handle, which the store keeps encrypted; the decision answers the token that the stored handle names, as
 * a decision Lambda calls SendTaskSuccess / SendTaskFailure (`waiting` stands for those two calls).
 */
function caseApprovals(
  run: AslRun,
  db: Db,
  directory: Directory,
  audit: AuditEntry[],
): Pick<AslPorts, 'approvals' | 'waiting'> {
  const waiting = new Map<string, { resolve: (answer: AslTaskAnswer) => void }>();
  const approvals = new ApprovalService({
    store: new SqliteApprovalStore(db, {
      callbackKey: randomBytes(32),
      recordAudit: (_id, entry) => void audit.push(entry),
    }),
    directory,
    clock: run.clock,
    notifier: { requested: async () => {} },
    raiseEvent: async (_id, _name, outcome, callback) => {
      if (callback === null) throw new Error('an ASL approval level without its task token');
      const { taskToken, answer } = aslCallbackAnswer(callback, outcome);
      const pending = waiting.get(taskToken);
      waiting.delete(taskToken);
      pending?.resolve(answer);
    },
    recordAudit: async (_id, entry) => void audit.push(entry),
    runActive: async (id) => id === run.runId && run.running,
  });
  return { approvals, waiting };
}

/**
 * Same-instant ordering, as the embedded engine has it. The engine runs each branch to its next wait in
 * branch order and takes same-instant completions one at a time, in the order the calls were made; the
 * library's branches race through microtasks instead. So handler calls made while the machine moves on are
 * held until it is quiet, then started in workflow order (the IR's pre-order, which is the engine's order
 * within one step of progress), and their answers are handed back one per quiet moment, first come first
 * served.
 */
function sameInstantTurns(run: AslRun) {
  const order = new Map([...run.nodes.keys()].map((id, i) => [id, i]));
  /** Tool and notify steps called before: a later call may be a retry the library runs in a stopped branch. */
  const calledBefore = new Set<string>();
  const held: Array<{ key: number; start: () => void }> = [];
  const ready: Array<{ stepId: string; answer: () => void }> = [];
  const startHeld = (): void => {
    for (const call of held.splice(0).sort((x, y) => x.key - y.key)) call.start();
  };
  return {
    /** Whether this is the state's first call (only tool and notify states count). */
    firstAttempt(state: string): boolean {
      const node = run.nodes.get(state);
      if ((node?.kind !== 'tool' && node?.kind !== 'notify') || calledBefore.has(state)) return false;
      calledBefore.add(state);
      return true;
    },
    /** Holds `work` until the next quiet moment; its answer is handed back at a later one. */
    inTurn<T>(stepId: string, work: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        held.push({
          key: order.get(stepId) ?? 0,
          start: () => {
            work().then(
              (value) => ready.push({ stepId, answer: () => resolve(value) }),
              (error: unknown) => ready.push({ stepId, answer: () => reject(error) }),
            );
          },
        });
      });
    },
    /** At a quiet moment: start the held calls, or else hand back one answer. False when nothing is left. */
    nextTurn(): boolean {
      if (held.length > 0) {
        startHeld();
        return true;
      }
      const next = ready.shift();
      // A branch stopped meanwhile (its parallel failed or was decided) gets no answer, as in Step Functions.
      if (next !== undefined && !stopped(run, next.stepId)) next.answer();
      return next !== undefined;
    },
    /** Starts every held call, in workflow order. */
    startHeld,
  };
}
type Turns = ReturnType<typeof sameInstantTurns>;

/** The shared handlers and ports a case's Tasks reach. */
interface AslPorts {
  toolCall: ToolCallHandler;
  notify: NotifyHandler;
  trail: ToolCallContext;
  approvals: ApprovalService;
  /** The Tasks waiting for a level's decision, by their task token: SendTaskSuccess / SendTaskFailure. */
  waiting: Map<string, { resolve: (answer: AslTaskAnswer) => void }>;
  visits: StepVisits;
  tallies: QuorumTallies;
}

/** The payload with the attempt the library cannot count (`$$.State.RetryCount`) counted here. */
function withAttempt<P extends { stepId: string; attempt: number }>(run: AslRun, payload: P): P {
  const n = (run.attempts.get(payload.stepId) ?? 0) + 1;
  run.attempts.set(payload.stepId, n);
  return { ...payload, attempt: n - 1 };
}

/** The Lambdas, by activity: each calls the shared handler on the payload the compiled Task passes. */
function aslHandlers(
  run: AslRun,
  ports: AslPorts,
  turns: Turns,
): Record<string, (payload: never) => Promise<JsonValue>> {
  const { clock, c, runId } = run;
  let tokens = 0;
  return {
    'tool.call': async (payload: AslToolCallPayload) => {
      try {
        const request = toolCallFromAsl(withAttempt(run, payload), await aslVisit(ports.visits, payload));
        const result = await turns.inTurn(request.stepId, () => ports.toolCall(request, ports.trail));
        // As Lambda serialises a response.
        return JSON.parse(JSON.stringify(result)) as JsonValue;
      } catch (error) {
        throw aslActivityFailure(error, payload.stepId);
      }
    },
    'notify.send': async (payload: AslNotifyPayload) => {
      try {
        const request = notifyFromAsl(withAttempt(run, payload), await aslVisit(ports.visits, payload));
        return await turns.inTurn(request.stepId, () => ports.notify(request));
      } catch (error) {
        throw aslActivityFailure(error, payload.stepId);
      }
    },
    'approval.request': async (outer: { Payload: AslApprovalPayload }) => {
      // Step Functions gives every waiting Task a token of its own; the library's context object holds one
      // for the whole execution, so each Task's is made unique here.
      const payload = { ...outer.Payload, taskToken: `${outer.Payload.taskToken}-${++tokens}` };
      const request = await aslApprovalRequest({ clock, visits: ports.visits }, payload);
      // As on the local target, the scenario's decisions are scheduled when the step is first entered.
      if (request.level === 1 && request.visit === 1)
        scheduleDecisions(c, clock, ports.approvals, runId, request.stepId, clock.now());
      // The task token's answer: what the decision handler sends once the level is decided.
      const decided = new Promise<AslTaskAnswer>((resolve) =>
        ports.waiting.set(payload.taskToken, { resolve }),
      );
      try {
        await openAslApproval(ports.approvals, request);
      } catch (error) {
        ports.waiting.delete(payload.taskToken);
        throw error;
      }
      const answer = await decided;
      if (!answer.ok) throw aslError(answer.error, answer.cause);
      return answer.output as unknown as JsonValue;
    },
    quorum: async (payload: AslQuorumPayload) => {
      const answer = await countAslQuorum(ports.tallies, payload);
      if (answer === null) return null;
      run.closed.add(payload.stepId);
      throw aslError(answer.error, answer.cause);
    },
  };
}

/**
 * The library's task overrides (one per Task state, dispatching on the payload's `activity`) and retry
 * interval overrides, and how many handlers are deferring (letting the event log catch up) right now.
 */
function taskOverrides(
  run: AslRun,
  turns: Turns,
  handlers: Record<string, (payload: never) => Promise<JsonValue>>,
): Pick<NonNullable<RunOptions['overrides']>, 'taskResourceLocalHandlers' | 'retryIntervalOverrides'> & {
  deferring: () => number;
} {
  let deferring = 0;
  const resources = new Map<string, string>();
  taskStates((run.definition as unknown as { States: Record<string, AslState> }).States, resources);
  /** The handler for a Task's payload, by its `activity` (the approval's is inside `Payload`). */
  const dispatch = (payload: unknown): Promise<JsonValue> => {
    const body = payload as { activity?: string; Payload?: { activity?: string } };
    const activity = String(body.activity ?? body.Payload?.activity);
    const handler = handlers[activity];
    if (handler === undefined) throw new Error(`no handler for ${activity}`);
    run.invocations++;
    return handler(payload as never);
  };
  const overrides: Record<string, (input: unknown) => Promise<JsonValue>> = {};
  for (const name of resources.keys()) {
    overrides[name] = async (payload) => {
      // A tool or notify state's first attempt is made when the state is entered: a branch entering it at
      // the instant its parallel is decided still makes the call (the call is held and started in workflow
      // order; its answer is dropped, see nextTurn), as the embedded engine's branches all start.
      if (turns.firstAttempt(name)) return run.running ? dispatch(payload) : new Promise(() => {});
      // Step Functions stops the other branches of a Parallel that failed or reached its quorum, and
      // everything once the execution stopped; the library's aborted branch still runs its pending retry
      // at once, so a handler first lets the event log catch up (no virtual time passes) and, invoked in a
      // stopped branch, never answers (the stopped branch's result is discarded anyway).
      deferring++;
      try {
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      } finally {
        deferring--;
      }
      if (stopped(run, name)) return new Promise(() => {});
      return dispatch(payload);
    };
  }
  // The library's array override is per retrier, not per attempt: a getter answers with the reference
  // delay for the attempt that just failed (counted by the handlers), read when the retry is decided.
  const retryIntervalOverrides: Record<string, number> = {};
  for (const node of run.nodes.values()) {
    if ((node.kind === 'tool' || node.kind === 'notify') && node.retry.maxAttempts > 1) {
      const { id, retry } = node;
      Object.defineProperty(retryIntervalOverrides, id, {
        enumerable: true,
        get: () => {
          const attempt = Math.max(1, run.attempts.get(id) ?? 1);
          return backoffDelay(retry, attempt, `${run.runId}:${id}:1:${attempt}`);
        },
      });
    }
  }
  return { taskResourceLocalHandlers: overrides, retryIntervalOverrides, deferring: () => deferring };
}

/** While a case runs, the library's setTimeout/clearTimeout go to the virtual clock; answers the restore. */
function installVirtualTimers(clock: VirtualClock): () => void {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const virtual = new WeakSet<object>();
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = (fn: () => void, ms?: number) => {
    const handle = clock.setTimer(clock.now() + Math.max(0, ms ?? 0), fn);
    virtual.add(handle);
    return handle;
  };
  g.clearTimeout = (handle: unknown) => {
    if (handle !== null && typeof handle === 'object' && virtual.has(handle))
      clock.clearTimer(handle as never);
    else realClearTimeout(handle as NodeJS.Timeout);
  };
  return () => {
    g.setTimeout = realSetTimeout;
    g.clearTimeout = realClearTimeout;
  };
}

type Ended = 'completed' | 'failed' | 'aborted' | 'timed_out';

/** What the execution showed: how it ended, its output or last committed document, its events and path. */
interface Seen {
  ended: Ended | undefined;
  stop: 'cancelled' | undefined;
  output: Doc | null;
  lastDoc: Doc;
  events: LibraryEvent[];
  path: string[];
}

/**
 * Runs the machine on the virtual clock until it ends: settles (a few event-loop turns with nothing but
 * virtual timers pending; held calls and answers are let through one turn at a time), then fires the next
 * timer. The scenario's `cancel` is the execution's abort() (StopExecution).
 */
async function execute(
  run: AslRun,
  doc: Doc,
  turns: Turns,
  handlers: Record<string, (payload: never) => Promise<JsonValue>>,
): Promise<Seen> {
  const { clock, definition, runId, c } = run;
  const { deferring, ...overrides } = taskOverrides(run, turns, handlers);
  const startedAt = clock.now();
  const seen: Seen = { ended: undefined, stop: undefined, output: null, lastDoc: doc, events: [], path: [] };
  // The library validates the definition again (its own asl-validator), ARNs and paths included.
  const machine = new StateMachine(definition as unknown as StateMachineDefinition);
  const execution = machine.run(doc as Parameters<StateMachine['run']>[0], {
    overrides,
    noThrowOnAbort: true,
    // The library has no task tokens or retry counts of its own: the context object supplies them.
    context: {
      Execution: { Id: runId, Name: runId, StartTime: new Date(startedAt).toISOString() },
      Task: { Token: `token-${runId}` },
      State: { RetryCount: 0, EnteredTime: new Date(startedAt).toISOString() },
    },
  });
  const consume = consumeEvents(run, execution.eventLogs as AsyncGenerator<LibraryEvent>, seen);
  if (c.cancel !== undefined)
    clock.setTimer(startedAt + durationMs(c.cancel.after), () => {
      if (seen.ended !== undefined || seen.stop !== undefined) return;
      seen.stop = 'cancelled';
      run.running = false;
      execution.abort();
    });
  const result = execution.result.then(
    (output) => {
      seen.ended = output === null ? 'aborted' : 'completed';
      return output as Doc | null;
    },
    (e: unknown) => {
      seen.ended = e instanceof ExecutionTimeoutError ? 'timed_out' : 'failed';
      return null;
    },
  );
  let settling = 0;
  const SETTLE_TURNS = 20;
  const pending = (): number => {
    if (seen.ended !== undefined) {
      // Calls made before the execution ended were made, even if nobody takes their answers.
      turns.startHeld();
      return 0;
    }
    if (deferring() > 0 || ++settling < SETTLE_TURNS) return 1e9;
    settling = 0;
    return turns.nextTurn() ? 1e9 : 0;
  };
  await clock.run({ pending }, startedAt + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
  seen.output = await result;
  run.running = false;
  await consume.catch(() => undefined);
  // A run stopped inside a parallel shows what was committed: its branches' writes never were.
  return { ...seen, lastDoc: { vars: { ...seen.lastDoc.vars } } };
}

/** Follows the event log: the path, the Parallels that stopped their branches, the last top-level document. */
async function consumeEvents(run: AslRun, log: AsyncGenerator<LibraryEvent>, seen: Seen): Promise<void> {
  const topLevel = new Set(Object.keys((run.definition as { States: Record<string, unknown> }).States));
  for await (const event of log) {
    seen.events.push(event);
    // A failed branch fails its Parallel, which stops the other branches.
    const parent = event.parentState as { name?: string } | undefined;
    if (event.type === 'ParallelBranchFailed' && parent?.name !== undefined) run.closed.add(parent.name);
    const state = event.state;
    if (state === undefined) continue;
    if (event.type === 'StateEntered' && run.nodes.has(state.name)) seen.path.push(state.name);
    if (
      (event.type === 'StateFailed' || event.type === 'StateCaught') &&
      run.enclosing.has(state.name) &&
      isParallel(run.definition, state.name)
    )
      run.closed.add(state.name);
    if (!topLevel.has(state.name)) continue;
    const doc = (event.type === 'StateExited' ? state.output : state.input) as Doc | undefined;
    if (doc?.vars !== undefined) seen.lastDoc = doc;
  }
}

/** Substitutes the Lambda placeholders as a deployment does (CDK DefinitionSubstitutions). */
function deploy(definition: Record<string, unknown>): Record<string, unknown> {
  let json = JSON.stringify(definition);
  for (const placeholder of Object.values(ASL_PLACEHOLDERS)) {
    const name = placeholder.slice(2, -1).replace(/FunctionArn$/, '');
    json = json.replaceAll(placeholder, `arn:aws:lambda:us-east-1:123456789012:function:stepgate-${name}`);
  }
  return JSON.parse(json) as Record<string, unknown>;
}

function isParallel(definition: Record<string, unknown>, name: string): boolean {
  const find = (states: Record<string, AslState>): boolean =>
    Object.entries(states).some(
      ([key, state]) =>
        (key === name && state.Type === 'Parallel') || (state.Branches ?? []).some((b) => find(b.States)),
    );
  return find((definition as { States: Record<string, AslState> }).States);
}

function withoutBuiltins(vars: Vars | undefined): Vars {
  const { trigger: _trigger, run: _run, ...rest } = vars ?? {};
  return rest;
}

function parseCause(cause: unknown): Vars {
  try {
    const parsed = JSON.parse(String(cause)) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Vars) : {};
  } catch {
    return {};
  }
}

/** Reads the execution the way a status API reads DescribeExecution and the history: a RunOutcome. */
function observe(
  ir: IrWorkflow,
  seen: Seen & { toolCalls: Record<string, number>; notifications: Observation['notifications'] },
): Observation {
  let status = 'unknown';
  let vars: Vars = withoutBuiltins(seen.lastDoc.vars);
  let error: Observation['error'] = null;
  if (seen.ended === 'timed_out') {
    status = 'timed_out';
    error = { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null };
  } else if (seen.stop === 'cancelled') status = 'cancelled';
  else if (seen.ended === 'completed') {
    status = 'completed';
    vars = withoutBuiltins(seen.output?.vars);
  } else if (seen.ended === 'failed') {
    status = 'failed';
    const failed = seen.events.find((e) => e.type === 'ExecutionFailed');
    const name = failed?.Error ?? ERROR_CODE.unknown;
    const cause = parseCause(failed?.Cause);
    if (name === ASL_ERROR.rejected || name === ASL_ERROR.approvalTimeout) {
      // The cause carries the step's result variable and its error; the error is not a variable here.
      const { error: carried, ...results } = cause;
      vars = { ...vars, ...results };
      const e = carried as { code?: string; message?: string; step?: string | null } | undefined;
      error = { code: e?.code ?? name, message: e?.message ?? '', step: e?.step ?? null };
      if (name === ASL_ERROR.approvalTimeout) status = 'timed_out';
    } else {
      const e = cause.error as { code?: string; message?: string; step?: string | null } | undefined;
      error = {
        code: e?.code ?? name,
        message: e?.message ?? String(failed?.Cause ?? ''),
        step: e?.step ?? null,
      };
    }
  }
  const approvals: Record<string, JsonValue> = {};
  for (const [stepId, output] of approvalOutputs(ir)) {
    const value = vars[output];
    if (value !== undefined) approvals[stepId] = value;
  }
  return {
    status,
    path: seen.path,
    toolCalls: seen.toolCalls,
    approvals,
    notifications: seen.notifications,
    vars,
    error,
  };
}
