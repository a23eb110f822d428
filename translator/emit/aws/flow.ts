// The states that only route the run: the Choice of a condition step and the Wait of a delay step.
import type { IrCondition, IrDelay } from '../../ir.js';
import { TranslateError } from '../errors.js';
import { conditionRule, jsonPath } from './conditions.js';
import { choiceTarget, renderNextEnd, type Scope, type State, type States, seconds } from './state.js';

/** A condition step: one Choice rule to onTrue, the Default to onFalse. */
export function renderChoice(node: IrCondition, scope: Scope): States {
  const rule = conditionRule(node.condition, node.source, scope);
  return {
    [node.id]: {
      Type: 'Choice',
      Choices: [{ ...rule, Next: choiceTarget(node.onTrue, scope) }],
      Default: choiceTarget(node.onFalse, scope),
    },
  };
}

/** A delay step: a fixed number of seconds, or until a time held by one variable no branch writes. */
export function renderWait(node: IrDelay, scope: Scope): States {
  return { [node.id]: { Type: 'Wait', ...waitFor(node, scope), ...renderNextEnd(node.next, scope) } };
}

function waitFor(node: IrDelay, scope: Scope): State {
  if (node.wait.kind === 'duration') return { Seconds: seconds(node.wait.ms, node.source, 'delays') };
  const time = node.wait.time;
  if (time.kind === 'ref' && !scope.layerKeys.some((keys) => keys.has(time.path[0] ?? '')))
    return { TimestampPath: `$.vars.${jsonPath(time.path)}` };
  throw new TranslateError(
    'aws.delay-until-template',
    "a Wait state needs 'until' to be exactly one variable reference ({{name}}) set outside the enclosing parallel branches on AWS",
    node.source,
    'aws',
  );
}
