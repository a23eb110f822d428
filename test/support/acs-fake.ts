// A loopback stand-in of Azure Communication Services Email's REST API (there is no emulator), over https
// with a self-signed certificate for 127.0.0.1 (test/support/self-signed-cert.ts): ACS's client sends its
// bearer token over TLS only. It answers what the real service answers and checks what the real service
// checks, recording every request as it arrived:
//
//   POST /emails:send?api-version=…      a bearer token (401 without), a known api-version, JSON, an
//                                        Operation-Id that is a UUID, the body's required fields (sender,
//                                        subject, a body, one recipient or more, each an address); answers
//                                        202 {id, status: Running} with Operation-Location and retry-after
//   GET /emails/operations/<id>?api-version=…   the operation: Running on the first poll, then its outcome
//                                        (Succeeded, or Failed with ACS's error); 404 for an unknown id
//
// Refusals are ACS's shape: `{"error": {"code", "message"}}` with the x-ms-error-code header; a scripted
// refusal (`refuseNext`) answers the next send with a status of the test's choice (429 with retry-after,
// 400 for an unlinked sender domain, 503, ...). A send with an Operation-Id the fake already knows answers
// that operation (the fake's assumption; ACS documents no more than that the id names the operation).
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { selfSignedCert } from './self-signed-cert.js';

/** The token the fake credential gives and the fake accepts. */
export const ACS_TOKEN = 'acs-fake-token-3f9c2e7a';
/** The scope ACS's client asks a TokenCredential for. */
export const ACS_SCOPE = 'https://communication.azure.com//.default';
/** The api-versions the fake serves (the GA ones; the client sends its own). */
export const ACS_API_VERSIONS = new Set(['2023-03-31', '2024-07-01-preview', '2025-09-01']);

export interface AcsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for none). */
  body: unknown;
}

export interface AcsRefusal {
  status: number;
  code: string;
  message: string;
  /** Seconds, sent as retry-after (ACS sends it with 429). */
  retryAfter?: number;
}

/** How a queued operation ends: Succeeded, Failed with ACS's error, or never (still Running). */
export type AcsOutcome = 'Succeeded' | 'Running' | { failed: { code: string; message: string } };

export interface AcsFake {
  /** `https://127.0.0.1:<port>`: the resource endpoint. */
  url: string;
  /** The CA the client must trust (the fake's self-signed certificate). */
  ca: string;
  requests: AcsRequest[];
  /** The next sends are answered with these, in order. */
  refuseNext(...refusals: AcsRefusal[]): void;
  /** How operations queued from now on end (default Succeeded). */
  outcome(outcome: AcsOutcome): void;
  close(): Promise<void>;
}

interface Operation {
  id: string;
  polls: number;
  outcome: AcsOutcome;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A TokenCredential handing out ACS_TOKEN, recording the scopes it was asked for. */
export function fakeCredential(): TokenCredential & { scopes: string[][] } {
  const scopes: string[][] = [];
  return {
    scopes,
    getToken: async (asked: string | string[]): Promise<AccessToken> => {
      scopes.push(Array.isArray(asked) ? asked : [asked]);
      return { token: ACS_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

function refusal(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Answer {
  return { status, body: { error: { code, message } }, headers: { 'x-ms-error-code': code, ...headers } };
}

/** What ACS refuses in a send's body, or undefined when it takes it. */
function invalidMessage(body: unknown): string | undefined {
  const message = body as {
    senderAddress?: unknown;
    content?: { subject?: unknown; plainText?: unknown; html?: unknown };
    recipients?: Record<string, unknown>;
    headers?: unknown;
  } | null;
  if (typeof message?.senderAddress !== 'string' || !message.senderAddress.includes('@'))
    return 'The senderAddress field is required and must be an email address.';
  if (typeof message.content?.subject !== 'string') return 'The content.subject field is required.';
  if (typeof message.content.plainText !== 'string' && typeof message.content.html !== 'string')
    return 'Either content.plainText or content.html is required.';
  const all = ['to', 'cc', 'bcc'].flatMap((kind) => {
    const list = message.recipients?.[kind];
    return Array.isArray(list) ? (list as Array<{ address?: unknown }>) : [];
  });
  if (all.length === 0) return 'At least one recipient is required.';
  if (all.some((r) => typeof r.address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(r.address)))
    return 'Every recipient must have a valid address.';
  if (message.headers !== undefined) {
    const values = Object.values(message.headers as Record<string, unknown>);
    if (values.some((v) => typeof v !== 'string')) return 'Custom header values must be strings.';
  }
  return undefined;
}

export async function startAcsFake(): Promise<AcsFake> {
  const { cert, key } = selfSignedCert(['127.0.0.1', 'localhost']);
  const requests: AcsRequest[] = [];
  const refusals: AcsRefusal[] = [];
  const operations = new Map<string, Operation>();
  let outcome: AcsOutcome = 'Succeeded';
  let url = '';

  const send = (request: AcsRequest, version: string): Answer => {
    const scripted = refusals.shift();
    if (scripted !== undefined)
      return refusal(
        scripted.status,
        scripted.code,
        scripted.message,
        scripted.retryAfter === undefined ? {} : { 'retry-after': String(scripted.retryAfter) },
      );
    if (!String(request.headers['content-type']).startsWith('application/json'))
      return refusal(415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
    const given = request.headers['operation-id'];
    if (given !== undefined && !UUID.test(String(given)))
      return refusal(400, 'InvalidOperationId', 'Operation-Id must be a GUID.');
    const invalid = invalidMessage(request.body);
    if (invalid !== undefined) return refusal(400, 'BadRequest', invalid);
    const id = given === undefined ? randomUUID() : String(given);
    const operation = operations.get(id) ?? { id, polls: 0, outcome };
    operations.set(id, operation);
    return {
      status: 202,
      body: { id, status: 'Running' },
      headers: {
        'operation-location': `${url}/emails/operations/${id}?api-version=${version}`,
        'retry-after': '0',
      },
    };
  };

  const poll = (id: string): Answer => {
    const operation = operations.get(id);
    if (operation === undefined) return refusal(404, 'NotFound', `Operation ${id} was not found.`);
    operation.polls++;
    const final = operation.outcome;
    if (operation.polls === 1 || final === 'Running')
      return { status: 200, body: { id, status: 'Running' }, headers: { 'retry-after': '0' } };
    if (final === 'Succeeded') return { status: 200, body: { id, status: 'Succeeded' } };
    return { status: 200, body: { id, status: 'Failed', error: final.failed } };
  };

  const answer = (request: AcsRequest): Answer => {
    if (request.headers.authorization !== `Bearer ${ACS_TOKEN}`)
      return refusal(401, 'Denied', 'Denied by the resource provider.');
    const version = request.query['api-version'] ?? '';
    if (!ACS_API_VERSIONS.has(version))
      return refusal(400, 'UnsupportedApiVersion', `The api-version '${version}' is not supported.`);
    if (request.method === 'POST' && request.path === '/emails:send') return send(request, version);
    const polled = /^\/emails\/operations\/([^/]+)$/.exec(request.path);
    if (request.method === 'GET' && polled !== null) return poll(decodeURIComponent(polled[1] as string));
    return refusal(404, 'NotFound', `No route for ${request.method} ${request.path}.`);
  };

  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'https://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const request: AcsRequest = {
        method: req.method ?? '',
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        headers: req.headers,
        body,
      };
      requests.push(request);
      const reply = answer(request);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    ca: cert,
    requests,
    refuseNext: (...next) => {
      refusals.push(...next);
    },
    outcome: (next) => {
      outcome = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
