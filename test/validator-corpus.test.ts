// The validator against a corpus of hand-written definitions: every invalid fixture breaks one rule and
// says, in `# expect:` comments (or a sibling `.json.expect` file), the line:col, severity, code and
// message it must be reported with; every valid fixture is tricky but correct and must pass.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runValidate } from '../cli/validate-command.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const INVALID = join(FIXTURES, 'invalid');
const VALID = join(FIXTURES, 'valid');
const EXPECTATION = /^(\d+):(\d+) (error|warning) ([a-z][a-z-]*) (.+)$/;
const MIN_CORPUS_SIZE = 45;

interface Expectation {
  line: number;
  col: number;
  severity: 'error' | 'warning';
  code: string;
  message: string;
  /** The expectation as written, for failure messages. */
  source: string;
}

interface Fixture {
  name: string;
  file: string;
  text: string;
  expectations: Expectation[];
}

function definitionFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort();
}

function parseExpectation(source: string, where: string): Expectation {
  const match = EXPECTATION.exec(source);
  if (match === null) throw new Error(`${where}: malformed expectation '${source}'`);
  const [, line = '', col = '', severity = '', code = '', message = ''] = match;
  return {
    line: Number(line),
    col: Number(col),
    severity: severity === 'warning' ? 'warning' : 'error',
    code,
    message,
    source,
  };
}

/** `# expect:` lines at the top of a YAML fixture, or every line of the `.json.expect` sibling. */
function expectationLines(file: string, text: string): string[] {
  if (formatOf(file) === 'json') {
    const sibling = `${file}.expect`;
    if (!existsSync(sibling)) return [];
    return readFileSync(sibling, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
  }
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    if (line.startsWith('# expect: ')) lines.push(line.slice('# expect: '.length));
  }
  return lines;
}

function loadFixture(dir: string, name: string): Fixture {
  const file = join(dir, name);
  const text = readFileSync(file, 'utf8');
  const expectations = expectationLines(file, text).map((line) => parseExpectation(line, name));
  return { name, file, text, expectations };
}

async function validateThroughCli(file: string): Promise<{ exitCode: number; lines: string[] }> {
  const lines: string[] = [];
  const io = { out: (text: string) => lines.push(text), err: (text: string) => lines.push(text) };
  const exitCode = await runValidate([file], {}, io);
  return { exitCode, lines };
}

const invalidFixtures = definitionFiles(INVALID).map((name) => loadFixture(INVALID, name));
const validFixtures = definitionFiles(VALID).map((name) => loadFixture(VALID, name));

describe('the invalid corpus', () => {
  test(`has at least ${MIN_CORPUS_SIZE} definitions`, () => {
    expect(invalidFixtures.length).toBeGreaterThanOrEqual(MIN_CORPUS_SIZE);
  });

  test.each(invalidFixtures.map((f) => [f.name, f] as const))(
    '%s states at least one expectation',
    (_, f) => {
      expect(f.expectations.length).toBeGreaterThan(0);
    },
  );

  test.each(invalidFixtures.map((f) => [f.name, f] as const))(
    '%s fails validation with exit code 1 and prints every expected diagnostic',
    async (_, fixture) => {
      const { exitCode, lines } = await validateThroughCli(fixture.file);
      expect(exitCode).toBe(1);
      for (const e of fixture.expectations) {
        const prefix = `${fixture.file}:${e.line}:${e.col}: ${e.severity}: `;
        const printed = lines.find((line) => line.startsWith(prefix) && line.includes(e.message));
        expect(printed, `expected '${e.source}' among:\n${lines.join('\n')}`).toBeDefined();
      }
    },
  );

  test.each(invalidFixtures.map((f) => [f.name, f] as const))(
    '%s reports every expected diagnostic under its code',
    (_, fixture) => {
      const { diagnostics } = validateWorkflow(fixture.text, formatOf(fixture.file));
      for (const e of fixture.expectations) {
        const found = diagnostics.find(
          (d) =>
            d.code === e.code &&
            d.severity === e.severity &&
            d.line === e.line &&
            d.col === e.col &&
            d.message.includes(e.message),
        );
        expect(found, `expected '${e.source}' among:\n${JSON.stringify(diagnostics, null, 2)}`).toBeDefined();
      }
    },
  );

  test.each(invalidFixtures.map((f) => [f.name, f] as const))(
    '%s is reported without an internal error',
    (_, fixture) => {
      const { diagnostics } = validateWorkflow(fixture.text, formatOf(fixture.file));
      expect(diagnostics.filter((d) => d.code === 'internal-error')).toEqual([]);
    },
  );
});

describe('the valid corpus', () => {
  test('is not empty', () => {
    expect(validFixtures.length).toBeGreaterThan(0);
  });

  test.each(validFixtures.map((f) => [f.name, f] as const))(
    '%s passes validation with exit code 0',
    async (_, fixture) => {
      const { exitCode, lines } = await validateThroughCli(fixture.file);
      expect(exitCode, lines.join('\n')).toBe(0);
    },
  );

  test.each(validFixtures.map((f) => [f.name, f] as const))('%s has no error diagnostics', (_, fixture) => {
    const { valid, diagnostics, ir } = validateWorkflow(fixture.text, formatOf(fixture.file));
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(valid).toBe(true);
    expect(ir).toBeDefined();
  });
});
