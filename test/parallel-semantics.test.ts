// The parallel step's semantics, stated as scenario files with explicit expectations
// (test/fixtures/scenarios/parallel-*.test.yaml) and checked on every target: branches work on their own
// copies of the variables, the join commits the completed branches' results in branch order, a branch's
// `error` stays its own, a failed parallel commits nothing, every branch starts (runs to its first wait)
// before the parallel can be decided, and cancelled branches commit nothing.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile, TARGETS } from '../testing/run-scenarios.js';

const dir = join(import.meta.dirname, 'fixtures', 'scenarios');
const files = readdirSync(dir).filter((f) => f.startsWith('parallel-') && f.endsWith('.test.yaml'));

describe.each(TARGETS)('parallel semantics on the %s target', (target) => {
  it.each(files)('%s: every case passes', async (file) => {
    const report = await runScenarioFile(join(dir, file), target);
    expect(report.problems).toEqual([]);
    expect(report.cases.length).toBeGreaterThan(0);
    expect(report.cases.filter((c) => !c.pass).map((c) => `${c.name}: ${c.failures.join('; ')}`)).toEqual([]);
  });
});
