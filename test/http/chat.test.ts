// The chat routes (functions/core/http/chat-routes.ts) over Hono's fetch interface with a real embedded
// engine: a message starts a run as the chatting user (trigger type chat) — at once when its path reaches
// only read-only tools, after POST /api/chat/confirm with the answer's token when it can reach a write tool;
// the manual trigger's minRole is enforced and nothing the user may not start is suggested; help, "my
// runs" and "my pending approvals" are answered; missing inputs are asked for and the follow-up starts the
// run; bad bodies are problems naming the field.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { createApp } from '../../functions/core/http/app.js';
import type { PolicyConfig } from '../../functions/core/policy.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ROLES } from '../../translator/definition.js';
import { serviceAccounts } from '../support/service-accounts.js';

const KEY = randomBytes(32);
const USERS: Record<string, Identity> = Object.fromEntries(
  ROLES.map((role) => [
    role,
    { email: `${role}@example.com`, role, groups: ['staff'], manager: 'manager@example.com' },
  ]),
);
const template = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', '..', 'templates', `${name}.yaml`), 'utf8');

/** The tools the registry knows, with the annotations the sandbox servers give them; others are unknown. */
const TOOLS: Record<string, { server: string; annotations?: Record<string, unknown> }> = {
  'expenses-validate': { server: 'expenses', annotations: { readOnlyHint: true } },
  'payments-charge': { server: 'payments', annotations: { readOnlyHint: false } },
  'travel-search-flights': { server: 'travel', annotations: { readOnlyHint: true } },
};

/** A workflow that only reads: one read-only tool. */
const EXPENSE_CHECK = `
version: 1
id: expense-check
name: Expense check
aliases: [check expense]
inputs:
  type: object
  required: [amount]
  properties:
    amount: { type: number }
triggers:
  - type: manual
    minRole: member
steps:
  - id: validate
    type: tool
    tool: expenses-validate
    args: { amount: "{{amount}}" }
`;

/** A write tool behind a condition the input decides: the path can still reach it. */
const MAYBE_PAY = `
version: 1
id: maybe-pay
name: Maybe pay
inputs:
  type: object
  required: [amount]
  properties:
    amount: { type: number }
triggers:
  - type: manual
    minRole: member
steps:
  - id: check
    type: tool
    tool: expenses-validate
    args: { amount: "{{amount}}" }
  - id: big
    type: condition
    if: amount > 1000000
    then: pay
    else: end
  - id: pay
    type: tool
    tool: payments-charge
    args: { amount: "{{amount}}" }
`;

/** A leave request: straight to the managers' approval, no tool at all. */
const LEAVE = `
version: 1
id: leave-request
name: Leave request
aliases: [request leave]
triggers:
  - type: manual
    minRole: member
steps:
  - id: manager_ok
    type: approval
    approvers: [role:manager]
    message: "Leave for {{trigger.user.email}}?"
`;

describe('POST /api/chat', () => {
  let engine: EmbeddedEngine;
  let app: ReturnType<typeof createApp>;
  /** Moves the API's clock (the confirmations' expiry) ahead of the engine's. */
  let skew: number;
  let clock: VirtualClock;

  const mountApp = (policy: PolicyConfig = {}) =>
    createApp({
      authenticate: async (c) => {
        const identity = USERS[c.req.header('x-test-user') ?? ''];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      chat: { maxMessageLength: 200, confirmKey: KEY, policy },
      tools: {
        lookup: async (name) => {
          const tool = TOOLS[name];
          if (tool === undefined) throw new Error(`no tool '${name}'`);
          return { name, server: tool.server, inputSchema: {}, annotations: tool.annotations ?? null };
        },
      },
      users: new InMemoryDirectory([...Object.values(USERS), ...serviceAccounts()]),
      workflows: new SqliteWorkflowStore(engine.db),
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock: {
        now: () => clock.now() + skew,
        setTimer: (at, fire) => clock.setTimer(at, fire),
        clearTimer: (handle) => clock.clearTimer(handle),
      },
    });

  beforeEach(async () => {
    skew = 0;
    clock = new VirtualClock();
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory(Object.values(USERS)),
      tools: { call: async () => ({ ok: true }) },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    app = mountApp();
    for (const name of ['expense-approval', 'employee-onboarding', 'incident-response', 'travel-booking'])
      await save(name, template(name));
    for (const source of [EXPENSE_CHECK, MAYBE_PAY, LEAVE])
      await save(/id: (\S+)/.exec(source)?.[1] ?? '', source);
  });

  const save = async (id: string, source: string) => {
    const response = await app.request(`/api/workflows/${id}`, {
      method: 'PUT',
      headers: { 'x-test-user': 'admin', 'content-type': 'application/yaml' },
      body: source,
    });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
  };

  const confirm = async (as: string, token: unknown) => {
    const response = await app.request('/api/chat/confirm', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-user': as },
      body: JSON.stringify({ token }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  const chat = async (as: string | undefined, body: unknown, type = 'application/json') => {
    const headers: Record<string, string> = { 'content-type': type };
    if (as !== undefined) headers['x-test-user'] = as;
    const response = await app.request('/api/chat', {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      json: (await response.json()) as Record<string, unknown>,
    };
  };

  it('starts a workflow that only reads at once, as the chatting user, with the input it carries', async () => {
    const result = await chat('member', { message: 'check expense 900' });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      action: 'started',
      workflowId: 'expense-check',
      input: { amount: 900 },
    });
    expect(result.json.reply).toMatch(/^Started Expense check \(run .+\) with amount 900/);
    const run = await engine.host.getRun(result.json.runId as string);
    expect(run?.workflowId).toBe('expense-check');
    expect(run?.trigger).toEqual({ type: 'chat', user: USERS.member });
    expect(run?.input).toEqual({ amount: 900 });
  });

  it('asks to confirm a start that can reach a write tool, showing the input; the token starts it once', async () => {
    const asked = await chat('member', { message: 'start expense approval for 900 laptop' });
    expect(asked.status).toBe(200);
    expect(asked.json).toMatchObject({
      action: 'confirm',
      workflowId: 'expense-approval',
      input: { amount: 900, description: 'laptop' },
      writes: ['payments-charge'],
    });
    expect(asked.json.reply).toBe(
      'Start Expense approval with amount 900, description "laptop", category "other"? It can change things: it calls payments-charge. Confirm to start it, or cancel.',
    );
    expect(asked.json.runId).toBeUndefined();
    expect(await engine.host.listRuns()).toEqual([]);

    const token = (asked.json.confirmation as { token: string }).token;
    const started = await confirm('member', token);
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({ action: 'started', workflowId: 'expense-approval' });
    expect(started.json.reply).toMatch(
      /^Started Expense approval \(run .+\) with amount 900, description "laptop"/,
    );
    const run = await engine.host.getRun(started.json.runId as string);
    expect(run?.trigger).toEqual({ type: 'chat', user: USERS.member });
    expect(run?.input).toEqual({ amount: 900, description: 'laptop', category: 'other' });

    // The same token again (a double click, a replay) starts nothing more.
    const again = await confirm('member', token);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({
      field: 'token',
      detail: `this confirmation already started run ${run?.id}`,
    });
    expect(await engine.host.listRuns()).toHaveLength(1);
  });

  it('counts a write tool behind a condition, an unknown tool, and a policy `write: true` as writing', async () => {
    // maybe-pay pays only for amounts no one sends; the path can still reach payments-charge.
    expect((await chat('member', { message: 'start maybe pay 5' })).json).toMatchObject({
      action: 'confirm',
      writes: ['payments-charge'],
    });
    // Travel booking's tools the registry does not know count as writing, its known read-only one does not.
    const travel = await chat('member', { message: 'book a flight SFO to LHR on 2026-12-14 budget 100' });
    expect(travel.json.action).toBe('confirm');
    expect(travel.json.writes).not.toContain('travel-search-flights');
    expect(travel.json.writes).toEqual(expect.arrayContaining(['travel-book', 'payments-charge']));
    // The policy's word wins over the annotations.
    app = mountApp({ tools: { 'expenses-validate': { write: true } } });
    expect((await chat('member', { message: 'check expense 900' })).json).toMatchObject({
      action: 'confirm',
      writes: ['expenses-validate'],
    });
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it("refuses a confirmation that is another user's, altered, expired, or for a changed workflow", async () => {
    const asked = await chat('member', { message: 'start expense approval for 900 laptop' });
    const token = (asked.json.confirmation as { token: string; expiresAt: number }).token;

    expect(await confirm('lead', token)).toMatchObject({ status: 403, json: { field: 'token' } });
    // The input inside the token changed (a bigger amount): its signature no longer matches.
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const pending = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { input: { amount: number } };
    pending.input.amount = 90_000;
    const altered = `${header}.${Buffer.from(JSON.stringify(pending)).toString('base64url')}.${signature}`;
    expect(await confirm('member', altered)).toMatchObject({
      status: 422,
      json: { field: 'token', detail: 'the confirmation is not one this server gave' },
    });
    for (const bad of ['', 'x', 42, `${token}.x`])
      expect((await confirm('member', bad)).json, String(bad)).toMatchObject({ status: 422, field: 'token' });

    // Five minutes later it has expired.
    skew = 5 * 60_000;
    expect(await confirm('member', token)).toMatchObject({
      status: 422,
      json: { detail: 'the confirmation has expired: ask again' },
    });
    skew = 0;
    // A new version of the workflow since: the input was understood for the old one.
    await save('expense-approval', template('expense-approval').replace('timeout: 7d', 'timeout: 6d'));
    expect(await confirm('member', token)).toMatchObject({ status: 409, json: { field: 'token' } });
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it("needs the manual trigger's minRole: a viewer gets 403 and no run starts", async () => {
    const viewer = await chat('viewer', { message: 'start expense approval for 900 laptop' });
    expect(viewer.status).toBe(403);
    expect(viewer.type).toContain('application/problem+json');
    expect(viewer.json).toMatchObject({ status: 403, title: 'Forbidden' });
    // Onboarding needs a manager, even just to be asked for its inputs.
    expect((await chat('member', { message: 'onboard employee' })).status).toBe(403);
    expect((await chat('manager', { message: 'onboard employee' })).json.action).toBe('ask');
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it('asks for missing inputs, then starts the run from the follow-up', async () => {
    const ask = await chat('member', { message: 'expnse aproval 900' });
    expect(ask.status).toBe(200);
    expect(ask.json).toMatchObject({
      action: 'ask',
      workflowId: 'expense-approval',
      context: { workflowId: 'expense-approval', input: { amount: 900 } },
      missing: [{ field: 'description', type: 'string' }],
    });
    expect(ask.json.reply).toContain('description');
    expect(ask.json.runId).toBeUndefined();
    expect(await engine.host.listRuns()).toEqual([]);

    const understood = await chat('member', {
      message: 'the description is standing desk',
      context: ask.json.context,
    });
    expect(understood.json).toMatchObject({ action: 'confirm', workflowId: 'expense-approval' });
    const started = await confirm('member', (understood.json.confirmation as { token: string }).token);
    const run = await engine.host.getRun(started.json.runId as string);
    expect(run?.input).toMatchObject({ amount: 900, description: 'standing desk' });
    expect(run?.trigger.type).toBe('chat');
  });

  it('checks an echoed context again before starting', async () => {
    const result = await chat('member', {
      message: 'standing desk',
      context: { workflowId: 'expense-approval', input: { amount: -5 } },
    });
    expect(result.json).toMatchObject({
      action: 'ask',
      missing: [{ field: 'amount' }],
      context: { input: {} },
    });
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it('answers a "which one?" with the workflow picked from its candidates', async () => {
    // A second workflow named exactly like the first: the message alone cannot decide.
    const twin = template('expense-approval').replace('id: expense-approval', 'id: expense-approval-eu');
    expect(
      (
        await app.request('/api/workflows/expense-approval-eu', {
          method: 'PUT',
          headers: { 'x-test-user': 'admin', 'content-type': 'application/yaml' },
          body: twin,
        })
      ).status,
    ).toBe(201);
    const message = 'start expense approval for 900 laptop';
    const asked = await chat('member', { message });
    expect(asked.json).toMatchObject({ action: 'choose' });
    expect((asked.json.candidates as Array<{ id: string }>).map((c) => c.id).sort()).toEqual([
      'expense-approval',
      'expense-approval-eu',
    ]);
    const picked = await chat('member', { message, workflowId: 'expense-approval-eu' });
    expect(picked.json).toMatchObject({
      action: 'confirm',
      workflowId: 'expense-approval-eu',
      input: { amount: 900, description: 'laptop' },
    });
    expect((await chat('member', { message, workflowId: 'nope' })).json).toMatchObject({
      status: 422,
      field: 'workflowId',
    });
  });

  it('offers suggestions when no workflow matches, only ones the user may start', async () => {
    const result = await chat('member', { message: 'order pizza' });
    expect(result.status).toBe(200);
    expect(result.json.action).toBe('unknown');
    expect(result.json.reply).toMatch(/^I could not tell which workflow you mean/);
    const ids = (result.json.candidates as Array<{ id: string }>).map((c) => c.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain('employee-onboarding');
    expect(result.json.reply).not.toContain('onboarding');
    // A word close to onboarding's only: still not offered to a member, offered to a manager.
    const hire = await chat('member', { message: 'hiring' });
    expect(JSON.stringify(hire.json)).not.toContain('onboarding');
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it('answers help with what the user may start, and nothing else', async () => {
    const member = await chat('member', { message: 'hello, what can you do?' });
    expect(member.status).toBe(200);
    expect(member.json.action).toBe('help');
    const ids = (member.json.candidates as Array<{ id: string }>).map((c) => c.id);
    expect(ids).toEqual([
      'expense-approval',
      'expense-check',
      'incident-response',
      'leave-request',
      'maybe-pay',
      'travel-booking',
    ]);
    expect(member.json.reply).toContain('Expense approval ("start expense approval")');
    expect(member.json.reply).toContain('"what are my runs?"');
    expect(member.json.reply).not.toContain('Employee onboarding');

    const manager = await chat('manager', { message: 'help' });
    expect((manager.json.candidates as Array<{ id: string }>).map((c) => c.id)).toContain(
      'employee-onboarding',
    );
    expect((await chat('member', { message: 'what can I start?' })).json.action).toBe('help');
    // Naming a workflow is a start, not a question.
    expect((await chat('member', { message: 'help me book a flight' })).json.action).toBe('ask');
    expect(await engine.host.listRuns()).toEqual([]);
  });

  it('answers "what are my runs?" with the user\'s own latest runs, and suggests nothing', async () => {
    expect((await chat('member', { message: 'what are my runs?' })).json).toEqual({
      action: 'runs',
      reply: 'You have not started any runs yet.',
      runs: [],
    });
    const mine = (await chat('member', { message: 'check expense 12' })).json.runId as string;
    await chat('lead', { message: 'check expense 13' });
    const answer = await chat('member', { message: 'what are my runs?' });
    expect(answer.json).toMatchObject({
      action: 'runs',
      runs: [{ id: mine, workflowId: 'expense-check', name: 'Expense check' }],
    });
    expect(answer.json.runs).toHaveLength(1);
    expect(answer.json.reply).toMatch(/^Your latest run: Expense check: (running|completed)\.$/);
    expect(answer.json.candidates).toBeUndefined();
  });

  it('says beside a completed run what decided its path, from its record', async () => {
    const started = await chat('member', { message: 'request leave' });
    expect(started.json.action, String(started.json.reply)).toBe('started');
    const runId = started.json.runId as string;
    await engine.host.idle();
    await engine.approvals.decide({
      runId,
      stepId: 'manager_ok',
      by: 'manager@example.com',
      decision: 'approve',
      channel: 'api',
    });
    expect(await engine.host.waitForRun(runId)).toBe('completed');
    const answer = await chat('member', { message: 'what are my runs?' });
    expect(answer.json.runs).toEqual([
      expect.objectContaining({
        id: runId,
        status: 'completed',
        outcome: { kind: 'approved', step: 'manager_ok', by: 'manager@example.com' },
      }),
    ]);
    expect(answer.json.reply).toBe('Your latest run: Leave request: completed, approved.');
  });

  it('answers "my pending approvals" with what waits on the user', async () => {
    expect((await chat('manager', { message: 'my pending approvals' })).json).toMatchObject({
      action: 'approvals',
      reply: 'Nothing waits on your approval.',
      approvals: [],
    });
    const runId = (await chat('member', { message: 'request leave' })).json.runId as string;
    await engine.host.idle();
    const answer = await chat('manager', { message: 'anything to approve?' });
    expect(answer.json).toMatchObject({
      action: 'approvals',
      approvals: [{ runId, workflowId: 'leave-request', name: 'Leave request', stepId: 'manager_ok' }],
      reply: 'One approval waits on you: Leave request (Leave for member@example.com?).',
    });
    expect((await chat('member', { message: 'my pending approvals' })).json.approvals).toEqual([]);
  });

  it('answers a bad body with a problem naming the field', async () => {
    for (const [body, field] of [
      [{}, 'message'],
      [{ message: 42 }, 'message'],
      [{ message: '   ' }, 'message'],
      [{ message: 'x'.repeat(201) }, 'message'],
      [{ message: 'hi', context: 'no' }, 'context'],
      [{ message: 'hi', context: { input: {} } }, 'context.workflowId'],
      [{ message: 'hi', context: { workflowId: 'expense-approval', input: [1] } }, 'context.input'],
      [{ message: 'hi', context: { workflowId: 'nope' } }, 'context.workflowId'],
    ] as const) {
      const result = await chat('member', body);
      expect(result.status, JSON.stringify(body)).toBe(422);
      expect(result.type).toContain('application/problem+json');
      expect(result.json.field).toBe(field);
    }
    expect((await chat('member', '[1]')).status).toBe(400);
    expect((await chat('member', 'message=hi', 'text/plain')).status).toBe(415);
    expect((await chat(undefined, { message: 'start expense approval for 900 laptop' })).status).toBe(401);
  });
});
