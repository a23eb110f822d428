// The Task payloads of the compiled state machine, typed against the wire contract the handlers read
// (functions/core/wire.ts): each field is given statically or, as `<field>.$`, as a JSONPath the
// execution resolves. Templates travel as the IR's template JSON, never pre-resolved.
import type {
  AslApprovalPayload,
  AslNotifyPayload,
  AslQuorumPayload,
  AslToolCallPayload,
} from '../../../functions/core/wire.js';
import type {
  IrApproval,
  IrApprovalContext,
  IrApprovalLevel,
  IrApprover,
  IrNotify,
  IrTool,
} from '../../ir.js';
import type { Template } from '../../template.js';
import {
  type Json,
  type QuorumParallel,
  type Scope,
  type State,
  varsExpression,
  writeLayer,
} from './state.js';

/** A wire payload as ASL Parameters: the fields named in `Paths` are given as JSONPaths (`<field>.$`). */
type WithPaths<P, Paths extends keyof P> = Omit<P, Paths> & {
  [K in keyof P as K extends Paths ? `${K & string}.$` : never]: string;
};

/** A template as JSON text for the handler, without the source offsets only diagnostics use. */
function templateText(template: Template): string {
  const strip = (t: Template): Json => {
    switch (t.kind) {
      case 'const':
        return { kind: 'const', value: t.value };
      case 'ref':
        return { kind: 'ref', path: t.path };
      case 'concat':
        return {
          kind: 'concat',
          parts: t.parts.map(
            (p): Json => (p.kind === 'text' ? { kind: 'text', text: p.text } : { kind: 'ref', path: p.path }),
          ),
        };
      case 'object':
        return { kind: 'object', entries: t.entries.map(([key, child]): Json => [key, strip(child)]) };
      case 'array':
        return { kind: 'array', items: t.items.map(strip) };
    }
  };
  return JSON.stringify(strip(template));
}

/** An approval's context (IrApprovalContext) as JSON text, its details' templates as templateText has them. */
function contextText(context: IrApprovalContext): string {
  return JSON.stringify({
    details: context.details.map(
      (d): Json => ({ label: d.label, value: JSON.parse(templateText(d.value)) as Json }),
    ),
    inputs: context.inputs,
    results: context.results,
  });
}

function templatesText(templates: Template[]): string {
  return `[${templates.map(templateText).join(',')}]`;
}

function approversText(approvers: IrApprover[]): string {
  return JSON.stringify(
    approvers.map(
      (a): Json =>
        a.kind === 'template'
          ? { kind: 'template', template: JSON.parse(templateText(a.template)) as Json }
          : a,
    ),
  );
}

/** The payload fields are Json by construction (the wire types are JSON); the cast only widens them. */
function asState<P extends object>(payload: P): State {
  return payload as unknown as State;
}

/** The Parameters of a tool.call or notify.send Task (AslToolCallPayload, AslNotifyPayload). */
export function activityParameters(node: IrTool | IrNotify, scope: Scope): State {
  const visit = {
    'ctx.$': '$.ctx',
    stepId: node.id,
    'attempt.$': '$$.State.RetryCount',
    // Distinct per visit of the state and stable across its retries: with the attempt, the handler's
    // idempotency key for a step that a loop enters again.
    'enteredTime.$': '$$.State.EnteredTime',
  };
  if (node.kind === 'tool') {
    const tool: WithPaths<AslToolCallPayload, 'ctx' | 'attempt' | 'enteredTime' | 'vars'> = {
      activity: 'tool.call',
      ...visit,
      server: node.server,
      tool: node.tool,
      args: templateText(node.args),
      timeoutMs: node.timeoutMs,
      'vars.$': varsExpression(scope),
    };
    return asState(tool);
  }
  const notify: WithPaths<AslNotifyPayload, 'ctx' | 'attempt' | 'enteredTime' | 'vars'> = {
    activity: 'notify.send',
    ...visit,
    channel: node.channel,
    to: templatesText(node.to),
    subject: node.subject === null ? null : templateText(node.subject),
    message: templateText(node.message),
    'vars.$': varsExpression(scope),
  };
  return asState(notify);
}

/** The Lambda Payload of one approval level, invoked with a task token (AslApprovalPayload). */
export function approvalPayload(
  node: IrApproval,
  level: IrApprovalLevel,
  levelNo: number,
  scope: Scope,
): State {
  const payload: WithPaths<AslApprovalPayload, 'ctx' | 'enteredTime' | 'taskToken' | 'vars'> = {
    activity: 'approval.request',
    'ctx.$': '$.ctx',
    stepId: node.id,
    output: node.output,
    level: levelNo,
    approvers: approversText(level.approvers),
    require: level.require,
    message: templateText(level.message),
    ...(node.context === undefined ? {} : { context: contextText(node.context) }),
    timeoutMs: level.timeoutMs,
    // Without onReject a rejection is the step's error: the decision handler's cause then sets `error`
    // too — and only `error` inside a branch, whose failure discards what the branch wrote.
    rejectFails: node.onReject === null,
    rejectKeepsResult: node.onReject !== null || scope.depth === 0,
    ...(node.allowSelfApproval === true ? { allowSelfApproval: true as const } : {}),
    'enteredTime.$': '$$.State.EnteredTime',
    'taskToken.$': '$$.Task.Token',
    'vars.$': varsExpression(scope),
  };
  return asState(payload);
}

/** The Parameters of a require-N branch's counter Task (AslQuorumPayload), for either outcome. */
export function quorumParameters(
  parallel: QuorumParallel,
  branch: number,
  outcome: AslQuorumPayload['outcome'],
  scope: Scope,
): State {
  const payload: WithPaths<AslQuorumPayload, 'ctx' | 'written' | 'error'> = {
    activity: 'quorum',
    'ctx.$': '$.ctx',
    stepId: parallel.id,
    branch,
    branches: parallel.branches.length,
    require: parallel.require,
    outcome,
    // A failed branch reports the error it was caught with.
    ...(outcome === 'failed' ? { 'error.$': '$.caught' } : {}),
    'written.$': `$.${writeLayer(scope)}`,
  };
  return asState(payload);
}
