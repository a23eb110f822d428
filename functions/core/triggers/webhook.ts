// The webhook trigger, framework-free: the HTTP layer reads the request and calls these.
//
// 1. `verifyWebhookSignature` (auth: signature) — Standard Webhooks (https://www.standardwebhooks.com):
//    `webhook-signature` holds one or more space-separated `v1,<base64 HMAC-SHA256>` over
//    `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the secret (base64, optionally prefixed
//    `whsec_`). Several secrets (rotation) and several signatures are allowed: any pair that matches
//    verifies. `webhook-timestamp` (Unix seconds) must be within the tolerance of now, both ways.
//    node:crypto does the work: the `standardwebhooks` package reads `Date.now()` itself (no injectable
//    clock), takes one secret and no `Uint8Array` body, and reports failures only as messages; the tests
//    check this implementation against its `Webhook.sign`.
// 2. `parseWebhookBody` — a JSON object (never a list, a scalar, or keys that pollute prototypes).
// 3. `acceptWebhook` — idempotency: a delivery id (`webhook-id`, else `Idempotency-Key`) is claimed once per
//    workflow with a fresh run id, and every accepted delivery has exactly one run (see acceptWebhook).
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { jsonTooDeep, MAX_NESTING, nestingMessage } from '../../../translator/nesting.js';
import type { JsonValue } from '../../../translator/template.js';
import type { WebhookDeliveryStore } from '../ports.js';

export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
  idempotencyKey: 'idempotency-key',
} as const;

export const DEFAULT_TOLERANCE_MS = 5 * 60 * 1000;
const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type SignatureFailure = 'missing-headers' | 'bad-timestamp' | 'too-old' | 'too-new' | 'no-match';
export type SignatureVerdict = { ok: true } | { ok: false; reason: SignatureFailure };

export interface WebhookSignatureHeaders {
  id: string | null | undefined;
  timestamp: string | null | undefined;
  signature: string | null | undefined;
}

/**
 * The HMAC key a secret stands for: the base64 after an optional `whsec_` prefix, as the spec's
 * libraries read it. Throws a TypeError for a secret that is not base64 or is empty: that is a
 * configuration error, not the sender's.
 */
export function decodeWebhookSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64.test(encoded))
    throw new TypeError(`a webhook secret must be base64 (optionally prefixed ${SECRET_PREFIX})`);
  return Buffer.from(encoded, 'base64');
}

/** The `v1,<base64>` signature of a message: what a sender puts in `webhook-signature`. */
export function signWebhook(message: {
  secret: string;
  id: string;
  /** Unix seconds, as sent in `webhook-timestamp`. */
  timestamp: number | string;
  body: string | Uint8Array;
}): string {
  return `v1,${hmac(decodeWebhookSecret(message.secret), message.id, String(message.timestamp), message.body)}`;
}

function hmac(key: Buffer, id: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', key)
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('base64');
}

/**
 * Checks a delivery's Standard Webhooks signature. `rawBody` must be the bytes as received (re-serialised
 * JSON does not verify). `now` is ms since epoch. Throws (TypeError) only when `secrets` is empty or a
 * secret is not base64.
 */
export function verifyWebhookSignature(options: {
  secrets: readonly string[];
  headers: WebhookSignatureHeaders;
  rawBody: string | Uint8Array;
  now: number;
  toleranceMs?: number;
}): SignatureVerdict {
  const { headers, rawBody, now } = options;
  const tolerance = options.toleranceMs ?? DEFAULT_TOLERANCE_MS;
  if (options.secrets.length === 0)
    throw new TypeError('a signature-checked webhook needs at least one secret');
  const keys = options.secrets.map(decodeWebhookSecret);
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing-headers' };
  if (!/^[0-9]{1,15}$/.test(timestamp)) return { ok: false, reason: 'bad-timestamp' };
  const sentAt = Number(timestamp) * 1000;
  if (now - sentAt > tolerance) return { ok: false, reason: 'too-old' };
  if (sentAt - now > tolerance) return { ok: false, reason: 'too-new' };
  const expected = keys.map((key) => Buffer.from(hmac(key, id, timestamp, rawBody), 'utf8'));
  for (const entry of signature.split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const passed = Buffer.from(entry.slice(comma + 1), 'utf8');
    for (const candidate of expected)
      if (passed.length === candidate.length && timingSafeEqual(passed, candidate)) return { ok: true };
  }
  return { ok: false, reason: 'no-match' };
}

/** An HTTP problem the caller answers with (RFC 9457 `status` and `detail`). */
export interface WebhookProblem {
  ok: false;
  status: 400 | 413 | 415 | 422;
  detail: string;
}

export type ParsedWebhookBody = { ok: true; body: { [key: string]: JsonValue } } | WebhookProblem;

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_BODY_DEPTH = MAX_NESTING;

/**
 * The body of a webhook as the run's input: a JSON object, UTF-8, `Content-Type: application/json` (or
 * `application/*+json`; a charset other than utf-8 is refused). Oversize → 413, another content type →
 * 415; nesting deeper than `maxDepth` (MAX_BODY_DEPTH by default) → 422, found on the text before it is
 * parsed; invalid JSON or UTF-8, anything but an object, or a key `__proto__`, `constructor` or
 * `prototype` at any depth → 400 naming where. The HTTP layer should also stop reading past `maxBytes`,
 * so a huge body is never buffered whole.
 */
export function parseWebhookBody(
  raw: Uint8Array,
  contentType: string | null | undefined,
  maxBytes: number,
  maxDepth = MAX_BODY_DEPTH,
): ParsedWebhookBody {
  if (raw.byteLength > maxBytes)
    return problem(413, `the body is ${raw.byteLength} bytes; at most ${maxBytes} are accepted`);
  const media = contentTypeProblem(contentType);
  if (media !== undefined) return problem(415, media);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return problem(400, 'the body is not valid UTF-8');
  }
  if (jsonTooDeep(text, maxDepth) !== undefined) return problem(422, nestingMessage(maxDepth));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return problem(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return problem(400, `the body must be a JSON object, not ${describe(value)}`);
  const unsafe = unsafeKey(value);
  if (unsafe !== undefined) return problem(400, unsafe);
  return { ok: true, body: value as { [key: string]: JsonValue } };
}

function problem(status: WebhookProblem['status'], detail: string): WebhookProblem {
  return { ok: false, status, detail };
}

function contentTypeProblem(contentType: string | null | undefined): string | undefined {
  const expected = 'send Content-Type: application/json';
  if (!contentType) return `no Content-Type: ${expected}`;
  const [media = '', ...params] = contentType.split(';').map((part) => part.trim());
  const type = media.toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type))
    return `unsupported Content-Type '${media}': ${expected}`;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return `unsupported charset '${charset}': send UTF-8 JSON`;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** The first forbidden key, as a message naming its path (`$.a.items[2].__proto__`). */
function unsafeKey(root: object): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '$' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    if (value === null || typeof value !== 'object') continue;
    const entries: Array<[string, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [`[${index}]`, item])
      : Object.keys(value).map((key) => [pathSegment(key), (value as Record<string, unknown>)[key]]);
    if (!Array.isArray(value))
      for (const key of Object.keys(value))
        if (FORBIDDEN_KEYS.has(key))
          return `the key '${key}' is not allowed (at ${path}${pathSegment(key)}): it could alter object prototypes`;
    for (let i = entries.length - 1; i >= 0; i--) {
      const [segment, child] = entries[i] as [string, unknown];
      stack.push({ value: child, path: `${path}${segment}` });
    }
  }
  return undefined;
}

function pathSegment(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The delivery id that makes a request idempotent: `webhook-id` (signed under `auth: signature`), else the
 * `Idempotency-Key` header, else null (each request starts its own run). 1–255 printable ASCII characters.
 */
export function webhookDeliveryId(headers: {
  webhookId?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}): { ok: true; deliveryId: string | null } | WebhookProblem {
  const id = headers.webhookId || headers.idempotencyKey || null;
  if (id === null) return { ok: true, deliveryId: null };
  const name = headers.webhookId ? WEBHOOK_HEADERS.id : 'Idempotency-Key';
  if (id.length > 255 || !/^[\x21-\x7e]+$/.test(id))
    return problem(400, `${name} must be 1 to 255 printable ASCII characters without spaces`);
  return { ok: true, deliveryId: id };
}

export interface AcceptWebhookOptions {
  store: WebhookDeliveryStore;
  workflowId: string;
  /** From webhookDeliveryId; null: no idempotency, the request gets a run of its own. */
  deliveryId: string | null;
  /** Whether the durable host has a run with this id (LocalDurableHost: `getRun(id) !== undefined`). */
  runExists(runId: string): boolean | Promise<boolean>;
  /**
   * Starts the run under exactly this id; resolves once the host has durably created it (so `runExists`
   * answers true from then on). Validate the body and inputs before calling acceptWebhook: a start that
   * fails leaves the delivery claimed, and the next redelivery tries the start again.
   */
  startRun(runId: string): Promise<unknown>;
  newRunId?: () => string;
}

export interface AcceptedWebhook {
  runId: string;
  /** True for a redelivery: the run is the first delivery's. */
  existing: boolean;
}

/** Starts in progress in this process, by run id: concurrent deliveries of one id wait on one start. */
const starting = new Map<string, Promise<void>>();

/**
 * Accepts a verified, parsed delivery: claims its delivery id with a fresh run id, then makes sure that run
 * exists. Every accepted delivery has exactly one run:
 *
 * - Concurrent deliveries of one id: the store's claim is atomic, so all of them get the first claim's run
 *   id; the start is single-flight per run id in this process (check `runExists`, then `startRun`, with no
 *   await between looking up and registering the flight), so `startRun` is called once.
 * - A crash between the claim and the run's creation (they cannot share one transaction: the claim is
 *   this module's table, the run is the host's): the claim survives with no run. A redelivery finds the
 *   claim, `runExists` answers false, and the run is started then, under the claimed id. Standard Webhooks
 *   senders redeliver until they get a 2xx, and this function resolves only after the start committed.
 * - A redelivery after the run exists gets its id, and nothing starts.
 *
 * LocalDurableHost.startRun inserts the run row with a plain INSERT, so it must never be called twice with
 * one id — hence `runExists` inside the single flight. Several processes over one SQLite file would each
 * have their own flight map; the embedded engine runs one server process per file. On the cloud hosts, a
 * start named by the run id is itself idempotent (Step Functions execution name, Durable instance id).
 */
export async function acceptWebhook(options: AcceptWebhookOptions): Promise<AcceptedWebhook> {
  const fresh = (options.newRunId ?? randomUUID)();
  if (options.deliveryId === null) {
    await options.startRun(fresh);
    return { runId: fresh, existing: false };
  }
  const claim = await options.store.claim(options.workflowId, options.deliveryId, fresh);
  await ensureStarted(claim.runId, options);
  return { runId: claim.runId, existing: claim.existing };
}

function ensureStarted(runId: string, options: AcceptWebhookOptions): Promise<void> {
  const current = starting.get(runId);
  if (current !== undefined) return current;
  const flight = (async () => {
    if (!(await options.runExists(runId))) await options.startRun(runId);
  })().finally(() => starting.delete(runId));
  starting.set(runId, flight);
  return flight;
}
