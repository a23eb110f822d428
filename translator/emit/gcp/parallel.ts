// The steps of a parallel: GCP's `parallel` with `shared` bookkeeping (per parallel a state map counting
// the branches that completed and failed, and a map of their open waits). The branch that decides the
// join cancels the others by answering their open callbacks, so N-of-M ends early as the orchestrator
// does; the join commits the overlays of the branches that completed, in branch order.
import { ERROR_CODE } from '../../error-codes.js';
import { graphOutputs, type IrGraph, type IrParallel } from '../../ir.js';
import { type GcpStep, str } from './conditions.js';
import {
  type Branch,
  type Ctx,
  cancelledCheck,
  enter,
  expr,
  fail,
  failureRouting,
  GCP_MAX_BRANCHES,
  GCP_MAX_PARALLEL_DEPTH,
  subtreeKeys,
  target,
  v,
  varsOf,
  writeResult,
} from './steps.js';

/** Renders the steps of a graph in a context (the emitter's graph walk, given to avoid an import cycle). */
export type GraphSteps = (graph: IrGraph, ctx: Ctx) => GcpStep[];

/** A parallel's shared state map and wait map, the branches its join needs, and the variables it copies. */
interface Join {
  state: string;
  waits: string;
  needed: number;
  parentVars: string;
}

/** The names of the steps that count a branch at the join, decide it, and cancel the other branches. */
interface CountStep {
  count: string;
  check: string;
  decide: string;
  cancel: string;
}

const OK_COUNT: CountStep = { count: 'count', check: 'joined', decide: 'decide', cancel: '-ok' };
const FAILURE_COUNT: CountStep = {
  count: 'count-failure',
  check: 'impossible',
  decide: 'give-up',
  cancel: '-failed',
};

/** The steps of a parallel step: its visit, the branches, and the join. */
export function parallelSteps(node: IrParallel, ctx: Ctx, graphSteps: GraphSteps): GcpStep[] {
  checkLimits(node, ctx);
  const id = node.id;
  const outer = ctx.branch?.levels ?? [];
  const join: Join = {
    state: `sg_p_${id}`,
    waits: `sg_w_${id}`,
    needed: node.require === 'all' ? node.branches.length : node.require,
    parentVars: varsOf(ctx),
  };
  const { state, waits, needed } = join;
  const branches = node.branches.map((graph, index) => {
    const branch: Branch = {
      levels: [...outer, { parallel: node, index, state, waits }],
      suffix: `_${id}_b${index}`,
    };
    const bctx: Ctx = { branch, endStep: `${id}-b${index}-ok`, failStep: `${id}-b${index}-failed` };
    return { [`${id}-b${index}`]: { steps: branchSteps(node, index, bctx, graphSteps(graph, bctx), join) } };
  });
  const err = v(ctx, 'sg_err');
  const shared = ['visits', ...outer.flatMap((l) => [l.state, l.waits]), state, waits];
  return [
    enter(node, [{ [state]: { ok: 0, failed: 0, done: false, error: null } }, { [waits]: {} }]),
    { [`${id}-branches`]: { parallel: { shared, branches } } },
    // Inside a branch, the enclosing join may have been decided while this one ran.
    ...cancelledCheck(`${id}-joined-cancelled`, ctx),
    {
      [`${id}-join`]: {
        switch: [
          {
            condition: expr(`${state}.ok >= ${needed}`),
            steps: [...commitSteps(node, ctx, state), { [`${id}-joined`]: { next: target(ctx, node.next) } }],
          },
        ],
      },
    },
    {
      [`${id}-error`]: {
        assign: [
          {
            [err]: expr(
              `default(${state}.error, {"code": "${ERROR_CODE.unknown}", "message": "a branch failed", "step": ${str(id)}})`,
            ),
          },
        ],
      },
    },
    ...failureRouting(`${id}-branches`, ctx, node.onError, err),
  ];
}

/** Refuses a parallel nested deeper, or with more branches, than GCP Workflows allows. */
function checkLimits(node: IrParallel, ctx: Ctx): void {
  const depth = ctx.branch?.levels.length ?? 0;
  if (depth >= GCP_MAX_PARALLEL_DEPTH) {
    fail(
      'gcp.parallel-depth',
      `parallel step '${node.id}' is nested ${depth + 1} deep; GCP Workflows allows parallel steps nested ${GCP_MAX_PARALLEL_DEPTH} deep`,
      node.source,
    );
  }
  if (node.branches.length > GCP_MAX_BRANCHES) {
    fail(
      'gcp.too-many-branches',
      `parallel step '${node.id}' has ${node.branches.length} branches; GCP Workflows allows at most ${GCP_MAX_BRANCHES}`,
      node.source,
    );
  }
}

/** The steps of branch `index`: its copy of the variables, its graph, and its count at the join. */
function branchSteps(node: IrParallel, index: number, bctx: Ctx, body: GcpStep[], join: Join): GcpStep[] {
  const id = node.id;
  const { state, needed } = join;
  const total = node.branches.length;
  const err = v(bctx, 'sg_err');
  return [
    // Every branch starts, even after the join was decided (it then stops at its first wait, as the
    // orchestrator's branches do). It works on its own copy of the variables and records its step
    // results in an overlay that the join commits if the branch completes.
    {
      [`${id}-b${index}-vars`]: {
        assign: [{ [varsOf(bctx)]: expr(join.parentVars) }, { [v(bctx, 'sg_ov')]: {} }],
      },
    },
    ...body,
    {
      [`${id}-b${index}-ok`]: countAtJoin(
        node,
        index,
        join,
        OK_COUNT,
        [{ [`${state}.ok`]: expr(`${state}.ok + 1`) }, { [`${state}.r${index}`]: expr(v(bctx, 'sg_ov')) }],
        `${state}.ok >= ${needed}`,
      ),
    },
    { [`${id}-b${index}-ok-done`]: { next: `${id}-b${index}-end` } },
    {
      [`${id}-b${index}-failed`]: countAtJoin(
        node,
        index,
        join,
        FAILURE_COUNT,
        [
          { [`${state}.failed`]: expr(`${state}.failed + 1`) },
          { [`${state}.error`]: expr(`default(${state}.error, ${err})`) },
        ],
        `${state}.failed > ${total - needed}`,
      ),
    },
    { [`${id}-b${index}-end`]: { assign: [{ [v(bctx, 'sg_branch')]: index }] } },
  ];
}

/**
 * A branch's end, completed or failed: unless the join is decided, `count` it; when that decides the join
 * (`condition`), mark it done and cancel the other branches.
 */
function countAtJoin(
  node: IrParallel,
  index: number,
  join: Join,
  step: CountStep,
  count: Array<Record<string, unknown>>,
  condition: string,
): Record<string, unknown> {
  const prefix = `${node.id}-b${index}`;
  return {
    switch: [
      {
        condition: expr(`not(${join.state}.done)`),
        steps: [
          { [`${prefix}-${step.count}`]: { assign: count } },
          {
            [`${prefix}-${step.check}`]: {
              switch: [
                {
                  condition: expr(condition),
                  steps: [
                    { [`${prefix}-${step.decide}`]: { assign: [{ [`${join.state}.done`]: true }] } },
                    ...cancelOthers(node, index, join.waits, step.cancel),
                  ],
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** Answers the open wait of every other branch (and the branches nested in it), cancelling it. */
function cancelOthers(node: IrParallel, index: number, waits: string, suffix: string): GcpStep[] {
  const id = node.id;
  return node.branches.flatMap((_, j) =>
    j === index
      ? []
      : subtreeKeys(node, j).map((key) => ({
          [`${id}-b${index}-cancel-${key}${suffix}`]: {
            switch: [
              {
                condition: expr(`map.get(${waits}, ${str(key)}) != null`),
                steps: [
                  {
                    [`${id}-b${index}-cancel-${key}${suffix}-post`]: {
                      call: 'http.post',
                      args: {
                        url: expr(`${waits}.${key}`),
                        auth: { type: 'OAuth2' },
                        body: { cancelled: true },
                      },
                    },
                  },
                ],
              },
            ],
          },
        })),
  );
}

/**
 * The join's commit of the overlays of the branches that completed, in branch order; a failed parallel
 * commits nothing.
 */
function commitSteps(node: IrParallel, ctx: Ctx, state: string): GcpStep[] {
  return node.branches.flatMap((graph, index) =>
    [...graphOutputs(graph)].map((name) => ({
      [`${node.id}-commit-b${index}-${name}`]: {
        switch: [
          {
            condition: expr(`${str(name)} in default(map.get(${state}, ${str(`r${index}`)}), sg_empty)`),
            assign: writeResult(ctx, name, expr(`${state}.r${index}.${name}`)),
          },
        ],
      },
    })),
  );
}
