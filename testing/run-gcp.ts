// Runs a scenario case on the GCP Workflows target: the compiled YAML (emitGcpWorkflows) runs in the test
// oracle (testing/gcp-oracle/interpreter.ts) on the case's virtual clock; its http.post calls reach the
// functions in-process, which call the handlers every host shares (functions/core/handlers/) over the
// case's mocked tools and channels and the same ApprovalService as the embedded engine, answering a step's
// callback, or the level's callback URL (the request's event name) for a decision. What stays here is the
// GCP executor's part: the interpreter, the callbacks, backoff and resolve-time. The whole-run timeout and
// cancellation are the execution cancel API, as the trigger function drives it.
import { parse } from 'yaml';
import { SqliteApprovalStore } from '../adapters/local/approval-store.js';
import { VirtualClock } from '../adapters/local/clock.js';
import { type Db, openDatabase } from '../adapters/local/database.js';
import { SqliteResultStore } from '../adapters/local/result-store.js';
import { ApprovalService } from '../functions/core/approvals.js';
import type { AuditEntry } from '../functions/core/audit.js';
import {
  approvalCloseFromGcp,
  closeApproval,
  gcpBackoff,
  gcpFailure,
  type NotifyHandler,
  notifyFromGcp,
  notifyHandler,
  requestGcpApproval,
  resolveGcpTime,
  type ToolCallHandler,
  toolCallFromGcp,
  toolCallHandler,
} from '../functions/core/handlers/index.js';
import type { Directory, ToolCallContext } from '../functions/core/ports.js';
import { ERROR, identityJson } from '../functions/core/protocol.js';
import type {
  GcpApprovalCloseBody,
  GcpApprovalRequestBody,
  GcpBackoffBody,
  GcpNotifyBody,
  GcpResolveTimeBody,
  GcpToolCallBody,
} from '../functions/core/wire.js';
import { emitGcpWorkflows } from '../translator/emit/gcp-workflows.js';
import { ERROR_CODE } from '../translator/error-codes.js';
import type { IrWorkflow } from '../translator/ir.js';
import type { JsonValue } from '../translator/template.js';
import { type ExecutionResult, GcpInterpreter, type GcpValue } from './gcp-oracle/interpreter.js';
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

const FUNCTIONS = {
  toolCall: 'https://functions.test/tool-call',
  notify: 'https://functions.test/notify',
  approvalRequest: 'https://functions.test/approval-request',
  approvalClose: 'https://functions.test/approval-close',
  backoff: 'https://functions.test/backoff',
  resolveTime: 'https://functions.test/resolve-time',
};

/** One case's execution, as the parts of the stand-in share it. */
export interface GcpRun {
  ir: IrWorkflow;
  c: ScenarioCase;
  runId: string;
  clock: VirtualClock;
  /** Set once the functions it calls exist (they answer through it). */
  interpreter?: GcpInterpreter;
  /**
   * Callback answers waiting for a quiet moment: handed back one per quiet moment, first come first served,
   * as the embedded engine takes same-instant completions one at a time (each runs to its next wait).
   */
  answers: Array<() => void>;
}

/** The shared handlers and ports the case's functions reach. */
interface GcpPorts {
  toolCall: ToolCallHandler;
  notify: NotifyHandler;
  trail: ToolCallContext;
  approvals: ApprovalService;
}

export async function runCaseGcp(ir: IrWorkflow, scenario: Scenario, c: ScenarioCase): Promise<Observation> {
  return (await runCaseGcpDetailed(ir, scenario, c)).observation;
}

/** What a case's execution did, as GCP bills it (bench/gcp-costs.ts). */
export interface GcpRunDetail {
  observation: Observation;
  /** The names of the workflow steps executed, in order (branches included, retries each time). */
  steps: string[];
  /** The function invocations the execution made, by `sg.functions` key. */
  calls: Record<string, number>;
  /** The Cloud Tasks a deployment enqueues for them: the worker's work and the branches' wake-ups. */
  tasks: number;
}

/** runCaseGcp, with the steps executed and the functions called (what a run costs on GCP). */
export async function runCaseGcpDetailed(
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
): Promise<GcpRunDetail> {
  const user = identityFor(scenario, c.as);
  const clock = new VirtualClock();
  const { directory, tools, notifier, toolCalls, notifications } = scenarioMocks(scenario, c, clock);
  const run: GcpRun = { ir, c, runId: `run-${slug(c.name)}`, clock, answers: [] };
  const { runId } = run;
  const db = openDatabase(':memory:');
  /** The run's audit trail, as the handlers write it (the observation does not read it). */
  const audit: AuditEntry[] = [];
  const ports: GcpPorts = {
    // The shared handlers; the tool-call one stores large results and passes a reference on.
    toolCall: toolCallHandler({ tools, results: new SqliteResultStore(db) }),
    notify: notifyHandler(notifier),
    trail: { audit: (entry) => void audit.push(entry) },
    approvals: caseApprovals(run, db, directory, audit),
  };
  const { path, onStep: watch } = stepWatcher(run, ports.approvals);
  const doc = parse(emitGcpWorkflows(ir)) as ConstructorParameters<typeof GcpInterpreter>[0];
  const detail = { steps: [] as string[], calls: {} as Record<string, number>, tasks: 0 };
  const onStep = (name: string): void => {
    detail.steps.push(name);
    watch(name);
  };
  const functions = gcpFunctions(run, ports);
  const http = (url: string, body: GcpValue): Promise<GcpValue> => {
    const key = Object.entries(FUNCTIONS).find(([, u]) => u === url)?.[0] ?? url;
    detail.calls[key] = (detail.calls[key] ?? 0) + 1;
    const b = (body ?? {}) as { callbackUrl?: unknown; wakeUrl?: unknown };
    if (b.callbackUrl !== undefined || b.wakeUrl !== undefined) detail.tasks++;
    return functions(url, body);
  };
  const running = new GcpInterpreter(doc, { clock, http, onStep }, `executions/${runId}`);
  run.interpreter = running;
  const argument = {
    input: caseInput(ir, c),
    trigger: { type: c.trigger ?? 'manual', user: identityJson(user) },
    run: { id: runId, startedAt: new Date(clock.now()).toISOString(), workflowId: ir.id },
    stepgate: { runId, workflowId: ir.id, identity: user as unknown as GcpValue, functions: FUNCTIONS },
  } as GcpValue;
  let stopped: 'cancelled' | 'timed_out' | undefined;
  const stop = (status: 'cancelled' | 'timed_out'): void => {
    if (!running.running || stopped !== undefined) return;
    stopped = status;
    running.cancel();
  };
  if (ir.timeoutMs !== null) clock.setTimer(clock.now() + ir.timeoutMs, () => stop('timed_out'));
  if (c.cancel !== undefined)
    clock.setTimer(clock.now() + durationMs(c.cancel.after), () => stop('cancelled'));
  try {
    const execution = running.execute(argument);
    const quiet = {
      pending: (): number => {
        const busy = running.pending() + ports.approvals.pending();
        if (busy > clock.sleeping) return busy;
        const next = run.answers.shift();
        next?.();
        return next === undefined ? busy : clock.sleeping + 1;
      },
    };
    await clock.run(quiet, clock.now() + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
    const { status, error, vars } = outcomeOf(await execution, running, stopped);
    const approvalsSeen: Record<string, JsonValue> = {};
    for (const [step, output] of approvalOutputs(ir)) {
      const value = vars[output];
      if (value !== undefined) approvalsSeen[step] = value;
    }
    const observation = { status, path, toolCalls, approvals: approvalsSeen, notifications, vars, error };
    return { observation, ...detail };
  } finally {
    // A decision still writing as the execution ended: the database closes once none is.
    while (ports.approvals.pending() > 0) await new Promise((resolve) => setImmediate(resolve));
    db.close();
  }
}

/** The approval service over the case's database, posting a level's outcome to its callback URL. */
function caseApprovals(run: GcpRun, db: Db, directory: Directory, audit: AuditEntry[]): ApprovalService {
  return new ApprovalService({
    store: new SqliteApprovalStore(db, { recordAudit: (_id, entry) => void audit.push(entry) }),
    directory,
    clock: run.clock,
    notifier: { requested: async () => {} },
    raiseEvent: async (id, name, payload) => {
      if (id === run.runId) run.interpreter?.deliver(name, payload as unknown as GcpValue);
    },
    recordAudit: async (_id, entry) => void audit.push(entry),
    runActive: async (id) => id === run.runId && run.interpreter?.running === true,
  });
}

/** The path of workflow steps entered; an approval step's decisions are scheduled on its first entry. */
export function stepWatcher(
  run: Pick<GcpRun, 'ir' | 'c' | 'runId' | 'clock'>,
  approvals: Pick<ApprovalService, 'decide'>,
): { path: string[]; onStep: (name: string) => void } {
  const ids = new Set<string>();
  const walk = (nodes: IrWorkflow['graph']['nodes']): void => {
    for (const node of nodes) {
      ids.add(node.id);
      if (node.kind === 'parallel') for (const branch of node.branches) walk(branch.nodes);
    }
  };
  walk(run.ir.graph.nodes);
  const approvalSteps = new Set(approvalOutputs(run.ir).map(([step]) => step));
  const path: string[] = [];
  const onStep = (name: string): void => {
    if (!ids.has(name)) return;
    path.push(name);
    if (!approvalSteps.has(name) || path.filter((p) => p === name).length !== 1) return;
    scheduleDecisions(run.c, run.clock, approvals, run.runId, name, run.clock.now());
  };
  return { path, onStep };
}

/** The functions the workflow posts to (`sg.functions`): the shared handlers, and backoff and resolve-time. */
function gcpFunctions(run: GcpRun, ports: GcpPorts): (url: string, raw: GcpValue) => Promise<GcpValue> {
  const { clock } = run;
  /** A scheduled HTTP task: answers a branch's wait callback at `at`. */
  const wakeLater = (url: string, at: number): void => {
    clock.setTimer(at, () => run.interpreter?.deliver(url, { wake: true }));
  };
  /** An activity: acknowledged at once; the work's answer is posted to the step's callback later. */
  const background = (callbackUrl: JsonValue | undefined, work: () => Promise<unknown>): GcpValue => {
    const answer = (body: GcpValue): void => {
      if (typeof callbackUrl === 'string')
        run.answers.push(() => run.interpreter?.deliver(callbackUrl, body));
    };
    run.interpreter?.track(
      work().then(
        (result) => answer({ ok: true, result: result === undefined ? null : (result as GcpValue) }),
        (error: unknown) => answer(gcpFailure(error) as unknown as GcpValue),
      ),
    );
    return { accepted: true };
  };
  return async (url, raw) => {
    const body = raw ?? {};
    switch (url) {
      case FUNCTIONS.toolCall: {
        const b = body as unknown as GcpToolCallBody;
        return background(b.callbackUrl, () => ports.toolCall(toolCallFromGcp(b), ports.trail));
      }
      case FUNCTIONS.notify: {
        const b = body as unknown as GcpNotifyBody;
        return background(b.callbackUrl, () => ports.notify(notifyFromGcp(b)));
      }
      case FUNCTIONS.approvalRequest: {
        const b = body as unknown as GcpApprovalRequestBody;
        return (await requestGcpApproval({ approvals: ports.approvals, clock }, b)) as unknown as GcpValue;
      }
      case FUNCTIONS.approvalClose:
        return closeApproval(ports.approvals, approvalCloseFromGcp(body as unknown as GcpApprovalCloseBody));
      case FUNCTIONS.backoff: {
        const { response, wake } = gcpBackoff(body as unknown as GcpBackoffBody, clock.now());
        if (wake !== undefined) wakeLater(wake.url, wake.at);
        return response as unknown as GcpValue;
      }
      case FUNCTIONS.resolveTime: {
        const { response, wake } = resolveGcpTime(body as unknown as GcpResolveTimeBody, clock.now());
        if (wake !== undefined) wakeLater(wake.url, wake.at);
        return response as unknown as GcpValue;
      }
      default:
        throw new Error(`no handler for ${url}`);
    }
  };
}

/**
 * Reads the execution as the status API does: the outcome the workflow returned, or how it was stopped (the
 * variables then read from `routine`'s scope: `main`, or the run's routine under a run-end reporting main).
 */
export function outcomeOf(
  result: ExecutionResult,
  interpreter: GcpInterpreter,
  stopped: 'cancelled' | 'timed_out' | undefined,
  routine = 'main',
): Pick<Observation, 'status' | 'error' | 'vars'> {
  if (result.state === 'cancelled') {
    const status = stopped ?? 'cancelled';
    const error =
      status === 'timed_out'
        ? { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null }
        : null;
    const {
      trigger: _t,
      run: _r,
      ...vars
    } = (interpreter.variable('vars', routine) ?? {}) as Record<string, JsonValue>;
    return { status, error, vars };
  }
  const outcome = (result.state === 'succeeded' ? result.result : result.error) as {
    status?: string;
    error?: Observation['error'];
    vars?: Record<string, JsonValue>;
  } | null;
  if (outcome === null || typeof outcome !== 'object' || typeof outcome.status !== 'string')
    return {
      status: 'failed',
      error: { code: ERROR_CODE.engineError, message: JSON.stringify(outcome), step: null },
      vars: {},
    };
  return { status: outcome.status, error: outcome.error ?? null, vars: outcome.vars ?? {} };
}
