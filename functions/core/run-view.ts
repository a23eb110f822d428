// The run as the dashboard draws it: who started it and how, every step of the workflow with its state,
// attempts (inputs, outputs, policy decisions, credential levels) and approvals (who was asked, what they
// were shown, who decided), read from the run's record and audit trail. Pure; secrets are redacted from
// everything it returns.
import { END, edgesOf, type IrGraph, type IrNode, type IrWorkflow } from '../../translator/ir.js';
import { assertNever } from '../../translator/util.js';
import { type AuditRecord, type AuditType, isAuditType, type PolicyDecision } from './audit.js';
import type { RunRecord } from './ports.js';
import type { ApprovalContext } from './protocol.js';
import { REDACTED, redact } from './redaction.js';
import { type RunOutcomeView, runOutcome } from './run-outcome.js';

export { type RunOutcomeView, runOutcome } from './run-outcome.js';
export { REDACTED, redact };

export type StepState = 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'skipped' | 'cancelled';

export interface ViewError {
  code?: string;
  message: string;
  /** The step that failed (a run's error). */
  step?: string | null;
}

export interface RunUserView {
  email: string;
  name?: string;
  role?: string;
}

export interface TriggerView {
  /** manual, webhook, schedule or chat. */
  kind: string;
  /** The same as `kind` (the name the run record and earlier clients use). */
  type: string;
  user: RunUserView;
  [key: string]: unknown;
}

export interface AttemptView {
  attempt: number;
  /** Which visit of the step the attempt belongs to (1 unless a loop came back). */
  visit: number;
  startedAt?: number;
  endedAt?: number;
  /**
   * A tool's arguments as the tool received them (the pipeline's identity and idempotency key included), or
   * a notification's channel, recipients, subject and message.
   */
  input?: unknown;
  /** The step's result, on the attempt that succeeded. */
  output?: unknown;
  error?: ViewError;
  policy?: { decision: 'allow' | 'deny'; rule?: string; decisions: PolicyDecision[] };
  /** The vault entries the tool's server receives and which level answered (`missing` when none did). */
  credentials?: Array<{ name: string; level: string }>;
  /** The vault entries whose values the tool's answer echoed, masked before it was kept (redaction.ts). */
  redacted?: string[];
  /** It answered after its branch was cancelled: what it did happened, though its step had stopped. */
  late?: true;
  /** It never answered: its step was stopped (branch cancelled, run ended) while it ran. */
  cutShort?: true;
}

export interface ApprovalRequestView {
  approver: string;
  level: number;
  visit: number;
  at: number;
  deadline: number | null;
  /** How the approver was told (`email`: their own signed link), and whether that failed. */
  channel?: string;
  notified?: 'sent' | 'failed';
}

/** What one level's approvers were shown when it was requested: the message and the request's context. */
export interface ApprovalShownView {
  level: number;
  visit: number;
  at: number;
  message: string;
  /** The step's details, the run's inputs and latest results; absent from a request recorded before. */
  context?: ApprovalContext;
}

export interface ApprovalDecisionView {
  by: string;
  decision: string;
  comment?: string | null;
  channel?: string;
  level: number;
  at: number;
  /** The decider asked for the run; the step allows it (`allowSelfApproval`). */
  selfApproval?: true;
}

export interface ApprovalRefusalView {
  by: string;
  decision: string;
  channel?: string;
  reason: string;
  level?: number;
  at: number;
}

export interface StepView {
  id: string;
  type: string;
  name?: string;
  /** The parallel step this step is a branch step of. */
  parent?: string;
  /** The index of the parent's branch this step is in. */
  branch?: number;
  state: StepState;
  startedAt?: number;
  endedAt?: number;
  visits: number;
  attempts: AttemptView[];
  /** What the last finished visit produced: a tool's result, a condition's value, an approval's outcome. */
  output?: unknown;
  /** Why the last visit failed. */
  error?: ViewError;
  /**
   * Its branch was cancelled (the parallel went on without it) while its tool call or notification ran, and
   * that answered afterwards: `done` — delivered after the join was decided — or `failed`.
   */
  afterJoin?: 'done' | 'failed';
  approval?: {
    requests: ApprovalRequestView[];
    /** A level's request each, in the order they were made. */
    shown: ApprovalShownView[];
    decisions: ApprovalDecisionView[];
    refused: ApprovalRefusalView[];
  };
}

export interface RunView {
  id: string;
  workflowId: string;
  workflowVersion?: number;
  status: RunRecord['status'];
  trigger: TriggerView;
  createdAt: number;
  endedAt: number | null;
  durationMs: number | null;
  input: unknown;
  /** The run's variables when it ended: inputs and step results. */
  output?: unknown;
  error: ViewError | null;
  /** What decided the path of a completed run (none when no approval or handled error did). */
  outcome?: RunOutcomeView;
  steps: StepView[];
  /** The audit trail, redacted. */
  history: HistoryEntry[];
}

/** An audit entry as the history shows it: its data redacted, so no longer held to its type's shape. */
export interface HistoryEntry {
  seq: number;
  at: number;
  type: AuditType;
  step: string | null;
  data: Record<string, unknown>;
}

/** A row of the run list. */
export interface RunSummary {
  id: string;
  workflowId: string;
  status: RunRecord['status'];
  trigger: TriggerView;
  createdAt: number;
  endedAt: number | null;
  durationMs: number | null;
  outcome?: RunOutcomeView;
}

const CREDENTIAL_LEVEL = /^(user|org|group:.+)$/;

/**
 * An audit entry with its secrets redacted. The credentials stage names vault entries as keys (their
 * names often say TOKEN) with the level that answered as values: those stay readable, values are never there.
 */
export function redactAuditRecord(entry: AuditRecord): HistoryEntry {
  const data = redact(entry.data) as Record<string, unknown>;
  if (entry.type === 'tool.credentials' && isLevels(entry.data.sources))
    data.sources = { ...entry.data.sources };
  return { ...entry, data };
}

/** A run's row of the list, its outcome as the host recorded it when the run ended (no trail read). */
export function runSummary(run: RunRecord): RunSummary {
  return {
    id: run.id,
    workflowId: run.workflowId,
    status: run.status,
    trigger: triggerView(run.trigger),
    createdAt: run.createdAt,
    endedAt: run.endedAt,
    durationMs: run.endedAt === null ? null : run.endedAt - run.createdAt,
    ...(run.status === 'completed' && run.pathOutcome !== undefined ? { outcome: run.pathOutcome } : {}),
  };
}

interface Visit {
  visit: number;
  enteredSeq: number;
  startedAt: number;
  endedAt?: number;
  end?: 'done' | 'failed';
  waiting: boolean;
  attempts: AttemptView[];
  output?: unknown;
  error?: ViewError;
}

interface StepTrail {
  id: string;
  kind: string;
  visits: Visit[];
  requests: ApprovalRequestView[];
  shown: ApprovalShownView[];
  decisions: ApprovalDecisionView[];
  refused: ApprovalRefusalView[];
  /** `approval.notified` and failed `approval.link` notify entries: before their level's `approval.requested`. */
  notified: Array<{ approver: string; level: number; channel: string; outcome: 'sent' | 'failed' }>;
}

interface Placement {
  node: IrNode;
  parent?: { id: string; branch: number };
}

/**
 * The run view of `run` from its audit trail; `ir` (the workflow the run was started from) adds the steps not
 * reached yet, their types, names and branches, and tells pending steps from skipped ones.
 */
export function runView(run: RunRecord, audit: AuditRecord[], ir?: IrWorkflow, version?: number): RunView {
  const trails = readTrail(audit);
  const placements = ir === undefined ? new Map<string, Placement>() : place(ir.graph);
  const ended = run.status !== 'running';
  const cancelledBranches = new Map<string, AuditRecord>();
  for (const entry of audit) {
    if (entry.type === 'branch.cancelled' && entry.step !== null && typeof entry.data.branch === 'number')
      cancelledBranches.set(`${entry.step}#${entry.data.branch}`, entry);
  }
  /** When a branch holding step `id` (or an enclosing one) was cancelled after audit entry `seq`. */
  const branchCancelledAt = (id: string, seq: number): number | undefined => {
    for (let at = placements.get(id)?.parent; at !== undefined; at = placements.get(at.id)?.parent) {
      const cancelled = cancelledBranches.get(`${at.id}#${at.branch}`);
      if (cancelled !== undefined && cancelled.seq > seq) return cancelled.at;
    }
    return undefined;
  };

  const states = new Map<string, { state: StepState; endedAt?: number }>();
  for (const trail of trails.values()) {
    const last = trail.visits.at(-1);
    if (last === undefined) continue;
    if (last.end !== undefined) {
      states.set(trail.id, { state: last.end, ...endedAt(last.endedAt) });
      continue;
    }
    const cancelledAt = branchCancelledAt(trail.id, last.enteredSeq);
    const late = last.attempts.at(-1);
    if (cancelledAt !== undefined && late?.late === true && late.error === undefined)
      states.set(trail.id, { state: 'done', ...endedAt(late.endedAt) });
    else if (cancelledAt !== undefined) states.set(trail.id, { state: 'cancelled', endedAt: cancelledAt });
    else if (ended) {
      const failed = run.outcome?.error?.step === trail.id;
      states.set(trail.id, { state: failed ? 'failed' : 'cancelled', ...endedAt(run.endedAt) });
    } else states.set(trail.id, { state: last.waiting ? 'waiting' : 'running' });
  }
  const active = [...states].filter(([, s]) => s.state === 'running' || s.state === 'waiting');
  // A running run whose trail shows no open step yet (a host that records late) still has all ahead of it.
  const reachable =
    ended || ir === undefined
      ? new Set<string>()
      : active.length === 0
        ? new Set(placements.keys())
        : reachableFrom(
            active.map(([id]) => id),
            placements,
          );

  const order = [...placements.keys(), ...[...trails.keys()].filter((id) => !placements.has(id))];
  const steps = order.map((id): StepView => {
    const placement = placements.get(id);
    const trail = trails.get(id);
    const type = placement?.node.kind ?? trail?.kind ?? 'unknown';
    const visits = trail?.visits ?? [];
    const first = visits[0];
    const last = visits.at(-1);
    const status = states.get(id) ?? {
      state: ended || !reachable.has(id) ? ('skipped' as const) : ('pending' as const),
    };
    const lastFinished = visits.findLast((v) => v.end !== undefined);
    const stopped = status.state !== 'running' && status.state !== 'waiting';
    const lastAttempt = last?.attempts.at(-1);
    return {
      id,
      type,
      ...(placement?.node.name ? { name: placement.node.name } : {}),
      ...(placement?.parent ? { parent: placement.parent.id, branch: placement.parent.branch } : {}),
      state: status.state,
      ...(first === undefined ? {} : { startedAt: first.startedAt }),
      ...(status.endedAt === undefined ? {} : { endedAt: status.endedAt }),
      visits: visits.length,
      attempts: visits.flatMap((v) =>
        v.attempts.map((a) => (stopped && a.endedAt === undefined ? { ...a, cutShort: true as const } : a)),
      ),
      ...(lastFinished?.output === undefined ? {} : { output: lastFinished.output }),
      ...(last?.error === undefined ? {} : { error: last.error }),
      ...(last?.end === undefined && lastAttempt?.late === true
        ? { afterJoin: lastAttempt.error === undefined ? ('done' as const) : ('failed' as const) }
        : {}),
      ...(type === 'approval'
        ? {
            approval: {
              requests: trail?.requests ?? [],
              shown: trail?.shown ?? [],
              decisions: trail?.decisions ?? [],
              refused: trail?.refused ?? [],
            },
          }
        : {}),
    };
  });

  return {
    id: run.id,
    workflowId: run.workflowId,
    ...(version === undefined ? {} : { workflowVersion: version }),
    status: run.status,
    trigger: triggerView(run.trigger),
    createdAt: run.createdAt,
    endedAt: run.endedAt,
    durationMs: run.endedAt === null ? null : run.endedAt - run.createdAt,
    input: redact(run.input),
    ...(run.outcome === null ? {} : { output: redact(run.outcome.vars) }),
    error: run.outcome?.error ? errorView(run.outcome.error) : null,
    ...withOutcome(runOutcome(run.status, audit)),
    steps,
    history: audit.map(redactAuditRecord),
  };
}

/** A trail entry of one of the `types`. */
type EntryOf<T extends AuditType> = Extract<AuditRecord, { type: T }>;

/** The entries that read or complete an attempt (the pipeline stages name their attempt). */
type AttemptEntry = EntryOf<
  | 'attempt.started'
  | 'attempt.finished'
  | 'tool.policy'
  | 'tool.credentials'
  | 'tool.identity'
  | 'tool.executed'
>;

/** The entries of an approval's traffic: requests, notifications, decisions, refusals, a timeout. */
type ApprovalEntry = EntryOf<
  | 'approval.requested'
  | 'approval.notified'
  | 'approval.link'
  | 'approval.timed-out'
  | 'approval.decision'
  | 'approval.refused'
>;

/** Every step's visits, attempts and approval traffic, in the order the trail recorded them. */
function readTrail(audit: AuditRecord[]): Map<string, StepTrail> {
  const trails = new Map<string, StepTrail>();
  /** The latest attempt per `step#attempt`: pipeline stages name their attempt, not their visit. */
  const attempts = new Map<string, AttemptView>();
  for (const entry of audit) {
    // Run-wide entries (no step), and a type this version does not write (none today), are history only.
    if (!isAuditType(entry.type) || entry.step === null) continue;
    if (entry.type === 'step.entered') {
      const trail = trails.get(entry.step) ?? newTrail(entry.step, String(entry.data.kind ?? 'unknown'));
      trails.set(entry.step, trail);
      trail.visits.push({
        visit: typeof entry.data.visit === 'number' ? entry.data.visit : trail.visits.length + 1,
        enteredSeq: entry.seq,
        startedAt: entry.at,
        waiting: false,
        attempts: [],
      });
      continue;
    }
    const trail = trails.get(entry.step);
    const visit = trail?.visits.at(-1);
    if (trail === undefined || visit === undefined) continue;
    switch (entry.type) {
      case 'attempt.started':
      case 'attempt.finished':
      case 'tool.policy':
      case 'tool.credentials':
      case 'tool.identity':
      case 'tool.executed':
        readAttempt(entry, visit, attempts);
        break;
      case 'step.finished': {
        const data = entry.data;
        const output = redact('result' in data ? data.result : Object.keys(data).length ? data : undefined);
        visit.end = 'done';
        visit.endedAt = entry.at;
        visit.waiting = false;
        visit.output = output;
        const succeeded = visit.attempts.findLast((a) => a.error === undefined);
        if (succeeded !== undefined && (trail.kind === 'tool' || trail.kind === 'notify'))
          succeeded.output = output;
        break;
      }
      case 'step.failed':
      case 'step.error-handled':
        visit.end = 'failed';
        visit.endedAt = entry.at;
        visit.waiting = false;
        visit.error = errorView(entry.data.error);
        break;
      case 'approval.requested':
      case 'approval.notified':
      case 'approval.link':
      case 'approval.timed-out':
      case 'approval.decision':
      case 'approval.refused':
        readApproval(entry, trail, visit);
        break;
      // Shown in the history only: branches (runView reads `branch.cancelled`), the retry and timer schedule,
      // a passed level, and the pipeline stages the attempt view does not draw.
      case 'branch.started':
      case 'branch.finished':
      case 'branch.cancelled':
      case 'retry.scheduled':
      case 'timer.started':
      case 'approval.no-approvers':
      case 'tool.lookup':
      case 'tool.result':
        break;
      default:
        assertNever(entry, 'audit entry');
    }
  }
  return trails;
}

/** An attempt's entry: starts it (keyed `step#attempt` in `attempts`) or adds to the attempt it names. */
function readAttempt(entry: AttemptEntry, visit: Visit, attempts: Map<string, AttemptView>): void {
  if (entry.type === 'attempt.started') {
    const { attempt: n, idempotencyKey: _key, ...input } = entry.data;
    const view: AttemptView = {
      attempt: typeof n === 'number' ? n : visit.attempts.length + 1,
      visit: visit.visit,
      startedAt: entry.at,
      input: redact('args' in input ? input.args : input),
    };
    visit.attempts.push(view);
    attempts.set(`${entry.step}#${view.attempt}`, view);
    attempts.set(`${entry.step}@${visit.visit}#${view.attempt}`, view);
    return;
  }
  const n = entry.data.attempt;
  // A late end names its visit: the step may have been entered again since.
  const at =
    entry.type === 'attempt.finished' && typeof entry.data.visit === 'number' ? `@${entry.data.visit}` : '';
  const attempt = typeof n === 'number' ? attempts.get(`${entry.step}${at}#${n}`) : undefined;
  if (attempt === undefined) return;
  switch (entry.type) {
    case 'attempt.finished':
      attempt.endedAt = entry.at;
      if (entry.data.ok === false) attempt.error = errorView(entry.data.error);
      if (entry.data.late === true) attempt.late = true;
      break;
    case 'tool.policy':
      attempt.policy = policyView(entry.data);
      break;
    case 'tool.credentials':
      attempt.credentials = credentialsView(entry.data);
      break;
    case 'tool.identity':
      if (isObject(entry.data.values) && isObject(attempt.input))
        attempt.input = { ...attempt.input, ...(redact(entry.data.values) as Record<string, unknown>) };
      break;
    case 'tool.executed':
      if (stringsOf(entry.data.redacted).length > 0) attempt.redacted = stringsOf(entry.data.redacted);
      break;
    default:
      assertNever(entry, 'attempt entry');
  }
}

/** An approval's entry: a level requested (with who was told), a notification, a decision, a refusal. */
function readApproval(entry: ApprovalEntry, trail: StepTrail, visit: Visit): void {
  switch (entry.type) {
    case 'approval.requested': {
      visit.waiting = true;
      const level = typeof entry.data.level === 'number' ? entry.data.level : 1;
      const deadline = typeof entry.data.deadline === 'number' ? entry.data.deadline : null;
      for (const approver of stringsOf(entry.data.approvers)) {
        const told = trail.notified.findLast((n) => n.approver === approver && n.level === level);
        trail.requests.push({
          approver,
          level,
          visit: visit.visit,
          at: entry.at,
          deadline,
          ...(told === undefined ? {} : { channel: told.channel, notified: told.outcome }),
        });
      }
      trail.notified = [];
      trail.shown.push({
        level,
        visit: visit.visit,
        at: entry.at,
        message: typeof entry.data.message === 'string' ? entry.data.message : '',
        ...(typeof entry.data.context === 'object' && entry.data.context !== null
          ? { context: entry.data.context }
          : {}),
      });
      break;
    }
    case 'approval.notified':
      notified(trail, entry.data, 'sent');
      break;
    case 'approval.link':
      if (entry.data.action === 'notify') notified(trail, entry.data, 'failed');
      break;
    case 'approval.timed-out':
      visit.waiting = false;
      break;
    case 'approval.decision':
      trail.decisions.push({
        by: String(entry.data.by),
        decision: String(entry.data.decision),
        comment: typeof entry.data.comment === 'string' ? entry.data.comment : null,
        ...(typeof entry.data.channel === 'string' ? { channel: entry.data.channel } : {}),
        level: typeof entry.data.level === 'number' ? entry.data.level : 1,
        at: entry.at,
        ...(entry.data.selfApproval === true ? { selfApproval: true as const } : {}),
      });
      break;
    case 'approval.refused':
      trail.refused.push({
        by: String(entry.data.by),
        decision: String(entry.data.decision),
        ...(typeof entry.data.channel === 'string' ? { channel: entry.data.channel } : {}),
        reason: String(entry.data.reason),
        ...(typeof entry.data.level === 'number' ? { level: entry.data.level } : {}),
        at: entry.at,
      });
      break;
    default:
      assertNever(entry, 'approval entry');
  }
}

/** An approver told of their level (`approval.notified`), or whose email failed (`approval.link`, notify). */
function notified(
  trail: StepTrail,
  data: { approver: unknown; level: unknown; channel?: unknown },
  outcome: 'sent' | 'failed',
): void {
  if (typeof data.approver !== 'string') return;
  trail.notified.push({
    approver: data.approver,
    level: typeof data.level === 'number' ? data.level : 1,
    channel: typeof data.channel === 'string' ? data.channel : 'email',
    outcome,
  });
}

function newTrail(id: string, kind: string): StepTrail {
  return { id, kind, visits: [], requests: [], shown: [], decisions: [], refused: [], notified: [] };
}

/** Every node in IR pre-order (a parallel, then its branches' steps), with the parallel it belongs to. */
function place(graph: IrGraph, parent?: Placement['parent'], into = new Map<string, Placement>()) {
  for (const node of graph.nodes) {
    into.set(node.id, parent === undefined ? { node } : { node, parent });
    if (node.kind === 'parallel')
      node.branches.forEach((branch, i) => {
        place(branch, { id: node.id, branch: i }, into);
      });
  }
  return into;
}

/**
 * The steps the run can still reach from where its threads are. A step inside a branch can lead to its
 * parallel's edges (the branch ending or failing); a parallel reached again by an edge restarts its branches.
 */
function reachableFrom(active: string[], placements: Map<string, Placement>): Set<string> {
  const seen = new Set<string>();
  const queue: Array<{ id: string; entered: boolean }> = active.map((id) => ({ id, entered: false }));
  const expanded = new Set<string>();
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    const key = `${item.id}#${item.entered}`;
    if (expanded.has(key)) continue;
    expanded.add(key);
    const placement = placements.get(item.id);
    if (placement === undefined) continue;
    const { node } = placement;
    const next: string[] = edgesOf(node).map((e) => e.to);
    if (item.entered && node.kind === 'parallel') next.push(...node.branches.map((b) => b.start));
    for (let up = placement.parent; up !== undefined; up = placements.get(up.id)?.parent) {
      const parallel = placements.get(up.id)?.node;
      if (parallel !== undefined) next.push(...edgesOf(parallel).map((e) => e.to));
    }
    for (const to of next) {
      if (to === END) continue;
      seen.add(to);
      queue.push({ id: to, entered: true });
    }
  }
  return seen;
}

function triggerView(trigger: RunRecord['trigger']): TriggerView {
  const { user } = trigger;
  return {
    kind: trigger.type,
    type: trigger.type,
    user: {
      email: user.email,
      ...(typeof user.name === 'string' ? { name: user.name } : {}),
      ...(typeof user.role === 'string' ? { role: user.role } : {}),
    },
    ...(typeof trigger.by === 'string' ? { by: trigger.by } : {}),
  };
}

function errorView(error: unknown): ViewError {
  if (error === null || typeof error !== 'object') return { message: String(error) };
  const e = error as Record<string, unknown>;
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    message: typeof e.message === 'string' ? e.message : 'unknown error',
    ...('step' in e ? { step: typeof e.step === 'string' ? e.step : null } : {}),
  };
}

function policyView(data: Record<string, unknown>): AttemptView['policy'] {
  const decisions = Array.isArray(data.decisions) ? (data.decisions as PolicyDecision[]) : [];
  const denied = decisions.find((d) => d.outcome === 'deny');
  return data.allowed === true
    ? { decision: 'allow', decisions }
    : { decision: 'deny', ...(denied ? { rule: denied.rule } : {}), decisions };
}

function credentialsView(data: Record<string, unknown>): Array<{ name: string; level: string }> {
  const sources = isLevels(data.sources) ? data.sources : {};
  return [
    ...Object.entries(sources).map(([name, level]) => ({ name, level })),
    ...stringsOf(data.missing).map((name) => ({ name, level: 'missing' })),
  ];
}

function isLevels(value: unknown): value is Record<string, string> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string' && CREDENTIAL_LEVEL.test(v))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function withOutcome(outcome: RunOutcomeView | undefined): { outcome?: RunOutcomeView } {
  return outcome === undefined ? {} : { outcome };
}

function endedAt(at: number | null | undefined): { endedAt?: number } {
  return typeof at === 'number' ? { endedAt: at } : {};
}
