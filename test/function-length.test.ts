// Functions a reader can hold in their head (issue 13): the lint refuses a function longer than 120 lines
// outside tests and benchmarks, checked here by linting planted functions through the repository's own
// configuration.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');
const CONFIGS = ['biome.json'];

/** A function of `lines` statements (plus its braces and return). */
function functionOf(lines: number): string {
  return `export function long(): number {\n  let n = 0;\n${'  n += 1;\n'.repeat(lines)}  return n;\n}\n`;
}

/**
 * The files biome refuses a function too long in, among `files` (path → source) linted under the
 * repository's configuration, in a folder of their own.
 */
function tooLong(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-lint-'));
  try {
    for (const config of CONFIGS) copyFileSync(join(ROOT, config), join(dir, config));
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    const result = spawnSync(BIOME, ['lint', '--vcs-enabled=false', '--reporter=github', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const found = [
      ...result.stdout.matchAll(/title=lint\/complexity\/noExcessiveLinesPerFunction,file=([^,]+),/g),
    ];
    return found.map((m) => relative(dir, m[1] ?? '')).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the length of functions', () => {
  it('is refused past 120 lines in product code, accepted up to it', () => {
    const found = tooLong({
      'functions/core/long.ts': functionOf(130),
      'translator/emit/gcp/long.ts': functionOf(130),
      'mcp-servers/long.ts': functionOf(130),
      'functions/core/short.ts': functionOf(100),
    });
    expect(found).toEqual(['functions/core/long.ts', 'mcp-servers/long.ts', 'translator/emit/gcp/long.ts']);
  });

  it('is not limited in tests and benchmarks, and is everywhere else', () => {
    const found = tooLong({
      'test/unit/long.test.ts': functionOf(130),
      'bench/long.ts': functionOf(130),
      'testing/run-gcp.ts': functionOf(130),
      'web/src/screens/long.tsx': functionOf(130),
    });
    expect(found).toEqual(['testing/run-gcp.ts', 'web/src/screens/long.tsx']);
  });
});
