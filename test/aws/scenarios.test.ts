// Conformance: every case of every template's scenario file observes the same on AWS Step Functions
// (the compiled ASL executed by aws-local-stepfunctions) as on the embedded engine — the whole
// observation, not pass/fail. (A failed parallel is atomic on every target: its branches' results are
// discarded, which is what a Step Functions Parallel does natively.)
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenarioFile } from '../../testing/run-scenarios.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const files = readdirSync(templates).filter((f) => f.endsWith('.test.yaml'));

describe.each(files)('%s on the aws target', (file) => {
  it('gives every case the observation the local target gives', async () => {
    const local = await runScenarioFile(join(templates, file), 'local');
    const aws = await runScenarioFile(join(templates, file), 'aws');
    expect(aws.problems).toEqual([]);
    expect(aws.cases.length).toBe(local.cases.length);
    expect(aws.cases.length).toBeGreaterThan(0);
    for (const [i, c] of aws.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
    expect(aws.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  });
});

// Shapes the templates do not have: a delay, a condition ending the run (Succeed state), require 2 of 3
// with the quorum reached and made impossible, an approval without onReject/onTimeout.
const SHAPES_WORKFLOW = `version: 1
id: shapes
name: Shapes
triggers: [{ type: manual, minRole: member }]
inputs:
  type: object
  required: [amount]
  properties:
    amount: { type: number }
    tag: { type: string }
timeout: 2d
steps:
  - id: pause
    type: delay
    duration: 1h
  - id: gate
    type: condition
    if: amount > 10 && tag startsWith 'ok'
    then: fan
    else: end
  - id: fan
    type: parallel
    require: 2
    branches:
      - name: a
        steps: [{ id: call_a, type: tool, tool: a, retry: { maxAttempts: 2, interval: 1s } }]
      - name: b
        steps: [{ id: call_b, type: tool, tool: b, timeout: 5s }]
      - name: c
        steps: [{ id: call_c, type: tool, tool: c }]
    onError: tell
  - id: sign_off
    type: approval
    approvers: [boss@example.com]
    message: "sign off {{amount}}"
    timeout: 1h
  - id: thanks
    type: notify
    channel: slack
    to: "#x"
    message: "signed off by {{sign_off.decidedBy}}"
    next: end
  - id: tell
    type: notify
    channel: slack
    to: "#x"
    message: "failed: {{error.code}} {{error.message}} at {{error.step}}"
`;
const SHAPES_SCENARIO = `workflow: shapes.yaml
directory:
  - { email: boss@example.com, role: manager }
cases:
  - name: small amount ends at the condition
    input: { amount: 5, tag: ok }
    expect: { status: completed }
  - name: two of three branches succeed, the slow one is cancelled, approved
    input: { amount: 20, tag: okay }
    tools:
      a: { result: { a: 1 } }
      b: { result: { b: 2 }, after: 2s }
      c: { result: { c: 3 }, after: 1h }
    approvals:
      sign_off: [{ by: boss@example.com, decision: approve, after: 30m }]
    expect: { status: completed }
  - name: two branches fail, the quorum is impossible, onError
    input: { amount: 20, tag: ok }
    tools:
      a: { error: { code: Down, message: a is down } }
      b: { result: { b: 2 }, after: 10s }
      c: { result: { c: 3 } }
    expect: { status: completed }
  - name: rejected without onReject fails the run
    input: { amount: 20, tag: ok }
    tools:
      a: { result: { a: 1 } }
      b: { result: { b: 2 } }
      c: { result: { c: 3 } }
    approvals:
      sign_off: [{ by: boss@example.com, decision: reject, after: 30m, comment: no }]
    expect: { status: failed }
  - name: nobody decides, the run times out
    input: { amount: 20, tag: ok }
    tools:
      a: { result: { a: 1 } }
      b: { result: { b: 2 } }
      c: { result: { c: 3 } }
    expect: { status: timed_out }
`;

describe('a workflow with the shapes the templates lack on the aws target', () => {
  it('gives every case the observation the local target gives, and passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepgate-aws-shapes-'));
    writeFileSync(join(dir, 'shapes.yaml'), SHAPES_WORKFLOW);
    writeFileSync(join(dir, 'shapes.test.yaml'), SHAPES_SCENARIO);
    const local = await runScenarioFile(join(dir, 'shapes.test.yaml'), 'local');
    const aws = await runScenarioFile(join(dir, 'shapes.test.yaml'), 'aws');
    expect(local.problems).toEqual([]);
    expect(aws.cases.length).toBe(5);
    for (const [i, c] of aws.cases.entries()) expect(c, c.name).toEqual(local.cases[i]);
    expect(aws.cases.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
  });
});
