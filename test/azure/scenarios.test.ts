// Conformance: every case of every template's scenario file observes the same on Azure Durable Functions
// (durable-functions replay harness) as on the embedded engine — the whole observation, not pass/fail — with
// the run's stores the Azure adapters on Azurite, as the Functions app composes them (test/support/
// azure-case-stores.ts: approvals and the trail on Table Storage, large results on Blob Storage, the run's
// record kept), each case's stores checked against what went through them when it ends.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCaseAzure } from '../../testing/run-azure.js';
import { runScenarioFile, runScenarioFileWith } from '../../testing/run-scenarios.js';
import { type AzuriteCaseStores, azuriteCaseStores } from '../support/azure-case-stores.js';
import { type Azurite, startAzurite } from '../support/azurite.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

let azurite: Azurite | undefined;
let azure: AzuriteCaseStores | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
  azure = azuriteCaseStores(azurite);
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
  // The cases went through the stores (no template returns a result large enough for the result store:
  // test/azure/harness-stores.test.ts covers it).
  for (const count of ['batches', 'decisions', 'refusals', 'stages', 'ends'] as const)
    expect(azure?.calls[count], count).toBeGreaterThan(0);
});

// The files at once: a case waits on Azurite most of its time.
describe('the templates on the azure target', () => {
  it.concurrent.for(files)(
    '%s: every case observes what the local target does, on the Azure stores',
    async (file, { expect }) => {
      const stores = azure?.stores;
      if (stores === undefined) throw new Error('Azurite is not running');
      const local = await runScenarioFile(join(templates, file), 'local');
      const azureReport = await runScenarioFileWith(join(templates, file), (ir, scenario, c) =>
        runCaseAzure(ir, scenario, c, { stores }),
      );
      expect(azureReport.problems).toEqual([]);
      expect(azureReport.cases.length).toBe(local.cases.length);
      expect(azureReport.cases.length).toBeGreaterThan(0);
      for (const [i, c] of azureReport.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
      expect(azureReport.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
      expect(azure?.problems).toEqual([]);
    },
  );
});
