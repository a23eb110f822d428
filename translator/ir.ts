// The IR: one normalised graph per workflow that the engine and every compiler read instead of the raw
// definition. Durations are in ms, expressions and templates are parsed, every edge is explicit, and
// each node keeps the JSON pointer of the definition node it came from.
import type { Role } from './definition.js';
import type { Expr } from './expression.js';
import type { Template } from './template.js';
import { assertNever } from './util.js';

export const IR_VERSION = 1;

/** Jump target meaning "the end of this graph" (the run, or the enclosing parallel branch). */
export const END = '$end';
/** A step id of the same graph, or END. */
export type Edge = string;

export interface IrWorkflow {
  irVersion: typeof IR_VERSION;
  id: string;
  name: string;
  description: string | null;
  aliases: string[];
  /** JSON Schema (draft 2020-12) of the trigger input, or null when the workflow takes none. */
  inputs: Record<string, unknown> | null;
  triggers: IrTrigger[];
  timeoutMs: number | null;
  graph: IrGraph;
}

export interface IrGraph {
  start: Edge;
  /** In definition order. */
  nodes: IrNode[];
}

export interface IrBranch extends IrGraph {
  name: string | null;
}

export type IrNode = IrTool | IrCondition | IrApproval | IrParallel | IrNotify | IrDelay;
export type IrNodeKind = IrNode['kind'];

interface IrNodeBase {
  id: string;
  name: string | null;
  /** JSON pointer of the step in the definition. */
  source: string;
}

export interface IrRetry {
  /** Total attempts, the first one included. */
  maxAttempts: number;
  intervalMs: number;
  backoffRate: number;
  maxDelayMs: number | null;
  jitter: 'full' | 'none';
}

export interface IrTool extends IrNodeBase {
  kind: 'tool';
  /** The server a `server/tool` name pins, or null to look the tool up on every server. */
  server: string | null;
  tool: string;
  args: Template;
  retry: IrRetry;
  timeoutMs: number | null;
  output: string;
  next: Edge;
  /** Where a failure after the last attempt goes; null: it fails the run (or the branch). */
  onError: Edge | null;
}

export interface IrCondition extends IrNodeBase {
  kind: 'condition';
  expression: string;
  condition: Expr;
  /** The definition's `then` and `else` (renamed: an object with `then` is a thenable). */
  onTrue: Edge;
  onFalse: Edge;
}

export type IrApprover =
  | { kind: 'user'; email: string }
  | { kind: 'role'; role: Role }
  | { kind: 'group'; group: string }
  | { kind: 'template'; template: Template };

/** any: first decision decides; all: every approver; a number N: N approvals. */
export type IrApprovalRequire = 'any' | 'all' | number;

export interface IrApprovalLevel {
  approvers: IrApprover[];
  require: IrApprovalRequire;
  timeoutMs: number | null;
  message: Template;
}

/** What an approval step stores under its output, on every outcome. */
export const APPROVAL_RESULT_FIELDS = [
  'approved',
  'decidedBy',
  'comment',
  'decisions',
  'level',
  'timedOut',
] as const;

/** A line of context the approver is shown, its value rendered when a level is requested. */
export interface IrApprovalDetail {
  label: string;
  value: Template;
}

/**
 * What a request shows beside its message, read from the run's variables when a level is requested: the
 * step's `details`, the run's inputs (the inputs schema's properties) and the results of the other steps
 * that write one (in definition order: the later ones are the more recent). Compiled into every target's
 * approval payload, so every host shows the same.
 */
export interface IrApprovalContext {
  details: IrApprovalDetail[];
  inputs: string[];
  results: Array<{ step: string; output: string }>;
}

export interface IrApproval extends IrNodeBase {
  kind: 'approval';
  /** Level 1 is the step's own approvers; the rest come from `escalate`, entered in turn on timeout. */
  levels: IrApprovalLevel[];
  /** Absent in an IR lowered before approvals carried context: nothing is shown beside the message. */
  context?: IrApprovalContext;
  output: string;
  next: Edge;
  /** null: a rejection fails the run with error Stepgate.Rejected. */
  onReject: Edge | null;
  /** null: a timeout of the last level ends the run timed_out. */
  onTimeout: Edge | null;
  /** Set (only ever true) when the run's requesters may approve it; absent: separation of duties. */
  allowSelfApproval?: true;
}

export interface IrParallel extends IrNodeBase {
  kind: 'parallel';
  branches: IrBranch[];
  /** 'all', or N: continue once N branches succeeded and cancel the rest. */
  require: 'all' | number;
  next: Edge;
  onError: Edge | null;
}

export const CHANNEL_KINDS = ['email', 'slack', 'teams', 'sms'] as const;
export type Channel = (typeof CHANNEL_KINDS)[number];

export interface IrNotify extends IrNodeBase {
  kind: 'notify';
  channel: Channel;
  to: Template[];
  subject: Template | null;
  message: Template;
  retry: IrRetry;
  timeoutMs: number | null;
  next: Edge;
  onError: Edge | null;
}

export interface IrDelay extends IrNodeBase {
  kind: 'delay';
  wait: { kind: 'duration'; ms: number } | { kind: 'until'; time: Template };
  next: Edge;
}

export type IrTrigger =
  | { type: 'manual'; minRole: Role }
  | { type: 'webhook'; auth: 'signature' | 'token'; runAs: string | null }
  | {
      type: 'schedule';
      cron: string;
      preset: string | null;
      timezone: string;
      scope: 'user' | 'group' | 'org';
      group: string | null;
      input: Record<string, unknown>;
    };

/** The edges leaving a node, labelled by the key that declares them. */
export function edgesOf(node: IrNode): Array<{ label: string; to: Edge }> {
  switch (node.kind) {
    case 'condition':
      return [
        { label: 'then', to: node.onTrue },
        { label: 'else', to: node.onFalse },
      ];
    case 'tool':
    case 'notify':
    case 'parallel':
      return node.onError === null
        ? [{ label: 'next', to: node.next }]
        : [
            { label: 'next', to: node.next },
            { label: 'onError', to: node.onError },
          ];
    case 'approval': {
      const edges = [{ label: 'next', to: node.next }];
      if (node.onReject !== null) edges.push({ label: 'onReject', to: node.onReject });
      if (node.onTimeout !== null) edges.push({ label: 'onTimeout', to: node.onTimeout });
      return edges;
    }
    case 'delay':
      return [{ label: 'next', to: node.next }];
    default:
      return assertNever(node, 'IR node');
  }
}

/** An approval step's result when its last level timed out, the same on every target. */
export function timedOutApproval(node: IrApproval): {
  approved: false;
  decidedBy: null;
  comment: null;
  decisions: [];
  level: number;
  timedOut: true;
} {
  return {
    approved: false,
    decidedBy: null,
    comment: null,
    decisions: [],
    level: node.levels.length,
    timedOut: true,
  };
}

/**
 * The variables a branch commits at its parallel's join: the outputs of its tool and approval steps,
 * nested parallels' included. A handled `error` is not among them: it belongs to the branch.
 */
export function graphOutputs(graph: IrGraph): Set<string> {
  const names = new Set<string>();
  const walk = (g: IrGraph): void => {
    for (const inner of g.nodes) {
      if (inner.kind === 'tool' || inner.kind === 'approval') names.add(inner.output);
      if (inner.kind === 'parallel') for (const branch of inner.branches) walk(branch);
    }
  };
  walk(graph);
  return names;
}

/** The ids of the graph's approval steps, inside parallel branches too. */
export function approvalSteps(graph: IrGraph): string[] {
  const ids: string[] = [];
  const walk = (g: IrGraph): void => {
    for (const inner of g.nodes) {
      if (inner.kind === 'approval') ids.push(inner.id);
      if (inner.kind === 'parallel') for (const branch of inner.branches) walk(branch);
    }
  };
  walk(graph);
  return ids;
}

/** Delay before attempt `attempt + 1`; `full` jitter draws from a hash of the attempt, so replays agree. */
export function backoffDelay(retry: IrRetry, attempt: number, seed: string): number {
  const base = retry.intervalMs * retry.backoffRate ** (attempt - 1);
  const capped = Math.min(base, retry.maxDelayMs ?? Number.POSITIVE_INFINITY);
  return Math.round(retry.jitter === 'full' ? capped * unitHash(seed) : capped);
}

/** FNV-1a of the seed mapped to [0, 1): deterministic, not secret. */
function unitHash(seed: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}
