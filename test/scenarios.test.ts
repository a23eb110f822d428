// The templates' scenario files, run on the embedded engine the way `stepgate test` runs them.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile } from '../testing/run-scenarios.js';

const templates = join(import.meta.dirname, '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

describe.each(files)('%s on the local target', (file) => {
  it('runs every case and each matches its expectations', async () => {
    const report = await runScenarioFile(join(templates, file), 'local');
    expect(report.problems).toEqual([]);
    expect(report.cases.length).toBeGreaterThan(0);
    const failing = report.cases
      .filter((c) => !c.pass)
      .map((c) => `${c.name}:\n  ${c.failures.join('\n  ')}`);
    expect(failing).toEqual([]);
  });
});

it('has a scenario file for every template', () => {
  const workflows = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));
  expect(files.map((f) => f.replace('.test.yaml', '.yaml')).sort()).toEqual(workflows.sort());
});
