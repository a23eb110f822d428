// The chat route (functions/core/http/chat-routes.ts) over Hono's fetch interface with a real embedded
// engine: a message starts a run as the chatting user (trigger type chat), the manual trigger's minRole is
// enforced, missing inputs are asked for and the follow-up starts the run, bad bodies are problems naming
// the field.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { createApp } from '../../functions/core/http/app.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ROLES } from '../../translator/definition.js';
import { serviceAccounts } from '../support/service-accounts.js';

const USERS: Record<string, Identity> = Object.fromEntries(
  ROLES.map((role) => [
    role,
    { email: `${role}@example.com`, role, groups: ['staff'], manager: 'manager@example.com' },
  ]),
);
const template = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', '..', 'templates', `${name}.yaml`), 'utf8');

describe('POST /api/chat', () => {
  let engine: EmbeddedEngine;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    const clock = new VirtualClock();
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory(Object.values(USERS)),
      tools: { call: async () => ({ ok: true }) },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    app = createApp({
      authenticate: async (c) => {
        const identity = USERS[c.req.header('x-test-user') ?? ''];
        return identity === undefined ? null : { identity, via: 'token' };
      },
      chat: { maxMessageLength: 200 },
      users: new InMemoryDirectory([...Object.values(USERS), ...serviceAccounts()]),
      workflows: new SqliteWorkflowStore(engine.db),
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
    });
    for (const name of ['expense-approval', 'employee-onboarding', 'incident-response', 'travel-booking']) {
      const response = await app.request(`/api/workflows/${name}`, {
        method: 'PUT',
        headers: { 'x-test-user': 'admin', 'content-type': 'application/yaml' },
        body: template(name),
      });
      expect(response.status).toBe(201);
    }
  });

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

  it('starts the workflow the message names, as the chatting user, with the input it carries', async () => {
    const result = await chat('member', { message: 'start expense approval for 900 laptop' });
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ action: 'started', workflowId: 'expense-approval' });
    expect(result.json.reply).toMatch(
      /^Started Expense approval \(run .+\) with amount 900, description "laptop"/,
    );
    const run = await engine.host.getRun(result.json.runId as string);
    expect(run?.workflowId).toBe('expense-approval');
    expect(run?.trigger).toEqual({ type: 'chat', user: USERS.member });
    expect(run?.input).toEqual({ amount: 900, description: 'laptop', category: 'other' });
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

    const started = await chat('member', {
      message: 'the description is standing desk',
      context: ask.json.context,
    });
    expect(started.json).toMatchObject({ action: 'started', workflowId: 'expense-approval' });
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
    expect(picked.json).toMatchObject({ action: 'started', workflowId: 'expense-approval-eu' });
    expect((await engine.host.getRun(picked.json.runId as string))?.input).toMatchObject({
      amount: 900,
      description: 'laptop',
    });
    expect((await chat('member', { message, workflowId: 'nope' })).json).toMatchObject({
      status: 422,
      field: 'workflowId',
    });
  });

  it('offers suggestions when no workflow matches', async () => {
    const result = await chat('member', { message: 'order pizza' });
    expect(result.status).toBe(200);
    expect(result.json.action).toBe('unknown');
    expect(result.json.reply).toMatch(/^I could not tell which workflow you mean/);
    expect(Array.isArray(result.json.candidates)).toBe(true);
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
