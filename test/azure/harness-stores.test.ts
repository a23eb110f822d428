// The Azure replay harness (testing/run-azure.ts) on the Azure stores on Azurite (test/support/
// azure-case-stores.ts), beyond what the conformance suites check: a tool result over the inline limit goes
// to Blob Storage and the run holds its reference, observed as on the embedded engine but for where the
// result lives; the `record` batches delivered twice at once (activities are at-least-once) leave the trail
// as one delivery does; and the run's record ends as the run did, its trail holding one `run.started`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureRunAudit } from '../../adapters/azure/audit.js';
import { AzureRunStore } from '../../adapters/azure/run-store.js';
import type { RecordBatch } from '../../functions/azure/activities.js';
import { RESULT_INLINE_LIMIT_BYTES, type ResultRef } from '../../functions/core/protocol.js';
import { type AzureCaseStoresFactory, runCaseAzure } from '../../testing/run-azure.js';
import { runCaseLocal } from '../../testing/run-local.js';
import type { Scenario } from '../../testing/scenario.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type AzuriteCaseStores, azuriteCaseStores } from '../support/azure-case-stores.js';
import { type Azurite, startAzurite } from '../support/azurite.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

function fresh(): AzuriteCaseStores {
  if (azurite === undefined) throw new Error('Azurite is not running');
  return azuriteCaseStores(azurite);
}

const WORKFLOW = `version: 1
id: big-results
name: Big results
triggers: [{ type: manual, minRole: member }]
steps:
  - { id: fetch, type: tool, tool: export }
  - id: ask
    type: approval
    approvers: [bob@example.com]
  - id: tell
    type: notify
    channel: email
    to: ops@example.com
    message: "{{fetch.bytes}} bytes at {{fetch.uri}}"
`;

const rows = Array.from({ length: 800 }, (_, i) => ({ id: i, name: `row ${i} ✓` }));
const scenario: Scenario = {
  workflow: 'big-results.yaml',
  directory: [
    { email: 'alice@example.com', role: 'member', groups: [] },
    { email: 'bob@example.com', role: 'manager', groups: [] },
  ],
  cases: [
    {
      name: 'a result over the inline limit is stored and referenced',
      as: 'alice@example.com',
      steps: { fetch: { result: { rows } } },
      approvals: { ask: [{ by: 'bob@example.com', decision: 'approve', after: '1m' }] },
      expect: { status: 'completed' },
    },
  ],
};

describe('the Azure harness on the Azure stores', () => {
  const ir = validateWorkflow(WORKFLOW).ir;
  const c = scenario.cases[0];
  if (ir === undefined || c === undefined) throw new Error('invalid test workflow');

  it('stores a large result in Blob Storage and observes what the embedded engine does but its uri', async () => {
    expect(Buffer.byteLength(JSON.stringify({ rows }))).toBeGreaterThan(RESULT_INLINE_LIMIT_BYTES);
    const azure = fresh();
    const seen = await runCaseAzure(ir, scenario, c, { stores: azure.stores });
    const local = await runCaseLocal(ir, scenario, c);
    const stored = seen.vars.fetch as unknown as ResultRef;
    const kept = local.vars.fetch as unknown as ResultRef;
    const container = await azure.container();
    expect(stored.uri.startsWith(`${container.url}/results/`)).toBe(true);
    expect(kept.uri.startsWith('sqlite:')).toBe(true);
    expect(JSON.parse(JSON.stringify(seen).replaceAll(stored.uri, kept.uri))).toEqual(local);
    expect(seen.notifications[0]?.message).toContain(stored.uri);
    const blobs: string[] = [];
    for await (const blob of container.listBlobsFlat()) blobs.push(blob.name);
    expect(blobs).toHaveLength(1);
    expect(JSON.parse((await container.getBlobClient(blobs[0] ?? '').downloadToBuffer()).toString())).toEqual(
      { rows },
    );
    expect(azure.calls).toMatchObject({ results: 1, decisions: 1, ends: 1 });
    expect(azure.problems).toEqual([]);
  });

  it('keeps the trail and the record as one delivery does when every batch is delivered twice at once', async () => {
    const azure = fresh();
    const twice: AzureCaseStoresFactory = async (clock) => {
      const stores = await azure.stores(clock);
      const once = stores.audit.append;
      const append = async (batch: RecordBatch) => void (await Promise.all([once(batch), once(batch)]));
      return { ...stores, audit: { ...stores.audit, append } };
    };
    const seen = await runCaseAzure(ir, scenario, c, { stores: twice });
    expect(seen).toEqual(await runCaseAzure(ir, scenario, c, { stores: azure.stores }));
    expect(seen.status).toBe('completed');
    const [tables] = azure.tables;
    if (tables === undefined) throw new Error('no case ran');
    const runId = 'run-a-result-over-the-inline-limit-is-stored-and-referenced';
    const trail = new AzureRunAudit(tables);
    const types = (await trail.list(runId)).map((r) => r.type);
    expect(types.filter((t) => t === 'run.started')).toHaveLength(1);
    expect(types.filter((t) => t === 'approval.decision')).toHaveLength(1);
    expect(types.at(-1)).toBe('run.finished');
    expect(await new AzureRunStore(tables, trail).get(runId)).toMatchObject({
      status: 'completed',
      pathOutcome: { kind: 'approved', step: 'ask', by: 'bob@example.com' },
    });
    expect(azure.problems).toEqual([]);
  });
});
