// The Azure replay harness with its stores a network round trip away (test/support/distant-stores.ts): a
// tool result over the inline limit goes to the result store and the run holds its reference, as on the
// embedded engine; and the harness waits for a slow store before it ends a case or moves its clock.
import { describe, expect, it } from 'vitest';
import { RESULT_INLINE_LIMIT_BYTES } from '../../functions/core/protocol.js';
import { runCaseAzure } from '../../testing/run-azure.js';
import { runCaseLocal } from '../../testing/run-local.js';
import type { Scenario } from '../../testing/scenario.js';
import { validateWorkflow } from '../../translator/validate.js';
import { distant, distantStores } from '../support/distant-stores.js';

const WORKFLOW = `version: 1
id: big-results
name: Big results
triggers: [{ type: manual, minRole: member }]
steps:
  - { id: fetch, type: tool, tool: export }
  - id: tell
    type: notify
    channel: email
    to: ops@example.com
    message: "{{fetch.bytes}} bytes at {{fetch.uri}}"
`;

const rows = Array.from({ length: 800 }, (_, i) => ({ id: i, name: `row ${i} ✓` }));
const scenario: Scenario = {
  workflow: 'big-results.yaml',
  cases: [
    {
      name: 'a result over the inline limit is stored and referenced',
      steps: { fetch: { result: { rows } } },
      expect: { status: 'completed' },
    },
  ],
};

describe('the Azure harness with distant stores', () => {
  const ir = validateWorkflow(WORKFLOW).ir;
  const c = scenario.cases[0];
  if (ir === undefined || c === undefined) throw new Error('invalid test workflow');

  it('stores a large result through the result store and observes what the embedded engine does', async () => {
    expect(Buffer.byteLength(JSON.stringify({ rows }))).toBeGreaterThan(RESULT_INLINE_LIMIT_BYTES);
    const far = distantStores();
    const seen = await runCaseAzure(ir, scenario, c, { stores: far.stores });
    expect(seen).toEqual(await runCaseLocal(ir, scenario, c));
    expect(seen.vars.fetch).toMatchObject({ $ref: 'stepgate-result' });
    expect(far.calls.results).toBe(1);
    expect(far.calls.audit).toBeGreaterThan(0);
  });

  it('closes the stores once, after the last store call answered', async () => {
    const far = distantStores();
    const inFlightAtClose: number[] = [];
    const seen = await runCaseAzure(ir, scenario, c, {
      stores: async () => {
        const stores = await far.stores();
        return { ...stores, close: () => void inFlightAtClose.push(far.inFlight()) };
      },
    });
    expect(seen.status).toBe('completed');
    expect(far.calls.audit).toBeGreaterThan(0);
    expect(inFlightAtClose).toEqual([0]);
  });

  it('answers a method call through the hop, with the same answer', async () => {
    const calls: string[] = [];
    const target = { twice: (n: number) => n * 2, name: 'x' };
    const far = distant(
      target,
      () => calls.push('made'),
      () => calls.push('answered'),
    );
    expect(await far.twice(21)).toBe(42);
    expect(far.name).toBe('x');
    expect(calls).toEqual(['made', 'answered']);
  });
});
