// Conformance: every case of every template's scenario file observes the same on Azure Durable Functions
// (durable-functions replay harness) as on the embedded engine — the whole observation, not pass/fail —
// with the harness's default stores and with stores a network round trip away (test/support/
// distant-stores.ts), as the Azure Table and Blob adapters are.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaseAzure } from '../../testing/run-azure.js';
import { runScenarioFile, runScenarioFileWith } from '../../testing/run-scenarios.js';
import { distantStores } from '../support/distant-stores.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));
const distant = distantStores();

afterAll(() => {
  // The cases went through the stores (no template returns a result large enough for the result store:
  // test/azure/distant-stores.test.ts covers it).
  expect(distant.calls.approvals).toBeGreaterThan(0);
  expect(distant.calls.audit).toBeGreaterThan(0);
});

describe.each(files)('%s on the azure target', (file) => {
  it('gives every case the observation the local target gives, with near and distant stores', async () => {
    const local = await runScenarioFile(join(templates, file), 'local');
    const azure = await runScenarioFile(join(templates, file), 'azure');
    const far = await runScenarioFileWith(join(templates, file), (ir, scenario, c) =>
      runCaseAzure(ir, scenario, c, { stores: distant.stores }),
    );
    for (const report of [azure, far]) {
      expect(report.problems).toEqual([]);
      expect(report.cases.length).toBe(local.cases.length);
      expect(report.cases.length).toBeGreaterThan(0);
      for (const [i, c] of report.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
      expect(report.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
    }
  });
});
