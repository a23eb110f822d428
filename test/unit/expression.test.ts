// Condition expressions: the grammar, its error messages and offsets, the evaluation semantics that every
// cloud target must reproduce, canonical formatting, and resistance to hostile input.

import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Expr,
  ExpressionSyntaxError,
  evaluateExpression,
  expressionPaths,
  formatExpression,
  type Literal,
  type Operand,
  parseExpression,
  tryParseExpression,
} from '../../translator/expression.js';

const path = (text: string, start: number): Operand & { kind: 'path' } => ({
  kind: 'path',
  path: text.split('.'),
  start,
  end: start + text.length,
});
const lit = (value: Literal): Operand => ({ kind: 'literal', value });

function parseError(source: string): ExpressionSyntaxError {
  try {
    parseExpression(source);
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(source)} not to parse`);
}

function withoutPositions(expr: Expr): unknown {
  return JSON.parse(
    JSON.stringify(expr, (key, value) => (key === 'start' || key === 'end' ? undefined : value)),
  );
}

const evaluate = (source: string, vars: unknown): boolean =>
  evaluateExpression(parseExpression(source), vars);

describe('parseExpression', () => {
  it.each<[string, Expr]>([
    ['amount > 500', { kind: 'compare', op: '>', left: path('amount', 0), right: lit(500) }],
    [
      "severity == 'critical'",
      { kind: 'compare', op: '==', left: path('severity', 0), right: lit('critical') },
    ],
    [
      "department == 'engineering' && amount >= 1000",
      {
        kind: 'and',
        left: { kind: 'compare', op: '==', left: path('department', 0), right: lit('engineering') },
        right: { kind: 'compare', op: '>=', left: path('amount', 31), right: lit(1000) },
      },
    ],
    ['!(approved)', { kind: 'not', operand: path('approved', 2) }],
    ["region in ['eu', 'us']", { kind: 'in', value: path('region', 0), list: ['eu', 'us'] }],
    ["title contains 'urgent'", { kind: 'contains', value: path('title', 0), pattern: 'urgent' }],
    ["name startsWith 'a'", { kind: 'startsWith', value: path('name', 0), pattern: 'a' }],
    ['x != null', { kind: 'compare', op: '!=', left: path('x', 0), right: lit(null) }],
    [
      "trigger.user.role == 'manager'",
      { kind: 'compare', op: '==', left: path('trigger.user.role', 0), right: lit('manager') },
    ],
    [
      'process_payment.id != null',
      { kind: 'compare', op: '!=', left: path('process_payment.id', 0), right: lit(null) },
    ],
    ['a > b', { kind: 'compare', op: '>', left: path('a', 0), right: path('b', 4) }],
    ['true', lit(true)],
    ['approved', path('approved', 0)],
    ['items.0 == 1', { kind: 'compare', op: '==', left: path('items.0', 0), right: lit(1) }],
    ['x in []', { kind: 'in', value: path('x', 0), list: [] }],
    ['500 < amount', { kind: 'compare', op: '<', left: lit(500), right: path('amount', 6) }],
  ])('parses %s into the expected tree', (source, expected) => {
    expect(parseExpression(source)).toEqual(expected);
  });

  it('ignores whitespace between tokens, including newlines and tabs', () => {
    expect(withoutPositions(parseExpression('\n\tamount>500&&ok\n'))).toEqual(
      withoutPositions(parseExpression('amount > 500 && ok')),
    );
  });

  it('binds && tighter than ||', () => {
    expect(parseExpression('a || b && c')).toEqual({
      kind: 'or',
      left: path('a', 0),
      right: { kind: 'and', left: path('b', 5), right: path('c', 10) },
    });
  });

  it('groups a chain of && to the left', () => {
    expect(withoutPositions(parseExpression('a && b && c'))).toEqual(
      withoutPositions({
        kind: 'and',
        left: { kind: 'and', left: path('a', 0), right: path('b', 0) },
        right: path('c', 0),
      }),
    );
  });

  it('binds ! tighter than && and lets parentheses override precedence', () => {
    expect(withoutPositions(parseExpression('!a && (b || c)'))).toEqual(
      withoutPositions({
        kind: 'and',
        left: { kind: 'not', operand: path('a', 0) },
        right: { kind: 'or', left: path('b', 0), right: path('c', 0) },
      }),
    );
  });

  it('applies ! to a whole comparison', () => {
    expect(withoutPositions(parseExpression('!a == 1'))).toEqual(
      withoutPositions({
        kind: 'not',
        operand: { kind: 'compare', op: '==', left: path('a', 0), right: lit(1) },
      }),
    );
  });

  it.each<[string, Literal]>([
    ['-3', -3],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ['0', 0],
    ["'it\\'s'", "it's"],
    ['"say \\"hi\\""', 'say "hi"'],
    ["'a\\\\b'", 'a\\b'],
    ["'line\\nnext\\ttab'", 'line\nnext\ttab'],
    ["'\\u00e9\\u005F'", 'é_'],
    ['"it\'s"', "it's"],
    ['false', false],
    ['null', null],
  ])('reads the literal %s', (source, value) => {
    expect(parseExpression(`x == ${source}`)).toMatchObject({ right: { kind: 'literal', value } });
  });

  it('reads -0 as 0 so the tree stays deterministic', () => {
    const expr = parseExpression('x == -0');
    expect(expr).toMatchObject({ right: { value: 0 } });
    expect(Object.is((expr as { right: { value: number } }).right.value, -0)).toBe(false);
  });

  it.each<[string, number, RegExp]>([
    ["x == 'abc", 5, /^unterminated string$/],
    ["x == 'abc\\'", 5, /^unterminated string$/],
    ['amount >', 8, /^unexpected end of expression/],
    ['amount => 5', 7, /unknown operator '=>'/],
    ['a = 1', 2, /unknown operator '='/],
    ['a === 1', 2, /unknown operator '==='/],
    ['a & b', 2, /unknown operator '&'/],
    ['a | b', 2, /unknown operator '\|'/],
    ['1 == 2', 0, /compare a variable with a value/],
    ["'a' != 'b'", 0, /compare a variable with a value/],
    ['1 in [1]', 0, /compare a variable with a value/],
    ['title contains 5', 15, /expected a string after 'contains', found '5'/],
    ['title startsWith other', 17, /expected a string after 'startsWith'/],
    ["'a' contains 'b'", 0, /'contains' needs a variable on its left/],
    ['__proto__ == 1', 0, /'__proto__' is not allowed in a variable path/],
    ['constructor.constructor', 0, /'constructor' is not allowed in a variable path/],
    ['a.prototype == 1', 2, /'prototype' is not allowed in a variable path/],
    ['x == a.__proto__.polluted', 7, /'__proto__' is not allowed/],
    ['in == 1', 0, /'in' is a keyword/],
    ['contains', 0, /'contains' is a keyword/],
    ['null.x == 1', 0, /'null' is a keyword/],
    ['amount foo', 7, /^expected an operator after 'amount', found 'foo'$/],
    ['a == 1 b', 7, /expected '&&', '\|\|' or the end of the expression after '1', found 'b'/],
    ['a)', 1, /unmatched '\)'/],
    ['(a', 2, /expected '\)'/],
    ['(a) == 1', 4, /found '=='/],
    ['', 0, /^unexpected end of expression/],
    ['   ', 3, /^unexpected end of expression/],
    ['a &&', 4, /^unexpected end of expression/],
    ['x in [1,]', 8, /expected a value in the list/],
    ['x in [1 2]', 8, /expected ',' or '\]'/],
    ['x in 1', 5, /expected '\[' after 'in'/],
    ['x in [y]', 6, /expected a value in the list, found 'y'/],
    ['a.b..c', 4, /expected a name or index after '\.'/],
    ['a.1x == 1', 2, /not a valid name or index/],
    ['a.01 == 1', 2, /leading zeros/],
    ['5abc', 0, /invalid number '5abc'/],
    ['x == 1.', 5, /invalid number/],
    ['x == 007', 5, /invalid number/],
    ['x == 1e999', 5, /too large/],
    ["x == 'bad \\q'", 10, /invalid escape '\\q'/],
    ["x == '\\u12'", 6, /invalid \\u escape/],
    ['a # b', 2, /unexpected character '#'/],
    ['a == 😀', 5, /unexpected character '😀'/],
    ['a == !b', 5, /expected a value or variable after '==', found '!'/],
  ])('rejects %j at offset %i', (source, offset, message) => {
    const error = parseError(source);
    expect(error.message).toMatch(message);
    expect(error.offset).toBe(offset);
  });

  it('reports the first problem in source order, not a later lexical one', () => {
    expect(parseError("a b 'unterminated").offset).toBe(2);
  });

  it('accepts 64 levels of nesting', () => {
    expect(() => parseExpression(`${'('.repeat(32)}${'!'.repeat(32)}a${')'.repeat(32)}`)).not.toThrow();
  });

  it('rejects a 65th level of nesting with a syntax error at the offending token', () => {
    expect(parseError(`${'!'.repeat(65)}a`).offset).toBe(64);
    expect(parseError(`${'('.repeat(65)}a${')'.repeat(65)}`).message).toMatch(/nested more than 64 levels/);
  });

  it('rejects 200-deep parentheses as a syntax error rather than overflowing the stack', () => {
    const error = parseError(`${'('.repeat(200)}a${')'.repeat(200)}`);
    expect(error).toBeInstanceOf(ExpressionSyntaxError);
    expect(error.offset).toBe(64);
  });

  it('parses, evaluates, formats and walks a 100 000-term chain without overflowing the stack', () => {
    const source = Array.from({ length: 100_000 }, (_, i) => `v${i % 7}`).join(' && ');
    const expr = parseExpression(source);
    const vars = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`v${i}`, true]));
    expect(evaluateExpression(expr, vars)).toBe(true);
    expect(evaluateExpression(expr, { ...vars, v3: false })).toBe(false);
    expect(formatExpression(expr)).toBe(source);
    expect(expressionPaths(expr)).toHaveLength(100_000);
  });

  it('throws an ExpressionSyntaxError named after its class', () => {
    const error = parseError('a >');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ExpressionSyntaxError');
  });
});

describe('tryParseExpression', () => {
  it('returns the tree when the source parses', () => {
    expect(tryParseExpression('a > 1')).toEqual({ ok: true, expr: parseExpression('a > 1') });
  });

  it('returns the message and offset instead of throwing', () => {
    expect(tryParseExpression('amount => 5')).toEqual({
      ok: false,
      message: "unknown operator '=>'; use '==' to compare",
      offset: 7,
    });
  });
});

describe('evaluateExpression', () => {
  it.each<[string, string, unknown, boolean]>([
    ['a missing variable is null', 'x == null', {}, true],
    ['a missing variable is not "not null"', 'x != null', {}, false],
    ['a present zero is not null', 'x != null', { x: 0 }, true],
    ['an explicit null equals null', 'x == null', { x: null }, true],
    ['a missing nested variable is null', 'a.b.c == null', { a: 1 }, true],
    ['a string never equals a number', "x == '5'", { x: 5 }, false],
    ['a number never equals a string', 'x == 5', { x: '5' }, false],
    ['false never equals 0', 'x == 0', { x: false }, false],
    ['true never equals the string "true"', "x == 'true'", { x: true }, false],
    ['null never equals false', 'x == false', { x: null }, false],
    ['numbers compare numerically', 'x == 1000', { x: 1e3 }, true],
    ['-0 equals 0', 'x == 0', { x: -0 }, true],
    ['equal strings are equal', "x == 'eu'", { x: 'eu' }, true],
    ['two paths with equal scalars are equal', 'a == b', { a: 'x', b: 'x' }, true],
    ['objects are never equal to each other', 'a == b', { a: {}, b: {} }, false],
    ['an object is not equal to itself', 'a == a', { a: { k: 1 } }, false],
    ['an array is not equal to itself', 'a == a', { a: [1] }, false],
    ['!= is the negation of == for objects', 'a != a', { a: { k: 1 } }, true],
    ['!= is the negation of == across types', "x != '5'", { x: 5 }, true],
    ['numbers order numerically', 'a < b', { a: 2, b: 10 }, true],
    ['strings order by UTF-16 code units', 'a < b', { a: 'B', b: 'a' }, true],
    ['digit strings order as strings', 'a < b', { a: '2', b: '10' }, false],
    ['an astral character sorts before U+FFFF', 'a < b', { a: '😀', b: '\uFFFF' }, true],
    ['<= holds for equal numbers', 'a <= 5', { a: 5 }, true],
    ['>= holds for equal strings', "a >= 'm'", { a: 'm' }, true],
    ['> between a string and a number is false', 'x > 5', { x: '10' }, false],
    ['< between a string and a number is false', 'x < 5', { x: '1' }, false],
    ['null < 1 is false', 'x < 1', { x: null }, false],
    ['a missing variable is neither less nor greater', 'x < 1 || x >= 1', {}, false],
    ['booleans are not ordered', 'x >= false', { x: true }, false],
    ['two nulls are not ordered', 'a <= b', {}, false],
    ['arrays are not ordered', 'a > 0', { a: [1] }, false],
    ['a bare true variable is true', 'ok', { ok: true }, true],
    ['a bare string "true" is not true', 'ok', { ok: 'true' }, false],
    ['a bare 1 is not true', 'ok', { ok: 1 }, false],
    ['a bare missing variable is not true', 'ok', {}, false],
    ['the literal true is true', 'true', {}, true],
    ['the literal false is false', 'false', {}, false],
    ['a bare number literal is not true', '1', {}, false],
    ['! of a non-boolean is true', '!x', { x: 'yes' }, true],
    ['! of a missing variable is true', '!x', {}, true],
    ['! of true is false', '!x', { x: true }, false],
    ['&& needs boolean true on both sides', 'a && b', { a: true, b: 1 }, false],
    ['&& of two trues is true', 'a && b', { a: true, b: true }, true],
    ['|| is false when neither side is boolean true', 'a || b', { a: 'true', b: false }, false],
    ['|| is true when one side is true', 'a || b', { a: 'true', b: true }, true],
    ['precedence decides a || b && c', 'a || b && c', { a: true, b: false, c: false }, true],
    ['in finds an equal number', "x in [1, '2']", { x: 1 }, true],
    ['in finds an equal string', "x in [1, '2']", { x: '2' }, true],
    ['in does not convert types', "x in [1, '2']", { x: '1' }, false],
    ['in does not match true with 1', 'x in [1]', { x: true }, false],
    ['in matches null with a missing variable', 'x in [null]', {}, true],
    ['in never matches an array', 'x in [1]', { x: [1] }, false],
    ['in with an empty list is false', 'x in []', { x: 1 }, false],
    ['contains finds a substring', "t contains 'urgent'", { t: 'very urgent!' }, true],
    ['contains is case-sensitive', "t contains 'urgent'", { t: 'URGENT' }, false],
    ['contains is false for an array holding the string', "t contains 'urgent'", { t: ['urgent'] }, false],
    ['contains is false for a missing variable', "t contains ''", {}, false],
    ['startsWith matches a prefix', "n startsWith 'al'", { n: 'alice' }, true],
    ['startsWith does not match elsewhere', "n startsWith 'li'", { n: 'alice' }, false],
    ['startsWith is false for a number', "n startsWith '5'", { n: 55 }, false],
    ['an empty prefix matches any string', "n startsWith ''", { n: 'x' }, true],
    ['array items are reached by index', "items.1 == 'b'", { items: ['a', 'b'] }, true],
    ['an array length is not reachable', 'items.length == null', { items: [1, 2] }, true],
    ['a string length is not reachable', 's.length == null', { s: 'abc' }, true],
    ['inherited properties are not reachable', 'toString == null', {}, true],
    ['object keys that look like indexes are reachable', "m.0 == 'zero'", { m: { '0': 'zero' } }, true],
  ])('%s: %s', (_rule, source, vars, expected) => {
    expect(evaluate(source, vars)).toBe(expected);
  });

  it('does not read inherited properties of the variables', () => {
    const vars = Object.create({ approved: true }) as object;
    expect(evaluate('approved', vars)).toBe(false);
  });

  it('does not run getters in the variables', () => {
    let calls = 0;
    const vars = {
      get approved(): boolean {
        calls++;
        return true;
      },
    };
    expect(evaluate('approved', vars)).toBe(false);
    expect(calls).toBe(0);
  });

  it('treats a throwing Proxy in the variables as missing', () => {
    const hostile = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error('trap');
        },
      },
    );
    expect(evaluate('a.b == null', { a: hostile })).toBe(true);
  });

  it('treats non-JSON scalars as never equal', () => {
    expect(
      evaluateExpression({ kind: 'compare', op: '==', left: path('a', 0), right: path('a', 0) }, { a: 1n }),
    ).toBe(false);
  });
});

describe('expressionPaths', () => {
  it('lists every path operand in source order', () => {
    const paths = expressionPaths(parseExpression("!(a.b > c) || d in [1] && e contains 'x' && 5 == f"));
    expect(paths.map((p) => p.path.join('.'))).toEqual(['a.b', 'c', 'd', 'e', 'f']);
    expect(paths[0]).toEqual(path('a.b', 2));
  });

  it('returns nothing for an expression of literals only', () => {
    expect(expressionPaths(parseExpression('true || false'))).toEqual([]);
  });
});

describe('formatExpression', () => {
  it.each([
    ['!(approved)', '!approved'],
    ['a||b&&c', 'a || b && c'],
    ['(a || b) && c', '(a || b) && c'],
    ['a && (b && c)', 'a && (b && c)'],
    ['a || (b || c)', 'a || (b || c)'],
    ['(a && b) || c', 'a && b || c'],
    ['!(a && b)', '!(a && b)'],
    ['x in[ 1,"two" ,null ]', "x in [1, 'two', null]"],
    ['t contains "it\'s"', "t contains 'it\\'s'"],
    ["x == 'a\\nb\\u0001'", "x == 'a\\nb\\u0001'"],
    ['x == 1e3', 'x == 1000'],
  ])('writes %s canonically as %s', (source, canonical) => {
    expect(formatExpression(parseExpression(source))).toBe(canonical);
  });
});

// Valid trees: comparisons always involve a variable and paths avoid keywords and forbidden segments.
const KEYWORDS = new Set([
  'true',
  'false',
  'null',
  'in',
  'contains',
  'startsWith',
  'constructor',
  'prototype',
]);
const nameArb = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/)
  .filter((n) => !KEYWORDS.has(n) && n !== '__proto__');
const segmentArb = fc.oneof(nameArb, fc.nat({ max: 20 }).map(String));
const pathArb = fc
  .tuple(nameArb, fc.array(segmentArb, { maxLength: 3 }))
  .map(([head, rest]): Operand & { kind: 'path' } => ({
    kind: 'path',
    path: [head, ...rest],
    start: 0,
    end: 0,
  }));
const numberArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
);
const literalArb: fc.Arbitrary<Literal> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  numberArb,
  fc.boolean(),
  fc.constant(null),
);
const literalOperandArb = literalArb.map((value): Operand => ({ kind: 'literal', value }));
const operandArb: fc.Arbitrary<Operand> = fc.oneof(pathArb, literalOperandArb);
const compareOpArb = fc.constantFrom('==', '!=', '<', '<=', '>', '>=') as fc.Arbitrary<
  '==' | '!=' | '<' | '<=' | '>' | '>='
>;
const leafArb: fc.Arbitrary<Expr> = fc.oneof(
  operandArb,
  fc.record({ kind: fc.constant('compare' as const), op: compareOpArb, left: pathArb, right: operandArb }),
  fc.record({
    kind: fc.constant('compare' as const),
    op: compareOpArb,
    left: literalOperandArb,
    right: pathArb,
  }),
  fc.record({
    kind: fc.constant('in' as const),
    value: pathArb,
    list: fc.array(literalArb, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constantFrom('contains' as const, 'startsWith' as const),
    value: pathArb,
    pattern: fc.string({ unit: 'binary', maxLength: 6 }),
  }),
);
const { expr: exprArb } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 8, depthIdentifier: 'expr' },
    leafArb,
    fc.record({ kind: fc.constant('not' as const), operand: tie('expr') }),
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      left: tie('expr'),
      right: tie('expr'),
    }),
  ),
}));
const varsArb = fc.dictionary(nameArb, fc.oneof(literalArb, fc.array(literalArb), fc.jsonValue()), {
  maxKeys: 8,
});

describe('formatExpression round trip (property)', () => {
  it('re-parses its output to the same tree', () => {
    fc.assert(
      fc.property(exprArb, (expr) => {
        expect(withoutPositions(parseExpression(formatExpression(expr)))).toEqual(withoutPositions(expr));
      }),
      { numRuns: 3000 },
    );
  });

  it('is a fixed point: formatting a re-parsed expression gives the same text', () => {
    fc.assert(
      fc.property(exprArb, (expr) => {
        const text = formatExpression(expr);
        expect(formatExpression(parseExpression(text))).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it('evaluates the re-parsed expression exactly like the original', () => {
    fc.assert(
      fc.property(exprArb, varsArb, (expr, vars) => {
        expect(evaluateExpression(parseExpression(formatExpression(expr)), vars)).toBe(
          evaluateExpression(expr, vars),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('lists the same paths before and after the round trip', () => {
    fc.assert(
      fc.property(exprArb, (expr) => {
        const paths = (e: Expr) => expressionPaths(e).map((p) => p.path);
        expect(paths(parseExpression(formatExpression(expr)))).toEqual(paths(expr));
      }),
      { numRuns: 1000 },
    );
  });
});

const INJECTIONS = [
  '__proto__',
  '__proto__.polluted',
  'constructor',
  'constructor.constructor',
  "constructor.constructor('return process')()",
  'prototype',
  '{{constructor}}',
  '\\u005f\\u005fproto\\u005f\\u005f',
  "'\\u005f\\u005fproto\\u005f\\u005f'",
  'a.__proto__.polluted',
  'polluted',
  'this',
  'globalThis.process',
  '`x`',
  'require("fs")',
  ';',
  '=>',
];
const TOKENS = [
  'a',
  'b.c',
  'items.0',
  '(',
  ')',
  '!',
  '&&',
  '||',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  '[',
  ']',
  ',',
  "'x'",
  '"y"',
  '1',
  '-2.5',
  '1e3',
  'true',
  'false',
  'null',
  'contains',
  'startsWith',
  "'",
  '\\',
  ...INJECTIONS,
];
const tokenSoupArb = fc
  .array(fc.constantFrom(...TOKENS), { maxLength: 14 })
  .chain((tokens) => fc.constantFrom(tokens.join(' '), tokens.join('')));
const hostileSourceArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  tokenSoupArb,
  tokenSoupArb,
);
const hostileVarsArb = fc.oneof(
  fc.anything({
    key: fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'a', 'b', 'c', 'items', '0'),
    withNullPrototype: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withBigInt: true,
    withDate: true,
    withSparseArray: true,
  }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": true}, "a": {"__proto__": {"polluted": 1}}}')),
);

describe('hostile input (property)', () => {
  let prototypeKeys: string[] = [];
  beforeAll(() => {
    prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
  });
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys);
  });

  it('parseExpression throws nothing but ExpressionSyntaxError, with an offset inside the source', () => {
    fc.assert(
      fc.property(hostileSourceArb, (source) => {
        try {
          parseExpression(source);
        } catch (error) {
          expect(error).toBeInstanceOf(ExpressionSyntaxError);
          const { offset } = error as ExpressionSyntaxError;
          expect(Number.isInteger(offset) && offset >= 0 && offset <= source.length).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('tryParseExpression never throws and agrees with parseExpression', () => {
    fc.assert(
      fc.property(hostileSourceArb, (source) => {
        const result = tryParseExpression(source);
        if (result.ok) expect(result.expr).toEqual(parseExpression(source));
        else expect(() => parseExpression(source)).toThrow(result.message);
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets a forbidden segment into a parsed path', () => {
    fc.assert(
      fc.property(hostileSourceArb, (source) => {
        const result = tryParseExpression(source);
        if (!result.ok) return;
        for (const operand of expressionPaths(result.expr)) {
          expect(
            operand.path.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype'),
          ).toBe(false);
          expect(source.slice(operand.start, operand.end)).toBe(operand.path.join('.'));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('evaluateExpression returns a boolean for any parsed expression and any variables', () => {
    fc.assert(
      fc.property(fc.oneof(tokenSoupArb, exprArb.map(formatExpression)), hostileVarsArb, (source, vars) => {
        const result = tryParseExpression(source);
        if (result.ok) expect(typeof evaluateExpression(result.expr, vars)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a __proto__ key of parsed JSON variables as missing, not as the prototype', () => {
    const vars = JSON.parse('{"__proto__": {"polluted": true}}');
    expect(evaluate('polluted', vars)).toBe(false);
    expect(evaluate('toString == null', vars)).toBe(true);
  });
});
