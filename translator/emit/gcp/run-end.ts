// The run-end report of a deployed GCP workflow (emitGcpWorkflows' `reportEnd` option): a Workflows
// execution tells nobody how it ended, so the deployed `main` calls the compiled workflow (renamed
// RUN_ROUTINE) inside try/except and posts its outcome (GcpRunEndBody, functions/core/wire.ts) to
// `stepgate.functions.runEnd` with OIDC, then returns it, or raises it when the workflow raised.
//
// Decisions: a raised value that is not an outcome (`{status, error, vars}`: a runtime error of the
// execution, say) is reported as a failed outcome with `Stepgate.EngineError` and the value as JSON, the
// same reading the oracle's status check makes; that outcome is what the execution raises, so a failed
// execution's error is always an outcome. The post is retried (sg_retryable, 5 times, 1 s doubling
// to 30 s); if it still fails the execution ends as it would have (its result or error carries the same
// outcome), and the host records the end from the execution's state instead (GcpWorkflowsHost.waitForRun
// reconciles), so a lost report never changes how a run ended. The variables are assigned before the try,
// so the except's assignments reach them whatever GCP's scoping of except blocks.
import { ERROR_CODE } from '../../error-codes.js';
import type { GcpStep } from './conditions.js';
import { expr } from './steps.js';

/** The name the compiled `main` gets when `main` is the run-end wrapper. */
export const RUN_ROUTINE = 'sg_run';

const IS_OUTCOME = 'get_type(sg_raised) == "map" and get_type(map.get(sg_raised, "status")) == "string"';

/** The wrapper `main`: runs RUN_ROUTINE, reports its outcome to the run-end function, ends as it did. */
export function runEndMain(): { params: string[]; steps: GcpStep[] } {
  return {
    params: ['input'],
    steps: [
      { 'sg-end-init': { assign: [{ sg_outcome: null }, { sg_failed: false }] } },
      {
        'sg-run': {
          try: { call: RUN_ROUTINE, args: { input: expr('input') }, result: 'sg_outcome' },
          except: { as: 'sg_raised', steps: raisedSteps() },
        },
      },
      { 'sg-report': reportStep() },
      { 'sg-end': { switch: [{ condition: expr('sg_failed'), raise: expr('sg_outcome') }] } },
      { 'sg-return': { return: expr('sg_outcome') } },
    ],
  };
}

/** The outcome of a raised value: the value when it is one, else a failed outcome naming it. */
function raisedSteps(): GcpStep[] {
  return [
    {
      'sg-raised': {
        assign: [
          { sg_failed: true },
          {
            sg_outcome: {
              status: 'failed',
              error: {
                code: ERROR_CODE.engineError,
                message: expr('json.encode_to_string(sg_raised)'),
                step: null,
              },
              vars: {},
            },
          },
        ],
      },
    },
    {
      'sg-raised-outcome': {
        switch: [{ condition: expr(IS_OUTCOME), assign: [{ sg_outcome: expr('sg_raised') }] }],
      },
    },
  ];
}

/** The post to the run-end function, retried; a report that never gets through is left to the host. */
function reportStep(): GcpStep {
  return {
    try: {
      call: 'http.post',
      args: {
        url: expr('input.stepgate.functions.runEnd'),
        auth: { type: 'OIDC' },
        body: { runId: expr('input.stepgate.runId'), outcome: expr('sg_outcome') },
      },
    },
    retry: {
      predicate: expr('sg_retryable'),
      max_retries: 5,
      backoff: { initial_delay: 1, max_delay: 30, multiplier: 2 },
    },
    except: { as: 'sg_report_error', steps: [{ 'sg-report-lost': { assign: [{ sg_report_lost: true }] } }] },
  };
}
