// Lowering: what the engine and the compilers read. Defaults made explicit, durations in ms, edges named.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  END,
  type IrApproval,
  type IrNode,
  type IrParallel,
  type IrTool,
  type IrWorkflow,
} from '../translator/ir.js';
import { validateWorkflow } from '../translator/validate.js';

const root = join(import.meta.dirname, '..');

function lower(text: string): IrWorkflow {
  const result = validateWorkflow(text);
  if (!result.ir)
    throw new Error(result.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n'));
  return result.ir;
}

function template(name: string): string {
  return readFileSync(join(root, 'templates', `${name}.yaml`), 'utf8');
}

function node<K extends IrNode['kind']>(ir: IrWorkflow, id: string, kind: K): Extract<IrNode, { kind: K }> {
  const all = (nodes: IrNode[]): IrNode[] =>
    nodes.flatMap((n) => (n.kind === 'parallel' ? [n, ...n.branches.flatMap((b) => all(b.nodes))] : [n]));
  const found = all(ir.graph.nodes).find((n) => n.id === id);
  if (found?.kind !== kind) throw new Error(`no ${kind} step ${id}`);
  return found as Extract<IrNode, { kind: K }>;
}

describe('lowering the expense template', () => {
  const ir = lower(template('expense-approval'));

  it('starts at the first step and keeps the definition order', () => {
    expect(ir.graph.start).toBe('validate');
    expect(ir.graph.nodes.map((n) => n.id)).toEqual([
      'validate',
      'over_threshold',
      'manager_approval',
      'process_payment',
      'notify_paid',
      'notify_rejected',
      'notify_expired',
      'notify_failed',
    ]);
  });

  it('makes every edge explicit, with end as a sentinel', () => {
    const validate = node(ir, 'validate', 'tool');
    expect(validate.next).toBe('over_threshold');
    expect(validate.onError).toBe('notify_failed');
    expect(node(ir, 'notify_paid', 'notify').next).toBe(END);
    const condition = node(ir, 'over_threshold', 'condition');
    expect([condition.onTrue, condition.onFalse]).toEqual(['manager_approval', 'process_payment']);
  });

  it('converts durations to milliseconds and fills retry defaults', () => {
    const validate: IrTool = node(ir, 'validate', 'tool');
    expect(validate.timeoutMs).toBe(30_000);
    expect(validate.retry).toEqual({
      maxAttempts: 3,
      intervalMs: 2_000,
      backoffRate: 2,
      maxDelayMs: 60_000,
      jitter: 'full',
    });
    expect(node(ir, 'process_payment', 'tool').retry.jitter).toBe('none');
    expect(ir.timeoutMs).toBe(7 * 86_400_000);
  });

  it('stores a tool result under its output name, or its id', () => {
    expect(node(ir, 'validate', 'tool').output).toBe('validation');
    expect(node(ir, 'process_payment', 'tool').output).toBe('process_payment');
  });

  it('lowers an approval with escalation into levels, each with its own approvers and timeout', () => {
    const approval: IrApproval = node(ir, 'manager_approval', 'approval');
    expect(approval.levels).toHaveLength(2);
    expect(approval.levels[0]?.approvers).toEqual([
      {
        kind: 'template',
        template: { kind: 'ref', path: ['trigger', 'user', 'manager'], start: 2, end: 22 },
      },
    ]);
    expect(approval.levels[0]?.timeoutMs).toBe(86_400_000);
    expect(approval.levels[1]?.approvers).toEqual([{ kind: 'role', role: 'director' }]);
    expect(approval.levels[1]?.require).toBe('any');
    expect(approval.levels[1]?.message).toEqual(approval.levels[0]?.message);
    expect([approval.onReject, approval.onTimeout]).toEqual(['notify_rejected', 'notify_expired']);
  });

  it('parses the condition and keeps its source text', () => {
    const condition = node(ir, 'over_threshold', 'condition');
    expect(condition.expression).toBe('amount > 500');
    expect(condition.condition).toEqual({
      kind: 'compare',
      op: '>',
      left: { kind: 'path', path: ['amount'], start: 0, end: 6 },
      right: { kind: 'literal', value: 500 },
    });
  });

  it('keeps the JSON pointer of every step for diagnostics', () => {
    expect(node(ir, 'manager_approval', 'approval').source).toBe('/steps/2');
  });

  it('declares the triggers with their defaults filled', () => {
    expect(ir.triggers).toEqual([
      { type: 'manual', minRole: 'member' },
      { type: 'webhook', auth: 'signature', runAs: 'ops-bot@example.com' },
    ]);
  });
});

describe('lowering', () => {
  it('is deterministic: the same definition gives byte-identical IR JSON', () => {
    for (const name of ['expense-approval', 'travel-booking', 'incident-response', 'employee-onboarding']) {
      expect(JSON.stringify(lower(template(name)))).toBe(JSON.stringify(lower(template(name))));
    }
  });

  it('gives the same IR for the YAML and the JSON form of a definition', () => {
    const yaml = template('incident-response');
    const fromYaml = lower(yaml);
    const asJson = JSON.stringify((validateWorkflow(yaml).definition as unknown) ?? null);
    expect(JSON.stringify(validateWorkflow(asJson, 'json').ir)).toBe(JSON.stringify(fromYaml));
  });

  it('lowers parallel branches into sub-graphs ending at the end sentinel', () => {
    const ir = lower(template('incident-response'));
    const page: IrParallel = node(ir, 'page_oncall', 'parallel');
    expect(page.require).toBe(1);
    expect(page.branches.map((b) => [b.name, b.start, b.nodes.map((n) => n.id)])).toEqual([
      ['pager', 'page_pager', ['page_pager']],
      ['sms', 'page_sms', ['page_sms']],
      ['slack', 'page_slack', ['page_slack']],
    ]);
    expect(node(ir, 'page_sms', 'notify').next).toBe(END);
  });

  it('gives a workflow without triggers a manual trigger for members', () => {
    const ir = lower('version: 1\nid: x\nsteps:\n  - { id: a, type: delay, duration: 1s }\n');
    expect(ir.triggers).toEqual([{ type: 'manual', minRole: 'member' }]);
    expect(node(ir, 'a', 'delay').wait).toEqual({ kind: 'duration', ms: 1_000 });
  });

  it('expands a schedule preset into its cron expression', () => {
    const ir = lower(
      'version: 1\nid: x\ntriggers:\n  - { type: schedule, preset: weekdays, timezone: Europe/Berlin, scope: group, group: finance }\nsteps:\n  - { id: a, type: delay, duration: 1s }\n',
    );
    expect(ir.triggers[0]).toEqual({
      type: 'schedule',
      cron: '0 9 * * 1-5',
      preset: 'weekdays',
      timezone: 'Europe/Berlin',
      scope: 'group',
      group: 'finance',
      input: {},
    });
  });

  it('splits a pinned tool name into server and tool', () => {
    const ir = lower('version: 1\nid: x\nsteps:\n  - { id: a, type: tool, tool: github/create-issue }\n');
    expect(node(ir, 'a', 'tool')).toMatchObject({
      server: 'github',
      tool: 'create-issue',
      args: { kind: 'const', value: {} },
    });
  });
});
