// The Azure "compiler": the plan is the IR as deterministic JSON, the manifest names the orchestrator and
// exactly the activity functions the workflow needs; the entrypoint registers them all.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORD_ACTIVITY, RUN_END_ACTIVITY } from '../../functions/azure/activities.js';
import { type DurableRegistrar, registerStepgate } from '../../functions/azure/app.js';
import { ACTIVITY } from '../../functions/core/protocol.js';
import { AZURE_ACTIVITY_ORDER, emitAzureFiles, emitAzurePlan } from '../../translator/emit/azure-durable.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');
const workflows = readdirSync(templates).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));

function irOf(text: string): IrWorkflow {
  const result = validateWorkflow(text, 'yaml');
  if (result.ir === undefined) throw new Error(JSON.stringify(result.diagnostics));
  return result.ir;
}

const base = `
version: 1
id: mini
name: Mini
triggers: [{ type: manual }]
`;

describe('emitAzurePlan', () => {
  it.each(workflows)('%s compiles to the same bytes twice, and the plan is the IR', (file) => {
    const text = readFileSync(join(templates, file), 'utf8');
    expect(emitAzureFiles(irOf(text))).toEqual(emitAzureFiles(irOf(text)));
    expect(emitAzurePlan(irOf(text)).plan).toEqual(JSON.parse(JSON.stringify(irOf(text))));
  });

  it('lists exactly the activities a workflow uses', () => {
    const toolOnly = irOf(`${base}steps:\n  - { id: a, type: tool, tool: t, output: out }\n`);
    expect(emitAzurePlan(toolOnly).manifest.activities).toEqual(['tool-call', 'record', 'run-end']);
    const delayOnly = irOf(`${base}steps:\n  - { id: d, type: delay, duration: 1m }\n`);
    expect(emitAzurePlan(delayOnly).manifest.activities).toEqual(['record', 'run-end']);
    const mixed = irOf(`${base}steps:
  - id: p
    type: parallel
    branches:
      - steps: [{ id: ask, type: approval, approvers: [a@example.com], message: ok? }]
      - steps: [{ id: tell, type: notify, channel: email, to: [a@example.com], message: hi }]
`);
    expect(emitAzurePlan(mixed).manifest).toMatchObject({
      orchestrator: 'stepgate',
      workflowId: 'mini',
      activities: ['notify-send', 'approval-request', 'approval-close', 'record', 'run-end'],
    });
  });

  it('uses the protocol activity names', () => {
    expect([...AZURE_ACTIVITY_ORDER]).toEqual([
      ACTIVITY.toolCall,
      ACTIVITY.notify,
      ACTIVITY.approvalRequest,
      ACTIVITY.approvalClose,
      RECORD_ACTIVITY,
      RUN_END_ACTIVITY,
    ]);
  });
});

describe('registerStepgate', () => {
  it('registers the orchestrator and one function per activity, delegating to the ports', async () => {
    const registered: Record<string, (input: unknown) => Promise<unknown>> = {};
    const orchestrations: string[] = [];
    const registrar: DurableRegistrar = {
      orchestration: (name) => orchestrations.push(name),
      activity: (name, options) => {
        registered[name] = options.handler;
      },
    };
    const calls: unknown[] = [];
    const names = registerStepgate(
      {
        tools: {
          call: async (r) => {
            calls.push(r);
            return { ok: 1 };
          },
        },
        results: { put: async () => 'memory:unused', get: async () => undefined },
        notifier: { send: async () => ({}) },
        approvals: { request: async () => ({ approvers: [] }), close: async () => null },
        audit: { append: async () => {} },
        runs: { stages: async () => {}, end: async () => true },
      },
      registrar,
    );
    expect(orchestrations).toEqual(['stepgate']);
    expect(Object.keys(registered)).toEqual(names.activities);
    expect(names.activities).toEqual([
      'tool-call',
      'notify-send',
      'approval-request',
      'approval-close',
      'record',
      'run-end',
    ]);
    await expect(registered['tool-call']?.({ tool: 'x' })).resolves.toEqual({ ok: 1 });
    expect(calls).toEqual([{ tool: 'x' }]);
  });
});
