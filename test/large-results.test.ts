// Large tool results on every target: the tool-call handler stores a result over the inline limit and
// the run's variables get the reference, so every target observes the same small document (and a Step
// Functions document stays far below 256 KB).
import { describe, expect, it } from 'vitest';
import { RESULT_INLINE_LIMIT_BYTES } from '../functions/core/protocol.js';
import { runCaseAws } from '../testing/run-aws.js';
import { runCaseAzure } from '../testing/run-azure.js';
import { runCaseGcp } from '../testing/run-gcp.js';
import { runCaseLocal } from '../testing/run-local.js';
import type { Scenario } from '../testing/scenario.js';
import { validateWorkflow } from '../translator/validate.js';

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
    message: "{{fetch.bytes}} bytes at {{fetch.uri}}; rows: {{fetch.rows}}"
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

const RUNNERS = { local: runCaseLocal, aws: runCaseAws, gcp: runCaseGcp, azure: runCaseAzure };

describe('large tool results', () => {
  const ir = validateWorkflow(WORKFLOW).ir;
  const c = scenario.cases[0];
  if (ir === undefined || c === undefined) throw new Error('invalid test workflow');
  const bytes = Buffer.byteLength(JSON.stringify({ rows }), 'utf8');

  it('the test result is over the limit', () => {
    expect(bytes).toBeGreaterThan(RESULT_INLINE_LIMIT_BYTES);
  });

  it.each(Object.entries(RUNNERS))(
    '%s: the variable holds the reference, the same as on local',
    async (_, run) => {
      const local = await runCaseLocal(ir, scenario, c);
      const seen = await run(ir, scenario, c);
      expect(seen.status).toBe('completed');
      expect(seen.vars.fetch).toMatchObject({ $ref: 'stepgate-result', bytes });
      expect(JSON.stringify(seen.vars).length).toBeLessThan(2_000);
      expect(seen.notifications[0]?.message).toMatch(
        new RegExp(`^${bytes} bytes at sqlite:tool_results/.+; rows: $`),
      );
      expect(seen).toEqual(local);
    },
  );
});
