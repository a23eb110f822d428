// A Workflows execution's step entries (REST `GET v1/{execution}/stepEntries`) read as the step entries of a
// run's audit trail, as adapters/aws/execution-history.ts reads a Step Functions history: the AuditEntry
// types the embedded orchestrator writes, so the run view draws a GCP run as it draws a local one. The
// functions write the rest of the trail themselves (the tool pipeline, approval requests, decisions).
//
// The compiled workflow's steps are named by the IR (translator/emit/gcp/): a node's first step is its id,
// its helpers `<id>-<something>`; only the routines `main` and `sg_run` are read (the helper subworkflows'
// step names mean nothing). Step entries carry names, routines, states, times and exceptions, not variables
// (that needs the detailed history level and a step-entry read per step), so the mapping is:
//
// | step entry | audit entry |
// | --- | --- |
// | `<id>` | `step.entered` {kind, visit (1, 2, ... per step)} |
// | tool/notify `<id>-request` | `attempt.started` {attempt, idempotencyKey, tool (the IR's), args: null} |
// | `<id>-…-onerror` | `step.error-handled` {error (the visit's last exception), next} |
// | `<id>-…-fail` | `step.failed` {error} |
// | approval `<id>-l<n>-close-timeout` | `approval.timed-out` {level n, escalatesTo} |
// | approval `<id>-l<n>-decided`, then `<id>-rejected` or not | `step.finished` {approved, level, decidedBy: null} |
// | approval `<id>-timedout` | `step.finished` {approved: false, timedOut: true, level} |
// | condition `<id>-switch`, then the next step entered | `step.finished` {condition, result: it is onTrue} |
// | tool/notify/delay/parallel: the visit's last entry succeeded and another step followed (or the run ended) | `step.finished` ({output, result: null} / {delivered, result: null} / {} / {ok: true}) |
//
// Not derived: results, arguments and decisions (variables), `attempt.finished`, `retry.scheduled`,
// `branch.*`, `timer.started`. The entries carry the step entries' times; the host merges them with the
// trail in time order.
import type { AuditEntry } from '../../functions/core/audit.js';
import type { RunError } from '../../functions/core/protocol.js';
import { ERROR_CODE } from '../../translator/error-codes.js';
import { END, type IrGraph, type IrNode, type IrWorkflow } from '../../translator/ir.js';

/** A step entry as the v1 REST API answers it (the fields read here). */
export interface GcpStepEntry {
  step?: string;
  routine?: string;
  state?: string;
  entryId?: string;
  createTime?: string;
  updateTime?: string;
  exception?: { payload?: string };
}

export interface StepEntryAudit {
  at: number;
  entry: AuditEntry;
}

const ROUTINES = new Set(['main', 'sg_run']);

interface Visit {
  node: IrNode;
  visit: number;
  attempts: number;
  lastAt: number;
  lastOk: boolean;
  failure: RunError | undefined;
  decidedLevel: number | undefined;
  rejected: boolean;
  ended: boolean;
}

/** The audit entries of an execution's step entries (any order; read by entry id), for a run of `ir`. */
export function stepEntryAudit(
  runId: string,
  ir: IrWorkflow,
  entries: GcpStepEntry[],
  executionEnded: boolean,
): StepEntryAudit[] {
  const reader = new StepEntryReader(runId, nodesOf(ir.graph, new Map()));
  const ordered = entries
    .filter((e) => ROUTINES.has(e.routine ?? ''))
    .sort((a, b) => Number(a.entryId ?? 0) - Number(b.entryId ?? 0));
  for (const entry of ordered) reader.read(entry);
  return reader.finish(executionEnded);
}

class StepEntryReader {
  private readonly out: StepEntryAudit[] = [];
  private readonly visits = new Map<string, Visit>();
  private readonly counts = new Map<string, number>();
  /** A condition whose switch ran, waiting for the step it leads to. */
  private condition: Visit | undefined;

  constructor(
    private readonly runId: string,
    private readonly nodes: Map<string, IrNode>,
  ) {}

  read(e: GcpStepEntry): void {
    const step = e.step ?? '';
    const at = Date.parse(e.createTime ?? '') || 0;
    const node = this.ownerOf(step);
    if (node === undefined) return;
    if (step === node.id) {
      this.enter(node, at);
      return;
    }
    const visit = this.visits.get(node.id);
    if (visit === undefined || visit.ended) return;
    visit.lastAt = Date.parse(e.updateTime ?? '') || at;
    visit.lastOk = e.state === 'STATE_SUCCEEDED';
    if (e.exception?.payload !== undefined) visit.failure = errorOf(e.exception.payload, node.id);
    this.helper(visit, step.slice(node.id.length + 1), at);
  }

  /** Visits still open: finished as the header says. */
  finish(executionEnded: boolean): StepEntryAudit[] {
    if (this.condition !== undefined && executionEnded) this.finishCondition(END, this.condition.lastAt);
    for (const visit of this.visits.values()) if (!visit.ended) this.settle(visit, executionEnded);
    return this.out;
  }

  private push(at: number, entry: AuditEntry): void {
    this.out.push({ at, entry });
  }

  /** The node a step belongs to: its id, or the longest id the name starts with and a `-`. */
  private ownerOf(step: string): IrNode | undefined {
    let best: IrNode | undefined;
    for (const node of this.nodes.values())
      if ((step === node.id || step.startsWith(`${node.id}-`)) && node.id.length > (best?.id.length ?? -1))
        best = node;
    return best;
  }

  private enter(node: IrNode, at: number): void {
    if (this.condition !== undefined) this.finishCondition(node.id, at);
    for (const open of this.visits.values())
      if (!open.ended && open.node.id !== node.id) this.settle(open, true);
    const previous = this.visits.get(node.id);
    if (previous !== undefined && !previous.ended) this.settle(previous, true);
    const visit = (this.counts.get(node.id) ?? 0) + 1;
    this.counts.set(node.id, visit);
    this.visits.set(node.id, {
      node,
      visit,
      attempts: 0,
      lastAt: at,
      lastOk: true,
      failure: undefined,
      decidedLevel: undefined,
      rejected: false,
      ended: false,
    });
    this.push(at, { type: 'step.entered', step: node.id, data: { kind: node.kind, visit } });
  }

  private helper(visit: Visit, suffix: string, at: number): void {
    const { node } = visit;
    if (suffix.endsWith('onerror')) {
      const next = 'onError' in node && node.onError !== null ? node.onError : END;
      this.end(visit, at, {
        type: 'step.error-handled',
        step: node.id,
        data: { error: this.failure(visit), next },
      });
    } else if (suffix.endsWith('fail')) {
      this.end(visit, at, { type: 'step.failed', step: node.id, data: { error: this.failure(visit) } });
    } else if ((node.kind === 'tool' || node.kind === 'notify') && suffix === 'request') {
      visit.attempts++;
      const tool = node.kind === 'tool' ? (node.server ? `${node.server}/${node.tool}` : node.tool) : node.id;
      const idempotencyKey = `${this.runId}:${node.id}:${visit.visit}:${visit.attempts}`;
      this.push(at, {
        type: 'attempt.started',
        step: node.id,
        data: { attempt: visit.attempts, idempotencyKey, tool, args: null },
      });
    } else if (node.kind === 'approval') this.approvalHelper(visit, node.levels.length, suffix, at);
    else if (node.kind === 'condition' && suffix === 'switch') this.condition = visit;
  }

  private approvalHelper(visit: Visit, levels: number, suffix: string, at: number): void {
    const step = visit.node.id;
    const timedOut = /^l(\d+)-close-timeout$/.exec(suffix);
    const decided = /^l(\d+)-decided$/.exec(suffix);
    if (timedOut !== null) {
      const level = Number(timedOut[1]);
      this.push(at, {
        type: 'approval.timed-out',
        step,
        data: { level, escalatesTo: level >= levels ? null : level + 1 },
      });
    } else if (decided !== null) visit.decidedLevel = Number(decided[1]);
    else if (suffix === 'rejected') visit.rejected = true;
    else if (suffix === 'timedout')
      this.end(visit, at, {
        type: 'step.finished',
        step,
        data: { approved: false, timedOut: true, level: levels },
      });
  }

  private finishCondition(target: string, at: number): void {
    const visit = this.condition;
    this.condition = undefined;
    if (visit === undefined || visit.node.kind !== 'condition' || visit.ended) return;
    const result = target === visit.node.onTrue;
    this.end(visit, at, {
      type: 'step.finished',
      step: visit.node.id,
      data: { condition: visit.node.expression, result },
    });
  }

  /** Ends an open visit whose last entry succeeded, when something came after it (see the header). */
  private settle(visit: Visit, followed: boolean): void {
    const { node } = visit;
    const at = visit.lastAt;
    if (node.kind === 'approval') {
      if (visit.decidedLevel === undefined) return;
      const data = { approved: !visit.rejected, level: visit.decidedLevel, decidedBy: null };
      this.end(visit, at, { type: 'step.finished', step: node.id, data });
      return;
    }
    if (!followed || !visit.lastOk || node.kind === 'condition') return;
    const data =
      node.kind === 'tool'
        ? { output: node.output, result: null }
        : node.kind === 'notify'
          ? { delivered: true as const, result: null }
          : node.kind === 'parallel'
            ? { ok: true as const }
            : {};
    this.end(visit, at, { type: 'step.finished', step: node.id, data } as AuditEntry);
  }

  private end(visit: Visit, at: number, entry: AuditEntry): void {
    visit.ended = true;
    this.push(at, entry);
  }

  private failure(visit: Visit): RunError {
    return visit.failure ?? { code: ERROR_CODE.unknown, message: 'the step failed', step: visit.node.id };
  }
}

/** A raised value (an exception's payload) as the step's error. */
function errorOf(payload: string, step: string): RunError {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    value = payload;
  }
  const map = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  return {
    code: typeof map.code === 'string' ? map.code : ERROR_CODE.unknown,
    message:
      typeof map.message === 'string' ? map.message : typeof value === 'string' ? value : 'the step failed',
    step,
  };
}

function nodesOf(graph: IrGraph, into: Map<string, IrNode>): Map<string, IrNode> {
  for (const node of graph.nodes) {
    into.set(node.id, node);
    if (node.kind === 'parallel') for (const branch of node.branches) nodesOf(branch, into);
  }
  return into;
}
