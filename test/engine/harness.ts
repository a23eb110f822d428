// A test harness for the embedded engine: an in-memory (or file) SQLite engine on a VirtualClock, tools
// answering from scripts, captured notifications and approval requests, approval decisions and other
// actions scheduled at virtual times, and a run's result (status, vars, audit, path, tool calls) to assert on.
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import type { HistoryEvent } from '../../adapters/local/replayer.js';
import type { DecisionInput, DecisionResult } from '../../functions/core/approvals.js';
import type { AuditType } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import {
  ActivityError,
  type ApprovalRecord,
  type AuditRecord,
  type RunRecord,
} from '../../functions/core/ports.js';
import type {
  Identity,
  NotifyRequest,
  RunError,
  RunStatus,
  RunTrigger,
  ToolCallRequest,
} from '../../functions/core/protocol.js';
import { parseDuration } from '../../translator/duration.js';
import type { IrWorkflow } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import { validateWorkflow } from '../../translator/validate.js';

/** Monday 5 January 2026, 09:00 UTC: the virtual time every harness starts at. */
export const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/** A span of virtual time: milliseconds or a duration in the definition format (`90s`, `1h30m`). */
export type Span = number | string;

export function ms(span: Span): number {
  if (typeof span === 'number') return span;
  const value = parseDuration(span);
  if (value === undefined) throw new Error(`not a duration: ${span}`);
  return value;
}

/** How a scripted tool call or notification delivery answers, optionally after some virtual time. */
export type Reply =
  | { kind: 'ok'; value: JsonValue; after: number }
  | { kind: 'fail'; code: string; message: string; retryable: boolean; after: number };

export function ok(value: JsonValue = { ok: true }, after: Span = 0): Reply {
  return { kind: 'ok', value, after: ms(after) };
}

export function fail(
  code: string,
  message = `${code} failure`,
  options: { retryable?: boolean; after?: Span } = {},
): Reply {
  return { kind: 'fail', code, message, retryable: options.retryable ?? true, after: ms(options.after ?? 0) };
}

/** One reply for every call, a list consumed call by call (the last one repeats), or a function of the call. */
export type Script<R> = Reply | Reply[] | ((request: R, call: number) => Reply);

export const alice: Identity = {
  email: 'alice@example.com',
  role: 'member',
  groups: ['eng'],
  manager: 'bob@example.com',
  name: 'Alice',
};

/** The default directory: alice reports to bob, bob to carol; dave and erin are directors too. */
export const people: Identity[] = [
  alice,
  { email: 'bob@example.com', role: 'manager', groups: ['eng', 'finance'], manager: 'carol@example.com' },
  { email: 'carol@example.com', role: 'director', groups: ['finance'], manager: null },
  { email: 'dave@example.com', role: 'director', groups: ['finance'], manager: null },
  { email: 'erin@example.com', role: 'lead', groups: ['finance'], manager: 'carol@example.com' },
];

export interface ScheduledDecision {
  /** Virtual time after T0. */
  at: Span;
  step: string;
  by: string;
  decision?: 'approve' | 'reject';
  comment?: string | null;
  channel?: string;
  /** The run to decide on; the harness's first run when omitted. */
  runId?: string;
}

export interface DecisionLog {
  input: DecisionInput;
  at: number;
  result: DecisionResult;
}

export interface HarnessOptions {
  /** The workflow definition (YAML or JSON text) or an already validated IR. */
  workflow: string | IrWorkflow;
  /** Scripts by tool name; an unscripted tool answers `{ ok: true }` at once. */
  tools?: Record<string, Script<ToolCallRequest>>;
  /** Scripts by notify step id; an unscripted delivery succeeds at once. */
  notifications?: Record<string, Script<NotifyRequest>>;
  users?: Identity[];
  decisions?: ScheduledDecision[];
  /** How long the approval notifier takes to tell the approvers (an email being sent, say). */
  approvalNotifierDelay?: Span;
  /** SQLite file; in memory by default. */
  file?: string;
  cacheSize?: number;
}

export interface StartOptions {
  input?: Record<string, JsonValue>;
  user?: Identity;
  runId?: string;
  triggerType?: RunTrigger['type'];
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  error: RunError | null;
  vars: Record<string, JsonValue>;
  audit: AuditRecord[];
  /** The steps entered, in order. */
  path: string[];
  toolCalls: Array<ToolCallRequest & { at: number }>;
  notifications: Array<NotifyRequest & { at: number }>;
  approvalRequests: Array<ApprovalRecord & { at: number }>;
  decisions: DecisionLog[];
  record: RunRecord;
}

export class Harness {
  readonly clock = new VirtualClock(T0);
  readonly engine: EmbeddedEngine;
  readonly ir: IrWorkflow;
  readonly toolCalls: Array<ToolCallRequest & { at: number }> = [];
  readonly notifications: Array<NotifyRequest & { at: number }> = [];
  readonly approvalRequests: Array<ApprovalRecord & { at: number }> = [];
  readonly decisions: DecisionLog[] = [];
  readonly runIds: string[] = [];
  readonly failures: unknown[] = [];
  private readonly calls = new Map<string, number>();

  constructor(options: HarnessOptions) {
    this.ir = typeof options.workflow === 'string' ? compile(options.workflow) : options.workflow;
    this.engine = createEmbeddedEngine({
      file: options.file ?? ':memory:',
      clock: this.clock,
      directory: new InMemoryDirectory(options.users ?? people),
      cacheSize: options.cacheSize,
      tools: {
        call: (request) => {
          this.toolCalls.push({ ...request, at: this.clock.now() });
          return this.answer(options.tools?.[request.tool], request, `tool:${request.tool}`);
        },
      },
      notifier: {
        send: async (request) => {
          this.notifications.push({ ...request, at: this.clock.now() });
          await this.answer(options.notifications?.[request.stepId], request, `notify:${request.stepId}`);
          return { messageId: `msg-${this.notifications.length}` };
        },
      },
      approvalNotifier: {
        requested: async (record) => {
          this.approvalRequests.push({ ...record, at: this.clock.now() });
          if (options.approvalNotifierDelay !== undefined)
            await this.clock.sleep(ms(options.approvalNotifierDelay));
        },
      },
    });
    for (const decision of options.decisions ?? []) this.decideAt(decision);
  }

  get host(): EmbeddedEngine['host'] {
    return this.engine.host;
  }

  async start(options: StartOptions = {}): Promise<string> {
    const runId = await this.host.startRun({
      workflowId: this.ir.id,
      ir: this.ir,
      input: options.input ?? {},
      trigger: { type: options.triggerType ?? 'manual', user: options.user ?? alice },
      ...(options.runId === undefined ? {} : { runId: options.runId }),
    });
    this.runIds.push(runId);
    return runId;
  }

  /** Runs virtual time forward (firing timers whenever the engine is idle) until nothing is left, or `until`. */
  async run(until?: Span): Promise<void> {
    await this.clock.run(this.host, until === undefined ? Number.POSITIVE_INFINITY : T0 + ms(until));
  }

  /**
   * Calls `action` at virtual time T0 + `at` (from within `run`). It is called synchronously when the
   * timer fires, so whatever it hands the engine is queued before the clock looks for idleness again;
   * a rejection is kept in `failures`.
   */
  at(at: Span, action: () => unknown): void {
    this.clock.setTimer(T0 + ms(at), () => {
      Promise.resolve(action()).catch((error: unknown) => this.failures.push(error));
    });
  }

  decideAt(decision: ScheduledDecision): void {
    this.at(decision.at, () => this.decide(decision));
  }

  async decide(decision: Omit<ScheduledDecision, 'at'>): Promise<DecisionResult> {
    const runId = decision.runId ?? this.runIds[0];
    if (runId === undefined) throw new Error('no run to decide on');
    const input: DecisionInput = {
      runId,
      stepId: decision.step,
      by: decision.by,
      decision: decision.decision ?? 'approve',
      comment: decision.comment ?? null,
      channel: decision.channel ?? 'test',
    };
    const at = this.clock.now();
    const result = await this.engine.approvals.decide(input);
    this.decisions.push({ input, at, result });
    return result;
  }

  async result(runId = this.runIds[0]): Promise<RunResult> {
    if (runId === undefined) throw new Error('no run started');
    const record = await this.host.getRun(runId);
    if (record === undefined) throw new Error(`no run ${runId}`);
    const audit = await this.host.audit(runId);
    return {
      runId,
      status: record.status,
      error: record.outcome?.error ?? null,
      vars: record.outcome?.vars ?? {},
      audit,
      path: audit.filter((a) => a.type === 'step.entered').map((a) => a.step ?? ''),
      toolCalls: this.toolCalls.filter((c) => c.runId === runId),
      notifications: this.notifications.filter((n) => n.runId === runId),
      approvalRequests: this.approvalRequests.filter((r) => r.runId === runId),
      decisions: this.decisions.filter((d) => d.input.runId === runId),
      record,
    };
  }

  history(runId = this.runIds[0]): HistoryEvent[] {
    if (runId === undefined) throw new Error('no run started');
    return this.host.history(runId);
  }

  /** The RunStart a run was started with, rebuilt from its record (for replaying its history). */
  async runStart(runId = this.runIds[0]): Promise<RunStart> {
    const record = runId === undefined ? undefined : await this.host.getRun(runId);
    if (record === undefined || runId === undefined) throw new Error('no run started');
    return {
      runId,
      workflowId: record.workflowId,
      ir: this.ir,
      input: record.input,
      trigger: record.trigger,
    };
  }

  /** Rows of the durable timers table (of one run, or of all). */
  storedTimers(runId?: string): number {
    const sql =
      runId === undefined
        ? 'SELECT count(*) AS n FROM timers'
        : 'SELECT count(*) AS n FROM timers WHERE run_id = ?';
    const row = this.engine.db.prepare<unknown[], { n: number }>(sql).get(...(runId ? [runId] : []));
    return row?.n ?? 0;
  }

  approval(runId: string, step: string, level = 1, visit = 1): Promise<ApprovalRecord | undefined> {
    return this.engine.store.get(runId, step, visit, level);
  }

  async close(): Promise<void> {
    await this.host.close();
    this.engine.db.close();
  }

  private async answer<R>(script: Script<R> | undefined, request: R, key: string): Promise<JsonValue> {
    const call = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, call);
    const reply = pick(script, request, call);
    if (reply.after > 0) await this.clock.sleep(reply.after);
    if (reply.kind === 'fail') throw new ActivityError(reply.code, reply.message, reply.retryable);
    return reply.value;
  }
}

function pick<R>(script: Script<R> | undefined, request: R, call: number): Reply {
  if (script === undefined) return ok();
  if (typeof script === 'function') return script(request, call);
  if (!Array.isArray(script)) return script;
  const reply = script[Math.min(call, script.length) - 1];
  if (reply === undefined) throw new Error('an empty reply list');
  return reply;
}

/** A workflow definition written as an object in a test (`version: 1` added), as JSON text. */
export function define(definition: { id: string; steps: unknown[]; [key: string]: unknown }): string {
  return JSON.stringify({ version: 1, ...definition });
}

export function compile(text: string): IrWorkflow {
  const format = text.trimStart().startsWith('{') ? 'json' : 'yaml';
  const result = validateWorkflow(text, format);
  if (result.ir === undefined) {
    const problems = result.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n');
    throw new Error(`invalid workflow:\n${problems}`);
  }
  return result.ir;
}

/** Starts one run, runs virtual time until nothing is left and returns the run's result. */
export async function runWorkflow(
  options: HarnessOptions & StartOptions,
): Promise<RunResult & { harness: Harness }> {
  const harness = new Harness(options);
  await harness.start(options);
  await harness.run();
  return { ...(await harness.result()), harness };
}

/** The audit entries of one type (and step). */
export function entries<T extends AuditType>(
  audit: AuditRecord[],
  type: T,
  step?: string,
): Array<Extract<AuditRecord, { type: T }>> {
  return audit.filter(
    (a): a is Extract<AuditRecord, { type: T }> => a.type === type && (step === undefined || a.step === step),
  );
}

/** Virtual times of a step's attempts, relative to T0. */
export function attemptTimes(audit: AuditRecord[], step: string): number[] {
  return entries(audit, 'attempt.started', step).map((a) => a.at - T0);
}
