// The AWS Step Functions compiler: one Standard state machine (ASL, JSONPath dialect) per workflow.
//
// State document: `{ ctx: { runId, workflowId, identity }, vars: { ...inputs, trigger, run, <outputs> } }`,
// built by whoever starts the execution (execution name = runId). Step results are written with
// ResultPath `$.vars.<output>`. Inside a parallel branch they go to the branch's overlay (`$.w1.<output>`,
// `$.w2` in a nested branch, ...) and a handled error to its error overlay (`$.e1.error`, ...); handlers
// get `vars` with the overlays merged over it (States.JsonMerge) and Choice rules read the deepest overlay
// holding the variable. The Parallel's ResultSelector commits the branches' result overlays in branch
// order and drops their error overlays (a branch's `error` is its own); a require-N Parallel commits the
// overlays of the branches that completed, kept by the quorum handler. Failures that leave a branch carry
// only `{"error": ...}` as their cause (`rejectKeepsResult: false` tells the decision handler), so a failed
// parallel commits nothing.
//
// Templates: every `{{...}}` is resolved by the handler Lambdas with the shared `resolveTemplate`: a Task
// passes the static template (JSON text) plus `$.vars`, never a native `.$` path into vars, because a
// native path fails with States.Runtime on a missing field where `resolveTemplate` gives null. Native
// paths are only used where existence is guaranteed (`$.ctx`, `$.vars`) and in Choice rules, where every
// data test is guarded by IsPresent and a type test.
//
// Handler failures: a Lambda fails with errorType `Stepgate.Retryable` or `Stepgate.Fatal` (the ASL Retry
// matches the first, so a non-retryable error is never retried) and errorMessage (the Cause) a JSON
// object of variables to merge into `vars` when it is caught: `{"error":{"code","message","step"}}`.
// A rejection arrives as SendTaskFailure with error `Stepgate.Rejected` and cause `{"<output>": result}`
// (plus `"error"` when the step has no onReject, so that an enclosing parallel's onError sees it; only
// `"error"` when, in addition, the step is inside a branch: the payload's rejectFails/rejectKeepsResult).
// A caught error is merged by one Pass state (`<step>.error`, on the error path only) with
// States.JsonMerge; a per-attempt timeout (States.Timeout) becomes a static Stepgate.Timeout error.
//
// Placeholders substituted at deployment (CDK DefinitionSubstitutions style):
//   ${ToolCallFunctionArn}        tool.call handler (ToolCallRequest, returns the tool's result)
//   ${NotifyFunctionArn}          notify.send handler
//   ${ApprovalRequestFunctionArn} approval.request handler, invoked with a task token; the decision
//                                 handler answers the token (SendTaskSuccess with the ApprovalResult).
//                                 A level with nobody to ask (its only approvers asked for the run) fails
//                                 with `Stepgate.NoApprovers`: every level but the last catches it and
//                                 escalates, as on a timeout; at the last level it is the step's error
//   ${QuorumFunctionArn}          counts finished branches of a `require: N` parallel (keeping the result
//                                 overlays of those that succeeded) and fails with
//                                 `Stepgate.QuorumReached` (cause: those overlays merged in branch order)
//                                 once N succeeded, or with the first branch error (its cause only: a
//                                 failed parallel commits nothing) once N can no longer succeed

import { ERROR_CODE } from '../error-codes.js';
import type { Expr, Literal, Operand, PathOperand } from '../expression.js';
import {
  type Edge,
  END,
  type IrApproval,
  type IrApprover,
  type IrCondition,
  type IrDelay,
  type IrGraph,
  type IrNode,
  type IrNotify,
  type IrParallel,
  type IrRetry,
  type IrTool,
  type IrWorkflow,
  timedOutApproval,
} from '../ir.js';
import type { Template } from '../template.js';
import { assertNever } from '../util.js';
import { TranslateError } from './errors.js';

export const ASL_PLACEHOLDERS = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  toolCall: '${ToolCallFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  notify: '${NotifyFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  approvalRequest: '${ApprovalRequestFunctionArn}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a DefinitionSubstitutions placeholder, not a template
  quorum: '${QuorumFunctionArn}',
} as const;

/** Error names on the wire between the handlers and the state machine (from the one catalog). */
export const ASL_ERROR = {
  retryable: ERROR_CODE.retryable,
  fatal: ERROR_CODE.fatal,
  rejected: ERROR_CODE.rejected,
  approvalTimeout: ERROR_CODE.approvalTimeout,
  noApprovers: ERROR_CODE.noApprovers,
  timeout: ERROR_CODE.timeout,
  quorumReached: ERROR_CODE.quorumReached,
} as const;

/** Used where the IR has no timeout: ASL's largest TimeoutSeconds, stated explicitly. */
export const NO_TIMEOUT_SECONDS = 99_999_999;
const DONE = '(end)';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = { [key: string]: Json };
type Rule = { [key: string]: Json };

/** How a failure that nobody handles leaves a state: to the run's end, or to a require-N branch's counter. */
interface Scope {
  states: Record<string, State>;
  /**
   * `vars`, then two overlays per enclosing parallel branch: `wN` (its step results, committed at the
   * join) and `eN` (its `error`, which belongs to the branch and is dropped at the join).
   */
  layers: string[];
  /** For each overlay layer (index as in `layers`), the variables its branch may write. */
  layerKeys: Array<ReadonlySet<string>>;
  /** Branch nesting depth: 0 at the top, N in a branch whose overlays are `wN` and `eN`. */
  depth: number;
  /** In a require-N branch: the state unhandled failures go to (so the branch is counted, not fatal). */
  failTo: string | null;
  needsDone: boolean;
  /** The Succeed state a Choice uses to end this graph. */
  succeedName: string;
}

export function emitAsl(ir: IrWorkflow): Record<string, unknown> {
  const definition: Record<string, unknown> = {
    Comment: `${ir.name} (Stepgate workflow ${ir.id})`,
    StartAt: '',
    States: {},
  };
  const { startAt, states } = emitGraph(ir.graph, null);
  definition.StartAt = startAt;
  definition.States = states;
  definition.TimeoutSeconds =
    ir.timeoutMs === null ? NO_TIMEOUT_SECONDS : seconds(ir.timeoutMs, '', 'timeout');
  return definition;
}

function emitGraph(
  graph: IrGraph,
  branch: { parallel: IrParallel; index: number; parent: Scope } | null,
): { startAt: string; states: Record<string, State> } {
  const depth = branch === null ? 0 : branch.parent.depth + 1;
  const layers = branch === null ? ['vars'] : [...branch.parent.layers, `w${depth}`, `e${depth}`];
  const written = new Set(graph.nodes.flatMap(writes));
  const layerKeys =
    branch === null
      ? [new Set<string>()]
      : [
          ...branch.parent.layerKeys,
          new Set([...written].filter((k) => k !== 'error')),
          new Set([...written].filter((k) => k === 'error')),
        ];
  const succeedName = branch === null ? DONE : `${branch.parallel.id}.${branch.index}.end`;
  const scope: Scope = {
    states: {},
    layers,
    layerKeys,
    depth,
    failTo: null,
    needsDone: false,
    succeedName,
  };
  const quorum = branch !== null && usesQuorum(branch.parallel);
  const doneName = branch === null ? '' : `${branch.parallel.id}.${branch.index}.done`;
  if (quorum && branch !== null) scope.failTo = `${branch.parallel.id}.${branch.index}.failed`;
  // In a require-N branch the end of the branch is the counter, which ends the branch or the parallel.
  const endTarget = quorum ? doneName : END;
  for (const node of graph.nodes) emitNode(node, scope, endTarget);
  if (quorum && branch !== null) {
    const common = {
      activity: 'quorum',
      'ctx.$': '$.ctx',
      stepId: branch.parallel.id,
      branch: branch.index,
      branches: branch.parallel.branches.length,
      require: branch.parallel.require,
    };
    scope.states[doneName] = {
      Type: 'Task',
      Resource: ASL_PLACEHOLDERS.quorum,
      Parameters: { ...common, outcome: 'succeeded', 'written.$': `$.${writeLayer(scope)}` },
      TimeoutSeconds: 60,
      ResultPath: null,
      End: true,
    };
    scope.states[`${branch.parallel.id}.${branch.index}.failed`] = {
      Type: 'Task',
      Resource: ASL_PLACEHOLDERS.quorum,
      Parameters: {
        ...common,
        outcome: 'failed',
        'error.$': '$.caught',
        'written.$': `$.${writeLayer(scope)}`,
      },
      TimeoutSeconds: 60,
      ResultPath: null,
      End: true,
    };
  }
  if (graph.start === END && !quorum) scope.needsDone = true;
  if (scope.needsDone) scope.states[succeedName] = { Type: 'Succeed' };
  const start = graph.start === END ? (quorum ? doneName : succeedName) : graph.start;
  return { startAt: start, states: reachable(start, scope.states) };
}

/** The variables a node writes (its output, and `error` when it handles its errors), nested ones included. */
function writes(node: IrNode): string[] {
  switch (node.kind) {
    case 'tool':
      return node.onError === null ? [node.output] : [node.output, 'error'];
    case 'approval':
      return [node.output];
    case 'notify':
      return node.onError === null ? [] : ['error'];
    case 'parallel':
      return [
        ...node.branches.flatMap((b) => b.nodes.flatMap(writes)),
        ...(node.onError === null ? [] : ['error']),
      ];
    case 'condition':
    case 'delay':
      return [];
    default:
      return assertNever(node, 'IR node');
  }
}

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

/** Where the current branch writes step results (`vars` at the top). */
function writeLayer(scope: Scope): string {
  return scope.depth === 0 ? 'vars' : `w${scope.depth}`;
}

/** Where the current branch writes a handled `error` (`vars` at the top). */
function errorLayer(scope: Scope): string {
  return scope.depth === 0 ? 'vars' : `e${scope.depth}`;
}

/** The run's variables as a branch sees them: `vars` with the overlays of the enclosing branches merged over it. */
function varsExpression(scope: Scope): string {
  let merged = '$.vars';
  for (const layer of scope.layers.slice(1)) merged = `States.JsonMerge(${merged}, $.${layer}, false)`;
  return merged;
}

/** Parameters that rebuild the state document, one layer replaced. */
function documentWith(scope: Scope, layer: string, expression: string): State {
  const doc: State = { 'ctx.$': '$.ctx' };
  for (const name of scope.layers) doc[`${name}.$`] = name === layer ? expression : `$.${name}`;
  return doc;
}

/** Only the states reachable from the start: ASL refuses unreachable ones (a definition may have them). */
function reachable(start: string, states: Record<string, State>): Record<string, State> {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || states[name] === undefined) return;
    seen.add(name);
    const state = states[name];
    const targets: unknown[] = [state.Next, state.Default];
    for (const list of [state.Choices, state.Catch])
      if (Array.isArray(list)) for (const r of list) targets.push((r as State).Next);
    for (const target of targets) if (typeof target === 'string') visit(target);
  };
  visit(start);
  return Object.fromEntries(Object.entries(states).filter(([name]) => seen.has(name)));
}

/** `require: N` below the branch count ends early through the quorum counter; N = all is a plain Parallel. */
function usesQuorum(node: IrParallel): boolean {
  return node.require !== 'all' && node.require < node.branches.length;
}

/** `Next` or `End` for a non-Choice state. */
function transition(to: Edge, endTarget: string): State {
  const target = to === END ? endTarget : to;
  return target === END ? { End: true } : { Next: target };
}

/** A Choice cannot end: END becomes the Succeed state (or the branch counter). */
function choiceTarget(to: Edge, scope: Scope, endTarget: string): string {
  if (to !== END) return to;
  if (endTarget !== END) return endTarget;
  scope.needsDone = true;
  return scope.succeedName;
}

function emitNode(node: IrNode, scope: Scope, endTarget: string): void {
  // Reserved first, so the step's state precedes its auxiliary states in the output.
  scope.states[node.id] = {};
  switch (node.kind) {
    case 'tool':
      emitTask(node, scope, endTarget);
      return;
    case 'notify':
      emitTask(node, scope, endTarget);
      return;
    case 'condition':
      emitCondition(node, scope, endTarget);
      return;
    case 'approval':
      emitApproval(node, scope, endTarget);
      return;
    case 'parallel':
      emitParallel(node, scope, endTarget);
      return;
    case 'delay':
      emitDelay(node, scope, endTarget);
      return;
    default:
      assertNever(node, 'IR node');
  }
}

function seconds(ms: number, source: string, what: string): number {
  if (ms % 1000 !== 0 || ms < 1000) {
    throw new TranslateError(
      'aws.sub-second-duration',
      `Step Functions counts ${what} in whole seconds; ${ms} ms is not a whole number of seconds`,
      source,
      'aws',
    );
  }
  return ms / 1000;
}

function retrier(retry: IrRetry, source: string): Json[] {
  if (retry.maxAttempts <= 1) return [];
  const rule: State = {
    ErrorEquals: [ASL_ERROR.retryable, 'States.Timeout'],
    IntervalSeconds: seconds(retry.intervalMs, source, 'retry intervals'),
    MaxAttempts: retry.maxAttempts - 1,
    BackoffRate: retry.backoffRate,
  };
  if (retry.maxDelayMs !== null) rule.MaxDelaySeconds = seconds(retry.maxDelayMs, source, 'retry delays');
  rule.JitterStrategy = retry.jitter === 'full' ? 'FULL' : 'NONE';
  return [rule];
}

/**
 * The Pass state that merges a caught cause (`$.caught.Cause`, JSON of variables) into the variables: an
 * error's cause (`{"error": ...}`) into the error layer, step results (a rejection's, a quorum's) into
 * the write layer.
 */
function mergeCaught(scope: Scope, next: Edge, endTarget: string, cause: 'error' | 'results'): State {
  const layer = cause === 'error' ? errorLayer(scope) : writeLayer(scope);
  return {
    Type: 'Pass',
    Parameters: documentWith(
      scope,
      layer,
      `States.JsonMerge($.${layer}, States.StringToJson($.caught.Cause), false)`,
    ),
    ...transition(next, endTarget),
  };
}

/** Catchers for a failure nobody handles: in a require-N branch it is counted, elsewhere it fails the run. */
function unhandled(scope: Scope): Json[] {
  return scope.failTo === null
    ? []
    : [{ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: scope.failTo }];
}

function emitTask(node: IrTool | IrNotify, scope: Scope, endTarget: string): void {
  const timeout =
    node.timeoutMs === null ? NO_TIMEOUT_SECONDS : seconds(node.timeoutMs, node.source, 'timeouts');
  const timeoutError = {
    error: { code: ASL_ERROR.timeout, message: `no result within ${node.timeoutMs} ms`, step: node.id },
  };
  const parameters: State =
    node.kind === 'tool'
      ? {
          activity: 'tool.call',
          'ctx.$': '$.ctx',
          stepId: node.id,
          'attempt.$': '$$.State.RetryCount',
          // Distinct per visit of the state and stable across its retries: with the attempt, the handler's
          // idempotency key for a step that a loop enters again.
          'enteredTime.$': '$$.State.EnteredTime',
          server: node.server,
          tool: node.tool,
          args: templateText(node.args),
          timeoutMs: node.timeoutMs,
          'vars.$': varsExpression(scope),
        }
      : {
          activity: 'notify.send',
          'ctx.$': '$.ctx',
          stepId: node.id,
          'attempt.$': '$$.State.RetryCount',
          // Distinct per visit of the state and stable across its retries: with the attempt, the handler's
          // idempotency key for a step that a loop enters again.
          'enteredTime.$': '$$.State.EnteredTime',
          channel: node.channel,
          to: templatesText(node.to),
          subject: node.subject === null ? null : templateText(node.subject),
          message: templateText(node.message),
          'vars.$': varsExpression(scope),
        };
  const catchers: Json[] = [];
  if (node.onError !== null) {
    catchers.push(
      { ErrorEquals: ['States.Timeout'], ResultPath: '$.caught', Next: `${node.id}.timeout` },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: `${node.id}.error` },
    );
    // The per-attempt timeout is a static error: no cause to merge.
    scope.states[`${node.id}.timeout`] = {
      Type: 'Pass',
      Result: timeoutError.error,
      ResultPath: `$.${errorLayer(scope)}.error`,
      ...transition(node.onError, endTarget),
    };
    scope.states[`${node.id}.error`] = mergeCaught(scope, node.onError, endTarget, 'error');
  } else if (node.timeoutMs !== null) {
    catchers.push({ ErrorEquals: ['States.Timeout'], ResultPath: '$.caught', Next: `${node.id}.timeout` });
    scope.states[`${node.id}.timeout`] =
      scope.failTo === null
        ? { Type: 'Fail', Error: ASL_ERROR.timeout, Cause: JSON.stringify(timeoutError) }
        : {
            Type: 'Pass',
            Result: { Error: ASL_ERROR.timeout, Cause: JSON.stringify(timeoutError) },
            ResultPath: '$.caught',
            Next: scope.failTo,
          };
    catchers.push(...unhandled(scope));
  } else catchers.push(...unhandled(scope));
  const state: State = {
    Type: 'Task',
    Resource: node.kind === 'tool' ? ASL_PLACEHOLDERS.toolCall : ASL_PLACEHOLDERS.notify,
    Parameters: parameters,
    TimeoutSeconds: timeout,
    ResultPath: node.kind === 'tool' ? `$.${writeLayer(scope)}.${node.output}` : null,
  };
  const retry = retrier(node.retry, node.source);
  if (retry.length > 0) state.Retry = retry;
  if (catchers.length > 0) state.Catch = catchers;
  scope.states[node.id] = { ...state, ...transition(node.next, endTarget) };
}

function emitApproval(node: IrApproval, scope: Scope, endTarget: string): void {
  const levelName = (level: number): string => (level === 1 ? node.id : `${node.id}.level${level}`);
  const resultPath = `$.${writeLayer(scope)}.${node.output}`;
  node.levels.forEach((level, index) => {
    const levelNo = index + 1;
    const last = levelNo === node.levels.length;
    const catchers: Json[] = [
      {
        ErrorEquals: ['States.Timeout'],
        ResultPath: '$.caught',
        Next: last ? `${node.id}.timedOut` : levelName(levelNo + 1),
      },
      { ErrorEquals: [ASL_ERROR.rejected], ResultPath: '$.caught', Next: `${node.id}.rejected` },
      ...(last
        ? []
        : [{ ErrorEquals: [ASL_ERROR.noApprovers], ResultPath: '$.caught', Next: levelName(levelNo + 1) }]),
      ...unhandled(scope),
    ];
    scope.states[levelName(levelNo)] = {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: ASL_PLACEHOLDERS.approvalRequest,
        Payload: {
          activity: 'approval.request',
          'ctx.$': '$.ctx',
          stepId: node.id,
          output: node.output,
          level: levelNo,
          approvers: approversText(level.approvers),
          require: level.require,
          message: templateText(level.message),
          timeoutMs: level.timeoutMs,
          // Without onReject a rejection is the step's error: the decision handler's cause then sets `error`
          // too — and only `error` inside a branch, whose failure discards what the branch wrote.
          rejectFails: node.onReject === null,
          rejectKeepsResult: node.onReject !== null || scope.depth === 0,
          ...(node.allowSelfApproval === true ? { allowSelfApproval: true } : {}),
          'taskToken.$': '$$.Task.Token',
          'vars.$': varsExpression(scope),
        },
      },
      TimeoutSeconds:
        level.timeoutMs === null ? NO_TIMEOUT_SECONDS : seconds(level.timeoutMs, node.source, 'timeouts'),
      ResultPath: resultPath,
      Catch: catchers,
      ...transition(node.next, endTarget),
    };
  });
  // A rejection: the decision handler's cause holds the result variable.
  if (node.onReject !== null)
    scope.states[`${node.id}.rejected`] = mergeCaught(scope, node.onReject, endTarget, 'results');
  else {
    scope.states[`${node.id}.rejected`] =
      scope.failTo === null
        ? { Type: 'Fail', Error: ASL_ERROR.rejected, CausePath: '$.caught.Cause' }
        : { Type: 'Pass', Next: scope.failTo };
  }
  const timedOut: Record<string, Json> = { [node.output]: timedOutApproval(node) };
  // A run that fails here keeps the step's result; a branch that fails here keeps nothing.
  const timeoutError = {
    ...(scope.depth === 0 ? timedOut : {}),
    error: {
      code: ASL_ERROR.approvalTimeout,
      message: 'no decision before the last approval level timed out',
      step: node.id,
    },
  };
  if (node.onTimeout !== null) {
    scope.states[`${node.id}.timedOut`] = {
      Type: 'Pass',
      Result: timedOut[node.output] ?? null,
      ResultPath: resultPath,
      ...transition(node.onTimeout, endTarget),
    };
  } else {
    scope.states[`${node.id}.timedOut`] =
      scope.failTo === null
        ? { Type: 'Fail', Error: ASL_ERROR.approvalTimeout, Cause: JSON.stringify(timeoutError) }
        : {
            Type: 'Pass',
            Result: { Error: ASL_ERROR.approvalTimeout, Cause: JSON.stringify(timeoutError) },
            ResultPath: '$.caught',
            Next: scope.failTo,
          };
  }
}

function emitParallel(node: IrParallel, scope: Scope, endTarget: string): void {
  const branches = node.branches.map((branch, index) => {
    const { startAt, states } = emitGraph(branch, { parallel: node, index, parent: scope });
    return { StartAt: startAt, States: states };
  });
  // Each branch writes into its own overlays; the join merges the result overlays, in branch order, into
  // ours, and drops the branches' error overlays (a branch's `error` is its own).
  const layer = writeLayer(scope);
  const overlay = `w${scope.depth + 1}`;
  let merged = `$[0].${layer}`;
  for (let i = 0; i < branches.length; i++) merged = `States.JsonMerge(${merged}, $[${i}].${overlay}, false)`;
  const parameters = documentWith(scope, '', '');
  parameters[overlay] = {};
  parameters[`e${scope.depth + 1}`] = {};
  const selector: State = { 'ctx.$': '$[0].ctx' };
  for (const name of scope.layers) selector[`${name}.$`] = name === layer ? merged : `$[0].${name}`;
  const catchers: Json[] = [];
  if (usesQuorum(node)) {
    catchers.push({
      ErrorEquals: [ASL_ERROR.quorumReached],
      ResultPath: '$.caught',
      Next: `${node.id}.joined`,
    });
    scope.states[`${node.id}.joined`] = mergeCaught(scope, node.next, endTarget, 'results');
  }
  if (node.onError !== null) {
    catchers.push({ ErrorEquals: ['States.ALL'], ResultPath: '$.caught', Next: `${node.id}.error` });
    scope.states[`${node.id}.error`] = mergeCaught(scope, node.onError, endTarget, 'error');
  } else catchers.push(...unhandled(scope));
  const state: State = {
    Type: 'Parallel',
    Branches: branches as unknown as Json[],
    Parameters: parameters,
    ResultSelector: selector,
  };
  if (catchers.length > 0) state.Catch = catchers;
  scope.states[node.id] = { ...state, ...transition(node.next, endTarget) };
}

function written(scope: Scope, key: string): boolean {
  return scope.layerKeys.some((keys) => keys.has(key));
}

function emitDelay(node: IrDelay, scope: Scope, endTarget: string): void {
  let wait: State;
  if (node.wait.kind === 'duration') wait = { Seconds: seconds(node.wait.ms, node.source, 'delays') };
  else if (node.wait.time.kind === 'ref' && !written(scope, node.wait.time.path[0] ?? ''))
    wait = { TimestampPath: `$.vars.${jsonPath(node.wait.time.path)}` };
  else {
    throw new TranslateError(
      'aws.delay-until-template',
      "a Wait state needs 'until' to be exactly one variable reference ({{name}}) set outside the enclosing parallel branches on AWS",
      node.source,
      'aws',
    );
  }
  scope.states[node.id] = { Type: 'Wait', ...wait, ...transition(node.next, endTarget) };
}

// ---- conditions -------------------------------------------------------------------------------------

function emitCondition(node: IrCondition, scope: Scope, endTarget: string): void {
  const rule = conditionRule(node.condition, node.source, scope);
  scope.states[node.id] = {
    Type: 'Choice',
    Choices: [{ ...rule, Next: choiceTarget(node.onTrue, scope, endTarget) }],
    Default: choiceTarget(node.onFalse, scope, endTarget),
  };
}

function jsonPath(path: readonly string[]): string {
  return path
    .map((segment, i) => (/^[0-9]+$/.test(segment) ? `[${segment}]` : `${i === 0 ? '' : '.'}${segment}`))
    .join('');
}

/** Where a condition reads variables: `vars` and the overlays of the enclosing branches. */
export interface Layers {
  layers: string[];
  layerKeys: Array<ReadonlySet<string>>;
}

const VARS_ONLY: Layers = { layers: ['vars'], layerKeys: [new Set()] };

/**
 * A data test on a variable: in a branch the variable is read from the deepest overlay that holds it,
 * else from `vars`; each candidate is guarded by the presence of its top-level key (so exactly one applies).
 */
function at(where: Layers, operand: PathOperand, test: (v: string) => Rule): Rule {
  const key = operand.path[0] ?? '';
  const overlays = where.layers
    .map((layer, i) => ({ layer, i }))
    .filter(({ i }) => i > 0 && where.layerKeys[i]?.has(key))
    .reverse();
  const rest = jsonPath(operand.path);
  if (overlays.length === 0) return test(`$.vars.${rest}`);
  const absent = (layer: string): Rule => ({ Not: { Variable: `$.${layer}.${key}`, IsPresent: true } });
  const candidates: Rule[] = overlays.map(({ layer }, n) =>
    and(
      ...overlays.slice(0, n).map((o) => absent(o.layer)),
      { Variable: `$.${layer}.${key}`, IsPresent: true },
      test(`$.${layer}.${rest}`),
    ),
  );
  candidates.push(and(...overlays.map((o) => absent(o.layer)), test(`$.vars.${rest}`)));
  return { Or: candidates };
}

const ALWAYS: Rule = { Variable: '$', IsPresent: true };
const NEVER: Rule = { Not: ALWAYS };

function and(...rules: Rule[]): Rule {
  return { And: rules };
}

function typed(v: string, type: 'IsNumeric' | 'IsString' | 'IsBoolean' | 'IsNull'): Rule[] {
  return [
    { Variable: v, IsPresent: true },
    { Variable: v, [type]: true },
  ];
}

/** A missing value is null in the expression language. */
function isNull(v: string): Rule {
  return { Or: [{ Not: { Variable: v, IsPresent: true } }, and(...typed(v, 'IsNull'))] };
}

/** `path == literal` with strict scalar equality; a missing value is null, a mistyped one does not match. */
function equalsLiteral(v: string, value: Literal): Rule {
  if (value === null) return isNull(v);
  if (typeof value === 'number') return and(...typed(v, 'IsNumeric'), { Variable: v, NumericEquals: value });
  if (typeof value === 'string') return and(...typed(v, 'IsString'), { Variable: v, StringEquals: value });
  return and(...typed(v, 'IsBoolean'), { Variable: v, BooleanEquals: value });
}

function equalsPath(a: string, b: string): Rule {
  return {
    Or: [
      and(...typed(a, 'IsNumeric'), ...typed(b, 'IsNumeric'), { Variable: a, NumericEqualsPath: b }),
      and(...typed(a, 'IsString'), ...typed(b, 'IsString'), { Variable: a, StringEqualsPath: b }),
      and(...typed(a, 'IsBoolean'), ...typed(b, 'IsBoolean'), { Variable: a, BooleanEqualsPath: b }),
      and(isNull(a), isNull(b)),
    ],
  };
}

type Order = '<' | '<=' | '>' | '>=';
const ORDER_SUFFIX: Record<Order, string> = {
  '<': 'LessThan',
  '<=': 'LessThanEquals',
  '>': 'GreaterThan',
  '>=': 'GreaterThanEquals',
};
const FLIP: Record<Order, Order> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function orderLiteral(v: string, op: Order, value: Literal): Rule {
  if (typeof value === 'number')
    return and(...typed(v, 'IsNumeric'), { Variable: v, [`Numeric${ORDER_SUFFIX[op]}`]: value });
  if (typeof value === 'string')
    return and(...typed(v, 'IsString'), { Variable: v, [`String${ORDER_SUFFIX[op]}`]: value });
  return NEVER;
}

function orderPath(a: string, op: Order, b: string): Rule {
  return {
    Or: [
      and(...typed(a, 'IsNumeric'), ...typed(b, 'IsNumeric'), {
        Variable: a,
        [`Numeric${ORDER_SUFFIX[op]}Path`]: b,
      }),
      and(...typed(a, 'IsString'), ...typed(b, 'IsString'), {
        Variable: a,
        [`String${ORDER_SUFFIX[op]}Path`]: b,
      }),
    ],
  };
}

function constant(value: boolean): Rule {
  return value ? ALWAYS : NEVER;
}

function literalCompare(op: string, x: Literal, y: Literal): boolean {
  if (op === '==') return x === y;
  if (op === '!=') return x !== y;
  const comparable =
    (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
  if (!comparable || x === null || y === null) return false;
  if (op === '<') return x < y;
  if (op === '<=') return x <= y;
  if (op === '>') return x > y;
  return x >= y;
}

function compareRule(where: Layers, op: string, left: Operand, right: Operand): Rule {
  if (left.kind === 'literal' && right.kind === 'literal')
    return constant(literalCompare(op, left.value, right.value));
  if (op === '!=') return { Not: compareRule(where, '==', left, right) };
  if (op === '==') {
    if (left.kind === 'path' && right.kind === 'path')
      return at(where, left, (a) => at(where, right, (b) => equalsPath(a, b)));
    const [path, literal] = left.kind === 'path' ? [left, right] : [right as PathOperand, left];
    return at(where, path, (v) => equalsLiteral(v, (literal as Operand & { kind: 'literal' }).value));
  }
  const order = op as Order;
  if (left.kind === 'path' && right.kind === 'path')
    return at(where, left, (a) => at(where, right, (b) => orderPath(a, order, b)));
  if (left.kind === 'path' && right.kind === 'literal')
    return at(where, left, (v) => orderLiteral(v, order, right.value));
  if (right.kind === 'path' && left.kind === 'literal')
    return at(where, right, (v) => orderLiteral(v, FLIP[order], left.value));
  return NEVER;
}

/** StringMatches treats `*` as a wildcard and `\` as its escape. */
function escapeMatch(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('*', '\\*');
}

/** The Choice rule of a condition: true exactly when `evaluateExpression` is. */
export function conditionRule(expr: Expr, source: string, where: Layers = VARS_ONLY): Rule {
  const rule = (e: Expr): Rule => conditionRule(e, source, where);
  switch (expr.kind) {
    case 'literal':
      return constant(expr.value === true);
    case 'path':
      return at(where, expr, (v) => and(...typed(v, 'IsBoolean'), { Variable: v, BooleanEquals: true }));
    case 'not':
      return { Not: rule(expr.operand) };
    case 'and':
      return { And: [rule(expr.left), rule(expr.right)] };
    case 'or':
      return { Or: [rule(expr.left), rule(expr.right)] };
    case 'compare':
      return compareRule(where, expr.op, expr.left, expr.right);
    case 'in': {
      if (expr.value.kind === 'literal') {
        const value = expr.value.value;
        return constant(expr.list.some((item) => item === value));
      }
      if (expr.list.length === 0) return NEVER;
      return at(where, expr.value, (v) => ({ Or: expr.list.map((item) => equalsLiteral(v, item)) }));
    }
    case 'contains':
    case 'startsWith': {
      const pattern = escapeMatch(expr.pattern);
      const match = expr.kind === 'contains' ? `*${pattern}*` : `${pattern}*`;
      return at(where, expr.value, (v) =>
        and(...typed(v, 'IsString'), { Variable: v, StringMatches: match }),
      );
    }
    default:
      return assertNever(expr, 'expression');
  }
}
