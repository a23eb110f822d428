// Property tests of the validator on hostile input: random bytes, and random structural edits of the four
// seed templates re-serialised as YAML and JSON. Whatever the text, validation must not throw, must agree
// with itself, must place every diagnostic on a real line and column, and must never touch Object.prototype.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { type SourceFormat, validateWorkflow } from '../translator/validate.js';

const TEMPLATES_DIR = fileURLToPath(new URL('../templates', import.meta.url));
const TARGET_KEYS = ['next', 'then', 'else', 'onError', 'onReject', 'onTimeout'] as const;
/** The jump keys each step type accepts. */
const TARGET_KEYS_OF: Readonly<Record<string, readonly string[]>> = {
  tool: ['next', 'onError'],
  notify: ['next', 'onError'],
  parallel: ['next', 'onError'],
  condition: ['next', 'then', 'else'],
  approval: ['next', 'onReject', 'onTimeout'],
  delay: ['next'],
};

// Sized so the whole file stays well under 20 s on a slow two-core machine.
const RUNS = { bytes: 1000, mutations: 400, corruptions: 200 } as const;

interface Template {
  name: string;
  text: string;
  tree: unknown;
}

const templates: Template[] = readdirSync(TEMPLATES_DIR)
  .filter((name) => name.endsWith('.yaml') && !name.endsWith('.test.yaml'))
  .sort()
  .map((name) => {
    const text = readFileSync(join(TEMPLATES_DIR, name), 'utf8');
    return { name, text, tree: parse(text) as unknown };
  });

// ---------------------------------------------------------------------------------------------------------
// The properties every validation result must have.

function prototypeNames(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}

function expectSoundValidation(text: string, format: SourceFormat): void {
  const prototypeBefore = prototypeNames();
  const result = validateWorkflow(text, format);
  const lineCount = text.split('\n').length;

  expect(result.valid).toBe(!result.diagnostics.some((d) => d.severity === 'error'));
  for (const d of result.diagnostics) {
    expect(d.line, d.message).toBeGreaterThanOrEqual(1);
    expect(d.line, d.message).toBeLessThanOrEqual(lineCount);
    expect(d.col, d.message).toBeGreaterThanOrEqual(1);
    expect(d.message.trim()).not.toBe('');
    expect(d.message).not.toContain('\n    at ');
    expect(d.code, d.message).not.toBe('internal-error');
  }
  if (result.valid) {
    expect(result.ir).toBeDefined();
    const again = validateWorkflow(text, format);
    expect(JSON.stringify(again.ir)).toBe(JSON.stringify(result.ir));
  }
  expect(prototypeNames()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------------------
// Structural edits of a parsed definition. Every edit picks its target by an index taken modulo the number
// of candidates, so any generated edit applies to any tree.

type Container = Record<string, unknown> | unknown[];
interface Slot {
  container: Container;
  key: string | number;
}
type StepRef = { existing: number } | string;

type Edit =
  | { kind: 'delete-key'; pick: number }
  | { kind: 'replace-value'; pick: number; value: unknown }
  | { kind: 'duplicate-step'; pick: number; at: number; byReference: boolean }
  | { kind: 'copy-step'; pick: number; at: number }
  | { kind: 'rename-step'; pick: number; id: StepRef }
  | { kind: 'retarget'; pick: number; key: (typeof TARGET_KEYS)[number]; to: StepRef }
  | { kind: 'rewire'; pick: number; which: number; to: StepRef }
  | { kind: 'extend-template'; pick: number; text: string }
  | { kind: 'hostile-key'; pick: number; key: string; value: unknown }
  | { kind: 'hostile-string'; pick: number; text: string; append: boolean }
  | { kind: 'rename-key'; pick: number; name: string }
  | { kind: 'deep-nest'; pick: number; depth: number; asList: boolean }
  | { kind: 'weird-number'; pick: number; value: number };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

function readSlot({ container, key }: Slot): unknown {
  return Array.isArray(container) ? container[Number(key)] : container[String(key)];
}

/** Writes an own property even for `__proto__`, where assignment would replace the prototype instead. */
function defineOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function writeSlot({ container, key }: Slot, value: unknown): void {
  if (Array.isArray(container)) container[Number(key)] = value;
  else defineOwn(container, String(key), value);
}

function walk(root: unknown, visit: (value: unknown, slot: Slot | undefined) => void): void {
  const seen = new Set<unknown>();
  const go = (value: unknown, slot: Slot | undefined): void => {
    visit(value, slot);
    if (!isContainer(value) || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) go(item, { container: value, key: index });
    } else {
      for (const key of Object.keys(value)) go(value[key], { container: value, key });
    }
  };
  go(root, undefined);
}

function slots(root: unknown, filter: (value: unknown, slot: Slot) => boolean = () => true): Slot[] {
  const found: Slot[] = [];
  walk(root, (value, slot) => {
    if (slot !== undefined && filter(value, slot)) found.push(slot);
  });
  return found;
}

function records(root: unknown): Record<string, unknown>[] {
  const found: Record<string, unknown>[] = [];
  walk(root, (value) => {
    if (isRecord(value)) found.push(value);
  });
  return found;
}

function stepLists(root: unknown): unknown[][] {
  const found: unknown[][] = [];
  for (const record of records(root)) {
    const steps = record.steps;
    if (Array.isArray(steps)) found.push(steps);
  }
  return found;
}

function steps(root: unknown): Record<string, unknown>[] {
  return stepLists(root).flatMap((list) => list.filter(isRecord));
}

function chosen<T>(items: readonly T[], pick: number): T | undefined {
  return items.length === 0 ? undefined : items[pick % items.length];
}

function resolveStepRef(root: unknown, ref: StepRef): string {
  if (typeof ref === 'string') return ref;
  const ids = steps(root)
    .map((step) => step.id)
    .filter((id): id is string => typeof id === 'string');
  return chosen(ids, ref.existing) ?? 'end';
}

function nest(depth: number, asList: boolean): unknown {
  let value: unknown = '{{__proto__.polluted}}';
  for (let i = 0; i < depth; i++) value = asList ? [value] : { nested: value };
  return value;
}

function renameKey(record: Record<string, unknown>, from: string, to: string): void {
  const entries = Object.keys(record).map((key) => [key === from ? to : key, record[key]] as const);
  for (const key of Object.keys(record)) delete record[key];
  for (const [key, value] of entries) defineOwn(record, key, value);
}

function applyEdit(root: unknown, edit: Edit): void {
  switch (edit.kind) {
    case 'delete-key': {
      const slot = chosen(
        slots(root, (_, s) => !Array.isArray(s.container)),
        edit.pick,
      );
      if (slot !== undefined && isRecord(slot.container)) delete slot.container[String(slot.key)];
      return;
    }
    case 'replace-value': {
      const slot = chosen(slots(root), edit.pick);
      if (slot !== undefined) writeSlot(slot, edit.value);
      return;
    }
    case 'duplicate-step': {
      const list = chosen(stepLists(root), edit.pick);
      const step = list === undefined ? undefined : chosen(list, edit.at);
      if (list === undefined || step === undefined) return;
      list.splice(edit.at % (list.length + 1), 0, edit.byReference ? step : structuredClone(step));
      return;
    }
    case 'copy-step': {
      const list = chosen(stepLists(root), edit.pick);
      const step = list === undefined ? undefined : chosen(list, edit.at);
      if (list === undefined || !isRecord(step)) return;
      const copy = structuredClone(step);
      copy.id = `${String(step.id)}_${edit.at % 1000}`;
      list.splice(edit.at % (list.length + 1), 0, copy);
      return;
    }
    case 'rename-step': {
      const step = chosen(steps(root), edit.pick);
      if (step !== undefined) step.id = resolveStepRef(root, edit.id);
      return;
    }
    case 'retarget': {
      const step = chosen(steps(root), edit.pick);
      if (step !== undefined) defineOwn(step, edit.key, resolveStepRef(root, edit.to));
      return;
    }
    case 'rewire': {
      const step = chosen(steps(root), edit.pick);
      const key = chosen(TARGET_KEYS_OF[String(step?.type)] ?? [], edit.which);
      if (step !== undefined && key !== undefined) defineOwn(step, key, resolveStepRef(root, edit.to));
      return;
    }
    case 'extend-template': {
      const slot = chosen(
        slots(root, (value) => typeof value === 'string' && value.includes('{{')),
        edit.pick,
      );
      const before = slot === undefined ? undefined : readSlot(slot);
      if (slot !== undefined && typeof before === 'string') writeSlot(slot, `${before} ${edit.text}`);
      return;
    }
    case 'hostile-key': {
      const record = chosen(records(root), edit.pick);
      if (record !== undefined) defineOwn(record, edit.key, edit.value);
      return;
    }
    case 'hostile-string': {
      const slot = chosen(
        slots(root, (value) => typeof value === 'string'),
        edit.pick,
      );
      if (slot === undefined) return;
      const before = readSlot(slot);
      writeSlot(slot, edit.append && typeof before === 'string' ? `${before}${edit.text}` : edit.text);
      return;
    }
    case 'rename-key': {
      const slot = chosen(
        slots(root, (_, s) => !Array.isArray(s.container)),
        edit.pick,
      );
      if (slot !== undefined && isRecord(slot.container))
        renameKey(slot.container, String(slot.key), edit.name);
      return;
    }
    case 'deep-nest': {
      const slot = chosen(slots(root), edit.pick);
      if (slot !== undefined) writeSlot(slot, nest(edit.depth, edit.asList));
      return;
    }
    case 'weird-number': {
      const slot = chosen(slots(root), edit.pick);
      if (slot !== undefined) writeSlot(slot, edit.value);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries.

const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
  'valueOf',
);
const hostileText = fc.constantFrom(
  '{{__proto__}}',
  '{{constructor.constructor}}',
  '{{__proto__.x}}',
  '{{ a.__proto__.b }}',
  '{{prototype}}',
  '{{toString}}',
  '{{hasOwnProperty}}',
  '{{trigger.constructor}}',
  '{{trigger.user.__proto__}}',
  '{{',
  '}}{{',
  '{{}}',
  '{{ }}',
  '{{a..b}}',
  '{{0}}',
  '{{a.01}}',
  'role:__proto__',
  'group:constructor',
  '__proto__',
  'constructor',
  'end',
  '$end',
  "amount > 500 && constructor == 'x'",
  '((((((((((((((((((((a))))))))))))))))))))',
);
const unicodeText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    '\uD800',
    '\uDFFF',
    '\u202E',
    '\uFEFF',
    '\u2028',
    '\u0085',
    'İ',
    'ß',
    '😀',
    '\r\n',
    '\t',
  ),
);
const weirdNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
    -0,
    2 ** 64,
    Number.POSITIVE_INFINITY,
    Number.NaN,
  ),
);
const stepRef: fc.Arbitrary<StepRef> = fc.oneof(
  fc.record({ existing: fc.nat() }),
  fc.constantFrom('end', 'trigger', '__proto__', 'constructor', '$end', ''),
  fc.string({ maxLength: 12 }),
  unicodeText,
);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileText, unicodeText, weirdNumber);

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete-key' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace-value' as const), pick: fc.nat(), value: anyValue }),
  fc.record({
    kind: fc.constant('duplicate-step' as const),
    pick: fc.nat(),
    at: fc.nat(),
    byReference: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('rename-step' as const), pick: fc.nat(), id: stepRef }),
  fc.record({
    kind: fc.constant('retarget' as const),
    pick: fc.nat(),
    key: fc.constantFrom(...TARGET_KEYS),
    to: stepRef,
  }),
  fc.record({ kind: fc.constant('hostile-key' as const), pick: fc.nat(), key: hostileKey, value: anyValue }),
  fc.record({
    kind: fc.constant('hostile-string' as const),
    pick: fc.nat(),
    text: fc.oneof(hostileText, unicodeText),
    append: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('rename-key' as const),
    pick: fc.nat(),
    name: fc.oneof(hostileKey, unicodeText),
  }),
  fc.record({
    kind: fc.constant('deep-nest' as const),
    pick: fc.nat(),
    depth: fc.integer({ min: 1, max: 200 }),
    asList: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('weird-number' as const), pick: fc.nat(), value: weirdNumber }),
);

/** Edits that keep the definition's shape, so the result usually reaches the graph and variable checks. */
const stepIdLike = fc.oneof(
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
  fc.constantFrom('trigger', 'run', 'error', 'end', 'in', 'amount'),
);
const shapeKeepingEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('copy-step' as const), pick: fc.nat(), at: fc.nat() }),
  fc.record({
    kind: fc.constant('rename-step' as const),
    pick: fc.nat(),
    id: fc.oneof(fc.record({ existing: fc.nat() }), stepIdLike),
  }),
  fc.record({
    kind: fc.constant('rewire' as const),
    pick: fc.nat(),
    which: fc.nat(),
    to: fc.oneof(fc.record({ existing: fc.nat() }), fc.constant('end'), stepIdLike),
  }),
  fc.record({
    kind: fc.constant('extend-template' as const),
    pick: fc.nat(),
    text: fc.oneof(
      hostileText,
      stepIdLike.map((id) => `{{${id}}}`),
      fc.constantFrom('{{error.message}}', '{{trigger.user.mail}}', '{{run.id}}', '{{trigger.user.email}}'),
    ),
  }),
);

function editedTemplate(edits: fc.Arbitrary<Edit>): fc.Arbitrary<unknown> {
  return fc
    .record({
      template: fc.constantFrom(...templates),
      edits: fc.array(edits, { minLength: 1, maxLength: 6 }),
    })
    .map(({ template, edits: chosenEdits }) => {
      const tree = structuredClone(template.tree);
      for (const e of chosenEdits) applyEdit(tree, e);
      return tree;
    });
}

const mutatedTemplate = fc.oneof(editedTemplate(edit), editedTemplate(shapeKeepingEdit));

/** Text-level damage to a template: a span replaced by characters that matter to YAML. */
const corruptedTemplate = fc
  .record({
    template: fc.constantFrom(...templates),
    at: fc.nat(),
    removed: fc.nat({ max: 40 }),
    inserted: fc.string({
      unit: fc.constantFrom(...':-[]{}#&*!|>\'"%@`,?\n\t {}\\'.split(''), 'a', '0', 'é'),
      maxLength: 8,
    }),
  })
  .map(({ template, at, removed, inserted }) => {
    const start = at % (template.text.length + 1);
    return template.text.slice(0, start) + inserted + template.text.slice(start + removed);
  });

// ---------------------------------------------------------------------------------------------------------

describe('validateWorkflow on arbitrary text', () => {
  test('the four templates are valid, so mutations start from a valid definition', () => {
    expect(templates).toHaveLength(4);
    for (const template of templates) expect(validateWorkflow(template.text).valid, template.name).toBe(true);
  });

  test('random bytes decoded as UTF-8 give sound results as YAML and as JSON', () => {
    const decoder = new TextDecoder('utf-8');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const text = decoder.decode(bytes);
        expectSoundValidation(text, 'yaml');
        expectSoundValidation(text, 'json');
      }),
      { numRuns: RUNS.bytes },
    );
  });

  test('random binary strings give sound results as YAML and as JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 512 }), (text) => {
        expectSoundValidation(text, 'yaml');
        expectSoundValidation(text, 'json');
      }),
      { numRuns: RUNS.bytes },
    );
  });

  test('templates with text-level damage give sound results', () => {
    fc.assert(
      fc.property(corruptedTemplate, (text) => expectSoundValidation(text, 'yaml')),
      { numRuns: RUNS.corruptions },
    );
  });
});

describe('validateWorkflow on structurally mutated templates', () => {
  test('gives sound results when the mutation is written as YAML', () => {
    fc.assert(
      fc.property(mutatedTemplate, (tree) => expectSoundValidation(stringify(tree), 'yaml')),
      { numRuns: RUNS.mutations },
    );
  });

  test('gives sound results when the mutation is written as JSON', () => {
    fc.assert(
      fc.property(mutatedTemplate, (tree) => expectSoundValidation(JSON.stringify(tree, null, 2), 'json')),
      { numRuns: RUNS.mutations },
    );
  });
});
