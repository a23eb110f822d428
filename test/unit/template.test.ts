// `{{ path }}` templates: parsing strings and nested values, issue pointers and offsets, type-preserving
// resolution, and the guarantee that neither parsing nor resolving can pollute a prototype.

import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hasTemplate,
  type JsonValue,
  parseTemplate,
  parseTemplateString,
  resolveTemplate,
  type Template,
  templateRefs,
} from '../../translator/template.js';

// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal '$' before '{{' is the case under test.
const DOLLAR_AMOUNT = '${{amount}}';

const ref = (text: string, start: number) => ({
  kind: 'ref' as const,
  path: text.split('.'),
  start,
  end: start + text.length,
});

function parsed(text: string): Template {
  const result = parseTemplateString(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${result.issue.message}`);
  return result.template;
}

const render = (value: unknown, vars: unknown): JsonValue =>
  resolveTemplate(parseTemplate(value).template, vars);

function isJsonValue(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value !== 'object') return false;
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(isJsonValue);
}

describe('parseTemplateString', () => {
  it('keeps a string without braces as a constant', () => {
    expect(parsed('plain text } {')).toEqual({ kind: 'const', value: 'plain text } {' });
  });

  it('reads a string that is exactly one reference as a ref with the path offsets', () => {
    expect(parsed('{{trigger.user.email}}')).toEqual(ref('trigger.user.email', 2));
  });

  it('allows whitespace inside the braces', () => {
    expect(parsed('{{  amount\t}}')).toEqual(ref('amount', 4));
  });

  it('treats surrounding whitespace outside the braces as text, making a concat', () => {
    expect(parsed(' {{a}}')).toEqual({ kind: 'concat', parts: [{ kind: 'text', text: ' ' }, ref('a', 3)] });
  });

  it('treats a dollar sign before the braces as text', () => {
    expect(parsed(DOLLAR_AMOUNT)).toEqual({
      kind: 'concat',
      parts: [{ kind: 'text', text: '$' }, ref('amount', 3)],
    });
  });

  it('splits text and several references into parts', () => {
    expect(parsed('Hi {{ user.name }}, order {{order.0}}!')).toEqual({
      kind: 'concat',
      parts: [
        { kind: 'text', text: 'Hi ' },
        ref('user.name', 6),
        { kind: 'text', text: ', order ' },
        ref('order.0', 28),
        { kind: 'text', text: '!' },
      ],
    });
  });

  it('reads two adjacent references without an empty text part between them', () => {
    expect(parsed('{{a}}{{b}}')).toEqual({ kind: 'concat', parts: [ref('a', 2), ref('b', 7)] });
  });

  it('leaves a stray closing brace pair as text', () => {
    expect(parsed('{{a}}}} done')).toEqual({
      kind: 'concat',
      parts: [ref('a', 2), { kind: 'text', text: '}} done' }],
    });
  });

  it.each<[string, number, RegExp]>([
    ['hello {{name', 6, /unclosed '\{\{'/],
    ['{{a}} and {{', 10, /unclosed '\{\{'/],
    ['{{}}', 2, /expected a variable name/],
    ['{{   }}', 5, /expected a variable name/],
    ['{{ first name }}', 8, /unexpected whitespace in variable path/],
    ['{{a-b}}', 3, /unexpected character '-'/],
    ['{{0}}', 2, /must start with a name/],
    ['x {{__proto__}}', 4, /'__proto__' is not allowed in a variable path/],
    ['{{ a.constructor }}', 5, /'constructor' is not allowed/],
    ['{{a.prototype.x}}', 4, /'prototype' is not allowed/],
    ['{{ {{a}} }}', 3, /unexpected character '\{'/],
    ['{{a.}}', 4, /expected a name or index after '\.'/],
  ])('rejects %j at offset %i', (text, offset, message) => {
    const result = parseTemplateString(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issue.message).toMatch(message);
    expect(result.issue.offset).toBe(offset);
    expect(result.issue.pointer).toBe('');
  });
});

describe('hasTemplate', () => {
  it.each([
    ['{{a}}', true],
    ['x {{ unclosed', true],
    ['no braces', false],
    ['{ single }', false],
    ['}} only closing', false],
  ])('says %j contains a template: %s', (text, expected) => {
    expect(hasTemplate(text)).toBe(expected);
  });
});

describe('parseTemplate', () => {
  it('collapses a value without references into one constant', () => {
    const value = { a: [1, 'two', { b: null, c: true }], d: 'plain' };
    expect(parseTemplate(value)).toEqual({ template: { kind: 'const', value }, issues: [] });
  });

  it('keeps the constant independent of later changes to the input', () => {
    const value = { list: [1] };
    const { template } = parseTemplate(value);
    value.list.push(2);
    expect(template).toEqual({ kind: 'const', value: { list: [1] } });
  });

  it('builds object and array nodes only where references occur', () => {
    expect(parseTemplate({ to: '{{user.email}}', meta: { fixed: 1 }, tags: ['x', '{{tag}}'] })).toEqual({
      template: {
        kind: 'object',
        entries: [
          ['to', ref('user.email', 2)],
          ['meta', { kind: 'const', value: { fixed: 1 } }],
          [
            'tags',
            {
              kind: 'array',
              items: [
                { kind: 'const', value: 'x' },
                { kind: 'ref', path: ['tag'], start: 2, end: 5 },
              ],
            },
          ],
        ],
      },
      issues: [],
    });
  });

  it('never templates object keys', () => {
    expect(parseTemplate({ '{{key}}': 1 })).toEqual({
      template: { kind: 'const', value: { '{{key}}': 1 } },
      issues: [],
    });
  });

  it('reports a bad string with the JSON pointer of the value and the offset inside it', () => {
    expect(parseTemplate({ steps: [{ body: 'x {{a b}}' }] }).issues).toEqual([
      { message: 'unexpected whitespace in variable path', offset: 5, pointer: '/steps/0/body' },
    ]);
  });

  it('escapes ~ and / in pointers as RFC 6901 requires', () => {
    expect(parseTemplate({ 'a/b': { '~c': '{{' } }).issues).toEqual([
      { message: "unclosed '{{': expected '}}'", offset: 0, pointer: '/a~1b/~0c' },
    ]);
  });

  it('reports a bad top-level string with the empty pointer', () => {
    expect(parseTemplate('{{x').issues).toEqual([
      { message: "unclosed '{{': expected '}}'", offset: 0, pointer: '' },
    ]);
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'rejects the key %s and leaves it out of the template',
    (key) => {
      const { template, issues } = parseTemplate(JSON.parse(`{"${key}": {"polluted": true}, "ok": "{{a}}"}`));
      expect(issues).toEqual([
        { message: `key '${key}' is not allowed`, offset: 0, pointer: `/${key}`, atKey: true },
      ]);
      expect(template).toEqual({ kind: 'object', entries: [['ok', ref('a', 2)]] });
    },
  );

  it.each<[string, unknown, RegExp]>([
    ['a function', () => 1, /a function is not a JSON value/],
    ['undefined', undefined, /^undefined is not a JSON value/],
    ['a symbol', Symbol('s'), /a symbol is not a JSON value/],
    ['a bigint', 10n, /a bigint is not a JSON value/],
    ['NaN', Number.NaN, /NaN is not a JSON number/],
    ['Infinity', Number.POSITIVE_INFINITY, /Infinity is not a JSON number/],
    ['a Date', new Date(0), /only plain objects and arrays/],
    ['a Map', new Map(), /only plain objects and arrays/],
  ])('reports %s as an issue at its pointer', (_name, value, message) => {
    const { template, issues } = parseTemplate({ list: [value] });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(message);
    expect(issues[0]?.pointer).toBe('/list/0');
    expect(isJsonValue(resolveTemplate(template, {}))).toBe(true);
  });

  it('reports a hole in a sparse array', () => {
    const sparse: unknown[] = [];
    sparse[1] = 'x';
    expect(parseTemplate(sparse).issues).toEqual([
      { message: 'missing array item', offset: 0, pointer: '/0' },
    ]);
  });

  it('reports a getter instead of running it', () => {
    let calls = 0;
    const value = {
      get secret(): string {
        calls++;
        return '{{a}}';
      },
    };
    expect(parseTemplate(value).issues).toEqual([
      { message: 'a getter is not a JSON value', offset: 0, pointer: '/secret' },
    ]);
    expect(calls).toBe(0);
  });

  it('reports a value that contains itself instead of recursing forever', () => {
    const cyclic: { [key: string]: unknown } = { a: '{{x}}' };
    cyclic.self = cyclic;
    cyclic.again = cyclic;
    expect(parseTemplate(cyclic).issues).toEqual([
      { message: 'value contains itself', offset: 0, pointer: '/self' },
      { message: 'value contains itself', offset: 0, pointer: '/again' },
    ]);
  });

  it('reports nesting deeper than 64 levels instead of overflowing the stack', () => {
    let deep: unknown = '{{a}}';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    const { issues } = parseTemplate(deep);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/nested more than 64 levels/);
    expect(issues[0]?.pointer).toBe('/0'.repeat(64));
  });
});

describe('templateRefs', () => {
  it('lists every reference with its path, offsets and pointer, in document order', () => {
    const { template } = parseTemplate({ a: '{{x}}', b: [{ c: 'see {{ y.z }} and {{w}}' }], d: 'none' });
    expect(templateRefs(template)).toEqual([
      { path: ['x'], start: 2, end: 3, pointer: '/a' },
      { path: ['y', 'z'], start: 7, end: 10, pointer: '/b/0/c' },
      { path: ['w'], start: 20, end: 21, pointer: '/b/0/c' },
    ]);
  });

  it('finds nothing in a constant', () => {
    expect(templateRefs(parsed('no refs'))).toEqual([]);
  });
});

describe('resolveTemplate', () => {
  const vars = {
    amount: 900,
    ok: true,
    none: null,
    user: { name: 'Ada', tags: ['a', 'b'] },
    items: [{ id: 7 }],
  };

  it.each<[string, JsonValue]>([
    ['{{amount}}', 900],
    ['{{ok}}', true],
    ['{{none}}', null],
    ['{{user}}', { name: 'Ada', tags: ['a', 'b'] }],
    ['{{user.tags}}', ['a', 'b']],
    ['{{items.0.id}}', 7],
    ['{{missing}}', null],
    ['{{user.name.first}}', null],
  ])('gives the whole-string reference %s the value itself', (text, expected) => {
    expect(resolveTemplate(parsed(text), vars)).toEqual(expected);
  });

  it.each<[string, string]>([
    [DOLLAR_AMOUNT, '$900'],
    ['ok={{ok}}', 'ok=true'],
    ['[{{none}}]', '[]'],
    ['[{{missing}}]', '[]'],
    ['user: {{user}}', 'user: {"name":"Ada","tags":["a","b"]}'],
    ['tags: {{user.tags}}', 'tags: ["a","b"]'],
    ['{{user.name}} owes {{amount}}', 'Ada owes 900'],
    [' {{amount}}', ' 900'],
  ])('renders the embedded references of %s as %s', (text, expected) => {
    expect(resolveTemplate(parsed(text), vars)).toBe(expected);
  });

  it('resolves nested objects and arrays, keeping constants', () => {
    expect(
      render({ to: '{{user.name}}', lines: [{ total: '{{amount}}', note: 'EUR {{amount}}' }], n: 1 }, vars),
    ).toEqual({
      to: 'Ada',
      lines: [{ total: 900, note: 'EUR 900' }],
      n: 1,
    });
  });

  it('returns fresh values that share nothing with the variables or the template', () => {
    const template = parsed('{{user}}');
    const first = resolveTemplate(template, vars) as { tags: string[] };
    first.tags.push('mutated');
    expect(vars.user.tags).toEqual(['a', 'b']);
    const constant = parseTemplate({ fixed: [1] }).template;
    (resolveTemplate(constant, {}) as { fixed: number[] }).fixed.push(2);
    expect(resolveTemplate(constant, {})).toEqual({ fixed: [1] });
  });

  it('turns values JSON cannot hold into null and drops keys JSON would drop', () => {
    const odd = { f: () => 1, u: undefined, n: Number.NaN, big: 1n, list: [undefined, () => 1] };
    expect(resolveTemplate(parsed('{{odd}}'), { odd })).toEqual({ n: null, big: null, list: [null, null] });
    expect(resolveTemplate(parsed('{{odd.f}}'), { odd })).toBeNull();
  });

  it('cuts a cycle in the variables with null instead of recursing forever', () => {
    const cyclic: { [key: string]: unknown } = { name: 'loop' };
    cyclic.self = cyclic;
    expect(resolveTemplate(parsed('{{c}}'), { c: cyclic })).toEqual({ name: 'loop', self: null });
    expect(resolveTemplate(parsed('c={{c}}'), { c: cyclic })).toBe('c={"name":"loop","self":null}');
  });

  it('does not run getters in the variables', () => {
    let calls = 0;
    const user = {
      get name(): string {
        calls++;
        return 'x';
      },
    };
    expect(resolveTemplate(parsed('{{user.name}}'), { user })).toBeNull();
    expect(resolveTemplate(parsed('{{user}}'), { user })).toEqual({});
    expect(calls).toBe(0);
  });

  it('copies a __proto__ key of parsed JSON as a plain own key without changing any prototype', () => {
    const before = Object.getOwnPropertyNames(Object.prototype);
    const polluted = JSON.parse('{"__proto__": {"x": 1}}');
    const result = resolveTemplate(parsed('{{p}}'), { p: polluted }) as { [key: string]: unknown };
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(result.x).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(before);
  });

  it('builds an object node defensively even if a hand-made template has a __proto__ entry', () => {
    const template: Template = {
      kind: 'object',
      entries: [['__proto__', { kind: 'const', value: { polluted: 1 } }]],
    };
    const result = resolveTemplate(template, {}) as { [key: string]: unknown };
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result.polluted).toBeUndefined();
  });

  it('cannot reach a forbidden segment even in a hand-made template', () => {
    expect(resolveTemplate({ kind: 'ref', path: ['__proto__'], start: 0, end: 0 }, {})).toBeNull();
    expect(
      resolveTemplate({ kind: 'ref', path: ['a', 'constructor'], start: 0, end: 0 }, { a: {} }),
    ).toBeNull();
  });
});

const INJECTIONS = [
  '{{constructor}}',
  '{{__proto__}}',
  '{{a.__proto__.polluted}}',
  '{{ constructor.constructor }}',
  "constructor.constructor('return process')()",
  '\\u005f\\u005fproto\\u005f\\u005f',
  '{{\\u005f\\u005fproto\\u005f\\u005f}}',
  DOLLAR_AMOUNT,
  '{{',
  '}}',
  '{{a}}',
  '{{ a.b }}',
  '{{items.0}}',
  ' ',
  'text',
];
const templateTextArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.array(fc.constantFrom(...INJECTIONS), { maxLength: 8 }).map((parts) => parts.join('')),
);
const keyArb = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'polluted',
  'a',
  'b',
  'items',
  '0',
  'x/y~',
);
const hostileValueArb = fc.oneof(
  fc.anything({
    key: keyArb,
    values: [templateTextArb, fc.integer(), fc.boolean(), fc.constant(null)],
    withNullPrototype: true,
    withBoxedValues: true,
    withMap: true,
    withSet: true,
    withBigInt: true,
    withDate: true,
    withSparseArray: true,
  }),
  fc.constant(JSON.parse('{"__proto__": {"polluted": "{{a}}"}, "a": {"constructor": {"prototype": 1}}}')),
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

  it('parseTemplateString never throws and reports offsets inside the string', () => {
    fc.assert(
      fc.property(templateTextArb, (text) => {
        const result = parseTemplateString(text);
        if (!result.ok) expect(result.issue.offset >= 0 && result.issue.offset <= text.length).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('parseTemplate and resolveTemplate never throw and always produce plain JSON', () => {
    fc.assert(
      fc.property(hostileValueArb, hostileValueArb, (value, vars) => {
        const { template, issues } = parseTemplate(value);
        expect(Array.isArray(issues)).toBe(true);
        const result = resolveTemplate(template, vars);
        expect(isJsonValue(result)).toBe(true);
        expect(() => JSON.stringify(result)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets a forbidden segment into a reference', () => {
    fc.assert(
      fc.property(hostileValueArb, (value) => {
        for (const found of templateRefs(parseTemplate(value).template)) {
          expect(found.path.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype')).toBe(
            false,
          );
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('resolves any JSON value without braces to an equal copy of itself', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const { template, issues } = parseTemplate(value);
        fc.pre(issues.length === 0 && !JSON.stringify(value).includes('{{'));
        expect(resolveTemplate(template, {})).toEqual(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('renders a concat as the text parts joined with each rendered value', () => {
    const pieceArb = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => !s.includes('{') && !s.includes('}')),
      fc.constantFrom('{{n}}', '{{s}}', '{{missing}}', '{{o}}'),
    );
    const vars = { n: -1.5, s: 'str', o: { k: [true] } };
    const rendered = new Map([
      ['{{n}}', '-1.5'],
      ['{{s}}', 'str'],
      ['{{missing}}', ''],
      ['{{o}}', '{"k":[true]}'],
    ]);
    fc.assert(
      fc.property(fc.array(pieceArb, { minLength: 2, maxLength: 6 }), (pieces) => {
        const text = pieces.join('');
        fc.pre(parseTemplateString(text).ok && parsed(text).kind === 'concat');
        expect(resolveTemplate(parsed(text), vars)).toBe(pieces.map((p) => rendered.get(p) ?? p).join(''));
      }),
      { numRuns: 2000 },
    );
  });
});
