// Conformance beyond the templates on Azure Durable Functions: the shared orchestrator over the compiled
// plan, hosted by the durable-functions replay harness (test/support/random-conformance.ts), with the
// harness's default stores and with stores a network round trip away (test/support/distant-stores.ts).
import { afterAll, expect } from 'vitest';
import { runCaseAzure } from '../../testing/run-azure.js';
import { distantStores } from '../support/distant-stores.js';
import { randomConformance } from '../support/random-conformance.js';

const distant = distantStores();

randomConformance('azure', runCaseAzure);
randomConformance('azure with distant stores', (ir, scenario, c) =>
  runCaseAzure(ir, scenario, c, { stores: distant.stores }),
);

afterAll(() => {
  // The random workflows went through the stores: approvals and the trail at least.
  expect(distant.calls.approvals).toBeGreaterThan(0);
  expect(distant.calls.audit).toBeGreaterThan(0);
});
