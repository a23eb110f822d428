// Conformance: every case of every template's scenario file observes the same on Azure Durable Functions
// (durable-functions replay harness) as on the embedded engine — the whole observation, not pass/fail.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile } from '../../testing/run-scenarios.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

describe.each(files)('%s on the azure target', (file) => {
  it('gives every case the observation the local target gives', async () => {
    const local = await runScenarioFile(join(templates, file), 'local');
    const azure = await runScenarioFile(join(templates, file), 'azure');
    expect(azure.problems).toEqual([]);
    expect(azure.cases.length).toBe(local.cases.length);
    expect(azure.cases.length).toBeGreaterThan(0);
    for (const [i, c] of azure.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
    expect(azure.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  });
});
