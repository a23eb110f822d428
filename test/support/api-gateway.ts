// Requests to the `api` Lambda as API Gateway's HTTP API sends them (payload format 2.0): the method, path,
// query, headers, cookies (the `cookies` array, as API Gateway passes the Cookie header), body and the
// caller's source address in requestContext. A session (`login`) keeps the cookie and the CSRF token the
// login answered and sends them as a browser would.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

export interface ApiRequest {
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  cookies?: string[];
  query?: string;
  sourceIp?: string;
}

/** An HTTP API (payload v2) event, as API Gateway sends it. */
export function apiEvent(method: string, path: string, request: ApiRequest = {}): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: request.query ?? '',
    ...(request.cookies === undefined ? {} : { cookies: request.cookies }),
    headers: {
      host: 'api.example.com',
      'user-agent': 'e2e',
      ...(request.contentType === undefined ? {} : { 'content-type': request.contentType }),
      ...request.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '203.0.113.9',
        userAgent: 'e2e',
      },
      requestId: randomBytes(8).toString('hex'),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    ...(request.body === undefined ? {} : { body: request.body }),
    isBase64Encoded: false,
  };
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
  body: string;
  /** The body parsed, when it is JSON; else {}. */
  json: Record<string, unknown>;
}

/** Calls the api Lambda with an event; answers the API Gateway v2 result. */
export type ApiInvoke = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

export async function callApi(invoke: ApiInvoke, event: APIGatewayProxyEventV2): Promise<ApiAnswer> {
  const result = await invoke(event);
  if (typeof result === 'string') return { status: 200, headers: {}, cookies: [], body: result, json: {} };
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const body = result.isBase64Encoded
    ? Buffer.from(result.body ?? '', 'base64').toString('utf8')
    : (result.body ?? '');
  const json = /json/.test(headers['content-type'] ?? '') && body !== '' ? JSON.parse(body) : {};
  return { status: result.statusCode ?? 200, headers, cookies: result.cookies ?? [], body, json };
}

/** A signed-in user's browser: the session cookie and the CSRF token on every request. */
export class ApiSession {
  constructor(
    private readonly invoke: ApiInvoke,
    readonly email: string,
    private readonly cookie: string,
    private readonly csrf: string,
  ) {}

  request(method: string, path: string, request: ApiRequest = {}): Promise<ApiAnswer> {
    return callApi(
      this.invoke,
      apiEvent(method, path, {
        ...request,
        cookies: [this.cookie],
        headers: { 'x-csrf-token': this.csrf, ...request.headers },
      }),
    );
  }

  json(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    return this.request(method, path, {
      ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' }),
    });
  }
}

/** Logs in through POST /api/login; throws unless it answers 200 with a session cookie. */
export async function login(invoke: ApiInvoke, email: string, password: string): Promise<ApiSession> {
  const answer = await callApi(
    invoke,
    apiEvent('POST', '/api/login', {
      body: JSON.stringify({ email, password }),
      contentType: 'application/json',
    }),
  );
  const cookie = answer.cookies[0]?.split(';')[0];
  if (answer.status !== 200 || cookie === undefined)
    throw new Error(`login of ${email} answered ${answer.status}: ${answer.body}`);
  return new ApiSession(invoke, email, cookie, String(answer.json.csrf ?? ''));
}
