// Runs a scenario case on the GCP Workflows target: the compiled YAML (emitGcpWorkflows) runs in the test
// oracle (testing/gcp-oracle/interpreter.ts) on the case's virtual clock; its http.post calls reach
// in-process handlers that do what the GCP functions do — resolve the static templates against the
// variables with the shared resolveTemplate, call the case's mocked tools and channels, answer the step's
// callback — and the approval handlers are the same ApprovalService as the embedded engine, answering the
// level's callback URL (the request's event name). The whole-run timeout and cancellation are the
// execution cancel API, as the trigger function drives it.
import { parse } from 'yaml';
import { SqliteApprovalStore } from '../adapters/local/approval-store.js';
import { VirtualClock } from '../adapters/local/clock.js';
import { openDatabase } from '../adapters/local/database.js';
import { SqliteResultStore } from '../adapters/local/result-store.js';
import { ApprovalService } from '../functions/core/approvals.js';
import type { AuditEntry } from '../functions/core/audit.js';
import {
  approvalCloseFromGcp,
  closeApproval,
  gcpFailure,
  notifyFromGcp,
  notifyHandler,
  requestGcpApproval,
  toolCallFromGcp,
  toolCallHandler,
} from '../functions/core/handlers/index.js';
import { ERROR, identityJson } from '../functions/core/protocol.js';
import type {
  GcpApprovalCloseBody,
  GcpApprovalRequestBody,
  GcpBackoffBody,
  GcpBackoffResponse,
  GcpNotifyBody,
  GcpResolveTimeBody,
  GcpResolveTimeResponse,
  GcpStepBody,
  GcpToolCallBody,
} from '../functions/core/wire.js';
import { parseIsoTime } from '../translator/duration.js';
import { emitGcpWorkflows } from '../translator/emit/gcp-workflows.js';
import { ERROR_CODE } from '../translator/error-codes.js';
import type { IrWorkflow } from '../translator/ir.js';
import { backoffDelay } from '../translator/ir.js';
import { type JsonValue, resolveTemplate, type Template } from '../translator/template.js';
import { GcpInterpreter, type GcpValue } from './gcp-oracle/interpreter.js';
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

function template(text: JsonValue | undefined): Template {
  return JSON.parse(String(text)) as Template;
}

export async function runCaseGcp(ir: IrWorkflow, scenario: Scenario, c: ScenarioCase): Promise<Observation> {
  const user = identityFor(scenario, c.as);
  const input = caseInput(ir, c);
  const clock = new VirtualClock();
  const { directory, tools: mocked, notifier, toolCalls, notifications } = scenarioMocks(scenario, c, clock);
  const runId = `run-${slug(c.name)}`;
  const db = openDatabase(':memory:');
  // The shared handlers; the tool-call one stores large results and passes a reference on.
  const toolCall = toolCallHandler({ tools: mocked, results: new SqliteResultStore(db) });
  const notify = notifyHandler(notifier);
  /** The run's audit trail, as the handlers write it (the observation does not read it). */
  const audit: AuditEntry[] = [];
  const trail = { audit: (entry: AuditEntry) => void audit.push(entry) };
  const doc = parse(emitGcpWorkflows(ir)) as ConstructorParameters<typeof GcpInterpreter>[0];
  const ids = new Set<string>();
  const approvalSteps = new Set(approvalOutputs(ir).map(([step]) => step));
  const walk = (nodes: IrWorkflow['graph']['nodes']): void => {
    for (const node of nodes) {
      ids.add(node.id);
      if (node.kind === 'parallel') for (const branch of node.branches) walk(branch.nodes);
    }
  };
  walk(ir.graph.nodes);
  const path: string[] = [];
  let interpreter: GcpInterpreter | undefined;
  const approvals = new ApprovalService({
    store: new SqliteApprovalStore(db, { recordAudit: (_id, entry) => void audit.push(entry) }),
    directory,
    clock,
    notifier: { requested: async () => {} },
    raiseEvent: async (id, name, payload) => {
      if (id === runId) interpreter?.deliver(name, payload as unknown as GcpValue);
    },
    recordAudit: async (_id, entry) => void audit.push(entry),
    runActive: async (id) => id === runId && interpreter?.running === true,
  });
  const onStep = (name: string): void => {
    if (!ids.has(name)) return;
    path.push(name);
    if (!approvalSteps.has(name) || path.filter((p) => p === name).length !== 1) return;
    const entered = clock.now();
    scheduleDecisions(c, clock, approvals, runId, name, entered);
  };
  /** An activity handler: acknowledges at once, does the work, then answers the step's callback. */
  /** A scheduled HTTP task: answers a branch's wait callback once the computed time has passed. */
  const wakeLater = (url: JsonValue | undefined, ms: number): void => {
    if (typeof url === 'string')
      clock.setTimer(clock.now() + ms, () => interpreter?.deliver(url, { wake: true }));
  };
  // Answers are handed back one per quiet moment, first come first served, as the embedded engine takes
  // same-instant completions one at a time (each runs to its next wait before the next is taken).
  const answers: Array<() => void> = [];
  const background = (callbackUrl: JsonValue | undefined, work: () => Promise<unknown>): GcpValue => {
    const answer = (body: GcpValue): void => {
      if (typeof callbackUrl === 'string') answers.push(() => interpreter?.deliver(callbackUrl, body));
    };
    interpreter?.track(
      work().then(
        (result) => answer({ ok: true, result: result === undefined ? null : (result as GcpValue) }),
        (error: unknown) => answer(gcpFailure(error) as unknown as GcpValue),
      ),
    );
    return { accepted: true };
  };
  const _message = (b: GcpStepBody): GcpStepBody => ({
    workflowId: b.workflowId,
    runId: b.runId,
    stepId: b.stepId,
    visit: b.visit,
    identity: b.identity,
  });
  const http = async (url: string, raw: GcpValue): Promise<GcpValue> => {
    const body = raw ?? {};
    switch (url) {
      case FUNCTIONS.toolCall: {
        const b = body as unknown as GcpToolCallBody;
        return background(b.callbackUrl, () => toolCall(toolCallFromGcp(b), trail));
      }
      case FUNCTIONS.notify: {
        const b = body as unknown as GcpNotifyBody;
        return background(b.callbackUrl, () => notify(notifyFromGcp(b)));
      }
      case FUNCTIONS.approvalRequest: {
        const b = body as unknown as GcpApprovalRequestBody;
        return (await requestGcpApproval({ approvals, clock }, b)) as unknown as GcpValue;
      }
      case FUNCTIONS.approvalClose:
        return closeApproval(approvals, approvalCloseFromGcp(body as unknown as GcpApprovalCloseBody));
      case FUNCTIONS.backoff: {
        const b = body as unknown as GcpBackoffBody;
        const seed = `${b.runId}:${b.stepId}:${b.visit}:${b.attempt}`;
        const response: GcpBackoffResponse = { delayMs: backoffDelay(b.retry, b.attempt, seed) };
        wakeLater(b.wakeUrl, response.delayMs);
        return response as unknown as GcpValue;
      }
      case FUNCTIONS.resolveTime: {
        const b = body as unknown as GcpResolveTimeBody;
        const value = resolveTemplate(template(b.time), b.vars);
        const fireAt = typeof value === 'string' ? parseIsoTime(value) : undefined;
        if (fireAt === undefined) {
          return {
            fireAt: null,
            error: {
              code: ERROR.invalidTime,
              message: `'until' resolved to ${JSON.stringify(value)}, not an ISO-8601 time with a zone`,
              step: b.stepId,
            },
          } satisfies GcpResolveTimeResponse;
        }
        const waitMs = Math.max(0, fireAt - clock.now());
        wakeLater(b.wakeUrl, waitMs);
        return { fireAt, waitMs };
      }
      default:
        throw new Error(`no handler for ${url}`);
    }
  };
  interpreter = new GcpInterpreter(doc, { clock, http, onStep }, `executions/${runId}`);
  const running = interpreter;
  const argument: GcpValue = {
    input,
    trigger: { type: c.trigger ?? 'manual', user: identityJson(user) },
    run: { id: runId, startedAt: new Date(clock.now()).toISOString(), workflowId: ir.id },
    stepgate: {
      runId,
      workflowId: ir.id,
      identity: user as unknown as GcpValue,
      functions: FUNCTIONS,
    },
  } as GcpValue;
  let stopped: { status: 'cancelled' | 'timed_out' } | undefined;
  const stop = (status: 'cancelled' | 'timed_out'): void => {
    if (!running.running || stopped !== undefined) return;
    stopped = { status };
    running.cancel();
  };
  if (ir.timeoutMs !== null) clock.setTimer(clock.now() + ir.timeoutMs, () => stop('timed_out'));
  if (c.cancel !== undefined)
    clock.setTimer(clock.now() + durationMs(c.cancel.after), () => stop('cancelled'));
  try {
    const execution = running.execute(argument);
    const quiet = {
      pending: (): number => {
        const busy = running.pending() + approvals.pending();
        if (busy > clock.sleeping) return busy;
        const next = answers.shift();
        next?.();
        return next === undefined ? busy : clock.sleeping + 1;
      },
    };
    await clock.run(quiet, clock.now() + VIRTUAL_TIME_LIMIT_MS, TIMER_LIMIT);
    const result = await execution;
    let status: string;
    let error: Observation['error'] = null;
    let vars: Record<string, JsonValue>;
    if (result.state === 'cancelled') {
      status = stopped?.status ?? 'cancelled';
      if (status === 'timed_out')
        error = { code: ERROR.timeout, message: 'the run exceeded its timeout', step: null };
      const { trigger: _t, run: _r, ...rest } = (running.variable('vars') ?? {}) as Record<string, JsonValue>;
      vars = rest;
    } else {
      const outcome = (result.state === 'succeeded' ? result.result : result.error) as {
        status?: string;
        error?: Observation['error'];
        vars?: Record<string, JsonValue>;
      } | null;
      if (outcome === null || typeof outcome !== 'object' || typeof outcome.status !== 'string') {
        status = 'failed';
        error = { code: ERROR_CODE.engineError, message: JSON.stringify(outcome), step: null };
        vars = {};
      } else {
        status = outcome.status;
        error = outcome.error ?? null;
        vars = outcome.vars ?? {};
      }
    }
    const approvalsSeen: Record<string, JsonValue> = {};
    for (const [step, output] of approvalOutputs(ir)) {
      const value = vars[output];
      if (value !== undefined) approvalsSeen[step] = value;
    }
    return { status, path, toolCalls, approvals: approvalsSeen, notifications, vars, error };
  } finally {
    db.close();
  }
}
