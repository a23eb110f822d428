// An approval's context as every host renders it (functions/core/approval-context.ts): the step's details
// from their templates, the inputs the schema names, the latest step results, each value bounded and
// redacted by key (a secret-named input, output or detail reading one hidden whole), and a detail naming
// a variable the run lacks shown as null rather than failing.
import { describe, expect, it } from 'vitest';
import {
  contextText,
  MAX_CONTEXT_RESULTS,
  MAX_CONTEXT_VALUE_CHARS,
  renderApprovalContext,
} from '../../functions/core/approval-context.js';
import type { IrApproval } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

/** The approval step `ask` of a workflow with `steps` tool steps before it. */
function approvalOf(details: string, steps = 1): IrApproval {
  const tools = Array.from(
    { length: steps },
    (_, i) => `  - { id: s${i}, type: tool, tool: t${i}, output: r${i} }\n`,
  ).join('');
  const yaml = `version: 1
id: w
inputs: { type: object, properties: { amount: { type: number }, note: { type: string } } }
steps:
${tools}  - id: ask
    type: approval
    approvers: [a@example.com]
    details:
${details}`;
  const { ir, diagnostics } = validateWorkflow(yaml, 'yaml');
  const node = ir?.graph.nodes.find((n) => n.id === 'ask');
  if (node?.kind !== 'approval') throw new Error(JSON.stringify(diagnostics));
  return node;
}

describe('an approval request context', () => {
  it('renders the details, the inputs the schema names and the step results present', () => {
    const node = approvalOf(
      '      - { label: Findings, value: "{{r0.reasons}}" }\n      - { label: Cap, value: "USD {{r0.cap}}" }\n',
    );
    const context = renderApprovalContext(node.context, {
      amount: 900,
      r0: { reasons: ['over the cap'], cap: 500, apiKey: 'k-123456' },
      trigger: { type: 'manual' },
    });
    expect(context).toEqual({
      details: [
        { label: 'Findings', value: ['over the cap'] },
        { label: 'Cap', value: 'USD 500' },
      ],
      inputs: [{ label: 'amount', value: 900 }],
      results: [{ label: 's0', value: { reasons: ['over the cap'], cap: 500, apiKey: '[redacted]' } }],
    });
    expect(contextText(context)).toBe(
      'Details:\n  Findings: over the cap\n  Cap: USD 500\n\nInputs:\n  amount: 900\n\nLatest step results:\n  s0: {"reasons":["over the cap"],"cap":500,"apiKey":"[redacted]"}',
    );
  });

  it('keeps the latest results only, and cuts a long value', () => {
    const node = approvalOf('      - { label: Long, value: "{{note}}" }\n', MAX_CONTEXT_RESULTS + 2);
    const vars: Record<string, unknown> = { note: 'x'.repeat(MAX_CONTEXT_VALUE_CHARS + 50) };
    for (let i = 0; i < MAX_CONTEXT_RESULTS + 2; i++) vars[`r${i}`] = i;
    const context = renderApprovalContext(node.context, vars);
    expect(context?.results.map((r) => r.label)).toEqual(['s2', 's3', 's4', 's5', 's6']);
    expect(context?.details[0]?.value).toBe(`${'x'.repeat(MAX_CONTEXT_VALUE_CHARS)}…`);
  });

  it('shows a detail whose variable the run does not have as null, and nothing for an IR without context', () => {
    const node = approvalOf('      - { label: Findings, value: "{{r0.reasons}}" }\n');
    expect(renderApprovalContext(node.context, {})?.details).toEqual([{ label: 'Findings', value: null }]);
    expect(renderApprovalContext(undefined, { amount: 1 })).toBeUndefined();
    expect(contextText(undefined)).toBe('');
  });

  it('hides a secret-named input, output variable or a detail reading one whole, as the run view does', () => {
    const yaml = `version: 1
id: w
inputs: { type: object, properties: { amount: { type: number }, apiKey: { type: string } } }
steps:
  - { id: login, type: tool, tool: t, output: session_token }
  - { id: fetch, type: tool, tool: u, output: creds }
  - id: ask
    type: approval
    approvers: [a@example.com]
    details:
      - { label: Key, value: "key {{apiKey}}" }
      - { label: Vault, value: "{{creds.password}}" }
      - { label: Amount, value: "{{amount}}" }
`;
    const node = validateWorkflow(yaml, 'yaml').ir?.graph.nodes.find((n) => n.id === 'ask');
    if (node?.kind !== 'approval')
      throw new Error(JSON.stringify(validateWorkflow(yaml, 'yaml').diagnostics));
    const context = renderApprovalContext(node.context, {
      amount: 900,
      apiKey: 'k-123456',
      session_token: 'st-99999',
      creds: { password: 'hunter22' },
    });
    expect(context).toEqual({
      details: [
        { label: 'Key', value: '[redacted]' },
        { label: 'Vault', value: '[redacted]' },
        { label: 'Amount', value: 900 },
      ],
      inputs: [
        { label: 'amount', value: 900 },
        { label: 'apiKey', value: '[redacted]' },
      ],
      results: [
        { label: 'login', value: '[redacted]' },
        { label: 'fetch', value: { password: '[redacted]' } },
      ],
    });
    expect(JSON.stringify(context)).not.toMatch(/k-123456|st-99999|hunter22/);
  });
});
