// Webhook deliveries over the HTTP app: a Standard Webhooks signature over the raw body starts the
// incident template as its `runAs` identity, a redelivery returns the same run, and every refusal
// (signature missing, wrong, old, for another workflow; oversized, not JSON, prototype keys; bad input)
// leaves no run behind. An API token scoped to a workflow's webhook starts `auth: token` triggers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../../adapters/local/engine.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { SYSTEM_PUBLISHER } from '../../functions/core/delegation.js';
import { createApp } from '../../functions/core/http/app.js';
import type { Identity } from '../../functions/core/protocol.js';
import { signWebhook } from '../../functions/core/triggers/webhook.js';
import { validateWorkflow } from '../../translator/validate.js';

const SECRET = `whsec_${Buffer.from('incident-secret-0123456789abcdef').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('the-previous-secret-0123456789ab').toString('base64')}`;
const bot: Identity = { email: 'monitoring-bot@example.com', role: 'member', groups: ['ops'], manager: null };
const machine: Identity = { email: 'ci@example.com', role: 'member', groups: [], manager: null };
const TEMPLATE = readFileSync(
  join(import.meta.dirname, '..', '..', 'templates', 'incident-response.yaml'),
  'utf8',
);
const TOKEN_HOOK = `version: 1
id: token-hook
triggers: [{ type: webhook, auth: token }]
inputs: { type: object, required: [n], properties: { n: { type: number } } }
steps:
  - { id: wait, type: delay, duration: 1h }
`;

describe('webhook deliveries', () => {
  let engine: EmbeddedEngine;
  let clock: VirtualClock;
  let app: ReturnType<typeof createApp>;

  beforeEach(async () => {
    clock = new VirtualClock();
    engine = createEmbeddedEngine({
      file: ':memory:',
      clock,
      directory: new InMemoryDirectory([bot, machine]),
      tools: { call: async () => ({ ok: true }) },
      notifier: { send: async () => ({}) },
      approvalNotifier: { requested: async () => {} },
    });
    const workflows = new SqliteWorkflowStore(engine.db);
    for (const text of [TEMPLATE, TOKEN_HOOK]) {
      const ir = validateWorkflow(text).ir;
      if (ir === undefined) throw new Error('invalid workflow');
      // Installed as the server installs its templates: by the system, whose delegations always hold.
      await workflows.save({ ir, source: text, format: 'yaml', by: SYSTEM_PUBLISHER, at: clock.now() });
    }
    app = createApp({
      authenticate: async (c) =>
        c.req.header('authorization') === 'Bearer sg_test'
          ? { identity: machine, via: 'token', scopes: ['webhook:token-hook'] }
          : null,
      webhooks: {
        secrets: async (id) => (id === 'incident-response' ? [SECRET, OLD_SECRET] : []),
        deliveries: new SqliteWebhookDeliveryStore(engine.db, clock),
        user: async (email) => (email === bot.email ? bot : undefined),
      },
      workflows,
      host: engine.host,
      approvals: engine.approvals,
      approvalStore: engine.store,
      clock,
    });
  });

  const deliver = async (
    body: string,
    options: {
      id?: string;
      secret?: string;
      at?: number;
      type?: string;
      workflow?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const id = options.id ?? 'msg_1';
    const timestamp = Math.floor((options.at ?? clock.now()) / 1000);
    const headers: Record<string, string> = {
      'content-type': options.type ?? 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook({ secret: options.secret ?? SECRET, id, timestamp, body }),
      ...options.headers,
    };
    const response = await app.request(`/api/workflows/${options.workflow ?? 'incident-response'}/run`, {
      method: 'POST',
      headers,
      body,
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const runs = () => engine.host.listRuns({});
  const alert = JSON.stringify({ title: 'DB down', service: 'db', source: 'grafana' });

  it('starts a run as the trigger runAs user, and a redelivery gets the same run', async () => {
    const first = await deliver(alert);
    expect(first.status).toBe(201);
    const again = await deliver(alert);
    expect(again).toEqual({ status: 200, json: { ...first.json, redelivery: true } });
    expect(await runs()).toHaveLength(1);
    expect((await runs())[0]?.trigger).toEqual({ type: 'webhook', user: bot });
    expect((await runs())[0]?.input).toMatchObject({ title: 'DB down', service: 'db' });
    // A rotated-out secret still verifies during the rotation.
    expect((await deliver(alert, { id: 'msg_2', secret: OLD_SECRET })).status).toBe(201);
  });

  it('refuses every bad delivery without starting anything', async () => {
    const other = `whsec_${Buffer.from('someone-elses-secret-0123456789a').toString('base64')}`;
    const cases: Array<[string, Promise<{ status: number }>, number]> = [
      ['wrong secret', deliver(alert, { secret: other }), 401],
      ['too old', deliver(alert, { at: clock.now() - 6 * 60_000 }), 401],
      ['from the future', deliver(alert, { at: clock.now() + 6 * 60_000 }), 401],
      [
        'tampered body',
        deliver(alert).then(() =>
          deliver(alert.replace('db', 'web'), { id: 'msg_t', headers: { 'webhook-signature': 'v1,AAAA' } }),
        ),
        401,
      ],
      ['signature missing', deliver(alert, { id: 'msg_s', headers: { 'webhook-signature': '' } }), 401],
      ['missing timestamp', deliver(alert, { id: 'msg_m', headers: { 'webhook-timestamp': '' } }), 401],
      ['another workflow', deliver(alert, { workflow: 'token-hook' }), 404],
      ['not JSON', deliver('title=x', { id: 'msg_f', type: 'application/x-www-form-urlencoded' }), 415],
      [
        'oversized',
        deliver(JSON.stringify({ title: 'x'.repeat(300_000), service: 'db' }), { id: 'msg_o' }),
        413,
      ],
      [
        'prototype keys',
        deliver('{"title":"x","service":"db","__proto__":{"admin":true}}', { id: 'msg_p' }),
        400,
      ],
      ['array body', deliver('[1,2]', { id: 'msg_a' }), 400],
      ['invalid input', deliver(JSON.stringify({ title: '' }), { id: 'msg_i' }), 422],
    ];
    for (const [name, pending, status] of cases) expect((await pending).status, name).toBe(status);
    // Only the one valid delivery of the tampered case's setup started a run.
    expect(await runs()).toHaveLength(1);
  });

  it('gives a token delivery with an Idempotency-Key one run, however often it is sent', async () => {
    const send = (key: string) =>
      app.request('/api/workflows/token-hook/run', {
        method: 'POST',
        headers: {
          authorization: 'Bearer sg_test',
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ n: 4 }),
      });
    const first = await send('order-17');
    expect(first.status).toBe(201);
    const again = await send('order-17');
    expect(again.status).toBe(200);
    const [a, b] = [(await first.json()) as { runId: string }, (await again.json()) as { runId: string }];
    expect(b).toMatchObject({ runId: a.runId, redelivery: true });
    expect((await send('bad key with spaces')).status).toBe(400);
    expect(await runs()).toHaveLength(1);
  });

  it('starts an auth: token trigger for a token scoped to its webhook, as the token owner', async () => {
    const response = await app.request('/api/workflows/token-hook/run', {
      method: 'POST',
      headers: { authorization: 'Bearer sg_test', 'content-type': 'application/json' },
      body: JSON.stringify({ n: 3 }),
    });
    expect(response.status).toBe(201);
    expect((await runs())[0]).toMatchObject({
      workflowId: 'token-hook',
      trigger: { type: 'webhook', user: { email: machine.email } },
      input: { n: 3 },
    });
  });
});
