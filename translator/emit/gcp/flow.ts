// The steps of the flow kinds: a condition (a native `switch` over its expression, gcp/conditions.ts) and
// a delay (a fixed duration, or a time the resolve-time handler turns into a wait).
import type { Operand } from '../../expression.js';
import type { IrCondition, IrDelay } from '../../ir.js';
import { conditionExpression, type GcpStep, literal, pathSteps } from './conditions.js';
import {
  type Ctx,
  enter,
  expr,
  failureRouting,
  target,
  v,
  varsOf,
  waitSteps,
  wakeEndpoint,
  wakeWait,
} from './steps.js';

/** The steps of a condition step: its operands read into variables, then the switch. */
export function conditionSteps(node: IrCondition, ctx: Ctx): GcpStep[] {
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

/** The steps of a delay step: a wait of its duration, or until the time it names. */
export function delaySteps(node: IrDelay, ctx: Ctx): GcpStep[] {
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
