// Conformance for what neither the templates nor the random workflows exercise: `until` delays (valid,
// past and invalid), loops through a wait (second visits), jittered and fractional-second retries at the
// top level and inside a cancelled branch, N-of-M approvals, rejection without onReject, list-index
// conditions, run timeouts and cancellation — each case's GCP observation equals the local one.
import { describe, expect, it } from 'vitest';
import { runCaseGcp } from '../../testing/run-gcp.js';
import { runCaseLocal } from '../../testing/run-local.js';
import { parseScenario } from '../../testing/scenario.js';
import { validateWorkflow } from '../../translator/validate.js';

const WORKFLOW = `
version: 1
id: features
inputs:
  type: object
  properties:
    when: { type: string }
    items: { type: array }
    code: { type: string }
timeout: 30d
steps:
  - id: fetch
    type: tool
    tool: fetch
    args: { items: "{{items}}", first: "{{items.0}}", text: "n={{items.1}} {{items}}" }
    retry: { maxAttempts: 4, interval: 1500ms, backoffRate: 1.5, jitter: full }
    timeout: 10s
    onError: report
  - id: first_big
    type: condition
    if: items.0 > 10 && code startsWith 'A' && !(fetch.list.1 == null)
    then: wait_until
    else: fan
  - id: wait_until
    type: delay
    until: "{{when}}"
  - id: fan
    type: parallel
    require: 1
    branches:
      - steps:
          - id: slow
            type: tool
            tool: slow
            args: { n: 1 }
            retry: { maxAttempts: 5, interval: 3s, jitter: full }
      - steps:
          - id: quick
            type: tool
            tool: quick
            args: { n: 2 }
            retry: { maxAttempts: 3, interval: 2s }
            timeout: 5s
    onError: report
  - id: board
    type: approval
    approvers: [a@example.com, b@example.com, c@example.com]
    require: 2
    timeout: 2h
    onTimeout: again
    message: "Approve {{code}} ({{fetch.list}})?"
  - id: final
    type: approval
    approvers: [a@example.com]
    message: final
    next: end
  - id: again
    type: delay
    duration: 1h
    next: board
  - id: report
    type: notify
    channel: slack
    to: "#ops"
    message: "failed at {{error.step}}: {{error.code}} {{error.message}}"
`;

const SCENARIO = `
workflow: features.yaml
directory:
  - { email: a@example.com, role: manager }
  - { email: b@example.com, role: manager }
  - { email: c@example.com, role: manager }
cases:
  - name: until in the future, quick wins while slow retries, 2 of 3 approve, final rejects
    input: { when: "2026-01-06T09:00:00Z", items: [20, 3], code: AB }
    tools:
      fetch: [{ error: { code: Flaky } }, { error: { code: Flaky } }, { result: { list: [1, 2] } }]
      slow: { error: { code: Busy } , after: 1s }
      quick: [{ result: { ok: true }, after: 6s }, { result: { ok: true }, after: 4s }]
    approvals:
      board: [{ by: a@example.com, decision: approve, after: 10m }, { by: c@example.com, decision: approve, after: 20m }]
      final: [{ by: a@example.com, decision: reject, after: 1h, comment: no }]
    expect: { status: failed }
  - name: until in the past, board times out and loops, approves on the second visit
    input: { when: "2020-01-01T00:00:00Z", items: [20], code: AZ }
    tools:
      fetch: { result: { list: [1, 2] } }
      slow: { result: { ok: 1 }, after: 30s }
      quick: { error: { code: Down, retryable: false } }
    approvals:
      board: [{ by: a@example.com, decision: approve, after: 190m }, { by: b@example.com, decision: approve, after: 200m }]
      final: [{ by: a@example.com, decision: approve, after: 1m }]
    expect: { status: completed }
  - name: an invalid until fails the run
    input: { when: "tomorrow", items: [20, 1], code: AB }
    tools: { fetch: { result: { list: [1, 2] } } }
    expect: { status: failed }
  - name: fetch keeps timing out, the error path reports it
    input: { items: [1] }
    tools: { fetch: { result: { list: [] }, after: 11s } }
    expect: { status: completed }
  - name: both branches fail
    input: { items: [1], code: B }
    tools:
      fetch: { result: { list: [] } }
      slow: { error: { code: Busy, retryable: false } }
      quick: { error: { code: Down }, after: 1s }
    expect: { status: completed }
  - name: nobody decides until the run times out
    input: { items: [1], code: B }
    tools: { fetch: { result: { list: [] } }, slow: { result: 1 }, quick: { result: 2 } }
    expect: { status: timed_out }
  - name: cancelled while the board waits
    input: { items: [1], code: B }
    tools: { fetch: { result: { list: [] } }, slow: { result: 1 }, quick: { result: 2 } }
    cancel: { after: 3h }
    expect: { status: cancelled }
`;

describe('GCP features beyond the templates', () => {
  const validated = validateWorkflow(WORKFLOW);
  const parsed = parseScenario(SCENARIO);
  const scenario = parsed.scenario;
  it('the fixture is valid', () => {
    expect(validated.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(parsed.diagnostics).toEqual([]);
  });
  it.each(scenario?.cases.map((c) => [c.name]) ?? [])('%s', async (name) => {
    const ir = validated.ir;
    const c = scenario?.cases.find((x) => x.name === name);
    if (ir === undefined || scenario === undefined || c === undefined) throw new Error('fixture');
    const local = await runCaseLocal(ir, scenario, c);
    expect(local.status).toBe(c.expect.status);
    expect(await runCaseGcp(ir, scenario, c)).toEqual(local);
  });
});
