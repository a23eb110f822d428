// Condition expressions compiled to Choice rules that keep the foundation's type semantics
// (translator/expression.ts): every data test is guarded by IsPresent and a type test, so a missing or
// mistyped variable never raises States.Runtime; a missing value is null, a mistyped one matches nothing.
// In a parallel branch a variable is read from the deepest overlay that holds it (`$.wN`, `$.eN`).
import type { CompareOp, Expr, Literal, Operand, PathOperand } from '../../expression.js';
import { assertNever } from '../../util.js';
import type { Json } from './state.js';

type Rule = { [key: string]: Json };

/** A variable path as JSONPath, below `$.vars` or an overlay (array indexes as `[n]`). */
export function jsonPath(path: readonly string[]): string {
  return path
    .map((segment, i) => (/^[0-9]+$/.test(segment) ? `[${segment}]` : `${i === 0 ? '' : '.'}${segment}`))
    .join('');
}

/** Where a condition reads variables: `vars` and the overlays of the enclosing branches. */
export interface Layers {
  layers: string[];
  layerKeys: Array<ReadonlySet<string>>;
}

const VARS_ONLY: Layers = { layers: ['vars'], layerKeys: [new Set()] };

/**
 * A data test on a variable: in a branch the variable is read from the deepest overlay that holds it,
 * else from `vars`; each candidate is guarded by the presence of its top-level key (so exactly one applies).
 */
function at(where: Layers, operand: PathOperand, test: (v: string) => Rule): Rule {
  const key = operand.path[0] ?? '';
  const overlays = where.layers
    .map((layer, i) => ({ layer, i }))
    .filter(({ i }) => i > 0 && where.layerKeys[i]?.has(key))
    .reverse();
  const rest = jsonPath(operand.path);
  if (overlays.length === 0) return test(`$.vars.${rest}`);
  const absent = (layer: string): Rule => ({ Not: { Variable: `$.${layer}.${key}`, IsPresent: true } });
  const candidates: Rule[] = overlays.map(({ layer }, n) =>
    and(
      ...overlays.slice(0, n).map((o) => absent(o.layer)),
      { Variable: `$.${layer}.${key}`, IsPresent: true },
      test(`$.${layer}.${rest}`),
    ),
  );
  candidates.push(and(...overlays.map((o) => absent(o.layer)), test(`$.vars.${rest}`)));
  return { Or: candidates };
}

const ALWAYS: Rule = { Variable: '$', IsPresent: true };
const NEVER: Rule = { Not: ALWAYS };

function and(...rules: Rule[]): Rule {
  return { And: rules };
}

function typed(v: string, type: 'IsNumeric' | 'IsString' | 'IsBoolean' | 'IsNull'): Rule[] {
  return [
    { Variable: v, IsPresent: true },
    { Variable: v, [type]: true },
  ];
}

/** A missing value is null in the expression language. */
function isNull(v: string): Rule {
  return { Or: [{ Not: { Variable: v, IsPresent: true } }, and(...typed(v, 'IsNull'))] };
}

/** `path == literal` with strict scalar equality; a missing value is null, a mistyped one does not match. */
function equalsLiteral(v: string, value: Literal): Rule {
  if (value === null) return isNull(v);
  if (typeof value === 'number') return and(...typed(v, 'IsNumeric'), { Variable: v, NumericEquals: value });
  if (typeof value === 'string') return and(...typed(v, 'IsString'), { Variable: v, StringEquals: value });
  return and(...typed(v, 'IsBoolean'), { Variable: v, BooleanEquals: value });
}

function equalsPath(a: string, b: string): Rule {
  return {
    Or: [
      and(...typed(a, 'IsNumeric'), ...typed(b, 'IsNumeric'), { Variable: a, NumericEqualsPath: b }),
      and(...typed(a, 'IsString'), ...typed(b, 'IsString'), { Variable: a, StringEqualsPath: b }),
      and(...typed(a, 'IsBoolean'), ...typed(b, 'IsBoolean'), { Variable: a, BooleanEqualsPath: b }),
      and(isNull(a), isNull(b)),
    ],
  };
}

type Order = Exclude<CompareOp, '==' | '!='>;
const ORDER_SUFFIX: Record<Order, string> = {
  '<': 'LessThan',
  '<=': 'LessThanEquals',
  '>': 'GreaterThan',
  '>=': 'GreaterThanEquals',
};
/** The operator that keeps a comparison's meaning when its operands swap sides. */
const MIRROR: Record<CompareOp, CompareOp> = {
  '==': '==',
  '!=': '!=',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};

function orderLiteral(v: string, op: Order, value: Literal): Rule {
  if (typeof value === 'number')
    return and(...typed(v, 'IsNumeric'), { Variable: v, [`Numeric${ORDER_SUFFIX[op]}`]: value });
  if (typeof value === 'string')
    return and(...typed(v, 'IsString'), { Variable: v, [`String${ORDER_SUFFIX[op]}`]: value });
  return NEVER;
}

function orderPath(a: string, op: Order, b: string): Rule {
  return {
    Or: [
      and(...typed(a, 'IsNumeric'), ...typed(b, 'IsNumeric'), {
        Variable: a,
        [`Numeric${ORDER_SUFFIX[op]}Path`]: b,
      }),
      and(...typed(a, 'IsString'), ...typed(b, 'IsString'), {
        Variable: a,
        [`String${ORDER_SUFFIX[op]}Path`]: b,
      }),
    ],
  };
}

function constant(value: boolean): Rule {
  return value ? ALWAYS : NEVER;
}

function literalCompare(op: CompareOp, x: Literal, y: Literal): boolean {
  if (op === '==') return x === y;
  if (op === '!=') return x !== y;
  const comparable =
    (typeof x === 'number' && typeof y === 'number') || (typeof x === 'string' && typeof y === 'string');
  if (!comparable || x === null || y === null) return false;
  if (op === '<') return x < y;
  if (op === '<=') return x <= y;
  if (op === '>') return x > y;
  return x >= y;
}

/** `left op right`; a literal on the left is mirrored to the right, so every rule reads a path first. */
function compareRule(where: Layers, op: CompareOp, left: Operand, right: Operand): Rule {
  if (left.kind === 'literal') {
    if (right.kind === 'literal') return constant(literalCompare(op, left.value, right.value));
    return compareRule(where, MIRROR[op], right, left);
  }
  if (op === '!=') return { Not: compareRule(where, '==', left, right) };
  if (right.kind === 'literal')
    return at(where, left, (v) =>
      op === '==' ? equalsLiteral(v, right.value) : orderLiteral(v, op, right.value),
    );
  return at(where, left, (a) =>
    at(where, right, (b) => (op === '==' ? equalsPath(a, b) : orderPath(a, op, b))),
  );
}

/** StringMatches treats `*` as a wildcard and `\` as its escape. */
function escapeMatch(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('*', '\\*');
}

/** The Choice rule of a condition: true exactly when `evaluateExpression` is. */
export function conditionRule(expr: Expr, source: string, where: Layers = VARS_ONLY): Rule {
  const rule = (e: Expr): Rule => conditionRule(e, source, where);
  switch (expr.kind) {
    case 'literal':
      return constant(expr.value === true);
    case 'path':
      return at(where, expr, (v) => and(...typed(v, 'IsBoolean'), { Variable: v, BooleanEquals: true }));
    case 'not':
      return { Not: rule(expr.operand) };
    case 'and':
      return { And: [rule(expr.left), rule(expr.right)] };
    case 'or':
      return { Or: [rule(expr.left), rule(expr.right)] };
    case 'compare':
      return compareRule(where, expr.op, expr.left, expr.right);
    case 'in': {
      if (expr.value.kind === 'literal') {
        const value = expr.value.value;
        return constant(expr.list.some((item) => item === value));
      }
      if (expr.list.length === 0) return NEVER;
      return at(where, expr.value, (v) => ({ Or: expr.list.map((item) => equalsLiteral(v, item)) }));
    }
    case 'contains':
    case 'startsWith': {
      const pattern = escapeMatch(expr.pattern);
      const match = expr.kind === 'contains' ? `*${pattern}*` : `${pattern}*`;
      return at(where, expr.value, (v) =>
        and(...typed(v, 'IsString'), { Variable: v, StringMatches: match }),
      );
    }
    default:
      return assertNever(expr, 'expression');
  }
}
