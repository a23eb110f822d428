// The Parallel state of a parallel step and, for `require: N`, the counter that ends each branch. Each
// branch writes into its own overlays; the join (ResultSelector) merges the result overlays, in branch
// order, into ours and drops the branches' error overlays (a branch's `error` is its own). A require-N
// Parallel ends early when the counter fails it with Stepgate.QuorumReached, whose cause is the overlays
// of the branches that counted.
import type { IrParallel } from '../../ir.js';
import { quorumParameters } from './payloads.js';
import {
  ASL_ERROR,
  ASL_PLACEHOLDERS,
  catchTo,
  documentWith,
  type Json,
  lambdaRetrier,
  mergeCaught,
  type QuorumParallel,
  renderNextEnd,
  renderRetryCatch,
  type Scope,
  type State,
  type States,
  unhandled,
  usesQuorum,
  writeLayer,
} from './state.js';

/** A branch as the Parallel state holds it. */
export interface BranchJson {
  StartAt: string;
  States: States;
}

/** A parallel step over its rendered branches: the Parallel state, then `.joined` (quorum) and `.error`. */
export function renderParallel(node: IrParallel, scope: Scope, branches: BranchJson[]): States {
  const states: States = {};
  const catchers: Json[] = [];
  if (usesQuorum(node)) {
    catchers.push(catchTo([ASL_ERROR.quorumReached], `${node.id}.joined`));
    states[`${node.id}.joined`] = mergeCaught(scope, node.next, 'results');
  }
  if (node.onError !== null) {
    catchers.push(catchTo(['States.ALL'], `${node.id}.error`));
    states[`${node.id}.error`] = mergeCaught(scope, node.onError, 'error');
  } else catchers.push(...unhandled(scope));
  const overlay = `w${scope.depth + 1}`;
  return {
    [node.id]: {
      Type: 'Parallel',
      Branches: branches as unknown as Json[],
      Parameters: { ...documentWith(scope, '', ''), [overlay]: {}, [`e${scope.depth + 1}`]: {} },
      ResultSelector: joinSelector(scope, overlay, branches.length),
      ...renderRetryCatch([], catchers),
      ...renderNextEnd(node.next, scope),
    },
    ...states,
  };
}

/** The join: our layers from the first branch's document, the branches' result overlays merged into ours. */
function joinSelector(scope: Scope, overlay: string, branches: number): State {
  const layer = writeLayer(scope);
  let merged = `$[0].${layer}`;
  for (let i = 0; i < branches; i++) merged = `States.JsonMerge(${merged}, $[${i}].${overlay}, false)`;
  const selector: State = { 'ctx.$': '$[0].ctx' };
  for (const name of scope.layers) selector[`${name}.$`] = name === layer ? merged : `$[0].${name}`;
  return selector;
}

/** The names of a require-N branch's counter states: reached at its end, and by its unhandled failures. */
export function counterNames(parallel: IrParallel, branch: number): { done: string; failed: string } {
  return { done: `${parallel.id}.${branch}.done`, failed: `${parallel.id}.${branch}.failed` };
}

/** A require-N branch's counter: one quorum Task per outcome, rendered in the branch's scope. */
export function renderCounter(parallel: QuorumParallel, branch: number, scope: Scope): States {
  const names = counterNames(parallel, branch);
  const counter = (outcome: 'succeeded' | 'failed'): State => ({
    Type: 'Task',
    Resource: ASL_PLACEHOLDERS.quorum,
    Parameters: quorumParameters(parallel, branch, outcome, scope),
    TimeoutSeconds: 60,
    ResultPath: null,
    ...renderRetryCatch(lambdaRetrier(null, parallel.source), []),
    End: true,
  });
  return { [names.done]: counter('succeeded'), [names.failed]: counter('failed') };
}
