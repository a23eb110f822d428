// The steps of a tool or notify call: each attempt posts the request (with a callback URL) to its handler
// and awaits the result. Retries are GCP's own `retry` policy when it reproduces the orchestrator's
// backoff exactly, otherwise a `try`/`except` loop whose delay the handlers' backoff endpoint computes.
import { backoffDelay, type IrNotify, type IrRetry, type IrTool } from '../../ir.js';
import type { GcpStep } from './conditions.js';
import {
  type Ctx,
  cancelledCheck,
  enter,
  expr,
  fail,
  failureRouting,
  GCP_MAX_SWITCH,
  registerWait,
  seconds,
  stepBody,
  target,
  v,
  varsOf,
  waitSteps,
  wakeEndpoint,
  wakeWait,
  writeResult,
} from './steps.js';

/** The steps of a tool or notify step: its visit, the attempts with their retries, and the result. */
export function activitySteps(node: IrTool | IrNotify, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const attempt = v(ctx, 'sg_attempt');
  const res = v(ctx, 'sg_res');
  const err = v(ctx, 'sg_err');
  const timeoutMessage = node.timeoutMs === null ? '' : `no result within ${node.timeoutMs} ms`;
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
  const attemptSteps = activityAttempt(node, ctx);
  const steps: GcpStep[] = [
    enter(node, [{ [attempt]: 0 }]),
    nativeRetry(node.retry, ctx)
      ? nativeTry(node, ctx, attemptSteps, errorSteps)
      : loopTry(node, ctx, attemptSteps, errorSteps),
  ];
  const done: Array<Record<string, unknown>> =
    node.kind === 'tool' ? writeResult(ctx, node.output, expr(`${res}.http_request.body.result`)) : [];
  steps.push({
    [`${id}-done`]:
      done.length > 0 ? { assign: done, next: target(ctx, node.next) } : { next: target(ctx, node.next) },
  });
  return steps;
}

/** The handler-specific part of the request body (templates as JSON strings) and the handler's URL. */
function activityRequest(node: IrTool | IrNotify): { url: string; request: Record<string, unknown> } {
  if (node.kind === 'tool') {
    return {
      url: 'sg.functions.toolCall',
      request: {
        kind: 'tool.call',
        server: node.server,
        tool: node.tool,
        args: JSON.stringify(node.args),
        timeoutMs: node.timeoutMs,
      },
    };
  }
  return {
    url: 'sg.functions.notify',
    request: {
      kind: 'notify.send',
      channel: node.channel,
      to: JSON.stringify(node.to),
      subject: node.subject === null ? null : JSON.stringify(node.subject),
      message: JSON.stringify(node.message),
    },
  };
}

/** One attempt: a callback endpoint, the request to the handler, the wait for its answer and its check. */
function activityAttempt(node: IrTool | IrNotify, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const attempt = v(ctx, 'sg_attempt');
  const cb = v(ctx, 'sg_cb');
  const res = v(ctx, 'sg_res');
  const { url, request } = activityRequest(node);
  return [
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
            ...stepBody(id),
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

/** The attempts under GCP's own retry policy. */
function nativeTry(
  node: IrTool | IrNotify,
  ctx: Ctx,
  attemptSteps: GcpStep[],
  errorSteps: GcpStep[],
): GcpStep {
  return {
    [`${node.id}-try`]: {
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
  };
}

/** The attempts as an explicit loop: a retryable failure waits its backoff and tries again. */
function loopTry(node: IrTool | IrNotify, ctx: Ctx, attemptSteps: GcpStep[], errorSteps: GcpStep[]): GcpStep {
  const id = node.id;
  const attempt = v(ctx, 'sg_attempt');
  const e = v(ctx, 'e');
  const retry: GcpStep[] =
    node.retry.maxAttempts === 1
      ? []
      : [
          {
            [`${id}-retry`]: {
              switch: [
                {
                  condition: expr(
                    `${attempt} < ${node.retry.maxAttempts} and not(get_type(${e}) == "map" and map.get(${e}, "retryable") == false)`,
                  ),
                  steps: [...backoffSteps(node, ctx), { [`${id}-again`]: { next: `${id}-try` } }],
                },
              ],
            },
          },
        ];
  return {
    [`${id}-try`]: { try: { steps: attemptSteps }, except: { as: e, steps: [...retry, ...errorSteps] } },
  };
}

/** The wait before the next attempt of a retry loop. */
function backoffSteps(node: IrTool | IrNotify, ctx: Ctx): GcpStep[] {
  const id = node.id;
  const attempt = v(ctx, 'sg_attempt');
  const delay = v(ctx, 'sg_delay');
  // In a branch a backoff wait must end when the branch is cancelled: a callback wait, whose timeout
  // GCP takes only as a literal, so each attempt's (jitter-free) delay gets its own wait.
  if (ctx.branch !== null && node.retry.jitter === 'none') {
    if (node.retry.maxAttempts - 1 > GCP_MAX_SWITCH) {
      fail(
        'gcp.retry-limit',
        `step '${id}' retries ${node.retry.maxAttempts - 1} times inside a parallel branch; GCP Workflows switches take at most ${GCP_MAX_SWITCH} conditions`,
        node.source,
      );
    }
    return [
      {
        [`${id}-sleep`]: {
          switch: Array.from({ length: node.retry.maxAttempts - 1 }, (_, k) => ({
            condition: expr(`${attempt} == ${k + 1}`),
            steps: waitSteps(`${id}-sleep${k + 1}`, ctx, backoffDelay(node.retry, k + 1, '') / 1000),
          })),
        },
      },
    ];
  }
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
  return ctx.branch === null
    ? [backoffCall, ...waitSteps(`${id}-sleep`, ctx, expr(`${delay}.body.delayMs / 1000`))]
    : [...wakeEndpoint(`${id}-sleep`, ctx), backoffCall, ...wakeWait(`${id}-sleep`, ctx)];
}
