// Conditions compiled to GCP `${}` expressions keep the reference semantics (translator/expression.ts):
// every operator against values of every type, missing and mistyped paths, run in the oracle interpreter
// and compared with evaluateExpression.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { GcpInterpreter, type GcpValue } from '../../testing/gcp-oracle/interpreter.js';
import {
  conditionExpression,
  type GcpStep,
  literal,
  pathSteps,
} from '../../translator/emit/gcp/conditions.js';
import { evaluateExpression, type Operand, parseExpression } from '../../translator/expression.js';

async function gcpCondition(source: string, vars: GcpValue): Promise<GcpValue> {
  const steps: GcpStep[] = [{ init: { assign: [{ vars: `\${input}` }, { sg_empty: {} }] } }];
  const temps = new Map<Operand, string>();
  const operand = (o: Operand): string => {
    if (o.kind === 'literal') return literal(o.value);
    let temp = temps.get(o);
    if (temp === undefined) {
      temp = `sg_c${temps.size}`;
      temps.set(o, temp);
      steps.push(...pathSteps(`op${temps.size}`, temp, o.path));
    }
    return temp;
  };
  const condition = conditionExpression(parseExpression(source), operand);
  steps.push(
    { test: { switch: [{ condition: `\${${condition}}`, return: true }] } },
    { no: { return: false } },
  );
  const doc = { main: { params: ['input'], steps } } as unknown as ConstructorParameters<
    typeof GcpInterpreter
  >[0];
  const interpreter = new GcpInterpreter(doc, { clock: new VirtualClock(), http: async () => null }, 'x');
  const result = await interpreter.execute(vars);
  if (result.state !== 'succeeded') throw new Error(`${source}: ${JSON.stringify(result)}`);
  return result.result;
}

const values: GcpValue[] = [
  null,
  true,
  false,
  0,
  1,
  1.5,
  -2,
  500,
  501,
  '',
  'a',
  'ab',
  'b',
  '1',
  'critical',
  [],
  [1],
  { a: 1 },
];
const expressions = [
  'x',
  '!x',
  'x == y',
  'x != y',
  'x < y',
  'x <= y',
  'x > y',
  'x >= y',
  "x == 'a'",
  'x == 1',
  'x == true',
  'x == null',
  'x != null',
  'x > 500',
  "x < 'b'",
  "x in ['a', 1, true, null]",
  "x contains 'a'",
  "x startsWith 'a'",
  "x contains ''",
  'x && y',
  'x || !y',
  '!(x == y) && (x > 0 || y > 0)',
  'missing.deep == null',
  'x.a == 1',
  'x.0 == 1',
  'x.1 == null',
  'nested.list.0.name == "n"',
];

describe('GCP conditions', () => {
  it('agree with evaluateExpression for every operator and value type', async () => {
    let checked = 0;
    for (const source of expressions) {
      const expr = parseExpression(source);
      for (const x of values) {
        for (const y of source.includes('y') ? values : [null]) {
          const vars = { x, y, nested: { list: [{ name: 'n' }, 3] } };
          expect(
            await gcpCondition(source, vars),
            `${source} with x=${JSON.stringify(x)} y=${JSON.stringify(y)}`,
          ).toBe(evaluateExpression(expr, vars));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });
});
