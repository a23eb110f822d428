// The vocabulary of a run's audit trail: every entry type the orchestrator, the tool pipeline and the
// approval services write, each with the data it carries. Writers are type-checked against it and the run
// view switches over it exhaustively; the strings and keys are what stored histories hold, so they never change.
import type { Edge, IrApprovalRequire, IrNode } from '../../translator/ir.js';
import type { JsonValue } from '../../translator/template.js';
import type {
  ApprovalContext,
  ApprovalDecisionEntry,
  FinalStatus,
  NotifyRequest,
  RunError,
  TaskError,
  TriggerType,
} from './protocol.js';

export type PolicyRule = 'role' | 'minRole' | 'write' | 'rateLimit' | 'groupRateLimit' | 'orgRateLimit';

/**
 * One check of the tool policy (policy.ts) and its outcome, recorded under `tool.policy` (identity, tool and
 * configuration only — no secrets).
 */
export interface PolicyDecision {
  rule: PolicyRule;
  outcome: 'allow' | 'deny' | 'skipped';
  detail: string;
}

/** What an attempt of a tool or notify step was asked to do (the run view's attempt input). */
export type AttemptInput =
  | { tool: string; args: JsonValue }
  | Pick<NotifyRequest, 'channel' | 'to' | 'subject' | 'message'>;

/** What a finished step produced, by step kind. */
type StepFinishedData =
  | { output: string; result: JsonValue }
  | { delivered: true; result: JsonValue }
  | { condition: string; result: unknown }
  | { approved: boolean; level: number; decidedBy: string | null }
  | { approved: false; timedOut: true; level: number }
  | { ok: true }
  | Record<string, never>;

/** A link's refusal (approval-links.ts `LinkRefusal`) or a failed email's message. */
type LinkEntryData =
  | {
      approver: string;
      level: number;
      action: 'view' | 'decide';
      decision?: 'approve' | 'reject';
      outcome: 'shown' | 'accepted' | 'refused';
      reason: string | null;
    }
  | { approver: string; level: number; action: 'notify'; channel: string; outcome: 'failed'; reason: string };

/** A stage of the tool pipeline (tool-pipeline.ts, results.ts), before it is given its step and attempt. */
export type ToolStage =
  | {
      type: 'tool.lookup';
      data:
        | { requested: string; found: false; error: string }
        | { requested: string; found: true; server: string; tool: string };
    }
  | {
      type: 'tool.identity';
      data: {
        mode: 'inject' | 'schema';
        injected: string[];
        values: Record<string, unknown>;
        arguments: string;
      };
    }
  | { type: 'tool.credentials'; data: { server: string; sources: Record<string, string>; missing: string[] } }
  | { type: 'tool.policy'; data: { allowed: boolean; decisions: PolicyDecision[] } }
  | {
      type: 'tool.executed';
      data: { server: string; tool: string; ms: number; redacted?: string[] } & (
        | { ok: true }
        | { ok: false; error: Required<TaskError> }
      );
    }
  | {
      type: 'tool.result';
      data: { stored: 'inline'; bytes: number } | { stored: 'reference'; bytes: number; uri: string };
    };

/** The trail's `run.started` entry: how the run was triggered, by whom, with what input. */
export function runStartedEntry(start: {
  trigger: { type: TriggerType; user: { email: string } };
  input: Record<string, JsonValue>;
}): AuditEntry {
  return {
    type: 'run.started',
    data: { trigger: start.trigger.type, user: start.trigger.user.email, input: start.input },
  };
}

/** The entries about a whole run: no step. */
type RunEntry =
  | { type: 'run.started'; data: { trigger: TriggerType; user: string; input: Record<string, JsonValue> } }
  | { type: 'run.timed-out'; data: { timeoutMs: number | null } }
  | { type: 'run.cancelled'; data: { by: string | null } }
  | { type: 'run.finished'; data: { status: FinalStatus; error: RunError | null } };

/** The entries about one step (for `branch.*`, the parallel step). */
type StepEntry =
  | { type: 'step.entered'; data: { kind: IrNode['kind']; visit: number } }
  | { type: 'step.finished'; data: StepFinishedData }
  | { type: 'step.failed'; data: { error: RunError } }
  | { type: 'step.error-handled'; data: { error: RunError; next: Edge } }
  | { type: 'branch.started'; data: { branch: number; name: string | null } }
  | { type: 'branch.finished'; data: { branch: number; ok: boolean; error?: RunError } }
  | { type: 'branch.cancelled'; data: { branch: number } }
  | { type: 'attempt.started'; data: { attempt: number; idempotencyKey: string } & AttemptInput }
  | {
      type: 'attempt.finished';
      /**
       * `late`: the attempt answered after its branch was cancelled (a met `require` or a failed sibling moved
       * the parallel on): what it did happened, but its step had already stopped and took nothing from it.
       * `visit`: the step's visit it belongs to (a loop may have entered the step again meanwhile).
       */
      data: ({ attempt: number; ok: true } | { attempt: number; ok: false; error: TaskError }) & {
        late?: true;
        visit?: number;
      };
    }
  | { type: 'retry.scheduled'; data: { attempt: number; delayMs: number } }
  | { type: 'timer.started'; data: { fireAt: string } }
  | {
      type: 'approval.requested';
      data: {
        level: number;
        approvers: string[];
        require: IrApprovalRequire;
        message: string;
        /** What the level's approvers were shown beside the message (approval-context.ts), as they saw it. */
        context?: ApprovalContext;
        deadline: number | null;
        allowSelfApproval?: true;
        /** The tool call the approval lets through, when the approve path leads straight to one. */
        next?: { step: string; tool: string; args: JsonValue };
      };
    }
  | { type: 'approval.no-approvers'; data: { level: number; message: string; escalatesTo: number } }
  | { type: 'approval.timed-out'; data: { level: number; escalatesTo: number | null } }
  | { type: 'approval.notified'; data: { approver: string; level: number; channel: string } }
  | { type: 'approval.link'; data: LinkEntryData }
  | {
      type: 'approval.decision';
      data: { level: number; decides: boolean } & ApprovalDecisionEntry;
    }
  | {
      type: 'approval.refused';
      /** `reason`: approvals.ts `DecisionResult`'s refusal reasons. */
      data: { by: string; decision: 'approve' | 'reject'; channel: string; reason: string; level?: number };
    }
  | (ToolStage & { data: { attempt: number } });

/** One entry of a run's audit trail as a writer hands it over. */
export type AuditEntry = (RunEntry & { step?: undefined }) | (StepEntry & { step: string });

export type AuditType = AuditEntry['type'];

/** One entry as the trail keeps it: numbered, timed, `step` null for run entries. */
export type AuditRecord = AuditEntry extends infer E
  ? E extends AuditEntry
    ? {
        seq: number;
        at: number;
        type: E['type'];
        step: E['step'] extends string ? string : null;
        data: E['data'];
      }
    : never
  : never;

/** Every entry type, once (the record makes the compiler check that none is missing). */
const TYPES: Record<AuditType, true> = {
  'run.started': true,
  'run.timed-out': true,
  'run.cancelled': true,
  'run.finished': true,
  'step.entered': true,
  'step.finished': true,
  'step.failed': true,
  'step.error-handled': true,
  'branch.started': true,
  'branch.finished': true,
  'branch.cancelled': true,
  'attempt.started': true,
  'attempt.finished': true,
  'retry.scheduled': true,
  'timer.started': true,
  'approval.requested': true,
  'approval.no-approvers': true,
  'approval.timed-out': true,
  'approval.notified': true,
  'approval.link': true,
  'approval.decision': true,
  'approval.refused': true,
  'tool.lookup': true,
  'tool.identity': true,
  'tool.credentials': true,
  'tool.policy': true,
  'tool.executed': true,
  'tool.result': true,
};

export const AUDIT_TYPES = Object.keys(TYPES) as readonly AuditType[];

/** The stored form of `entry`, the `seq`-th of its run's trail, recorded at `at`. */
export function auditRecord(entry: AuditEntry, seq: number, at: number): AuditRecord {
  // Each entry keeps its type with its data; the compiler cannot follow that through the rebuilt object.
  return { seq, at, type: entry.type, step: entry.step ?? null, data: entry.data } as AuditRecord;
}

/** `stage`'s entry in the trail of `step`'s attempt `attempt`. */
export function toolStageEntry(step: string, attempt: number, stage: ToolStage): AuditEntry {
  // Adding `attempt` keeps each stage's type with its data; the compiler cannot follow that through a spread.
  return { type: stage.type, step, data: { attempt, ...stage.data } } as AuditEntry;
}

/** True for a type of the vocabulary; a stored entry of any other type (none is written) is passed over. */
export function isAuditType(type: string): type is AuditType {
  return Object.hasOwn(TYPES, type);
}
