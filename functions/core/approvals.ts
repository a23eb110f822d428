// Approvals: the activities that open and close approval requests, and the decision handler that
// records each approver's decision, counts them against the level's `require` policy and raises the
// level's outcome on the run exactly once. Late, foreign and repeated decisions are refused and recorded.
//
// Separation of duties: whoever asked for the run (its requesters) is left out when a level's approvers
// are resolved, and refused ('self-approval') on every decision path, unless the step sets
// `allowSelfApproval`. A level left with nobody answers Stepgate.NoApprovers: the run escalates past it.
//
// Every write is conditional (the store's compare-and-set on the record's version): a write that another
// overtook is made again from a fresh read, so racing decisions on different machines each count once, or
// are refused as they would have been one after the other, whatever the store.

import type { AuditEntry } from './durable.js';
import { normalizeEmail } from './identity.js';
import {
  ActivityError,
  type ApprovalRecord,
  type ApprovalStore,
  type Clock,
  type Directory,
} from './ports.js';
import {
  type ApprovalClose,
  type ApprovalDecisionEntry,
  type ApprovalOutcome,
  type ApprovalRequest,
  type ApprovalRequestResult,
  ERROR,
} from './protocol.js';

/** Tells approvers a request waits for them (email with signed links in the server; captured in tests). */
export interface ApprovalNotifier {
  requested(record: ApprovalRecord): Promise<void>;
}

export interface ApprovalDeps {
  store: ApprovalStore;
  directory: Directory;
  clock: Clock;
  notifier: ApprovalNotifier;
  /**
   * Delivers the level's outcome to the run: as the event `name`, or through `callback`, the handle the
   * level's request carried (ApprovalRequest.callback; null when it carried none).
   */
  raiseEvent(runId: string, name: string, payload: ApprovalOutcome, callback: string | null): Promise<void>;
  /** Records a refused decision in the run's history (an accepted one is written with its update). */
  recordAudit(runId: string, entry: AuditEntry): Promise<void>;
  /** Whether the run still runs; a request left open by a run that ended is closed, not decided. */
  runActive(runId: string): Promise<boolean>;
}

export interface DecisionInput {
  runId: string;
  stepId: string;
  by: string;
  decision: 'approve' | 'reject';
  comment?: string | null;
  /** How the decision arrived: inbox, email-link, chat, api, scenario, ... */
  channel: string;
  /** The request the decision is for (an approval link names one): any other open one is refused. */
  request?: { visit: number; level: number };
}

export type DecisionResult =
  | { accepted: true; outcome: ApprovalOutcome | null; level: number }
  | {
      accepted: false;
      reason: 'no-open-request' | 'expired' | 'self-approval' | 'not-an-approver' | 'already-decided';
      message: string;
    };

const CLOSED_PLACEHOLDER: Omit<ApprovalRecord, 'runId' | 'stepId' | 'visit' | 'level' | 'createdAt'> = {
  workflowId: '',
  eventName: '',
  approvers: [],
  require: 'any',
  message: '',
  requestedBy: '',
  requesters: [],
  allowSelfApproval: false,
  deadline: null,
  status: 'closed',
  decisions: [],
  delivered: false,
  version: 1,
};

/** What an attempt answers when another write came between its read and its write: read again. */
const CONFLICT = Symbol('conflict');

/**
 * Each lost write means another write to the same record succeeded, and a record takes few (its decisions,
 * a close, the delivered flag), so this bound is met only by a store whose version never settles.
 */
const MAX_WRITE_ATTEMPTS = 20;

/** Runs `attempt` (read, evaluate, conditional write) until it is not overtaken. */
async function untilWritten<T>(what: string, attempt: () => Promise<T | typeof CONFLICT>): Promise<T> {
  for (let n = 1; n <= MAX_WRITE_ATTEMPTS; n++) {
    const result = await attempt();
    if (result !== CONFLICT) return result;
  }
  throw new Error(`${what} was overtaken by other writes ${MAX_WRITE_ATTEMPTS} times in a row; try again`);
}

export class ApprovalService {
  private inflight = 0;

  constructor(private readonly deps: ApprovalDeps) {}

  /** Decisions under way: a virtual clock waits for them, as for the engine's own work, before it moves. */
  pending(): number {
    return this.inflight;
  }

  /**
   * Activity `approval.request`: resolves the approvers, leaves the run's requesters out (unless the step
   * allows self-approval) and opens the request (idempotent on redelivery). A level left with nobody fails
   * with Stepgate.NoApprovers, which escalates to the next level.
   */
  readonly request = async (input: ApprovalRequest): Promise<ApprovalRequestResult> => {
    const { store, directory, clock, notifier } = this.deps;
    // A redelivered request (after a restart) or one whose level was already closed opens nothing new.
    const existing = await store.get(input.runId, input.stepId, input.visit, input.level);
    if (existing !== undefined) return { approvers: existing.approvers };
    // A request queued before separation of duties carries no requesters: the run's user asked for it.
    const requesters = (input.requesters ?? [input.identity.email]).map(normalizeEmail);
    const allowSelfApproval = input.allowSelfApproval === true;
    const specs = await Promise.all(input.approvers.map((spec) => directory.resolve(spec)));
    const resolved = [...new Set(specs.flat().map(normalizeEmail))];
    const approvers = resolved.filter((a) => allowSelfApproval || !requesters.includes(a)).sort();
    if (approvers.length === 0)
      throw new ActivityError(ERROR.noApprovers, noApproversMessage(input, resolved), false);
    const record: ApprovalRecord = {
      runId: input.runId,
      workflowId: input.workflowId,
      stepId: input.stepId,
      visit: input.visit,
      level: input.level,
      eventName: input.eventName,
      approvers,
      require: input.require,
      message: input.message,
      ...(input.context === undefined ? {} : { context: input.context }),
      requestedBy: input.identity.email,
      requesters,
      allowSelfApproval,
      deadline: input.deadline,
      status: 'open',
      decisions: [],
      createdAt: clock.now(),
      delivered: false,
      callback: input.callback ?? null,
      version: 1,
    };
    // A redelivery of this request, or its close, stored the level first: that record stands.
    if (!(await store.create(record))) {
      const stored = await store.get(input.runId, input.stepId, input.visit, input.level);
      return { approvers: stored?.approvers ?? [] };
    }
    await notifier.requested(record);
    return { approvers };
  };

  /** Activity `approval.close`: the level timed out or its branch was cancelled; later decisions are refused. */
  readonly close = async (input: ApprovalClose): Promise<null> => {
    const { store, clock } = this.deps;
    const { runId, stepId, visit, level } = input;
    return untilWritten(`closing approval ${runId}/${stepId} level ${level}`, async () => {
      const record = await store.get(runId, stepId, visit, level);
      if (record === undefined) {
        // The close overtook its request (cancelled while the request was on its way): leave a closed
        // record, so that the request, when it runs, finds the level over and opens nothing.
        const placeholder = { ...CLOSED_PLACEHOLDER, runId, stepId, visit, level, createdAt: clock.now() };
        return (await store.create(placeholder)) ? null : CONFLICT;
      }
      if (record.status !== 'open') return null;
      return (await store.update({ ...record, status: 'closed' })) === undefined ? CONFLICT : null;
    });
  };

  /**
   * Records an approver's decision, and delivers the level's outcome when it decides the level. A decision
   * overtaken by another write to the request is evaluated again against what that write left.
   */
  async decide(input: DecisionInput): Promise<DecisionResult> {
    this.inflight++;
    try {
      // The decider's identity enters the approval service here, from whichever channel.
      const by = normalizeEmail(input.by);
      const { result, decided } = await untilWritten(`deciding ${input.runId}/${input.stepId}`, () =>
        this.decideOnce(input, by),
      );
      if (result.accepted && result.outcome !== null && decided !== undefined)
        await this.deliver(decided, result.outcome);
      return result;
    } finally {
      this.inflight--;
    }
  }

  /** One read, evaluation and conditional write of a decision; the record as written when it decides. */
  private async decideOnce(
    input: DecisionInput,
    by: string,
  ): Promise<{ result: DecisionResult; decided?: ApprovalRecord } | typeof CONFLICT> {
    const { store, clock, recordAudit } = this.deps;
    const open = await store.openFor(input.runId, input.stepId);
    const record =
      open === undefined ||
      (input.request !== undefined &&
        (open.visit !== input.request.visit || open.level !== input.request.level))
        ? undefined
        : open;
    const refuse = async (
      reason: Extract<DecisionResult, { accepted: false }>['reason'],
      message: string,
    ): Promise<{ result: DecisionResult }> => {
      await recordAudit(input.runId, {
        type: 'approval.refused',
        step: input.stepId,
        data: {
          by,
          decision: input.decision,
          channel: input.channel,
          reason,
          ...(record ? { level: record.level } : {}),
        },
      });
      return { result: { accepted: false, reason, message } };
    };
    if (record === undefined)
      return refuse('no-open-request', `step ${input.stepId} has no open approval request`);
    // A level its run left open when it ended (a Step Functions execution stopped while it waited on the
    // level's token closes nothing): closed now, not decided.
    if (!(await this.deps.runActive(input.runId))) {
      if ((await store.update({ ...record, status: 'closed' })) === undefined) return CONFLICT;
      return refuse('no-open-request', `run ${input.runId} has ended: ${input.stepId} is no longer open`);
    }
    if (record.deadline !== null && clock.now() >= record.deadline) {
      return refuse('expired', `the approval request for ${input.stepId} expired`);
    }
    const requester = record.requesters.includes(by);
    if (requester && !record.allowSelfApproval)
      return refuse('self-approval', `${by} asked for this run and cannot decide its approval`);
    if (!record.approvers.includes(by))
      return refuse('not-an-approver', `${by} is not an approver of ${input.stepId}`);
    if (record.decisions.some((d) => d.by === by))
      return refuse('already-decided', `${by} has already decided`);

    const entry: ApprovalDecisionEntry = {
      by,
      decision: input.decision,
      comment: input.comment ?? null,
      at: new Date(clock.now()).toISOString(),
      channel: input.channel,
      ...(requester ? { selfApproval: true as const } : {}),
    };
    const decisions = [...record.decisions, entry];
    const outcome = countDecisions(record, decisions, entry);
    const status = outcome === null ? 'open' : outcome.approved ? 'approved' : 'rejected';
    const decided: ApprovalRecord = { ...record, decisions, status };
    // Audit entry and request in one write, or a crash between them would let the same decision count
    // twice; the entry is written only with the decision, never for a write another one overtook.
    const written = await store.update(decided, {
      type: 'approval.decision',
      step: input.stepId,
      data: { level: record.level, ...entry, decides: outcome !== null },
    });
    if (written === undefined) return CONFLICT;
    return { result: { accepted: true, outcome, level: record.level }, decided: written };
  }

  /**
   * After a restart: delivers the outcomes that were decided (and answered) but not yet committed to
   * their runs when the process stopped. A run that ended meanwhile no longer needs them.
   */
  async redeliver(): Promise<number> {
    let delivered = 0;
    for (const record of await this.deps.store.undelivered()) {
      const last = record.decisions.at(-1);
      const outcome = last === undefined ? null : countDecisions(record, record.decisions, last);
      if (outcome === null) continue;
      await this.deliver(record, outcome);
      delivered++;
    }
    return delivered;
  }

  /** The outcome reaches the run first; the flag is set only after, so a crash in between redelivers. */
  private async deliver(record: ApprovalRecord, outcome: ApprovalOutcome): Promise<void> {
    const { store } = this.deps;
    if (await this.deps.runActive(record.runId))
      await this.deps.raiseEvent(record.runId, record.eventName, outcome, record.callback ?? null);
    let current = record;
    await untilWritten(`marking approval ${record.runId}/${record.stepId} delivered`, async () => {
      if (current.delivered || (await store.update({ ...current, delivered: true })) !== undefined)
        return null;
      const reread = await store.get(record.runId, record.stepId, record.visit, record.level);
      if (reread === undefined) return null;
      current = reread;
      return CONFLICT;
    });
  }
}

/** Why a level has nobody to ask: no approver matched, or only the run's requesters did. */
function noApproversMessage(input: ApprovalRequest, resolved: string[]): string {
  if (resolved.length > 0)
    return `no approver left at level ${input.level}: ${resolved.join(', ')} asked for the run and cannot approve it`;
  const specs = input.approvers.length ? input.approvers.join(', ') : 'an empty approver list';
  return `no approver found for ${specs} at level ${input.level}`;
}

/** The level's outcome once `require` is met or can no longer be met; null while it is still open. */
export function countDecisions(
  record: Pick<ApprovalRecord, 'approvers' | 'require'>,
  decisions: ApprovalDecisionEntry[],
  last: ApprovalDecisionEntry,
): ApprovalOutcome | null {
  const approvals = decisions.filter((d) => d.decision === 'approve').length;
  const rejections = decisions.length - approvals;
  const total = record.approvers.length;
  const needed =
    record.require === 'any' ? 1 : record.require === 'all' ? total : Math.min(record.require, total);
  const decided = (approved: boolean): ApprovalOutcome => ({
    approved,
    decidedBy: last.by,
    comment: last.comment,
    decisions,
  });
  if (record.require === 'any') return decided(last.decision === 'approve');
  if (approvals >= needed) return decided(true);
  if (rejections > total - needed) return decided(false);
  return null;
}
