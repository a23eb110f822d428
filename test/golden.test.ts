// Golden files: every template compiled to every target, byte for byte, through the same code path as
// `stepgate compile <file> --target <t> -o <dir>` (runCompile). The stored files live in
// test/golden/<template>/<target>/; a missing stored file, a stored file no longer emitted or a changed
// byte fails with the first differing line. `UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts`
// rewrites them. Compiling twice must give identical bytes (determinism).
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCompile } from '../cli/compile-command.js';
import { COMPILERS, type CompileTarget } from '../translator/emit/index.js';

const ROOT = join(import.meta.dirname, '..');
const TEMPLATES = join(ROOT, 'templates');
const GOLDEN = join(import.meta.dirname, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const HOW_TO_UPDATE =
  'If the change is intended, update them: UPDATE_GOLDEN=1 npx vitest run test/golden.test.ts';

const templates = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();
const targets = (Object.keys(COMPILERS) as CompileTarget[]).sort();
const cases = templates.flatMap((template) => targets.map((target) => ({ template, target })));

const scratch = mkdtempSync(join(tmpdir(), 'stepgate-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The files `stepgate compile <template> --target <target> -o <dir>` writes, by name. */
async function compile(template: string, target: CompileTarget, dir: string): Promise<Map<string, Buffer>> {
  const errors: string[] = [];
  const code = await runCompile(
    join(TEMPLATES, `${template}.yaml`),
    { target, out: dir },
    { out: () => {}, err: (text) => errors.push(text) },
  );
  if (code !== 0)
    throw new Error(`compiling ${template} to ${target} failed (exit ${code}):\n${errors.join('\n')}`);
  return readDir(dir);
}

function readDir(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir).sort()) files.set(name, readFileSync(join(dir, name)));
  return files;
}

/** Where two texts first differ, as `line N, column C` with both lines. */
function firstDifference(stored: string, compiled: string): string {
  const a = stored.split('\n');
  const b = compiled.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const left = a[i];
    const right = b[i];
    if (left === right) continue;
    let column = 0;
    while (left !== undefined && right !== undefined && left[column] === right[column]) column++;
    const show = (line: string | undefined): string =>
      line === undefined ? '<end of file>' : line.length > 200 ? `${line.slice(0, 200)}…` : line;
    return (
      `first difference at line ${i + 1}, column ${column + 1}:\n` +
      `  stored:   ${show(left)}\n  compiled: ${show(right)}\n            ${' '.repeat(Math.min(column, 200))}^`
    );
  }
  return 'the bytes differ but no line does (encoding?)';
}

describe('golden files (templates × targets)', () => {
  for (const { template, target } of cases)
    it(`${template} → ${target} matches test/golden/${template}/${target}`, async () => {
      const first = await compile(template, target, join(scratch, template, target, 'first'));
      const second = await compile(template, target, join(scratch, template, target, 'second'));
      expect([...second.keys()], 'compiling twice emits the same file names').toEqual([...first.keys()]);
      for (const [name, bytes] of first)
        expect(second.get(name)?.equals(bytes), `compiling twice gives identical bytes for ${name}`).toBe(
          true,
        );

      const dir = join(GOLDEN, template, target);
      if (UPDATE) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        for (const [name, bytes] of first) writeFileSync(join(dir, name), bytes);
      }

      const stored = readDir(dir);
      const problems: string[] = [];
      for (const [name, bytes] of first) {
        const path = relative(ROOT, join(dir, name));
        const golden = stored.get(name);
        if (golden === undefined) problems.push(`${path} is missing (the compiler emits it)`);
        else if (!golden.equals(bytes))
          problems.push(
            `${path} differs from the compiled output; ${firstDifference(golden.toString('utf8'), bytes.toString('utf8'))}`,
          );
      }
      for (const name of stored.keys())
        if (!first.has(name))
          problems.push(`${relative(ROOT, join(dir, name))} is stored but no longer emitted (delete it)`);
      if (problems.length > 0) expect.fail(`${problems.join('\n')}\n${HOW_TO_UPDATE}`);
    });

  it('stores no golden files for templates or targets that no longer exist', () => {
    const stale: string[] = [];
    for (const template of existsSync(GOLDEN) ? readdirSync(GOLDEN) : []) {
      if (!templates.includes(template)) {
        stale.push(`test/golden/${template}`);
        continue;
      }
      for (const target of readdirSync(join(GOLDEN, template)))
        if (!(targets as string[]).includes(target)) stale.push(`test/golden/${template}/${target}`);
    }
    if (UPDATE) for (const path of stale) rmSync(join(ROOT, path), { recursive: true, force: true });
    else if (stale.length > 0) expect.fail(`stale golden folders: ${stale.join(', ')}\n${HOW_TO_UPDATE}`);
  });
});
