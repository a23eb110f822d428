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
// - `reportEnd` (what the deployer compiles): `main` becomes `sg_run` under a `main` that posts the outcome
//   to the run-end function (gcp/run-end.ts); without it the output is the workflow alone, as it always was.
// The steps of each node kind are built in gcp/ (activity, approval, parallel, flow) over the shared pieces
// of gcp/steps.ts; this module builds the document, walks the graph and writes the YAML with the dedicated
// writer (yaml-writer.ts: byte-identical to `yaml.stringify(doc, { lineWidth: 0 })`, many times faster).
import { ERROR_CODE } from '../error-codes.js';
import type { IrGraph, IrNode, IrWorkflow } from '../ir.js';
import { assertNever } from '../util.js';
import { activitySteps } from './gcp/activity.js';
import { approvalSteps } from './gcp/approval.js';
import type { GcpStep } from './gcp/conditions.js';
import { conditionSteps, delaySteps } from './gcp/flow.js';
import { parallelSteps } from './gcp/parallel.js';
import { RUN_ROUTINE, runEndMain } from './gcp/run-end.js';
import { type Ctx, expr, MAIN, target } from './gcp/steps.js';
import { writeYaml } from './yaml-writer.js';

export { GCP_MAX_BRANCHES, GCP_MAX_PARALLEL_DEPTH, GCP_MAX_WAIT_S } from './gcp/steps.js';

export interface GcpEmitOptions {
  /** Wrap the workflow in a `main` that reports how the run ended to `stepgate.functions.runEnd`. */
  reportEnd?: boolean;
}

export function emitGcpWorkflows(ir: IrWorkflow, options: GcpEmitOptions = {}): string {
  const { header, doc } = gcpWorkflowDocument(ir, options);
  return header + writeYaml(doc);
}

/** The workflow as a document (what emitGcpWorkflows writes as YAML) and the comment lines above it. */
export function gcpWorkflowDocument(
  ir: IrWorkflow,
  options: GcpEmitOptions = {},
): { header: string; doc: Record<string, unknown> } {
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
  const routines = options.reportEnd === true ? { main: runEndMain(), [RUN_ROUTINE]: main } : { main };
  const doc = {
    ...routines,
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
      : `# Whole-run timeout: ${ir.timeoutMs} ms, enforced by the trigger function (execution cancel).\n`) +
    (options.reportEnd === true
      ? `# Run end: main runs ${RUN_ROUTINE} and posts its outcome to stepgate.functions.runEnd.\n`
      : '');
  return { header, doc };
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
      return parallelSteps(node, ctx, graphSteps);
    case 'delay':
      return delaySteps(node, ctx);
    default:
      return assertNever(node, 'IR node');
  }
}
