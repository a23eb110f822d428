// Separation of duties on every target, stated as scenario files (test/fixtures/scenarios/): the
// requester is left out of the approvers and refused, a level left with nobody escalates at once, the last
// level fails Stepgate.NoApprovers, and allowSelfApproval lets the requester decide.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile, TARGETS } from '../../testing/run-scenarios.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'scenarios');
const files = ['separation-of-duties.test.yaml', 'self-approval.test.yaml'];

describe.each(TARGETS)('separation of duties on the %s target', (target) => {
  it.each(files)('%s: every case passes', async (file) => {
    const report = await runScenarioFile(join(dir, file), target);
    expect(report.problems).toEqual([]);
    expect(report.cases.length).toBeGreaterThan(0);
    expect(report.cases.filter((c) => !c.pass).map((c) => `${c.name}: ${c.failures.join('; ')}`)).toEqual([]);
  });
});
