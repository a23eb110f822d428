// Chat understanding (functions/core/chat.ts) over the four templates: the workflow found by its id, name
// and aliases in any order and despite small typos, the input filled from the rest of the message by the
// inputs schema, missing fields asked for, follow-ups answering them, ties offered as a choice.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ChatWorkflow,
  distance,
  questionOf,
  reachableTools,
  replyFor,
  understand,
} from '../../functions/core/chat.js';
import { pendingStartToken, readPendingStart } from '../../functions/core/chat-confirm.js';
import { validateWorkflow } from '../../translator/validate.js';

const load = (source: string): ChatWorkflow => {
  const { ir, diagnostics } = validateWorkflow(source, 'yaml');
  if (ir === undefined) throw new Error(JSON.stringify(diagnostics));
  return { id: ir.id, name: ir.name, ir };
};
const template = (name: string) =>
  load(readFileSync(join(import.meta.dirname, '..', '..', 'templates', `${name}.yaml`), 'utf8'));

const WORKFLOWS = ['expense-approval', 'employee-onboarding', 'incident-response', 'travel-booking'].map(
  template,
);

const EXPENSE_REPORT = load(`
version: 1
id: expense-report
name: Expense report
inputs:
  type: object
  required: [month]
  properties:
    month: { type: string }
    urgent: { type: boolean }
triggers:
  - type: manual
steps:
  - id: say
    type: tool
    tool: report
    args: { month: "{{month}}" }
`);

const id = (u: ReturnType<typeof understand>) =>
  u.kind === 'start' || u.kind === 'ask' ? u.workflow.id : undefined;

describe('chat understanding', () => {
  it('starts a workflow named by its alias, with the number and the free words as its input', () => {
    const u = understand('start expense approval for 900 laptop', WORKFLOWS);
    expect(u).toMatchObject({
      kind: 'start',
      workflow: { id: 'expense-approval' },
      input: { amount: 900, description: 'laptop', category: 'other' },
    });
    expect(replyFor(u, 'r1')).toBe(
      'Started Expense approval (run r1) with amount 900, description "laptop", category "other".',
    );
  });

  it('finds the workflow whatever the word order', () => {
    for (const message of [
      'approval expense 900 laptop',
      'laptop 900 for expense approval please',
      'I want to run expense-approval: 900 laptop',
    ]) {
      const u = understand(message, WORKFLOWS);
      expect(u, message).toMatchObject({ kind: 'start', input: { amount: 900, description: 'laptop' } });
    }
  });

  it('tolerates small typos in the workflow words', () => {
    expect(id(understand('expnse aproval 900 laptop', WORKFLOWS))).toBe('expense-approval');
    expect(id(understand('strat incdent respnse', WORKFLOWS))).toBe('incident-response');
    expect(id(understand('onbaord employe', WORKFLOWS))).toBe('employee-onboarding');
    expect(id(understand('book a fligth', WORKFLOWS))).toBe('travel-booking');
    // The typo'd words are the workflow's, not the description's.
    expect(understand('expnse aproval $1,250.50 standing desk', WORKFLOWS)).toMatchObject({
      kind: 'start',
      input: { amount: 1250.5, description: 'standing desk' },
    });
    expect(distance('expnse', 'expense')).toBe(1);
    expect(distance('aproval', 'approval')).toBe(1);
    expect(distance('fligth', 'flight')).toBe(1);
  });

  it('reads numbers, enum words, quoted text and key=value pairs', () => {
    expect(understand('submit expense "team lunch at Rosa" 84.20 meals', WORKFLOWS)).toMatchObject({
      kind: 'start',
      input: { amount: 84.2, description: 'team lunch at Rosa', category: 'meals' },
    });
    expect(
      understand('expense approval amount=1.5k description: new monitor, category=equipmnt', WORKFLOWS),
    ).toMatchObject({
      kind: 'start',
      input: { amount: 1500, description: 'new monitor', category: 'equipment' },
    });
    expect(
      understand('book travel LAX JFK 2030-03-01 budget 800 for the sales offsite', WORKFLOWS),
    ).toMatchObject({
      kind: 'start',
      workflow: { id: 'travel-booking' },
      input: {
        origin: 'LAX',
        destination: 'JFK',
        departureDate: '2030-03-01',
        budget: 800,
        purpose: 'sales offsite',
      },
    });
    // Route words between the codes are not the purpose.
    expect(
      understand('book a flight from SFO to LHR on 2030-03-01 budget 900 for a customer visit', WORKFLOWS),
    ).toMatchObject({
      kind: 'start',
      input: { origin: 'SFO', destination: 'LHR', budget: 900, purpose: 'customer visit' },
    });
    expect(understand('book a flight from SFO to LHR on 2030-03-01 budget 900', WORKFLOWS)).toMatchObject({
      kind: 'start',
      input: { origin: 'SFO', destination: 'LHR', budget: 900 },
    });
  });

  it('fills booleans from yes/no words', () => {
    expect(understand('expense report "March" yes', [EXPENSE_REPORT])).toMatchObject({
      kind: 'start',
      input: { month: 'March', urgent: true },
    });
  });

  it('asks for the required inputs that are missing, keeping what it has', () => {
    const u = understand('start expense approval for 900', WORKFLOWS);
    expect(u).toMatchObject({
      kind: 'ask',
      workflow: { id: 'expense-approval' },
      input: { amount: 900 },
      missing: [{ field: 'description', description: 'description', type: 'string' }],
    });
    expect(replyFor(u)).toBe(
      'To start Expense approval I still need: description. Reply with it, e.g. "description: …".',
    );

    const none = understand('expense approval', WORKFLOWS);
    expect(none).toMatchObject({
      kind: 'ask',
      input: {},
      missing: [
        { field: 'amount', description: 'Amount in US dollars', type: 'number' },
        { field: 'description', type: 'string' },
      ],
    });
    expect(replyFor(none)).toContain('amount (Amount in US dollars), description');
  });

  it('asks again for a value the schema refuses, without keeping it', () => {
    const u = understand('onboard employee Ada Lovelace ada(at)example.com engineering', WORKFLOWS);
    expect(u.kind).toBe('ask');
    if (u.kind !== 'ask') return;
    expect(u.input).toMatchObject({ department: 'engineering', fullName: 'Ada Lovelace ada(at)example.com' });
    expect(u.missing.map((m) => m.field)).toEqual(['personalEmail', 'manager', 'startDate']);
  });

  it('fills a follow-up into the context it was asked in', () => {
    const first = understand('start expense approval for 900', WORKFLOWS);
    if (first.kind !== 'ask') throw new Error('expected ask');
    const context = { workflowId: first.workflow.id, input: first.input };
    expect(understand('the description is standing desk', WORKFLOWS, context)).toMatchObject({
      kind: 'start',
      input: { amount: 900, description: 'standing desk' },
    });
    expect(understand('standing desk', WORKFLOWS, context)).toMatchObject({
      kind: 'start',
      input: { amount: 900, description: 'standing desk' },
    });
    expect(understand('description: "standing desk"', WORKFLOWS, context)).toMatchObject({
      kind: 'start',
      input: { amount: 900, description: 'standing desk' },
    });
    // Answering the amount after the description.
    expect(
      understand('$450', WORKFLOWS, { workflowId: 'expense-approval', input: { description: 'chair' } }),
    ).toMatchObject({ kind: 'start', input: { amount: 450, description: 'chair' } });
    // A message plainly naming another workflow leaves the question.
    expect(id(understand('book travel instead', WORKFLOWS, context))).toBe('travel-booking');
  });

  it('offers a choice when two workflows match as well', () => {
    const u = understand('start expense', [...WORKFLOWS, EXPENSE_REPORT]);
    expect(u.kind).toBe('choose');
    if (u.kind !== 'choose') return;
    expect(u.candidates.map((w) => w.id).sort()).toEqual(['expense-approval', 'expense-report']);
    expect(replyFor(u)).toBe(
      'Which one did you mean: Expense approval (expense-approval) or Expense report (expense-report)?',
    );
    // One more word decides.
    expect(id(understand('start expense report March', [...WORKFLOWS, EXPENSE_REPORT]))).toBe(
      'expense-report',
    );
  });

  it('prefers, among equals, the one workflow whose whole name was said', () => {
    const original = WORKFLOWS.find((w) => w.id === 'expense-approval');
    if (original === undefined) throw new Error('no expense template');
    const copy = { ...original, id: 'expense-approval-copy', name: 'Expense approval (copy)' };
    expect(understand('start expense approval for 900 laptop', [copy, ...WORKFLOWS])).toMatchObject({
      kind: 'start',
      workflow: { id: 'expense-approval' },
      input: { amount: 900, description: 'laptop' },
    });
    // Saying the copy's whole name picks the copy; two copies named alike are still a choice.
    expect(id(understand('start expense approval copy 900 laptop', [copy, ...WORKFLOWS]))).toBe(
      'expense-approval-copy',
    );
    const other = { ...original, id: 'expense-approval-2', name: 'Expense approval' };
    expect(understand('start expense approval', [other, ...WORKFLOWS]).kind).toBe('choose');
  });

  it('suggests workflows when none matches', () => {
    const u = understand('order pizza', WORKFLOWS);
    expect(u.kind).toBe('unknown');
    if (u.kind !== 'unknown') return;
    expect(u.suggestions.length).toBeGreaterThan(0);
    expect(replyFor(u)).toMatch(/^I could not tell which workflow you mean\. Try: "start /);
    const near = understand('onbo', WORKFLOWS);
    expect(near.kind).toBe('unknown');
    if (near.kind === 'unknown') expect(near.suggestions[0]?.id).toBe('employee-onboarding');
    expect(understand('hello', [])).toEqual({ kind: 'unknown', suggestions: [] });
  });

  it('uses the description words when a workflow has no aliases', () => {
    const plain = load(`
version: 1
id: wf-7
name: Seven
description: Reorder office supplies when stock runs low.
triggers:
  - type: manual
steps:
  - id: go
    type: tool
    tool: supplies
`);
    expect(id(understand('reorder supplies', [...WORKFLOWS, plain]))).toBe('wf-7');
  });

  it('tells questions (help, my runs, my approvals) from starts', () => {
    const cases: Array<[string, string | undefined]> = [
      ['hello, what can you do?', 'help'],
      ['help', 'help'],
      ['what can I start?', 'help'],
      ['what are my runs?', 'runs'],
      ['how are my runs doing', 'runs'],
      ['status of my expense approval', 'runs'],
      ['what did I start today', 'runs'],
      ['my pending approvals', 'approvals'],
      ['anything to approve?', 'approvals'],
      // Starts, even with a question's word in them.
      ['help me book a flight', undefined],
      ['start expense approval for 900 laptop', undefined],
      ['run expense approval', undefined],
      ['report incident: status page down for api', undefined],
      ['submit expense 45 team lunch', undefined],
    ];
    for (const [message, question] of cases) expect(questionOf(message, WORKFLOWS), message).toBe(question);
  });

  it('finds the tool steps a run can reach, in parallel branches too, and not the unreachable', () => {
    const names = (w: ChatWorkflow) => reachableTools(w.ir.graph).map((t) => t.tool);
    const byId = (id: string) => WORKFLOWS.find((w) => w.id === id) as ChatWorkflow;
    expect(names(byId('expense-approval'))).toEqual(['expenses-validate', 'payments-charge']);
    expect(names(byId('incident-response'))).toContain('incidents-page');
    const island = load(`
version: 1
id: island
name: Island
triggers:
  - type: manual
steps:
  - id: read
    type: tool
    tool: reader
    next: end
  - id: never
    type: tool
    tool: writer
`);
    expect(names(island)).toEqual(['reader']);
  });

  it('signs a pending start that only this key, unaltered and in time, reads back', async () => {
    const key = new Uint8Array(32).fill(7);
    const start = { user: 'Emma@Example.com', workflowId: 'w', version: 2, input: { amount: 5 } };
    const { token, pending } = await pendingStartToken(key, start, 1_000, 60_000);
    expect(pending).toMatchObject({
      user: 'emma@example.com',
      workflowId: 'w',
      version: 2,
      expiresAt: 61_000,
    });
    expect(await readPendingStart(key, token, 60_999)).toEqual({ ok: true, pending });
    expect(await readPendingStart(key, token, 61_000)).toEqual({
      ok: false,
      problem: 'the confirmation has expired: ask again',
    });
    expect((await readPendingStart(new Uint8Array(32), token, 2_000)).ok).toBe(false);
    expect((await readPendingStart(key, `${token}x`, 2_000)).ok).toBe(false);
    // Two tokens for the same start are two run ids.
    expect((await pendingStartToken(key, start, 1_000)).pending.runId).not.toBe(pending.runId);
  });
});
