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
// Before that Retry rule, every Task that invokes a Lambda retries the Lambda service's own transient
// errors (the invoke failed, not the handler), and none waits longer than a Lambda runs unless its step
// has no timeout at all (aws/state.ts: LAMBDA_SERVICE_RETRY, lambdaTimeoutSeconds).
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
//
// One renderer per state kind (translator/emit/aws/: task, approval, parallel, flow), the way the CDK's
// Step Functions states render themselves, over the shared next/end, retry and catch helpers of
// aws/state.ts; the Choice rules of conditions are compiled by aws/conditions.ts.

import { END, type IrGraph, type IrNode, type IrParallel, type IrWorkflow } from '../ir.js';
import { assertNever } from '../util.js';
import { renderApproval } from './aws/approval.js';
import { renderChoice, renderWait } from './aws/flow.js';
import { type BranchJson, counterNames, renderCounter, renderParallel } from './aws/parallel.js';
import {
  choiceTarget,
  NO_TIMEOUT_SECONDS,
  type Scope,
  type States,
  seconds,
  usesQuorum,
} from './aws/state.js';
import { renderTask } from './aws/task.js';

export { conditionRule, type Layers } from './aws/conditions.js';
export { ASL_ERROR, ASL_PLACEHOLDERS, NO_TIMEOUT_SECONDS } from './aws/state.js';

const DONE = '(end)';

/** The state machine definition of a workflow. */
export function emitAsl(ir: IrWorkflow): Record<string, unknown> {
  const { StartAt, States } = renderGraph(ir.graph, null);
  return {
    Comment: `${ir.name} (Stepgate workflow ${ir.id})`,
    StartAt,
    States,
    TimeoutSeconds: ir.timeoutMs === null ? NO_TIMEOUT_SECONDS : seconds(ir.timeoutMs, '', 'timeout'),
  };
}

/** A parallel branch being rendered: its step, its index and the scope the Parallel state is in. */
interface Branch {
  parallel: IrParallel;
  index: number;
  parent: Scope;
}

/** The run's graph (branch null) or one branch's: its nodes' states, a require-N branch's counter, the Succeed. */
function renderGraph(graph: IrGraph, branch: Branch | null): BranchJson {
  const scope = graphScope(graph, branch);
  const states: States = {};
  for (const node of graph.nodes) Object.assign(states, renderNode(node, scope));
  if (branch !== null && usesQuorum(branch.parallel))
    Object.assign(states, renderCounter(branch.parallel, branch.index, scope));
  // A graph that starts at its end starts where a Choice would end it.
  const start = choiceTarget(graph.start, scope);
  if (scope.needsDone) states[scope.succeedName] = { Type: 'Succeed' };
  return { StartAt: start, States: reachable(start, states) };
}

/** The scope of a graph: its variable layers and where its ends and unhandled failures lead. */
function graphScope(graph: IrGraph, branch: Branch | null): Scope {
  if (branch === null) {
    const layerKeys = [new Set<string>()];
    return {
      layers: ['vars'],
      layerKeys,
      depth: 0,
      failTo: null,
      endTarget: END,
      succeedName: DONE,
      needsDone: false,
    };
  }
  const depth = branch.parent.depth + 1;
  const written = new Set(graph.nodes.flatMap(writes));
  // In a require-N branch the end of the branch is the counter, which ends the branch or the parallel.
  const counter = usesQuorum(branch.parallel) ? counterNames(branch.parallel, branch.index) : null;
  return {
    layers: [...branch.parent.layers, `w${depth}`, `e${depth}`],
    layerKeys: [
      ...branch.parent.layerKeys,
      new Set([...written].filter((k) => k !== 'error')),
      new Set([...written].filter((k) => k === 'error')),
    ],
    depth,
    failTo: counter?.failed ?? null,
    endTarget: counter?.done ?? END,
    succeedName: `${branch.parallel.id}.${branch.index}.end`,
    needsDone: false,
  };
}

/** The states of one step, its own state first. */
function renderNode(node: IrNode, scope: Scope): States {
  switch (node.kind) {
    case 'tool':
    case 'notify':
      return renderTask(node, scope);
    case 'approval':
      return renderApproval(node, scope);
    case 'condition':
      return renderChoice(node, scope);
    case 'delay':
      return renderWait(node, scope);
    case 'parallel': {
      const branches = node.branches.map((graph, index) =>
        renderGraph(graph, { parallel: node, index, parent: scope }),
      );
      return renderParallel(node, scope, branches);
    }
    default:
      return assertNever(node, 'IR node');
  }
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

/** Only the states reachable from the start: ASL refuses unreachable ones (a definition may have them). */
function reachable(start: string, states: States): States {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || states[name] === undefined) return;
    seen.add(name);
    const state = states[name];
    const targets: unknown[] = [state.Next, state.Default];
    for (const list of [state.Choices, state.Catch])
      if (Array.isArray(list)) for (const r of list) targets.push((r as { Next?: unknown }).Next);
    for (const target of targets) if (typeof target === 'string') visit(target);
  };
  visit(start);
  return Object.fromEntries(Object.entries(states).filter(([name]) => seen.has(name)));
}
