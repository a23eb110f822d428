// The audit vocabulary (functions/core/audit.ts): every entry the template scenarios write is of a known type,
// and the run view reads a trail holding every type of the vocabulary.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUDIT_TYPES, type AuditEntry, auditRecord, isAuditType } from '../../functions/core/audit.js';
import type { AuditRecord, RunRecord } from '../../functions/core/ports.js';
import { runView } from '../../functions/core/run-view.js';
import { runCaseLocal } from '../../testing/run-local.js';
import { parseScenario } from '../../testing/scenario.js';
import { formatOf, validateWorkflow } from '../../translator/validate.js';

const templates = join(import.meta.dirname, '..', '..', 'templates');

describe('the entries the template scenarios write', () => {
  it('are each of a type of the vocabulary', async () => {
    const written = new Set<string>();
    for (const file of readdirSync(templates).filter((f) => f.endsWith('.test.yaml'))) {
      const { scenario } = parseScenario(readFileSync(join(templates, file), 'utf8'));
      if (scenario === undefined) throw new Error(`${file} does not parse`);
      const workflowFile = resolve(templates, scenario.workflow);
      const { ir } = validateWorkflow(readFileSync(workflowFile, 'utf8'), formatOf(workflowFile));
      if (ir === undefined) throw new Error(`${scenario.workflow} does not validate`);
      for (const c of scenario.cases) await runCaseLocal(ir, scenario, c, (entry) => written.add(entry.type));
    }
    expect([...written].filter((type) => !isAuditType(type))).toEqual([]);
    // The scenarios reach the run, step, attempt, branch and approval entries (the pipeline's and the
    // links' are written by the server's ports, not the scenario mocks).
    expect([...written]).toEqual(
      expect.arrayContaining(['run.started', 'step.entered', 'attempt.started', 'approval.decision']),
    );
  });
});

describe('the run view', () => {
  const run = {
    id: 'r1',
    workflowId: 'wf',
    status: 'failed',
    input: {},
    trigger: { type: 'manual', user: { email: 'ann@example.com' } },
    createdAt: 0,
    endedAt: 100,
    outcome: { status: 'failed', vars: {}, error: { code: 'E', message: 'no', step: 'pick' } },
  } as unknown as RunRecord;
  const error = { code: 'Tool.Failed', message: 'boom' };
  const entries: AuditEntry[] = [
    { type: 'run.started', data: { trigger: 'manual', user: 'ann@example.com', input: {} } },
    { type: 'step.entered', step: 'charge', data: { kind: 'tool', visit: 1 } },
    {
      type: 'attempt.started',
      step: 'charge',
      data: { attempt: 1, idempotencyKey: 'k', tool: 'pay/charge', args: { amount: 5 } },
    },
    {
      type: 'tool.lookup',
      step: 'charge',
      data: { attempt: 1, requested: 'pay/charge', found: true, server: 'pay', tool: 'charge' },
    },
    {
      type: 'tool.identity',
      step: 'charge',
      data: {
        attempt: 1,
        mode: 'schema',
        injected: ['_user_email'],
        values: { _user_email: 'ann@example.com' },
        arguments: 'valid',
      },
    },
    {
      type: 'tool.credentials',
      step: 'charge',
      data: { attempt: 1, server: 'pay', sources: { PAY_TOKEN: 'org' }, missing: [] },
    },
    {
      type: 'tool.policy',
      step: 'charge',
      data: { attempt: 1, allowed: true, decisions: [{ rule: 'role', outcome: 'allow', detail: 'member' }] },
    },
    {
      type: 'tool.executed',
      step: 'charge',
      data: {
        attempt: 1,
        server: 'pay',
        tool: 'charge',
        ok: false,
        ms: 3,
        error: { ...error, retryable: true },
        redacted: ['PAY_TOKEN'],
      },
    },
    { type: 'attempt.finished', step: 'charge', data: { attempt: 1, ok: false, error } },
    { type: 'retry.scheduled', step: 'charge', data: { attempt: 2, delayMs: 1000 } },
    {
      type: 'attempt.started',
      step: 'charge',
      data: { attempt: 2, idempotencyKey: 'k', tool: 'pay/charge', args: { amount: 5 } },
    },
    { type: 'tool.result', step: 'charge', data: { attempt: 2, stored: 'inline', bytes: 8 } },
    { type: 'attempt.finished', step: 'charge', data: { attempt: 2, ok: true } },
    { type: 'step.finished', step: 'charge', data: { output: 'receipt', result: { id: 1 } } },
    { type: 'step.entered', step: 'ask', data: { kind: 'approval', visit: 1 } },
    { type: 'approval.no-approvers', step: 'ask', data: { level: 1, message: 'nobody', escalatesTo: 2 } },
    {
      type: 'approval.notified',
      step: 'ask',
      data: { approver: 'bob@example.com', level: 2, channel: 'email' },
    },
    {
      type: 'approval.link',
      step: 'ask',
      data: {
        approver: 'cy@example.com',
        level: 2,
        action: 'notify',
        channel: 'email',
        outcome: 'failed',
        reason: 'smtp down',
      },
    },
    {
      type: 'approval.requested',
      step: 'ask',
      data: {
        level: 2,
        approvers: ['bob@example.com', 'cy@example.com'],
        require: 'any',
        message: 'ok?',
        deadline: 5000,
      },
    },
    {
      type: 'approval.link',
      step: 'ask',
      data: { approver: 'bob@example.com', level: 2, action: 'view', outcome: 'shown', reason: null },
    },
    {
      type: 'approval.refused',
      step: 'ask',
      data: {
        by: 'eve@example.com',
        decision: 'approve',
        channel: 'web',
        reason: 'not-an-approver',
        level: 2,
      },
    },
    {
      type: 'approval.decision',
      step: 'ask',
      data: {
        level: 2,
        decides: true,
        by: 'bob@example.com',
        decision: 'approve',
        comment: 'fine',
        at: '1970-01-01T00:00:01.000Z',
        channel: 'web',
      },
    },
    { type: 'approval.timed-out', step: 'ask', data: { level: 2, escalatesTo: null } },
    {
      type: 'step.finished',
      step: 'ask',
      data: { approved: true, level: 2, decidedBy: 'bob@example.com' },
    },
    { type: 'step.entered', step: 'both', data: { kind: 'parallel', visit: 1 } },
    { type: 'branch.started', step: 'both', data: { branch: 0, name: null } },
    { type: 'step.entered', step: 'wait', data: { kind: 'delay', visit: 1 } },
    { type: 'timer.started', step: 'wait', data: { fireAt: '1970-01-01T00:00:02.000Z' } },
    { type: 'step.finished', step: 'wait', data: {} },
    { type: 'branch.finished', step: 'both', data: { branch: 0, ok: true } },
    { type: 'branch.cancelled', step: 'both', data: { branch: 1 } },
    { type: 'step.finished', step: 'both', data: { ok: true } },
    { type: 'step.entered', step: 'tell', data: { kind: 'notify', visit: 1 } },
    {
      type: 'attempt.started',
      step: 'tell',
      data: {
        attempt: 1,
        idempotencyKey: 'n',
        channel: 'email',
        to: ['ann@example.com'],
        subject: null,
        message: 'hi',
      },
    },
    { type: 'attempt.finished', step: 'tell', data: { attempt: 1, ok: false, error } },
    { type: 'step.error-handled', step: 'tell', data: { error: { ...error, step: 'tell' }, next: 'pick' } },
    { type: 'step.entered', step: 'pick', data: { kind: 'condition', visit: 1 } },
    { type: 'step.failed', step: 'pick', data: { error: { code: 'E', message: 'no', step: 'pick' } } },
    { type: 'run.timed-out', data: { timeoutMs: 60_000 } },
    { type: 'run.cancelled', data: { by: 'ann@example.com' } },
    { type: 'run.finished', data: { status: 'failed', error: { code: 'E', message: 'no', step: 'pick' } } },
  ];
  const trail = entries.map((entry, i) => auditRecord(entry, i + 1, 1000 + i));

  it('is given a trail holding every type of the vocabulary', () => {
    expect(new Set(trail.map((e) => e.type))).toEqual(new Set(AUDIT_TYPES));
  });

  it('reads each type into the steps and keeps every entry in the history', () => {
    const view = runView(run, trail);
    const step = (id: string) => view.steps.find((s) => s.id === id);

    expect(view.history.map((e) => e.type)).toEqual(trail.map((e) => e.type));
    expect(step('charge')?.state).toBe('done');
    expect(step('charge')?.attempts).toMatchObject([
      {
        attempt: 1,
        error,
        input: { amount: 5, _user_email: 'ann@example.com' },
        policy: { decision: 'allow' },
        credentials: [{ name: 'PAY_TOKEN', level: 'org' }],
        redacted: ['PAY_TOKEN'],
      },
      { attempt: 2, output: { id: 1 } },
    ]);
    expect(step('ask')?.approval).toMatchObject({
      requests: [
        { approver: 'bob@example.com', level: 2, channel: 'email', notified: 'sent' },
        { approver: 'cy@example.com', level: 2, channel: 'email', notified: 'failed' },
      ],
      decisions: [{ by: 'bob@example.com', decision: 'approve', comment: 'fine', level: 2 }],
      refused: [{ by: 'eve@example.com', reason: 'not-an-approver', level: 2 }],
    });
    expect(step('ask')?.output).toEqual({ approved: true, level: 2, decidedBy: 'bob@example.com' });
    expect([step('both')?.state, step('wait')?.state]).toEqual(['done', 'done']);
    expect(step('tell')?.error).toEqual({ ...error, step: 'tell' });
    expect(step('pick')?.state).toBe('failed');
  });

  it('keeps a stored entry of a type it does not know in the history and passes over it', () => {
    const stray = {
      seq: 99,
      at: 2000,
      type: 'step.renamed',
      step: 'charge',
      data: {},
    } as unknown as AuditRecord;
    const view = runView(run, [...trail, stray]);
    expect(view.history.at(-1)?.type).toBe('step.renamed');
    expect(view.steps.find((s) => s.id === 'charge')?.state).toBe('done');
  });
});
