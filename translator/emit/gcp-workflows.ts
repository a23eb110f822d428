// The GCP Workflows compiler: IR → one deterministic workflow YAML (`main` with `params: [input]`).
//
// Design (the semantics are the orchestrator's, functions/core/orchestrator.ts):
// - Variables: `vars` holds the run's variables exactly as the orchestrator's (inputs, trigger, run, step
//   results, error; a branch has its own copy, see Parallel); `visits` counts step visits; `sg` is the run
//   context from the execution argument (runId, workflowId, identity, handler URLs). The first step of every IR node is named by its id.
// - Templates are not compiled to expressions: each handler receives the static IR template (as a JSON
//   string, so no part of it can be mistaken for a `${}` expression) plus `vars`, and resolves it with the
//   shared resolveTemplate — identical to the orchestrator by construction.
// - Conditions are native `switch` expressions (gcp/conditions.ts) that keep the expression semantics.
// - Tool and notify calls: `http.post` (OIDC) of the request carrying a callback URL to the handler, then
//   `events.await_callback` for its result with the step's timeout, inside `try` with `retry`
//   (`predicate`, `max_retries`, `backoff`) when the policy is expressible in GCP (whole seconds, integer
//   multiplier, no jitter, not inside a parallel branch); otherwise an explicit `try`/`except` loop whose
//   delay comes from the handlers' backoff endpoint (the shared backoffDelay, jitter included).
// - Approvals: per level `events.create_callback_endpoint`, `http.post` to the approval-request handler
//   with the callback URL as the event name, `events.await_callback` with the level's timeout; the
//   decision handler counts N-of-M and answers the callback once; `TimeoutError` escalates, and so does a
//   request answered `Stepgate.NoApprovers` (nobody left to ask) at every level but the last.
// - Parallel: `parallel` with `shared` bookkeeping; branches count successes/failures in a shared map and
//   the branch that decides the join cancels the others by answering their open callbacks (every wait
//   in a branch is a callback wait), so N-of-M exits early as the orchestrator does. A branch works on
//   its own copy of the variables (`vars_<parallel>_b<i>`) and keeps its step results in an overlay
//   (`sg_ov_...`) that the join commits, in branch order, for the branches that completed; its `error`
//   stays its own.
// - Failures end in `raise` of `{status, error, vars}`; the whole-run timeout and cancellation are the
//   execution cancel API, driven by the trigger function (the timeout is stated in the header).
import { stringify } from 'yaml';
import { ERROR_CODE } from '../error-codes.js';
import type { Operand } from '../expression.js';
import {
  backoffDelay,
  type Edge,
  END,
  graphOutputs,
  type IrApproval,
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
import { assertNever } from '../util.js';
import { TranslateError } from './errors.js';
import { conditionExpression, type GcpStep, literal, pathSteps, str } from './gcp/conditions.js';

/** GCP limits: branches per parallel step; the longest wait of events.await_callback (seconds). */
export const GCP_MAX_BRANCHES = 10;
export const GCP_MAX_WAIT_S = 31_536_000;
/** How deep GCP Workflows nests parallel steps. */
export const GCP_MAX_PARALLEL_DEPTH = 2;
const GCP_MAX_SWITCH = 50;

/** One enclosing parallel of a branch: the branch's index in it and its shared state and wait map. */
interface Level {
  parallel: IrParallel;
  index: number;
  state: string;
  waits: string;
}

interface Branch {
  /** Outermost first; the last level is the branch's own parallel. */
  levels: Level[];
  /** Suffix of this branch's local variables (a branch may not assign its parent's unshared ones). */
  suffix: string;
}

function ownLevel(b: Branch): Level {
  return b.levels[b.levels.length - 1] as Level;
}

/** The key of this branch's open wait in the wait map of `levels[from]`. */
function waitKey(levels: Level[], from: number): string {
  return levels
    .slice(from)
    .map((l, i) => (i === 0 ? `b${l.index}` : `${l.parallel.id}_b${l.index}`))
    .join('_');
}

/** The wait keys, relative to branch `index` of `node`, of that branch and every branch nested in it. */
function subtreeKeys(node: IrParallel, index: number): string[] {
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

interface Ctx {
  branch: Branch | null;
  /** Where END leads, and the step that handles `sg_err` as a failure. */
  endStep: string;
  failStep: string;
}

const MAIN: Ctx = { branch: null, endStep: 'sg-completed', failStep: 'sg-failed' };

function fail(code: string, message: string, source: string): never {
  throw new TranslateError(code, message, source, 'gcp');
}

function expr(text: string): string {
  return `\${${text}}`;
}

function v(ctx: Ctx, name: string): string {
  return ctx.branch === null ? name : `${name}${ctx.branch.suffix}`;
}

/** The variables as this context sees them: `vars` at the top, the branch's own copy in a branch. */
function varsOf(ctx: Ctx): string {
  return v(ctx, 'vars');
}

/** Assignments of a step result: into the variables, and in a branch also into its overlay (committed at the join). */
function writeResult(ctx: Ctx, output: string, value: unknown): Array<Record<string, unknown>> {
  const writes: Array<Record<string, unknown>> = [{ [`${varsOf(ctx)}.${output}`]: value }];
  if (ctx.branch !== null) writes.push({ [`${v(ctx, 'sg_ov')}.${output}`]: value });
  return writes;
}

function target(ctx: Ctx, edge: Edge): string {
  return edge === END ? ctx.endStep : edge;
}

function seconds(ms: number | null): number {
  if (ms === null) return GCP_MAX_WAIT_S;
  return ms / 1000;
}

export function emitGcpWorkflows(ir: IrWorkflow): string {
  const body = graphSteps(ir.graph, MAIN);
  const main = {
    params: ['input'],
    steps: [
      {
        'sg-init': {
          assign: [
            { sg: expr('input.stepgate') },
            { vars: expr('input.input') },
            { 'vars.trigger': expr('input.trigger') },
            { 'vars.run': expr('input.run') },
            { visits: {} },
            { sg_empty: {} },
          ],
        },
      },
      ...body,
      { 'sg-completed': { return: outcome('"completed"', 'null') } },
      {
        'sg-failed': {
          raise: outcome(
            `if(sg_err.code == "${ERROR_CODE.approvalTimeout}", "timed_out", "failed")`,
            'sg_err',
          ),
        },
      },
    ],
  };
  const doc = {
    main,
    sg_retryable: {
      params: ['e'],
      steps: [
        {
          check: {
            switch: [
              { condition: expr('get_type(e) == "map" and map.get(e, "retryable") == false'), return: false },
            ],
          },
        },
        { retry: { return: true } },
      ],
    },
    sg_error_of: {
      params: ['e', 'step', 'timeout_message'],
      steps: [
        {
          classify: {
            switch: [
              {
                condition: expr('get_type(e) == "map" and "TimeoutError" in default(map.get(e, "tags"), [])'),
                return: { code: ERROR_CODE.timeout, message: expr('timeout_message'), step: expr('step') },
              },
              {
                condition: expr('get_type(e) == "map" and get_type(map.get(e, "code")) == "string"'),
                return: {
                  code: expr('e.code'),
                  message: expr('default(map.get(e, "message"), e.code)'),
                  step: expr('step'),
                },
              },
            ],
          },
        },
        {
          unknown: {
            return: { code: ERROR_CODE.unknown, message: 'the activity failed', step: expr('step') },
          },
        },
      ],
    },
  };
  const header =
    `# ${ir.id}: compiled by stepgate from IR v${ir.irVersion}; do not edit.\n` +
    `# Execution argument: {input, trigger, run, stepgate: {runId, workflowId, identity, by?, functions}}.\n` +
    (ir.timeoutMs === null
      ? ''
      : `# Whole-run timeout: ${ir.timeoutMs} ms, enforced by the trigger function (execution cancel).\n`);
  return header + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

function outcome(status: string, error: string): Record<string, string> {
  return {
    status: expr(status),
    error: expr(error),
    vars: expr('map.delete(map.delete(vars, "trigger"), "run")'),
  };
}

function graphSteps(graph: IrGraph, ctx: Ctx): GcpStep[] {
  const steps: GcpStep[] = [];
  if (graph.nodes[0]?.id !== graph.start)
    steps.push({ [`start-${graph.start}`]: { next: target(ctx, graph.start) } });
  for (const node of graph.nodes) steps.push(...nodeSteps(node, ctx));
  return steps;
}

function enter(node: IrNode, extra: Array<Record<string, unknown>> = []): GcpStep {
  const count = `visits.${node.id}`;
  return {
    [node.id]: {
      assign: [{ [count]: expr(`default(map.get(visits, ${str(node.id)}), 0) + 1`) }, ...extra],
    },
  };
}

function nodeSteps(node: IrNode, ctx: Ctx): GcpStep[] {
  switch (node.kind) {
    case 'tool':
    case 'notify':
      return activitySteps(node, ctx);
    case 'condition':
      return conditionSteps(node, ctx);
    case 'approval':
      return approvalSteps(node, ctx);
    case 'parallel':
      return parallelSteps(node, ctx);
    case 'delay':
      return delaySteps(node, ctx);
    default:
      return assertNever(node, 'IR node');
  }
}

function conditionSteps(node: IrNode & { kind: 'condition' }, ctx: Ctx): GcpStep[] {
  const steps: GcpStep[] = [enter(node)];
  const temps = new Map<Operand, string>();
  let n = 0;
  const operand = (o: Operand): string => {
    if (o.kind === 'literal') return literal(o.value);
    let temp = temps.get(o);
    if (temp === undefined) {
      temp = v(ctx, `sg_c${n++}`);
      temps.set(o, temp);
      steps.push(...pathSteps(`${node.id}-operand${n}`, temp, o.path, varsOf(ctx)));
    }
    return temp;
  };
  const condition = conditionExpression(node.condition, operand);
  steps.push({
    [`${node.id}-switch`]: {
      switch: [{ condition: expr(condition), next: target(ctx, node.onTrue) }],
      next: target(ctx, node.onFalse),
    },
  });
  return steps;
}

/** Whether GCP's own retry policy reproduces the orchestrator's backoff exactly. */
function nativeRetry(retry: IrRetry, ctx: Ctx): boolean {
  const whole = (ms: number): boolean => ms % 1000 === 0 && ms > 0;
  return (
    ctx.branch === null &&
    retry.jitter === 'none' &&
    whole(retry.intervalMs) &&
    Number.isInteger(retry.backoffRate) &&
    retry.backoffRate >= 1 &&
    (retry.maxDelayMs === null || whole(retry.maxDelayMs))
  );
}

function maxDelaySeconds(retry: IrRetry): number {
  if (retry.maxDelayMs !== null) return retry.maxDelayMs / 1000;
  return Math.max(1, (retry.intervalMs / 1000) * retry.backoffRate ** Math.max(0, retry.maxAttempts - 2));
}

/** Registers the current callback as this branch's open wait, so a deciding branch can cancel it. */
function registerWait(ctx: Ctx, cb: string): Array<Record<string, string>> {
  const b = ctx.branch;
  return b === null
    ? []
    : b.levels.map((l, i) => ({ [`${l.waits}.${waitKey(b.levels, i)}`]: expr(`${cb}.url`) }));
}

/** After a wait in a branch: a cancelled branch stops here. */
function cancelledCheck(name: string, ctx: Ctx, then: GcpStep[] = []): GcpStep[] {
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

function activitySteps(node: IrTool | IrNotify, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const attempt = v(ctx, 'sg_attempt');
  const cb = v(ctx, 'sg_cb');
  const res = v(ctx, 'sg_res');
  const err = v(ctx, 'sg_err');
  const native = nativeRetry(node.retry, ctx);
  const timeoutMessage = node.timeoutMs === null ? '' : `no result within ${node.timeoutMs} ms`;
  const request =
    node.kind === 'tool'
      ? {
          kind: 'tool.call',
          server: node.server,
          tool: node.tool,
          args: JSON.stringify(node.args),
          timeoutMs: node.timeoutMs,
        }
      : {
          kind: 'notify.send',
          channel: node.channel,
          to: JSON.stringify(node.to),
          subject: node.subject === null ? null : JSON.stringify(node.subject),
          message: JSON.stringify(node.message),
        };
  const url = node.kind === 'tool' ? 'sg.functions.toolCall' : 'sg.functions.notify';
  const attemptSteps: GcpStep[] = [
    { [`${id}-attempt`]: { assign: [{ [attempt]: expr(`${attempt} + 1`) }] } },
    {
      [`${id}-callback`]: {
        call: 'events.create_callback_endpoint',
        args: { http_callback_method: 'POST' },
        result: cb,
      },
    },
    ...(ctx.branch === null ? [] : [{ [`${id}-register`]: { assign: registerWait(ctx, cb) } }]),
    {
      [`${id}-request`]: {
        call: 'http.post',
        args: {
          url: expr(url),
          auth: { type: 'OIDC' },
          body: {
            workflowId: expr('sg.workflowId'),
            runId: expr('sg.runId'),
            stepId: id,
            visit: expr(`visits.${id}`),
            identity: expr('sg.identity'),
            attempt: expr(attempt),
            ...request,
            vars: expr(varsOf(ctx)),
            callbackUrl: expr(`${cb}.url`),
          },
        },
      },
    },
    // A branch started after its parallel was decided makes its call, then stops before waiting.
    ...cancelledCheck(`${id}-late`, ctx),
    {
      [`${id}-await`]: {
        call: 'events.await_callback',
        args: { callback: expr(cb), timeout: seconds(node.timeoutMs) },
        result: res,
      },
    },
    ...cancelledCheck(`${id}-cancelled`, ctx),
    {
      [`${id}-check`]: {
        switch: [
          {
            condition: expr(`not(${res}.http_request.body.ok)`),
            raise: expr(`${res}.http_request.body.error`),
          },
        ],
      },
    },
  ];
  const errorSteps: GcpStep[] = [
    {
      [`${id}-error`]: {
        call: 'sg_error_of',
        args: { e: expr(v(ctx, 'e')), step: id, timeout_message: timeoutMessage },
        result: err,
      },
    },
    ...failureRouting(id, ctx, node.onError, err),
  ];
  const steps: GcpStep[] = [enter(node, [{ [attempt]: 0 }])];
  if (native) {
    steps.push({
      [`${id}-try`]: {
        try: { steps: attemptSteps },
        ...(node.retry.maxAttempts > 1
          ? {
              retry: {
                predicate: expr('sg_retryable'),
                max_retries: node.retry.maxAttempts - 1,
                backoff: {
                  initial_delay: node.retry.intervalMs / 1000,
                  max_delay: maxDelaySeconds(node.retry),
                  multiplier: node.retry.backoffRate,
                },
              },
            }
          : {}),
        except: { as: v(ctx, 'e'), steps: errorSteps },
      },
    });
  } else {
    const delay = v(ctx, 'sg_delay');
    const backoffCall: GcpStep = {
      [`${id}-backoff`]: {
        call: 'http.post',
        args: {
          url: expr('sg.functions.backoff'),
          auth: { type: 'OIDC' },
          body: {
            retry: { ...node.retry },
            runId: expr('sg.runId'),
            stepId: id,
            visit: expr(`visits.${id}`),
            attempt: expr(attempt),
            ...(ctx.branch === null ? {} : { wakeUrl: expr(`${v(ctx, 'sg_wait')}.url`) }),
          },
        },
        result: delay,
      },
    };
    // In a branch a backoff wait must end when the branch is cancelled: a callback wait, whose timeout
    // GCP takes only as a literal, so each attempt's (jitter-free) delay gets its own wait.
    const staticDelays = ctx.branch !== null && node.retry.jitter === 'none';
    if (staticDelays && node.retry.maxAttempts - 1 > GCP_MAX_SWITCH) {
      fail(
        'gcp.retry-limit',
        `step '${id}' retries ${node.retry.maxAttempts - 1} times inside a parallel branch; GCP Workflows switches take at most ${GCP_MAX_SWITCH} conditions`,
        node.source,
      );
    }
    const retrySteps: GcpStep[] = [
      ...(staticDelays
        ? [
            {
              [`${id}-sleep`]: {
                switch: Array.from({ length: node.retry.maxAttempts - 1 }, (_, k) => ({
                  condition: expr(`${attempt} == ${k + 1}`),
                  steps: waitSteps(`${id}-sleep${k + 1}`, ctx, backoffDelay(node.retry, k + 1, '') / 1000),
                })),
              },
            },
          ]
        : ctx.branch === null
          ? [backoffCall, ...waitSteps(`${id}-sleep`, ctx, expr(`${delay}.body.delayMs / 1000`))]
          : [...wakeEndpoint(`${id}-sleep`, ctx), backoffCall, ...wakeWait(`${id}-sleep`, ctx)]),
      { [`${id}-again`]: { next: `${id}-try` } },
    ];
    steps.push({
      [`${id}-try`]: {
        try: { steps: attemptSteps },
        except: {
          as: v(ctx, 'e'),
          steps: [
            ...(node.retry.maxAttempts === 1
              ? []
              : [
                  {
                    [`${id}-retry`]: {
                      switch: [
                        {
                          condition: expr(
                            `${attempt} < ${node.retry.maxAttempts} and not(get_type(${v(ctx, 'e')}) == "map" and map.get(${v(ctx, 'e')}, "retryable") == false)`,
                          ),
                          steps: retrySteps,
                        },
                      ],
                    },
                  },
                ]),
            ...errorSteps,
          ],
        },
      },
    });
  }
  const done: Array<Record<string, unknown>> =
    node.kind === 'tool' ? writeResult(ctx, node.output, expr(`${res}.http_request.body.result`)) : [];
  steps.push({
    [`${id}-done`]:
      done.length > 0 ? { assign: done, next: target(ctx, node.next) } : { next: target(ctx, node.next) },
  });
  return steps;
}

/**
 * A computed wait inside a branch: a callback endpoint that the handler computing the duration answers
 * when it has passed (a scheduled HTTP task), and that a deciding branch answers to cancel the wait.
 */
function wakeEndpoint(name: string, ctx: Ctx): GcpStep[] {
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

function wakeWait(name: string, ctx: Ctx): GcpStep[] {
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
function waitSteps(name: string, ctx: Ctx, secondsValue: string | number): GcpStep[] {
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
function failureRouting(id: string, ctx: Ctx, onError: Edge | null, err: string): GcpStep[] {
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

function approvalSteps(node: IrApproval, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const cb = v(ctx, 'sg_cb');
  const res = v(ctx, 'sg_res');
  const err = v(ctx, 'sg_err');
  const steps: GcpStep[] = [enter(node)];
  const close = (level: number, reason: string): GcpStep => ({
    [`${id}-l${level}-close-${reason}`]: {
      call: 'http.post',
      args: {
        url: expr('sg.functions.approvalClose'),
        auth: { type: 'OIDC' },
        body: { runId: expr('sg.runId'), stepId: id, visit: expr(`visits.${id}`), level, reason },
      },
    },
  });
  node.levels.forEach((level, index) => {
    const n = index + 1;
    const prefix = `${id}-l${n}`;
    const last = n === node.levels.length;
    steps.push(
      {
        [`${prefix}-callback`]: {
          call: 'events.create_callback_endpoint',
          args: { http_callback_method: 'POST' },
          result: cb,
        },
      },
      ...(ctx.branch === null ? [] : [{ [`${prefix}-register`]: { assign: registerWait(ctx, cb) } }]),
      {
        [`${prefix}-request`]: {
          try: {
            steps: [
              {
                [`${prefix}-post`]: {
                  call: 'http.post',
                  args: {
                    url: expr('sg.functions.approvalRequest'),
                    auth: { type: 'OIDC' },
                    body: {
                      workflowId: expr('sg.workflowId'),
                      runId: expr('sg.runId'),
                      stepId: id,
                      visit: expr(`visits.${id}`),
                      identity: expr('sg.identity'),
                      by: expr('default(map.get(sg, "by"), null)'),
                      level: n,
                      approvers: JSON.stringify(level.approvers),
                      require: level.require,
                      message: JSON.stringify(level.message),
                      timeoutMs: level.timeoutMs,
                      eventName: expr(`${cb}.url`),
                      vars: expr(varsOf(ctx)),
                      ...(node.allowSelfApproval === true ? { allowSelfApproval: true } : {}),
                    },
                  },
                  result: res,
                },
              },
              {
                [`${prefix}-requested`]: {
                  switch: [{ condition: expr(`not(${res}.body.ok)`), raise: expr(`${res}.body.error`) }],
                },
              },
            ],
          },
          except: {
            as: v(ctx, 'e'),
            steps: [
              {
                [`${prefix}-request-error`]: {
                  call: 'sg_error_of',
                  args: { e: expr(v(ctx, 'e')), step: id, timeout_message: '' },
                  result: err,
                },
              },
              ...(last
                ? []
                : [
                    {
                      [`${prefix}-no-approvers`]: {
                        switch: [
                          {
                            condition: expr(`${err}.code == "${ERROR_CODE.noApprovers}"`),
                            next: `${id}-l${n + 1}-callback`,
                          },
                        ],
                      },
                    },
                  ]),
              ...failureRouting(`${prefix}-request`, ctx, null, err),
            ],
          },
        },
      },
      ...cancelledCheck(`${prefix}-late`, ctx, [close(n, 'cancelled')]),
      {
        [`${prefix}-await`]: {
          try: {
            call: 'events.await_callback',
            args: { callback: expr(cb), timeout: seconds(level.timeoutMs) },
            result: res,
          },
          except: {
            as: v(ctx, 'e'),
            steps: [
              {
                [`${prefix}-timeout`]: {
                  switch: [
                    {
                      condition: expr(`not("TimeoutError" in default(map.get(${v(ctx, 'e')}, "tags"), []))`),
                      raise: expr(v(ctx, 'e')),
                    },
                  ],
                },
              },
              close(n, 'timeout'),
              { [`${prefix}-escalate`]: { next: last ? `${id}-timedout` : `${id}-l${n + 1}-callback` } },
            ],
          },
        },
      },
      ...cancelledCheck(`${prefix}-cancelled`, ctx, [close(n, 'cancelled')]),
      {
        [`${prefix}-decided`]: {
          assign: writeResult(ctx, node.output, {
            approved: expr(`${res}.http_request.body.approved`),
            decidedBy: expr(`${res}.http_request.body.decidedBy`),
            comment: expr(`${res}.http_request.body.comment`),
            decisions: expr(`${res}.http_request.body.decisions`),
            level: n,
            timedOut: false,
          }),
          next: `${id}-outcome`,
        },
      },
    );
  });
  const rejected =
    node.onReject !== null
      ? [{ [`${id}-rejected`]: { next: target(ctx, node.onReject) } }]
      : [
          {
            [`${id}-rejected`]: {
              assign: [
                {
                  [err]: {
                    code: ERROR_CODE.rejected,
                    message: expr(
                      `"rejected by " + default(${varsOf(ctx)}.${node.output}.decidedBy, "an approver")`,
                    ),
                    step: id,
                  },
                },
              ],
            },
          },
          ...failureRouting(`${id}-rejected`, ctx, null, err),
        ];
  steps.push(
    {
      [`${id}-outcome`]: {
        switch: [
          { condition: expr(`${varsOf(ctx)}.${node.output}.approved == true`), next: target(ctx, node.next) },
        ],
      },
    },
    ...rejected,
    {
      [`${id}-timedout`]: {
        assign: writeResult(ctx, node.output, timedOutApproval(node)),
        ...(node.onTimeout !== null ? { next: target(ctx, node.onTimeout) } : {}),
      },
    },
  );
  if (node.onTimeout === null) {
    steps.push(
      {
        [`${id}-timedout-error`]: {
          assign: [
            {
              [err]: {
                code: ERROR_CODE.approvalTimeout,
                message: 'no decision before the last approval level timed out',
                step: id,
              },
            },
          ],
        },
      },
      ...failureRouting(`${id}-timedout`, ctx, null, err),
    );
  }
  return steps;
}

function delaySteps(node: IrDelay, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const steps: GcpStep[] = [enter(node)];
  if (node.wait.kind === 'duration') {
    steps.push(...waitSteps(`${id}-wait`, ctx, node.wait.ms / 1000));
  } else {
    const until = v(ctx, 'sg_until');
    const err = v(ctx, 'sg_err');
    steps.push(
      ...(ctx.branch === null ? [] : wakeEndpoint(`${id}-wait`, ctx)),
      {
        [`${id}-until`]: {
          call: 'http.post',
          args: {
            url: expr('sg.functions.resolveTime'),
            auth: { type: 'OIDC' },
            body: {
              stepId: id,
              time: JSON.stringify(node.wait.time),
              vars: expr(varsOf(ctx)),
              ...(ctx.branch === null ? {} : { wakeUrl: expr(`${v(ctx, 'sg_wait')}.url`) }),
            },
          },
          result: until,
        },
      },
      {
        [`${id}-invalid`]: {
          switch: [
            {
              condition: expr(`${until}.body.fireAt == null`),
              steps: [
                { [`${id}-invalid-error`]: { assign: [{ [err]: expr(`${until}.body.error`) }] } },
                ...failureRouting(`${id}-invalid`, ctx, null, err),
              ],
            },
          ],
        },
      },
      ...(ctx.branch === null
        ? waitSteps(`${id}-wait`, ctx, expr(`${until}.body.waitMs / 1000`))
        : wakeWait(`${id}-wait`, ctx)),
    );
  }
  steps.push({ [`${id}-done`]: { next: target(ctx, node.next) } });
  return steps;
}

function parallelSteps(node: IrParallel, ctx: Ctx): GcpStep[] {
  const outer = ctx.branch?.levels ?? [];
  if (outer.length >= GCP_MAX_PARALLEL_DEPTH) {
    fail(
      'gcp.parallel-depth',
      `parallel step '${node.id}' is nested ${outer.length + 1} deep; GCP Workflows allows parallel steps nested ${GCP_MAX_PARALLEL_DEPTH} deep`,
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
  const id = node.id;
  const state = `sg_p_${id}`;
  const waits = `sg_w_${id}`;
  const total = node.branches.length;
  const needed = node.require === 'all' ? total : node.require;
  const branches = node.branches.map((graph, index) => {
    const branch: Branch = {
      levels: [...outer, { parallel: node, index, state, waits }],
      suffix: `_${id}_b${index}`,
    };
    const bctx: Ctx = { branch, endStep: `${id}-b${index}-ok`, failStep: `${id}-b${index}-failed` };
    const err = v(bctx, 'sg_err');
    const cancelOthers = (suffix: string): GcpStep[] =>
      node.branches.flatMap((_, j) =>
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
    const body = graphSteps(graph, bctx);
    const steps: GcpStep[] = [
      // Every branch starts, even after the join was decided (it then stops at its first wait, as the
      // orchestrator's branches do). It works on its own copy of the variables and records its step
      // results in an overlay that the join commits if the branch completes.
      {
        [`${id}-b${index}-vars`]: {
          assign: [{ [varsOf(bctx)]: expr(varsOf(ctx)) }, { [v(bctx, 'sg_ov')]: {} }],
        },
      },
      ...body,
      {
        [`${id}-b${index}-ok`]: {
          switch: [
            {
              condition: expr(`not(${state}.done)`),
              steps: [
                {
                  [`${id}-b${index}-count`]: {
                    assign: [
                      { [`${state}.ok`]: expr(`${state}.ok + 1`) },
                      { [`${state}.r${index}`]: expr(v(bctx, 'sg_ov')) },
                    ],
                  },
                },
                {
                  [`${id}-b${index}-joined`]: {
                    switch: [
                      {
                        condition: expr(`${state}.ok >= ${needed}`),
                        steps: [
                          { [`${id}-b${index}-decide`]: { assign: [{ [`${state}.done`]: true }] } },
                          ...cancelOthers('-ok'),
                        ],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      },
      { [`${id}-b${index}-ok-done`]: { next: `${id}-b${index}-end` } },
      {
        [`${id}-b${index}-failed`]: {
          switch: [
            {
              condition: expr(`not(${state}.done)`),
              steps: [
                {
                  [`${id}-b${index}-count-failure`]: {
                    assign: [
                      { [`${state}.failed`]: expr(`${state}.failed + 1`) },
                      { [`${state}.error`]: expr(`default(${state}.error, ${err})`) },
                    ],
                  },
                },
                {
                  [`${id}-b${index}-impossible`]: {
                    switch: [
                      {
                        condition: expr(`${state}.failed > ${total - needed}`),
                        steps: [
                          { [`${id}-b${index}-give-up`]: { assign: [{ [`${state}.done`]: true }] } },
                          ...cancelOthers('-failed'),
                        ],
                      },
                    ],
                  },
                },
              ],
            },
          ],
        },
      },
      { [`${id}-b${index}-end`]: { assign: [{ [v(bctx, 'sg_branch')]: index }] } },
    ];
    return { [`${id}-b${index}`]: { steps } };
  });
  const err = v(ctx, 'sg_err');
  const shared = ['visits', ...outer.flatMap((l) => [l.state, l.waits]), state, waits];
  // The join commits the overlays of the branches that completed, in branch order; a failed parallel
  // commits nothing.
  const commit: GcpStep[] = node.branches.flatMap((graph, index) =>
    [...graphOutputs(graph)].map((name) => ({
      [`${id}-commit-b${index}-${name}`]: {
        switch: [
          {
            condition: expr(`${str(name)} in default(map.get(${state}, ${str(`r${index}`)}), sg_empty)`),
            assign: writeResult(ctx, name, expr(`${state}.r${index}.${name}`)),
          },
        ],
      },
    })),
  );
  const steps: GcpStep[] = [
    enter(node, [{ [state]: { ok: 0, failed: 0, done: false, error: null } }, { [waits]: {} }]),
    { [`${id}-branches`]: { parallel: { shared, branches } } },
    // Inside a branch, the enclosing join may have been decided while this one ran.
    ...cancelledCheck(`${id}-joined-cancelled`, ctx),
    {
      [`${id}-join`]: {
        switch: [
          {
            condition: expr(`${state}.ok >= ${needed}`),
            steps: [...commit, { [`${id}-joined`]: { next: target(ctx, node.next) } }],
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
  return steps;
}
