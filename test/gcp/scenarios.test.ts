// Conformance: every case of every template's scenario file observes the same on GCP Workflows (the
// compiled YAML in the test oracle interpreter) as on the embedded engine — the whole observation.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile } from '../../testing/run-scenarios.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

describe.each(files)('%s on the gcp target', (file) => {
  it('gives every case the observation the local target gives', async () => {
    const local = await runScenarioFile(join(templates, file), 'local');
    const gcp = await runScenarioFile(join(templates, file), 'gcp');
    expect(gcp.problems).toEqual([]);
    expect(gcp.cases.length).toBe(local.cases.length);
    expect(gcp.cases.length).toBeGreaterThan(0);
    for (const [i, c] of gcp.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
    expect(gcp.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  });
});
