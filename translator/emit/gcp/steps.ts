// The shared pieces of the GCP Workflows step builders (one module per IR node kind beside this one): the
// context a step is rendered in (top level or a parallel branch), naming of its variables, and the steps
// every kind uses — the visit count, waits a cancel can end, registering a wait, routing a failure.
import { type Edge, END, type IrGraph, type IrNode, type IrParallel } from '../../ir.js';
import { TranslateError } from '../errors.js';
import { type GcpStep, str } from './conditions.js';

/** GCP limits: branches per parallel step; the longest wait of events.await_callback (seconds). */
export const GCP_MAX_BRANCHES = 10;
export const GCP_MAX_WAIT_S = 31_536_000;
/** How deep GCP Workflows nests parallel steps. */
export const GCP_MAX_PARALLEL_DEPTH = 2;
/** The most conditions a GCP Workflows switch takes. */
export const GCP_MAX_SWITCH = 50;

/** One enclosing parallel of a branch: the branch's index in it and its shared state and wait map. */
export interface Level {
  parallel: IrParallel;
  index: number;
  state: string;
  waits: string;
}

/** Where a step inside a parallel branch sits: its enclosing parallels and its variables' suffix. */
export interface Branch {
  /** Outermost first; the last level is the branch's own parallel. */
  levels: Level[];
  /** Suffix of this branch's local variables (a branch may not assign its parent's unshared ones). */
  suffix: string;
}

/** The innermost parallel of a branch: the one it is a branch of. */
export function ownLevel(b: Branch): Level {
  return b.levels[b.levels.length - 1] as Level;
}

/** The key of this branch's open wait in the wait map of `levels[from]`. */
export function waitKey(levels: Level[], from: number): string {
  return levels
    .slice(from)
    .map((l, i) => (i === 0 ? `b${l.index}` : `${l.parallel.id}_b${l.index}`))
    .join('_');
}

/** The wait keys, relative to branch `index` of `node`, of that branch and every branch nested in it. */
export function subtreeKeys(node: IrParallel, index: number): string[] {
  const keys = [`b${index}`];
  const walk = (graph: IrGraph, prefix: string): void => {
    for (const inner of graph.nodes) {
      if (inner.kind !== 'parallel') continue;
      inner.branches.forEach((branch, j) => {
        const key = `${prefix}_${inner.id}_b${j}`;
        keys.push(key);
        walk(branch, key);
      });
    }
  };
  const branch = node.branches[index];
  if (branch !== undefined) walk(branch, `b${index}`);
  return keys;
}

/** What a step is rendered in: the top level (`branch: null`) or a parallel branch. */
export interface Ctx {
  branch: Branch | null;
  /** Where END leads, and the step that handles `sg_err` as a failure. */
  endStep: string;
  failStep: string;
}

/** The top level of the workflow. */
export const MAIN: Ctx = { branch: null, endStep: 'sg-completed', failStep: 'sg-failed' };

/** Refuses a workflow GCP Workflows cannot run. */
export function fail(code: string, message: string, source: string): never {
  throw new TranslateError(code, message, source, 'gcp');
}

/** A GCP expression `${text}`. */
export function expr(text: string): string {
  return `\${${text}}`;
}

/** A variable's name in this context: a branch has its own copy of every local variable. */
export function v(ctx: Ctx, name: string): string {
  return ctx.branch === null ? name : `${name}${ctx.branch.suffix}`;
}

/** The variables as this context sees them: `vars` at the top, the branch's own copy in a branch. */
export function varsOf(ctx: Ctx): string {
  return v(ctx, 'vars');
}

/** Assignments of a step result: into the variables, and in a branch also into its overlay (committed at the join). */
export function writeResult(ctx: Ctx, output: string, value: unknown): Array<Record<string, unknown>> {
  const writes: Array<Record<string, unknown>> = [{ [`${varsOf(ctx)}.${output}`]: value }];
  if (ctx.branch !== null) writes.push({ [`${v(ctx, 'sg_ov')}.${output}`]: value });
  return writes;
}

/** The step an edge leads to; END is the context's end step. */
export function target(ctx: Ctx, edge: Edge): string {
  return edge === END ? ctx.endStep : edge;
}

/** The fields every activity's http.post body starts with: the step of the run, its visit and identity. */
export function stepBody(id: string): Record<string, string> {
  return {
    workflowId: expr('sg.workflowId'),
    runId: expr('sg.runId'),
    stepId: id,
    visit: expr(`visits.${id}`),
    identity: expr('sg.identity'),
  };
}

/** A timeout in seconds; none is the longest wait GCP allows. */
export function seconds(ms: number | null): number {
  if (ms === null) return GCP_MAX_WAIT_S;
  return ms / 1000;
}

/** The first step of a node, named by its id: counts the visit (plus any `extra` assignments). */
export function enter(node: IrNode, extra: Array<Record<string, unknown>> = []): GcpStep {
  const count = `visits.${node.id}`;
  return {
    [node.id]: {
      assign: [{ [count]: expr(`default(map.get(visits, ${str(node.id)}), 0) + 1`) }, ...extra],
    },
  };
}

/** Registers the current callback as this branch's open wait, so a deciding branch can cancel it. */
export function registerWait(ctx: Ctx, cb: string): Array<Record<string, string>> {
  const b = ctx.branch;
  return b === null
    ? []
    : b.levels.map((l, i) => ({ [`${l.waits}.${waitKey(b.levels, i)}`]: expr(`${cb}.url`) }));
}

/** After a wait in a branch: a cancelled branch stops here. */
export function cancelledCheck(name: string, ctx: Ctx, then: GcpStep[] = []): GcpStep[] {
  const b = ctx.branch;
  if (b === null) return [];
  return [
    {
      [name]: {
        switch: [
          {
            condition: expr(b.levels.map((l) => `${l.state}.done`).join(' or ')),
            steps: [
              ...then,
              { [`${name}-stop`]: { next: `${ownLevel(b).parallel.id}-b${ownLevel(b).index}-end` } },
            ],
          },
        ],
      },
    },
  ];
}

/**
 * A computed wait inside a branch: a callback endpoint that the handler computing the duration answers
 * when it has passed (a scheduled HTTP task), and that a deciding branch answers to cancel the wait.
 */
export function wakeEndpoint(name: string, ctx: Ctx): GcpStep[] {
  const cb = v(ctx, 'sg_wait');
  return [
    {
      [`${name}-callback`]: {
        call: 'events.create_callback_endpoint',
        args: { http_callback_method: 'POST' },
        result: cb,
      },
    },
    { [`${name}-register`]: { assign: registerWait(ctx, cb) } },
  ];
}

/** The wait on a wakeEndpoint's callback, with the cancel checks before and after it. */
export function wakeWait(name: string, ctx: Ctx): GcpStep[] {
  return [
    ...cancelledCheck(`${name}-late`, ctx),
    {
      [name]: {
        call: 'events.await_callback',
        args: { callback: expr(v(ctx, 'sg_wait')), timeout: GCP_MAX_WAIT_S },
      },
    },
    ...cancelledCheck(`${name}-cancelled`, ctx),
  ];
}

/** A wait of `secondsExpr`: sys.sleep at the top level; in a branch a callback wait that a cancel ends. */
export function waitSteps(name: string, ctx: Ctx, secondsValue: string | number): GcpStep[] {
  const sleep = { [name]: { call: 'sys.sleep', args: { seconds: secondsValue } } };
  if (ctx.branch === null) return [sleep];
  // A computed duration cannot be a callback timeout: computed waits in branches use wakeWait.
  if (typeof secondsValue === 'string') throw new Error('a computed wait in a branch needs wakeWait');
  const cb = v(ctx, 'sg_wait');
  return [
    ...wakeEndpoint(name, ctx),
    ...cancelledCheck(`${name}-late`, ctx),
    {
      [name]: {
        try: { call: 'events.await_callback', args: { callback: expr(cb), timeout: secondsValue } },
        except: {
          as: v(ctx, 'e'),
          steps: [
            {
              [`${name}-timeout`]: {
                switch: [
                  {
                    condition: expr(`not("TimeoutError" in default(map.get(${v(ctx, 'e')}, "tags"), []))`),
                    raise: expr(v(ctx, 'e')),
                  },
                ],
              },
            },
          ],
        },
      },
    },
    ...cancelledCheck(`${name}-cancelled`, ctx),
  ];
}

/** After a failure in `err`: the onError edge (setting `error`) or the graph's failure step. */
export function failureRouting(id: string, ctx: Ctx, onError: Edge | null, err: string): GcpStep[] {
  if (onError !== null) {
    // A handled error is the branch's own (its copy of the variables, never its overlay).
    return [
      {
        [`${id}-onerror`]: { assign: [{ [`${varsOf(ctx)}.error`]: expr(err) }], next: target(ctx, onError) },
      },
    ];
  }
  return ctx.branch === null
    ? [{ [`${id}-fail`]: { assign: [{ sg_err: expr(err) }], next: ctx.failStep } }]
    : [{ [`${id}-fail`]: { next: ctx.failStep } }];
}
