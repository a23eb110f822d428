// The AWS Step Functions compiler: every template's ASL passes asl-validator (and the validation of
// aws-local-stepfunctions), output is deterministic, Choice rules keep the expression language's type
// semantics when executed by aws-local-stepfunctions, and what ASL cannot express is a TranslateError.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { polyfillPromiseWithResolvers } from '../../testing/run-aws.js';
import { conditionRule, emitAsl } from '../../translator/emit/aws-asl.js';
import { COMPILERS, TranslateError } from '../../translator/emit/index.js';
import { evaluateExpression, parseExpression } from '../../translator/expression.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';

polyfillPromiseWithResolvers();

/** asl-validator ships no type declarations: its documented API, typed at the boundary. */
const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const templates = join(import.meta.dirname, '..', '..', 'templates');
const workflows = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));

function irOf(text: string, format: 'yaml' | 'json' = 'yaml'): IrWorkflow {
  const result = validateWorkflow(text, format);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

function templateIr(file: string): IrWorkflow {
  const path = join(templates, file);
  return irOf(readFileSync(path, 'utf8'), formatOf(path) === 'json' ? 'json' : 'yaml');
}

/** Placeholders as a deployment substitutes them, so the library's ARN checks see real-looking ARNs. */
function deployed(definition: Record<string, unknown>): StateMachineDefinition {
  const json = JSON.stringify(definition).replace(
    /\$\{(\w+)FunctionArn\}/g,
    (_, name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
  );
  return JSON.parse(json) as StateMachineDefinition;
}

describe.each(workflows)('%s compiled to ASL', (file) => {
  const ir = templateIr(file);
  const asl = emitAsl(ir);

  it('passes asl-validator', () => {
    // asl-validator annotates what it checks (QueryLanguage): give it a copy.
    const result = aslValidator(structuredClone(asl));
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('passes aws-local-stepfunctions validation once the Lambda ARNs are substituted', () => {
    expect(() => new StateMachine(deployed(asl))).not.toThrow();
  });

  it('is deterministic and registered as <id>.asl.json', () => {
    const again = emitAsl(templateIr(file));
    expect(JSON.stringify(again)).toBe(JSON.stringify(asl));
    const files = COMPILERS.aws?.(ir) ?? [];
    expect(files.map((f) => f.name)).toEqual([`${ir.id}.asl.json`]);
    expect(files[0]?.content).toBe(`${JSON.stringify(asl, null, 2)}\n`);
  });

  it('names every step state by its step id, with an explicit TimeoutSeconds on every Task', () => {
    const states = new Map<string, Record<string, unknown>>();
    const walk = (s: Record<string, Record<string, unknown>>): void => {
      for (const [name, state] of Object.entries(s)) {
        states.set(name, state);
        for (const branch of (state.Branches ?? []) as Array<{
          States: Record<string, Record<string, unknown>>;
        }>)
          walk(branch.States);
      }
    };
    walk((asl as { States: Record<string, Record<string, unknown>> }).States);
    const ids: string[] = [];
    const collect = (nodes: IrWorkflow['graph']['nodes']): void => {
      for (const node of nodes) {
        ids.push(node.id);
        if (node.kind === 'parallel') for (const b of node.branches) collect(b.nodes);
      }
    };
    collect(ir.graph.nodes);
    for (const id of ids) expect(states.has(id), id).toBe(true);
    for (const [name, state] of states) {
      if (state.Type === 'Task') expect(typeof state.TimeoutSeconds, name).toBe('number');
    }
    expect(typeof (asl as { TimeoutSeconds?: unknown }).TimeoutSeconds).toBe('number');
    // Tool and notify calls carry what makes their idempotency key unique per visit and attempt.
    for (const node of ir.graph.nodes) {
      if (node.kind !== 'tool' && node.kind !== 'notify') continue;
      expect(states.get(node.id)?.Parameters, node.id).toMatchObject({
        'attempt.$': '$$.State.RetryCount',
        'enteredTime.$': '$$.State.EnteredTime',
      });
    }
  });
});

// ---- Choice rules executed by aws-local-stepfunctions against the reference evaluator ----------------

/** Runs the expression's Choice rule on every variable set with aws-local-stepfunctions. */
async function chooseAll(expression: string, inputs: Array<Record<string, unknown>>): Promise<boolean[]> {
  const rule = conditionRule(parseExpression(expression), '/steps/0');
  const machine = new StateMachine({
    StartAt: 'check',
    States: {
      check: { Type: 'Choice', Choices: [{ ...rule, Next: 'yes' }], Default: 'no' },
      yes: { Type: 'Pass', Result: { matched: true }, End: true },
      no: { Type: 'Pass', Result: { matched: false }, End: true },
    },
  } as unknown as StateMachineDefinition);
  return Promise.all(
    inputs.map(
      async (vars) =>
        ((await machine.run({ ctx: {}, vars } as never).result) as { matched: boolean }).matched,
    ),
  );
}

const VALUES: Array<[string, Record<string, unknown>]> = [
  ['missing', {}],
  ['one missing', { b: null }],
  ['through a string', { a: 'text', b: 'text' }],
  ['null', { a: null, b: null }],
  ['number 5', { a: 5, b: 5 }],
  ['number 600 / 500', { a: 600, b: 500 }],
  ['numeric string', { a: '5', b: 5 }],
  ['strings', { a: 'critical', b: 'critical' }],
  ['string order', { a: 'abc', b: 'abd' }],
  ['booleans', { a: true, b: false }],
  ['true/true', { a: true, b: true }],
  ['objects', { a: { x: 1 }, b: { x: 1 } }],
  ['arrays', { a: [1], b: [1] }],
  ['nested', { a: { b: 'critical' }, b: 5 }],
  ['pattern chars', { a: 'a*b\\c', b: 'x' }],
];

const EXPRESSIONS = [
  'a',
  '!a',
  'a == 5',
  'a != 5',
  "a == 'critical'",
  "a != 'critical'",
  'a == true',
  'a == null',
  'a != null',
  'a > 500',
  'a >= 5',
  'a < 5',
  '500 < a',
  "a < 'abd'",
  'a > true',
  'a == b',
  'a != b',
  'a < b',
  'a >= b',
  "a in [5, 'critical', true, null]",
  "a in ['5']",
  "a contains 'rit'",
  "a startsWith 'crit'",
  "a contains '*'",
  "a startsWith 'a*b\\\\'",
  "a.b == 'critical'",
  'a.0 == 1',
  '(a > 1 && a < 1000) || a == true',
  '!(a == 5 || b == 5)',
  'true',
  'false',
];

describe('Choice rules keep the expression semantics (missing and mistyped values do not match)', () => {
  it.each(EXPRESSIONS)('%s', async (expression) => {
    const seen = await chooseAll(
      expression,
      VALUES.map(([, vars]) => vars),
    );
    VALUES.forEach(([label, vars], i) => {
      const expected = evaluateExpression(parseExpression(expression), vars);
      expect(seen[i], `${expression} with ${label}`).toBe(expected);
    });
  });
});

// ---- what ASL cannot express ----------------------------------------------------------------------

function workflow(steps: string, extra = ''): IrWorkflow {
  return irOf(
    `version: 1\nid: t\nname: T\ntriggers: [{ type: manual, minRole: member }]\n${extra}steps:\n${steps}`,
  );
}

function translateError(ir: IrWorkflow): TranslateError {
  try {
    emitAsl(ir);
  } catch (error) {
    if (error instanceof TranslateError) return error;
    throw error;
  }
  throw new Error('expected a TranslateError');
}

describe('TranslateError for what Step Functions cannot express', () => {
  it('refuses a timeout that is not whole seconds', () => {
    const error = translateError(workflow('  - { id: a, type: tool, tool: x, timeout: 1500ms }\n'));
    expect(error.code).toBe('aws.sub-second-duration');
    expect(error.path).toBe('/steps/0');
    expect(error.target).toBe('aws');
  });

  it('refuses a retry interval below one second', () => {
    const error = translateError(
      workflow('  - { id: a, type: tool, tool: x, retry: { maxAttempts: 2, interval: 500ms } }\n'),
    );
    expect(error.code).toBe('aws.sub-second-duration');
  });

  it("refuses a delay whose 'until' is not a single variable", () => {
    const error = translateError(
      workflow(
        "  - { id: a, type: delay, until: '{{day}}T09:00:00Z' }\n",
        'inputs: { type: object, properties: { day: { type: string } } }\n',
      ),
    );
    expect(error.code).toBe('aws.delay-until-template');
    expect(error.path).toBe('/steps/0');
  });

  it('compiles a branch that rewrites a variable set before the parallel (overlays, not copies, are joined)', () => {
    const ir = workflow(
      [
        '  - { id: first, type: tool, tool: x, output: shared }',
        '  - id: fan',
        '    type: parallel',
        '    branches:',
        '      - steps: [{ id: b1, type: tool, tool: y, output: shared }]',
        '      - steps: [{ id: b2, type: tool, tool: z }]',
        '',
      ].join('\n'),
    );
    expect(aslValidator(structuredClone(emitAsl(ir))).isValid).toBe(true);
  });
});
