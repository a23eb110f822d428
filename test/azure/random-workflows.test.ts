// Conformance beyond the templates on Azure Durable Functions: the shared orchestrator over the compiled
// plan, hosted by the durable-functions replay harness (test/support/random-conformance.ts), with the run's
// stores the Azure adapters on Azurite as the Functions app composes them (test/support/azure-case-stores.ts),
// each case's stores checked against what went through them when it ends.
import { afterAll, beforeAll, expect } from 'vitest';
import { runCaseAzure } from '../../testing/run-azure.js';
import { type AzuriteCaseStores, azuriteCaseStores } from '../support/azure-case-stores.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import { randomConformance } from '../support/random-conformance.js';

let azurite: Azurite | undefined;
let azure: AzuriteCaseStores | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
  azure = azuriteCaseStores(azurite);
}, 60_000);

randomConformance(
  'azure',
  async (ir, scenario, c) => {
    const stores = azure?.stores;
    if (stores === undefined) throw new Error('Azurite is not running');
    const seen = await runCaseAzure(ir, scenario, c, { stores });
    const problems = azure?.problems ?? [];
    if (problems.length > 0) throw new Error(`the stores committed otherwise:\n${problems.join('\n')}`);
    return seen;
  },
  { concurrent: true },
);

afterAll(async () => {
  await azurite?.stop();
  // The random workflows went through the stores: decisions, the trail, the tool stages and the runs' ends.
  for (const count of ['batches', 'decisions', 'stages', 'ends'] as const)
    expect(azure?.calls[count], count).toBeGreaterThan(0);
});
