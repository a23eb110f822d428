// Condition expressions compiled to GCP Workflows `${}` expressions that keep the foundation's type
// semantics (translator/expression.ts). Every operand is first copied into a temporary variable by
// prototype-free, error-free path steps (a missing or mistyped path becomes null); the comparison is then
// written so that no sub-expression can raise, whatever the operand types and whether or not GCP
// short-circuits `and`/`or`: mismatched operands are replaced by neutral values inside `if()`.
import type { Expr, Literal, Operand } from '../../expression.js';

export type GcpStep = Record<string, unknown>;

/** A string literal of the GCP expression language (JSON string syntax). */
export function str(text: string): string {
  return JSON.stringify(text);
}

export function literal(value: Literal): string {
  if (typeof value === 'string') return str(value);
  return value === null ? 'null' : String(value);
}

const NUMERIC = '["integer", "double"]';
const SCALAR_CLASS = '["integer", "string", "boolean", "null"]';

/** The type class of a value: integers and doubles compare as numbers, like JS numbers. */
function typeClass(x: string): string {
  return `if(get_type(${x}) == "double", "integer", get_type(${x}))`;
}

function strictEquals(a: string, b: string): string {
  const same = `(${typeClass(a)} == ${typeClass(b)} and ${typeClass(a)} in ${SCALAR_CLASS})`;
  return `(${same} and if(${same}, ${a}, 0) == if(${same}, ${b}, 0))`;
}

function ordered(op: string, a: string, b: string): string {
  const numbers = `(get_type(${a}) in ${NUMERIC} and get_type(${b}) in ${NUMERIC})`;
  const strings = `(get_type(${a}) == "string" and get_type(${b}) == "string")`;
  return (
    `((${numbers} and if(${numbers}, ${a}, 0) ${op} if(${numbers}, ${b}, 0)) or ` +
    `(${strings} and if(${strings}, ${a}, "") ${op} if(${strings}, ${b}, "")))`
  );
}

/** Compiles the condition; `operand` gives the expression text of each operand (a temp or a literal). */
export function conditionExpression(expr: Expr, operand: (o: Operand) => string): string {
  switch (expr.kind) {
    case 'literal':
    case 'path': {
      const x = operand(expr);
      return `(get_type(${x}) == "boolean" and if(get_type(${x}) == "boolean", ${x}, false))`;
    }
    case 'not':
      return `(not ${conditionExpression(expr.operand, operand)})`;
    case 'and':
    case 'or':
      return `(${conditionExpression(expr.left, operand)} ${expr.kind} ${conditionExpression(expr.right, operand)})`;
    case 'compare': {
      const a = operand(expr.left);
      const b = operand(expr.right);
      if (expr.op === '==') return strictEquals(a, b);
      if (expr.op === '!=') return `(not ${strictEquals(a, b)})`;
      return ordered(expr.op, a, b);
    }
    case 'in': {
      const a = operand(expr.value);
      if (expr.list.length === 0) return 'false';
      return `(${expr.list.map((item) => strictEquals(a, literal(item))).join(' or ')})`;
    }
    case 'contains':
    case 'startsWith': {
      const a = operand(expr.value);
      const s = `if(get_type(${a}) == "string", ${a}, "")`;
      const found = `text.find_substring(${s}, ${str(expr.pattern)})`;
      return `(get_type(${a}) == "string" and ${found} ${expr.kind === 'contains' ? '>=' : '=='} 0)`;
    }
  }
}

/**
 * Steps that set `temp` to the value at `path` in the variables `vars` (the run's, or a branch's copy), or
 * null when the path does not exist: a name segment reads a map key (a non-map reads as empty), a numeric
 * segment also indexes a list.
 */
export function pathSteps(name: string, temp: string, path: string[], vars = 'vars'): GcpStep[] {
  const steps: GcpStep[] = [];
  const assigns: Array<Record<string, string>> = [];
  const flush = (): void => {
    if (assigns.length > 0) steps.push({ [`${name}-${steps.length + 1}`]: { assign: [...assigns] } });
    assigns.length = 0;
  };
  path.forEach((segment, i) => {
    const from = i === 0 ? vars : temp;
    const asMap = `if(get_type(${from}) == "map", ${from}, sg_empty)`;
    if (!/^[0-9]+$/.test(segment)) {
      assigns.push({ [temp]: `\${map.get(${asMap}, ${str(segment)})}` });
      return;
    }
    flush();
    const index = Number(segment);
    steps.push({
      [`${name}-${steps.length + 1}`]: {
        switch: [
          {
            condition: `\${get_type(${temp}) == "list" and len(if(get_type(${temp}) == "list", ${temp}, [])) > ${index}}`,
            assign: [{ [temp]: `\${${temp}[${index}]}` }],
          },
          { condition: `\${get_type(${temp}) == "list"}`, assign: [{ [temp]: null }] },
          { condition: true, assign: [{ [temp]: `\${map.get(${asMap}, ${str(segment)})}` }] },
        ],
      },
    });
  });
  flush();
  return steps;
}
