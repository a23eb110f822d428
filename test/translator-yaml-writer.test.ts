// The dedicated YAML writer (translator/emit/yaml-writer.ts) against the `yaml` package it replaces in the
// GCP compiler: byte-identical to `stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })` for the
// document of every template, every valid fixture, the 200 random workflows, the generated 1,000-step
// definition (with and without the run-end wrapper), and a seeded fuzz of awkward scalars placed as map
// values, sequence items and keys at several depths. Each real document must be written by the writer
// itself (no whole-document fallback), so the identity is the writer's, not yaml's.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateYaml } from '../bench/generate.js';
import { TranslateError } from '../translator/emit/errors.js';
import { gcpWorkflowDocument } from '../translator/emit/gcp-workflows.js';
import { writeYaml, type YamlWriterStats } from '../translator/emit/yaml-writer.js';
import type { IrWorkflow } from '../translator/ir.js';
import { validateWorkflow } from '../translator/validate.js';
import { RANDOM_SEEDS } from './support/random-conformance.js';
import { randomWorkflow, seededRng } from './support/random-workflow.js';

const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;
const ROOT = join(import.meta.dirname, '..');

function stats(): YamlWriterStats {
  return { delegatedScalars: 0, wholeDocument: false };
}

/** Writes the GCP document of `ir` both ways; false when GCP refuses the workflow. */
function expectIdentical(ir: IrWorkflow, reportEnd = false): boolean {
  let doc: Record<string, unknown>;
  try {
    doc = gcpWorkflowDocument(ir, { reportEnd }).doc;
  } catch (error) {
    if (error instanceof TranslateError) return false;
    throw error;
  }
  const s = stats();
  const written = writeYaml(doc, s);
  expect(written).toBe(stringify(doc, OPTIONS));
  expect(s.wholeDocument).toBe(false);
  return true;
}

function irOf(text: string, format?: 'yaml' | 'json'): IrWorkflow {
  const result = validateWorkflow(text, format);
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics.slice(0, 3)));
  return result.ir;
}

describe('the YAML writer is byte-identical to yaml.stringify for compiled GCP documents', () => {
  const templates = readdirSync(join(ROOT, 'templates')).filter(
    (f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'),
  );
  it.for(templates)('template %s (with and without the run-end wrapper)', (file) => {
    const ir = irOf(readFileSync(join(ROOT, 'templates', file), 'utf8'));
    expect(expectIdentical(ir)).toBe(true);
    expect(expectIdentical(ir, true)).toBe(true);
  });

  const fixtures = readdirSync(join(ROOT, 'test/fixtures/valid'));
  it.for(fixtures)('valid fixture %s', (file) => {
    const text = readFileSync(join(ROOT, 'test/fixtures/valid', file), 'utf8');
    expectIdentical(irOf(text, file.endsWith('.json') ? 'json' : 'yaml'));
  });

  it('the 200 random workflows', () => {
    let compiled = 0;
    for (const seed of RANDOM_SEEDS) if (expectIdentical(irOf(randomWorkflow(seed).yaml))) compiled++;
    expect(compiled).toBeGreaterThan(RANDOM_SEEDS.length * 0.75);
  });

  it('the generated 1,000-step definition', () => {
    const ir = irOf(generateYaml(1_000), 'yaml');
    expect(expectIdentical(ir)).toBe(true);
    expect(expectIdentical(ir, true)).toBe(true);
  });
});

const AWKWARD = [
  '',
  ' ',
  '  ',
  'a',
  '-',
  '?',
  ':',
  '#',
  '- a',
  '? a',
  ': a',
  'a:',
  'a: b',
  'a :b',
  'a #b',
  'a#b',
  '#a',
  'a ',
  ' a',
  '~',
  'null',
  'Null',
  'NULL',
  'nULL',
  'true',
  'True',
  'TRUE',
  'tRue',
  'false',
  'no',
  'yes',
  'on',
  'off',
  'y',
  'n',
  '0',
  '-0',
  '+1',
  '12',
  '012',
  '0o17',
  '0o8',
  '0x1F',
  '0xG',
  '1.5',
  '.5',
  '5.',
  '1e3',
  '1E-3',
  '.inf',
  '-.Inf',
  '+.INF',
  '.nan',
  '.NaN',
  'NaN',
  'Infinity',
  '1_000',
  '1,000',
  '[a]',
  '{a}',
  'a,b',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '!a',
  '|',
  '>',
  "'",
  '"',
  "it's",
  'say "hi"',
  `both ' and "`,
  '%a',
  '@a',
  '`a',
  '---',
  '--- a',
  '...',
  '..',
  '-a',
  '?a',
  'a\nb',
  'a\n',
  '\na',
  'a\n\n',
  'a\n\nb\n',
  ' a\nb',
  'a \nb',
  'a\n b',
  '\n',
  '\n\n',
  'a\tb',
  '\ta',
  'a\t',
  'a\rb',
  'a\u0000b',
  'a\u0007',
  '\u001b[0m',
  '\u007f',
  '\u0085',
  '\u00a0',
  'a\u00a0',
  '\u2028',
  'a\u2029b',
  '\ufeff',
  'é',
  'naïve café',
  '日本語',
  '😀',
  '\ud800',
  'a\udc00',
  // GCP expressions, as the compiler writes them.
  '$' + '{x}',
  '$' + '{a: b}',
  '$' + '{"#"}',
  'http://x/y?z=1#f',
  'C:\\path',
  'back\\slash',
  '"quoted"',
  "'single'",
  '{"a":1}',
  "{'a':1}",
  '[1, 2]',
  'x'.repeat(2000),
  `${'y '.repeat(600)}z`,
  '# not a comment',
  'a\n---\nb',
  'a\n...\n',
  '%YAML 1.2',
  'a'.repeat(1100),
  '=',
  '<<',
  '-.5',
  '+',
  '.',
];

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

/** A random nest of maps and sequences whose leaves and keys are awkward strings and odd numbers. */
function awkwardTree(rng: () => number, depth: number): unknown {
  const roll = rng();
  if (depth >= 4 || roll < 0.45) {
    const leaf = rng();
    if (leaf < 0.75) return pick(rng, AWKWARD);
    return pick(rng, [0, -0, 1, -1, 1.5, 1e21, 1e-7, 2 ** 53, -2.5e-300, null, true, false, {}, []]);
  }
  const size = Math.floor(rng() * 4);
  if (roll < 0.7) return Array.from({ length: size }, () => awkwardTree(rng, depth + 1));
  const map: Record<string, unknown> = {};
  for (let i = 0; i < size; i++)
    map[rng() < 0.5 ? `k${i}` : pick(rng, AWKWARD)] = awkwardTree(rng, depth + 1);
  return map;
}

describe('the YAML writer on awkward scalars', () => {
  it('each awkward string as a value at depths 1-4 and as a sequence item, identical to yaml', () => {
    const s = stats();
    for (const value of AWKWARD) {
      const doc = { a: value, b: [value, [value]], c: { d: { e: value, f: [{ g: value }] } } };
      expect(writeYaml(doc, s), JSON.stringify(value)).toBe(stringify(doc, OPTIONS));
    }
    expect(s.wholeDocument).toBe(false);
    expect(s.delegatedScalars).toBeGreaterThan(0);
  });

  it('each awkward string as a key, identical to yaml (whole-document fallback where the writer is unsure)', () => {
    for (const key of AWKWARD) {
      const doc = { top: { [key]: 1 }, list: [{ [key]: { x: key } }] };
      expect(writeYaml(doc), JSON.stringify(key)).toBe(stringify(doc, OPTIONS));
    }
  });

  it('2,000 seeded random trees of awkward keys and values, identical to yaml', () => {
    const rng = seededRng(18);
    let handled = 0;
    for (let i = 0; i < 2_000; i++) {
      const doc = { root: awkwardTree(rng, 0), list: [awkwardTree(rng, 1), awkwardTree(rng, 2)] };
      const s = stats();
      expect(writeYaml(doc, s), `tree ${i}`).toBe(stringify(doc, OPTIONS));
      if (!s.wholeDocument) handled++;
    }
    expect(handled).toBeGreaterThan(1_000);
  });

  it('roots, empty collections, undefined values and non-plain objects, identical to yaml', () => {
    const docs: unknown[] = [
      {},
      [],
      [[]],
      [{}],
      { a: {} },
      { a: [] },
      { a: undefined, b: 1 },
      { a: { b: undefined } },
      [1, undefined],
      [null],
      { a: null },
      'plain',
      'a\nb',
      42,
      null,
      { d: new Date(0) },
      { m: new Map([['a', 1]]) },
      [[[1, 2], [3]], { a: [[{ b: [] }]] }],
    ];
    for (const doc of docs) expect(writeYaml(doc), JSON.stringify(doc)).toBe(stringify(doc, OPTIONS) ?? '');
  });
});
