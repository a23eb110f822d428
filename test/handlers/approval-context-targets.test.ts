// An approval's context is the same on every target: the expense template compiled to ASL and to GCP
// Workflows, its approval payloads decoded by the shared handlers, give the request the context the
// embedded orchestrator (and Azure, which runs it) renders from the IR — the policy check's findings
// among the details, the inputs and the validation result.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderApprovalContext } from '../../functions/core/approval-context.js';
import { approvalRequestFromAsl, approvalRequestFromGcp } from '../../functions/core/handlers/index.js';
import type { AslApprovalPayload, GcpApprovalRequestBody } from '../../functions/core/wire.js';
import { emitGcpWorkflows } from '../../translator/emit/gcp-workflows.js';
import { compileWorkflow, taskPayload } from '../support/asl-payloads.js';
import { alice, ctx } from './support.js';

const EXPENSE = readFileSync(
  join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'),
  'utf8',
);
const VARS = {
  amount: 900,
  description: 'Laptop',
  category: 'equipment',
  validation: { ok: true, flagged: true, reasons: ['amount $900 is over the $500 cap'], cap: 500 },
  trigger: { type: 'manual', user: { email: alice.email, manager: 'boss@example.com' } },
};

/** The object under `tree` for which `match` holds, searched depth first. */
function find(tree: unknown, match: (node: Record<string, unknown>) => boolean): Record<string, unknown> {
  const stack = [tree];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (!Array.isArray(node) && match(node as Record<string, unknown>))
      return node as Record<string, unknown>;
    stack.push(...Object.values(node));
  }
  throw new Error('not found');
}

describe('the approval context on every target', () => {
  const { ir, definition } = compileWorkflow(EXPENSE);
  const node = ir.graph.nodes.find((n) => n.id === 'manager_approval');
  if (node?.kind !== 'approval') throw new Error('no manager_approval step');
  const expected = renderApprovalContext(node.context, VARS);

  it('is what the orchestrator renders, with the policy findings among the details', () => {
    expect(expected?.details).toContainEqual({
      label: 'Policy findings',
      value: ['amount $900 is over the $500 cap'],
    });
    expect(expected?.inputs.map((i) => i.label)).toEqual(['amount', 'description', 'category']);
    expect(expected?.results).toEqual([{ label: 'validate', value: VARS.validation }]);
  });

  it('is decoded the same from the ASL payload of every level', () => {
    for (const state of ['manager_approval', 'manager_approval.level2']) {
      const payload = taskPayload<AslApprovalPayload>(definition, state, { ctx, vars: VARS } as never, {
        State: { RetryCount: 0, EnteredTime: '2026-01-01T00:00:00.000Z' },
        Task: { Token: 't' },
      });
      expect(approvalRequestFromAsl(payload, 1, 0).context, state).toEqual(expected);
    }
  });

  it('is decoded the same from the GCP request body', () => {
    const workflow = parse(emitGcpWorkflows(ir)) as unknown;
    const body = find(workflow, (n) => n.stepId === 'manager_approval' && n.level === 1 && 'eventName' in n);
    const request = approvalRequestFromGcp(
      { ...(body as unknown as GcpApprovalRequestBody), identity: alice, vars: VARS, by: null },
      0,
    );
    expect(request.context).toEqual(expected);
  });
});
