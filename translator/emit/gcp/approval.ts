// The steps of an approval: per level a callback endpoint, the request to the approval-request handler
// (the callback URL is the event the decision handler answers), and the wait with the level's timeout,
// which escalates to the next level; then the outcome: approved, rejected or timed out.
import { ERROR_CODE } from '../../error-codes.js';
import { type IrApproval, type IrApprovalLevel, timedOutApproval } from '../../ir.js';
import type { GcpStep } from './conditions.js';
import {
  type Ctx,
  cancelledCheck,
  enter,
  expr,
  failureRouting,
  registerWait,
  seconds,
  stepBody,
  target,
  v,
  varsOf,
  writeResult,
} from './steps.js';

/** The steps of an approval step: its visit, each level in turn, and the outcome. */
export function approvalSteps(node: IrApproval, ctx: Ctx): GcpStep[] {
  // The context is the same at every level and, in a long flow, the biggest string: encoded once.
  const context = node.context === undefined ? undefined : JSON.stringify(node.context);
  return [
    enter(node),
    ...node.levels.flatMap((level, index) => levelSteps(node, level, index + 1, ctx, context)),
    ...outcomeSteps(node, ctx),
  ];
}

/** Tells the approval-close handler that level `level` ended without a decision. */
function closeStep(node: IrApproval, level: number, reason: string): GcpStep {
  const id = node.id;
  return {
    [`${id}-l${level}-close-${reason}`]: {
      call: 'http.post',
      args: {
        url: expr('sg.functions.approvalClose'),
        auth: { type: 'OIDC' },
        body: { runId: expr('sg.runId'), stepId: id, visit: expr(`visits.${id}`), level, reason },
      },
    },
  };
}

/** Level `n` (from 1): request it, await the decision or the timeout, record the decision. */
function levelSteps(
  node: IrApproval,
  level: IrApprovalLevel,
  n: number,
  ctx: Ctx,
  context: string | undefined,
): GcpStep[] {
  const id = node.id;
  const prefix = `${id}-l${n}`;
  const last = n === node.levels.length;
  const cb = v(ctx, 'sg_cb');
  const res = v(ctx, 'sg_res');
  return [
    {
      [`${prefix}-callback`]: {
        call: 'events.create_callback_endpoint',
        args: { http_callback_method: 'POST' },
        result: cb,
      },
    },
    ...(ctx.branch === null ? [] : [{ [`${prefix}-register`]: { assign: registerWait(ctx, cb) } }]),
    levelRequest(node, level, n, ctx, context),
    ...cancelledCheck(`${prefix}-late`, ctx, [closeStep(node, n, 'cancelled')]),
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
            closeStep(node, n, 'timeout'),
            { [`${prefix}-escalate`]: { next: last ? `${id}-timedout` : `${id}-l${n + 1}-callback` } },
          ],
        },
      },
    },
    ...cancelledCheck(`${prefix}-cancelled`, ctx, [closeStep(node, n, 'cancelled')]),
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
  ];
}

/**
 * The request of level `n` to the approval-request handler; a refused request fails the step, except
 * `Stepgate.NoApprovers` (nobody left to ask) at every level but the last, which escalates.
 */
function levelRequest(
  node: IrApproval,
  level: IrApprovalLevel,
  n: number,
  ctx: Ctx,
  context: string | undefined,
): GcpStep {
  const id = node.id;
  const prefix = `${id}-l${n}`;
  const cb = v(ctx, 'sg_cb');
  const res = v(ctx, 'sg_res');
  const err = v(ctx, 'sg_err');
  const noApprovers: GcpStep[] =
    n === node.levels.length
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
        ];
  const post = {
    call: 'http.post',
    args: {
      url: expr('sg.functions.approvalRequest'),
      auth: { type: 'OIDC' },
      body: {
        ...stepBody(id),
        by: expr('default(map.get(sg, "by"), null)'),
        level: n,
        approvers: JSON.stringify(level.approvers),
        require: level.require,
        message: JSON.stringify(level.message),
        ...(context === undefined ? {} : { context }),
        timeoutMs: level.timeoutMs,
        eventName: expr(`${cb}.url`),
        vars: expr(varsOf(ctx)),
        ...(node.allowSelfApproval === true ? { allowSelfApproval: true } : {}),
      },
    },
    result: res,
  };
  return {
    [`${prefix}-request`]: {
      try: {
        steps: [
          { [`${prefix}-post`]: post },
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
          ...noApprovers,
          ...failureRouting(`${prefix}-request`, ctx, null, err),
        ],
      },
    },
  };
}

/** After a decision: on to `next` when approved, else the rejection; and the last level's timeout. */
function outcomeSteps(node: IrApproval, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const err = v(ctx, 'sg_err');
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
  const steps: GcpStep[] = [
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
  ];
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
