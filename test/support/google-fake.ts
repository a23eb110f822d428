// A stand-in for a Google Cloud API that has no emulator here (KMS, Secret Manager, Cloud Tasks, Cloud
// Scheduler, Workflows, Cloud Storage): an HTTP server on loopback that records every request exactly as
// the client library sent it (method, path, query, JSON body, authorization) and answers from the test's
// routes. The gax-based clients reach it through their HTTP/1 REST transport (`fallback: true`), the same
// JSON the real REST endpoints take; a request no route answers gets a 404 the test will see.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';

export interface FakeRequest {
  method: string;
  /** The path without the query, e.g. `/v1/projects/p/locations/global/keyRings/r/cryptoKeys/k:encrypt`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  raw: Buffer;
}

export interface FakeAnswer {
  status?: number;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, in place of `body` (an object's bytes, as Cloud Storage downloads answer). */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * A route: `METHOD /path/with/:params` (a parameter is a whole segment after a slash, up to a literal such as
 * `:encrypt`) or a RegExp over `METHOD path`; answers the request.
 */
export type FakeRoute = [
  match: string | RegExp,
  answer: (request: FakeRequest, params: Record<string, string>) => FakeAnswer | Promise<FakeAnswer>,
];

export interface GoogleFake {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Every request received, oldest first. */
  requests: FakeRequest[];
  /** Adds routes (later ones are tried first). */
  route(...routes: FakeRoute[]): void;
  /** Options for a gax client (KMS, Secret Manager, Tasks, Scheduler, Workflows) that make it talk to the fake. */
  gaxOptions(): {
    fallback: true;
    protocol: 'http';
    apiEndpoint: string;
    port: number;
    authClient: OAuth2Client;
  };
  close(): Promise<void>;
}

/** The access token every fake client sends; a real deployment's comes from the service account. */
export const FAKE_TOKEN = 'fake-access-token';

/** An auth client that always has a token and never reaches a metadata server or a token endpoint. */
export function fakeAuthClient(): OAuth2Client {
  const auth = new OAuth2Client();
  auth.credentials = { access_token: FAKE_TOKEN, expiry_date: Date.now() + 24 * 3_600_000 };
  return auth;
}

function compile(match: string | RegExp): (key: string) => Record<string, string> | null {
  if (match instanceof RegExp) {
    return (key) => {
      const m = match.exec(key);
      return m === null ? null : { ...m.groups };
    };
  }
  const names: string[] = [];
  const source = match
    .split(/(\/:[A-Za-z]+)/)
    .map((part) => {
      if (/^\/:[A-Za-z]+$/.test(part)) {
        names.push(part.slice(2));
        return '/([^/]+?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const re = new RegExp(`^${source}$`);
  return (key) => {
    const m = re.exec(key);
    if (m === null) return null;
    return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(m[i + 1] ?? '')]));
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startGoogleFake(...initial: FakeRoute[]): Promise<GoogleFake> {
  const routes: Array<{ test: (key: string) => Record<string, string> | null; answer: FakeRoute[1] }> = [];
  const requests: FakeRequest[] = [];
  const add = (...more: FakeRoute[]): void => {
    for (const [match, answer] of more) routes.unshift({ test: compile(match), answer });
  };
  add(...initial);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://fake');
      const text = raw.toString('utf8');
      let body: unknown;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body,
        raw,
      };
      requests.push(request);
      const key = `${request.method} ${request.path}`;
      for (const route of routes) {
        const params = route.test(key);
        if (params === null) continue;
        const answer = await route.answer(request, params);
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.raw ?? (answer.body === undefined ? '{}' : JSON.stringify(answer.body)));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 404, message: `the fake has no route for ${key}`, status: 'NOT_FOUND' },
        }),
      );
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 500, message: String(error), status: 'INTERNAL' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    route: add,
    gaxOptions: () => ({
      fallback: true,
      protocol: 'http',
      apiEndpoint: '127.0.0.1',
      port,
      authClient: fakeAuthClient(),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
