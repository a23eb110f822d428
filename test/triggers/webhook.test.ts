// The webhook trigger: Standard Webhooks signatures (cross-checked with the standardwebhooks package),
// the body rules, and idempotent acceptance on a real SQLite file.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { LocalDurableHost } from '../../adapters/local/durable-host.js';
import { SqliteWebhookDeliveryStore } from '../../adapters/local/webhook-store.js';
import {
  acceptWebhook,
  decodeWebhookSecret,
  parseWebhookBody,
  signWebhook,
  verifyWebhookSignature,
  webhookDeliveryId,
} from '../../functions/core/triggers/webhook.js';
import { validateWorkflow } from '../../translator/validate.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const OTHER = `whsec_${randomBytes(32).toString('base64')}`;
const NOW = Date.UTC(2026, 0, 5, 9, 0, 0);
const TS = String(NOW / 1000);
const BODY = '{"amount":900,"description":"Team dinner — café"}';

function sign(secret: string, id: string, ts: string, body: string): string {
  return new Webhook(secret).sign(id, new Date(Number(ts) * 1000), body);
}

function verify(
  headers: { id?: string; timestamp?: string; signature?: string },
  body: string | Uint8Array = BODY,
  secrets = [SECRET],
  now = NOW,
) {
  return verifyWebhookSignature({
    secrets,
    headers: { id: headers.id, timestamp: headers.timestamp, signature: headers.signature },
    rawBody: body,
    now,
  });
}

describe('verifyWebhookSignature', () => {
  it('accepts what the standardwebhooks package signs, as a string or as bytes', () => {
    const signature = sign(SECRET, 'msg_1', TS, BODY);
    expect(verify({ id: 'msg_1', timestamp: TS, signature })).toEqual({ ok: true });
    expect(verify({ id: 'msg_1', timestamp: TS, signature }, new TextEncoder().encode(BODY))).toEqual({
      ok: true,
    });
  });

  it('signs as the package does, and the package verifies what it signs', () => {
    const ours = signWebhook({ secret: SECRET, id: 'msg_2', timestamp: TS, body: BODY });
    expect(ours).toBe(sign(SECRET, 'msg_2', TS, BODY));
    // The package checks against Date.now(): sign for now.
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(ts),
      'webhook-signature': signWebhook({ secret: SECRET, id: 'msg_2', timestamp: ts, body: BODY }),
    };
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('reads a secret with or without the whsec_ prefix, and refuses one that is not base64', () => {
    const bare = SECRET.slice('whsec_'.length);
    expect(decodeWebhookSecret(bare)).toEqual(decodeWebhookSecret(SECRET));
    const signature = sign(SECRET, 'msg_3', TS, BODY);
    expect(verify({ id: 'msg_3', timestamp: TS, signature }, BODY, [bare])).toEqual({ ok: true });
    expect(() => decodeWebhookSecret('whsec_not base64!')).toThrow(TypeError);
    expect(() => decodeWebhookSecret('whsec_')).toThrow(TypeError);
    expect(() => verify({ id: 'x', timestamp: TS, signature: 'v1,x' }, BODY, [])).toThrow(TypeError);
  });

  it('refuses missing headers', () => {
    const signature = sign(SECRET, 'msg_4', TS, BODY);
    const missing = { ok: false, reason: 'missing-headers' };
    expect(verify({ timestamp: TS, signature })).toEqual(missing);
    expect(verify({ id: 'msg_4', signature })).toEqual(missing);
    expect(verify({ id: 'msg_4', timestamp: TS })).toEqual(missing);
    expect(verify({ id: '', timestamp: TS, signature })).toEqual(missing);
  });

  it('refuses malformed timestamps and signatures', () => {
    const signature = sign(SECRET, 'msg_5', TS, BODY);
    for (const timestamp of ['abc', `${TS}.5`, '-1', `${TS}abc`, ' 1'])
      expect(verify({ id: 'msg_5', timestamp, signature })).toEqual({ ok: false, reason: 'bad-timestamp' });
    const value = signature.slice(3);
    for (const bad of [
      value,
      `v2,${value}`,
      `v1a,${value}`,
      'v1,',
      ',',
      `v1,${value}x`,
      `v1,${value.slice(1)}`,
    ])
      expect(verify({ id: 'msg_5', timestamp: TS, signature: bad })).toEqual({
        ok: false,
        reason: 'no-match',
      });
  });

  it('refuses a wrong secret', () => {
    const signature = sign(OTHER, 'msg_6', TS, BODY);
    expect(verify({ id: 'msg_6', timestamp: TS, signature })).toEqual({ ok: false, reason: 'no-match' });
  });

  it('holds the timestamp to five minutes either way', () => {
    const at = (offsetMs: number) => {
      const ts = String((NOW + offsetMs) / 1000);
      return verify({ id: 'msg_7', timestamp: ts, signature: sign(SECRET, 'msg_7', ts, BODY) });
    };
    expect(at(-5 * 60_000)).toEqual({ ok: true });
    expect(at(5 * 60_000)).toEqual({ ok: true });
    expect(at(-5 * 60_000 - 1000)).toEqual({ ok: false, reason: 'too-old' });
    expect(at(5 * 60_000 + 1000)).toEqual({ ok: false, reason: 'too-new' });
    expect(at(-86_400_000)).toEqual({ ok: false, reason: 'too-old' });
    const ts = String(NOW / 1000 - 60);
    const signature = sign(SECRET, 'msg_7', ts, BODY);
    expect(
      verifyWebhookSignature({
        secrets: [SECRET],
        headers: { id: 'msg_7', timestamp: ts, signature },
        rawBody: BODY,
        now: NOW,
        toleranceMs: 30_000,
      }),
    ).toEqual({ ok: false, reason: 'too-old' });
  });

  it('accepts any secret against any of several signatures (rotation)', () => {
    const oldSig = sign(OTHER, 'msg_8', TS, BODY);
    const newSig = sign(SECRET, 'msg_8', TS, BODY);
    const both = `v1,${randomBytes(32).toString('base64')} ${oldSig}  ${newSig}`;
    expect(verify({ id: 'msg_8', timestamp: TS, signature: both }, BODY, [SECRET])).toEqual({ ok: true });
    expect(verify({ id: 'msg_8', timestamp: TS, signature: both }, BODY, [OTHER])).toEqual({ ok: true });
    expect(verify({ id: 'msg_8', timestamp: TS, signature: oldSig }, BODY, [SECRET, OTHER])).toEqual({
      ok: true,
    });
    const third = `whsec_${randomBytes(24).toString('base64')}`;
    expect(verify({ id: 'msg_8', timestamp: TS, signature: both }, BODY, [third])).toEqual({
      ok: false,
      reason: 'no-match',
    });
  });

  it('refuses a tampered body, id or timestamp', () => {
    const signature = sign(SECRET, 'msg_9', TS, BODY);
    const noMatch = { ok: false, reason: 'no-match' };
    expect(verify({ id: 'msg_9', timestamp: TS, signature }, BODY.replace('900', '9000'))).toEqual(noMatch);
    expect(verify({ id: 'msg_9', timestamp: TS, signature }, `${BODY} `)).toEqual(noMatch);
    expect(verify({ id: 'msg_10', timestamp: TS, signature })).toEqual(noMatch);
    expect(verify({ id: 'msg_9', timestamp: String(Number(TS) + 1), signature })).toEqual(noMatch);
  });
});

const JSON_TYPE = 'application/json';
const bytes = (text: string) => new TextEncoder().encode(text);

describe('parseWebhookBody', () => {
  it('returns a JSON object', () => {
    expect(parseWebhookBody(bytes(BODY), JSON_TYPE, 1024)).toEqual({ ok: true, body: JSON.parse(BODY) });
    expect(parseWebhookBody(bytes('{}'), 'application/cloudevents+json; charset=UTF-8', 1024)).toEqual({
      ok: true,
      body: {},
    });
    expect(parseWebhookBody(bytes('{"a":1}'), 'Application/JSON;charset="utf-8"', 7).ok).toBe(true);
  });

  it('refuses an oversize body with 413', () => {
    expect(parseWebhookBody(bytes('{"a":12}'), JSON_TYPE, 7)).toMatchObject({ ok: false, status: 413 });
  });

  it('refuses other content types with 415', () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      '',
      undefined,
      'application/json; charset=latin1',
    ])
      expect(parseWebhookBody(bytes('{}'), type, 1024)).toMatchObject({ ok: false, status: 415 });
  });

  it('refuses invalid JSON, invalid UTF-8 and anything but an object with 400', () => {
    for (const text of ['{"a":', '', 'nul', '[1,2]', '"x"', '42', 'null', 'true'])
      expect(parseWebhookBody(bytes(text), JSON_TYPE, 1024)).toMatchObject({ ok: false, status: 400 });
    expect(parseWebhookBody(bytes('[]'), JSON_TYPE, 1024)).toMatchObject({
      detail: 'the body must be a JSON object, not a list',
    });
    expect(parseWebhookBody(new Uint8Array([0x7b, 0xff, 0x7d]), JSON_TYPE, 1024)).toMatchObject({
      status: 400,
      detail: 'the body is not valid UTF-8',
    });
  });

  it('refuses prototype keys anywhere with 400 naming the path', () => {
    const cases: Array<[string, string]> = [
      ['{"__proto__":{"admin":true}}', '$.__proto__'],
      ['{"a":{"b":[1,{"__proto__":{"x":1}}]}}', '$.a.b[1].__proto__'],
      ['{"items":[{"constructor":{"prototype":{}}}]}', '$.items[0].constructor'],
      ['{"odd key":{"prototype":1}}', '$["odd key"].prototype'],
    ];
    for (const [text, path] of cases) {
      const parsed = parseWebhookBody(bytes(text), JSON_TYPE, 1024);
      expect(parsed).toMatchObject({ ok: false, status: 400 });
      expect(parsed.ok ? '' : parsed.detail).toContain(`(at ${path})`);
    }
    // A value that merely reads "__proto__" is fine.
    expect(parseWebhookBody(bytes('{"a":"__proto__"}'), JSON_TYPE, 1024).ok).toBe(true);
  });

  it('refuses nesting deeper than 64 levels with 422 naming the limit', () => {
    const deep = `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`;
    expect(parseWebhookBody(bytes(deep), JSON_TYPE, 10_000)).toEqual({
      ok: false,
      status: 422,
      detail: 'the document nests deeper than 64 levels',
    });
    const huge = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseWebhookBody(bytes(`{"a":${huge}}`), JSON_TYPE, 1_000_000)).toMatchObject({ status: 422 });
    const fine = `${'{"a":'.repeat(60)}1${'}'.repeat(60)}`;
    expect(parseWebhookBody(bytes(fine), JSON_TYPE, 10_000).ok).toBe(true);
  });
});

describe('webhookDeliveryId', () => {
  it('prefers webhook-id, then Idempotency-Key, and checks the value', () => {
    expect(webhookDeliveryId({ webhookId: 'msg_1', idempotencyKey: 'k' })).toEqual({
      ok: true,
      deliveryId: 'msg_1',
    });
    expect(webhookDeliveryId({ idempotencyKey: 'k-1' })).toEqual({ ok: true, deliveryId: 'k-1' });
    expect(webhookDeliveryId({})).toEqual({ ok: true, deliveryId: null });
    expect(webhookDeliveryId({ idempotencyKey: 'a b' })).toMatchObject({ ok: false, status: 400 });
    expect(webhookDeliveryId({ webhookId: 'x'.repeat(256) })).toMatchObject({ ok: false, status: 400 });
  });
});

describe('acceptWebhook', () => {
  const open: Db[] = [];
  afterEach(() => {
    for (const db of open.splice(0)) if (db.open) db.close();
  });

  function setup(file = join(mkdtempSync(join(tmpdir(), 'stepgate-webhook-')), 'stepgate.db')) {
    const db = openDatabase(file);
    open.push(db);
    const clock = new VirtualClock();
    const store = new SqliteWebhookDeliveryStore(db, clock);
    const runs = new Set<string>();
    const started: string[] = [];
    const startRun = async (runId: string) => {
      started.push(runId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (runs.has(runId)) throw new Error(`run ${runId} started twice`);
      runs.add(runId);
    };
    return { db, file, clock, store, runs, started, startRun, runExists: (id: string) => runs.has(id) };
  }

  it('starts exactly one run for 50 concurrent deliveries of one id', async () => {
    const { store, started, startRun, runExists } = setup();
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        acceptWebhook({ store, workflowId: 'wf', deliveryId: 'msg_1', runExists, startRun }),
      ),
    );
    expect(started).toHaveLength(1);
    expect(new Set(results.map((r) => r.runId))).toEqual(new Set(started));
    expect(results.filter((r) => !r.existing)).toHaveLength(1);
    const again = await acceptWebhook({ store, workflowId: 'wf', deliveryId: 'msg_1', runExists, startRun });
    expect(again).toEqual({ runId: started[0], existing: true });
    expect(started).toHaveLength(1);
  });

  it('starts one run per delivery id, per workflow, and one per request without an id', async () => {
    const { store, started, startRun, runExists } = setup();
    const ids = ['a', 'b', 'c', 'a', 'b'];
    const results = await Promise.all(
      ids.map((deliveryId) => acceptWebhook({ store, workflowId: 'wf', deliveryId, runExists, startRun })),
    );
    expect(new Set(results.map((r) => r.runId)).size).toBe(3);
    const other = await acceptWebhook({ store, workflowId: 'other', deliveryId: 'a', runExists, startRun });
    expect(results.map((r) => r.runId)).not.toContain(other.runId);
    await acceptWebhook({ store, workflowId: 'wf', deliveryId: null, runExists, startRun });
    await acceptWebhook({ store, workflowId: 'wf', deliveryId: null, runExists, startRun });
    expect(new Set(started).size).toBe(started.length);
    expect(started).toHaveLength(6);
  });

  it('starts the claimed run on redelivery when a crash came between claim and start', async () => {
    const first = setup();
    const runId = randomUUID();
    // The first attempt claimed, then the process died before the run was created.
    expect(await first.store.claim('wf', 'msg_9', runId)).toEqual({ runId, existing: false });
    first.db.close();
    const second = setup(first.file);
    const redelivered = await acceptWebhook({
      store: second.store,
      workflowId: 'wf',
      deliveryId: 'msg_9',
      runExists: second.runExists,
      startRun: second.startRun,
    });
    expect(redelivered).toEqual({ runId, existing: true });
    expect(second.started).toEqual([runId]);
  });

  it('retries the start on redelivery after a failed start', async () => {
    const { store, started, startRun, runExists } = setup();
    let fail = true;
    const flaky = async (runId: string) => {
      if (fail) throw new Error('engine unavailable');
      await startRun(runId);
    };
    const options = { store, workflowId: 'wf', deliveryId: 'msg_x', runExists, startRun: flaky };
    await expect(acceptWebhook(options)).rejects.toThrow('engine unavailable');
    fail = false;
    const retried = await acceptWebhook(options);
    expect(retried.existing).toBe(true);
    expect(started).toEqual([retried.runId]);
  });

  it('prunes old deliveries', async () => {
    const { store, clock } = setup();
    await store.claim('wf', 'old', 'r1');
    const cutoff = clock.now() + 1;
    await store.claim('wf', 'new', 'r2');
    expect(await store.prune(cutoff)).toBe(2);
    expect(await store.claim('wf', 'old', 'r3')).toEqual({ runId: 'r3', existing: false });
  });
});

describe('acceptWebhook on the embedded durable host', () => {
  it('creates one run for concurrent and later redeliveries, and finds it with getRun', async () => {
    const result = validateWorkflow(
      ['version: 1', 'id: hook', 'steps:', '  - id: wait', '    type: delay', '    duration: 1h', ''].join(
        '\n',
      ),
    );
    const ir = result.ir;
    if (ir === undefined) throw new Error('the test workflow is invalid');
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'stepgate-webhook-')), 'stepgate.db'));
    const clock = new VirtualClock();
    const host = new LocalDurableHost({ db, clock, activities: {} });
    const store = new SqliteWebhookDeliveryStore(db, clock);
    const user = { email: 'hook@example.com', role: 'member', groups: [], manager: null };
    const options = {
      store,
      workflowId: 'hook',
      deliveryId: 'msg_1',
      runExists: async (runId: string) => (await host.getRun(runId)) !== undefined,
      startRun: (runId: string) =>
        host.startRun({
          runId,
          workflowId: 'hook',
          ir,
          input: {},
          trigger: { type: 'webhook' as const, user },
        }),
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => acceptWebhook(options)));
    const later = await acceptWebhook(options);
    expect(new Set([...results, later].map((r) => r.runId)).size).toBe(1);
    expect(await host.listRuns({ workflowId: 'hook' })).toHaveLength(1);
    expect((await host.getRun(later.runId))?.trigger).toEqual({ type: 'webhook', user });
    await host.close();
    db.close();
  });
});
