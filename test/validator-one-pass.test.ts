// One validation reports everything it can (issue 15 item 10): a structural error no longer hides the
// variable, jump and value checks of the sound parts, the broken part itself is skipped, nothing is
// invented from a guess about it, and every finding comes once, in the order of the text.
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../testing/scenario.js';
import { validateWorkflow } from '../translator/validate.js';

/** Each diagnostic as `line:col code`, in the order reported. */
function found(text: string): string[] {
  return validateWorkflow(text).diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`);
}

const INPUTS = `version: 1
id: demo
inputs:
  type: object
  properties:
    amount: { type: number }
`;

describe('one validation pass', () => {
  it('reports a structure error and an unknown variable together', () => {
    const text = `${INPUTS}steps:
  - id: charge
    type: tool
    tool: payments-charge
    retry: { maxAttempts: 0 }
    args:
      total: "{{amout}}"
`;
    const { valid, diagnostics } = validateWorkflow(text);
    expect(valid).toBe(false);
    expect(diagnostics.map((d) => [d.line, d.col, d.code, d.message])).toEqual([
      [11, 27, 'too-small', "'maxAttempts' must be at least 1"],
      [
        13,
        17,
        'unknown-variable',
        "unknown variable 'amout' (did you mean 'amount'?): variables are input fields, step results, trigger, run and error",
      ],
    ]);
  });

  it('checks the other steps around a step with an unknown key, and that step’s own sound fields', () => {
    const text = `${INPUTS}steps:
  - id: ask
    type: approval
    approvers: [max@example.com]
    mesage: "Approve {{amount}}?"
  - id: tell
    type: notify
    channel: email
    to: "{{trigger.user.emial}}"
    message: "{{ask.aproved}} {{amout}}"
`;
    expect(found(text)).toEqual([
      '11:5 unknown-key',
      '15:12 unknown-variable',
      '16:17 unknown-variable',
      '16:33 unknown-variable',
    ]);
  });

  it('reads a misspelled step type as the type it is closest to, so its fields are still checked', () => {
    const text = `${INPUTS}steps:
  - id: ask
    type: aproval
    approvers: [role:boss]
    message: "Approve {{amout}}?"
`;
    expect(found(text)).toEqual(['9:11 unknown-type', '10:17 unknown-role', '11:25 unknown-variable']);
  });

  it('skips a step it cannot read at all, and reports nothing about reading its result', () => {
    const text = `${INPUTS}steps:
  - id: lookup
    type: xyzzy
    args: { total: "{{amout}}" }
  - id: tell
    type: notify
    channel: email
    to: ops@example.com
    message: "{{lookup.total}} {{trigger.run}}"
`;
    expect(found(text)).toEqual(['9:11 unknown-type', '15:34 unknown-variable']);
  });

  it('does not call a jump to a step without a valid id unknown', () => {
    const text = `${INPUTS}steps:
  - id: first
    type: condition
    if: amount > 1
    then: pay_out
  - id: pay-out
    type: tool
    tool: payments-charge
    args: { total: "{{amount}}" }
`;
    expect(found(text)).toEqual(['12:9 invalid-format']);
  });

  it('still checks the inputs schema and the triggers next to a broken step', () => {
    const text = `version: 1
id: demo
inputs: { type: object, properties: { amount: { type: nummber } } }
triggers:
  - type: schedule
    cron: "0 9 * *"
steps:
  - id: a
    type: tool
    tool: t
    retry: 3
`;
    expect(found(text)).toEqual(['3:55 invalid-inputs-schema', '6:11 invalid-cron', '11:12 invalid-type']);
  });

  it('reports variables after a duplicate step id or a jump to a missing step, which used to stop the checks', () => {
    const text = `${INPUTS}steps:
  - id: a
    type: tool
    tool: t
    next: c
  - id: a
    type: tool
    tool: t
    args: { total: "{{amout}}" }
`;
    expect(found(text)).toEqual(['11:11 unknown-target', '12:9 duplicate-step-id', '15:23 unknown-variable']);
  });

  it('reports each finding once, sorted by line and column', () => {
    const text = `${INPUTS}steps:
  - id: a
    type: tool
    tool: t
    timeout: soon
    args: { x: "{{amout}}", y: "{{amout}}" }
  - { id: b, type: delay, duration: 0s, bogus: 1 }
`;
    const diagnostics = validateWorkflow(text).diagnostics;
    const keys = diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`);
    expect(new Set(keys).size).toBe(keys.length);
    const places = diagnostics.map((d) => d.line * 1000 + d.col);
    expect(places).toEqual([...places].sort((a, b) => a - b));
    expect(found(text)).toEqual([
      '11:14 invalid-format',
      '12:19 unknown-variable',
      '12:35 unknown-variable',
      '13:37 invalid-duration',
      '13:41 unknown-key',
    ]);
  });

  it('reads a step without a type as the type its keys say', () => {
    const text = `${INPUTS}steps:
  - id: ask
    approvers: [max@example.com]
    message: "Approve {{amout}}?"
`;
    expect(found(text)).toEqual(['8:5 missing-key', '10:25 unknown-variable']);
  });

  it('does not call the fields of a misspelled inputs unknown', () => {
    const text = `version: 1
id: demo
input:
  type: object
  properties:
    amount: { type: number }
steps:
  - id: charge
    type: tool
    tool: payments-charge
    args: { total: "{{amount}}", who: "{{trigger.user.emial}}" }
`;
    expect(found(text)).toEqual(['3:1 unknown-key', '11:42 unknown-variable']);
  });

  it('checks what the steps of a `require: N` parallel read, which was never checked', () => {
    const text = `${INPUTS}steps:
  - id: fan_out
    type: parallel
    require: 1
    branches:
      - steps: [{ id: a, type: notify, channel: email, to: ops@example.com, message: "{{amout}}" }]
      - steps: [{ id: b, type: notify, channel: email, to: ops@example.com, message: "{{amount}}" }]
`;
    expect(found(text)).toEqual(['12:89 unknown-variable']);
  });

  it('leaves a definition without structural errors as it was: valid, with its IR', () => {
    const text = `${INPUTS}steps:
  - id: a
    type: tool
    tool: t
    args: { x: "{{amount}}" }
`;
    const result = validateWorkflow(text);
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.ir?.graph.nodes.map((n) => n.id)).toEqual(['a']);
  });
});

describe('one pass over a scenario file', () => {
  it('reports a structure error and an empty duration together', () => {
    const text = `workflow: expense-approval.yaml
cases:
  - name: approved
    inputs: { amount: 900 }
    approvals:
      manager_approval: [{ by: max@example.com, decision: approve, after: P }]
    expect: { status: completed }
`;
    const { scenario, diagnostics } = parseScenario(text);
    expect(scenario).toBeUndefined();
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '4:5 unknown-key',
      '6:75 invalid-duration',
    ]);
  });
});
