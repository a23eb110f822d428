// A small HTTP server in front of moto_server (test/support/moto.ts), on a free loopback port: each request
// goes through a route table in order, and the first route that takes it answers it; every other request
// is passed to moto unchanged (method, path, headers, body) and moto's answer back unchanged. For what
// moto does not speak: here ValidateStateMachineDefinition (answered with AWS's response shape from
// asl-validator, the validator aws-local-stepfunctions uses too), and later Lambda invocations for the
// end-to-end tests. Every request is recorded, so a test can check exactly what an adapter sent.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** One request as the front received it. */
export interface FrontRequest {
  method: string;
  /** The path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What a route does with a request it takes: answer it, or pass a changed request on to moto. */
export type FrontAnswer =
  | { status: number; headers?: Record<string, string>; body: string }
  | { forward: FrontRequest };

/** A route: its answer, or undefined when the request is not its own (the next route, then moto). */
export type FrontRoute = (
  request: FrontRequest,
) => FrontAnswer | undefined | Promise<FrontAnswer | undefined>;

export interface MotoFront {
  /** `http://127.0.0.1:<port>`: give it to the clients instead of moto's endpoint. */
  endpoint: string;
  /** Every request received, in order. */
  requests: FrontRequest[];
  /** The JSON bodies of the requests whose `X-Amz-Target` ends with `.<action>` (e.g. `SendTaskSuccess`). */
  calls(action: string): unknown[];
  stop(): Promise<void>;
}

/**
 * Starts the front on a free loopback port, passing what `routes` do not take to `upstream` (moto). The
 * upstream may be given as a function, read on each request, for a moto started after the front (one that
 * must know the front's port, such as a Step Functions interpreter calling Lambda through it).
 */
export async function startMotoFront(
  upstream: string | (() => string),
  routes: FrontRoute[],
): Promise<MotoFront> {
  const requests: FrontRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: FrontRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(request);
      answer(request, routes, typeof upstream === 'string' ? upstream : upstream()).then(
        ({ status, headers, body }) => {
          res.writeHead(status, headers);
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`the moto front failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    calls: (action) =>
      requests
        .filter((r) => String(r.headers['x-amz-target'] ?? '').endsWith(`.${action}`))
        .map((r) => JSON.parse(r.body.toString('utf8')) as unknown),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function answer(
  request: FrontRequest,
  routes: FrontRoute[],
  upstream: string,
): Promise<{ status: number; headers: Record<string, string>; body: string | Buffer }> {
  let forward = request;
  for (const route of routes) {
    const taken = await route(forward);
    if (taken === undefined) continue;
    if ('forward' in taken) {
      forward = taken.forward;
      break;
    }
    return { status: taken.status, headers: taken.headers ?? {}, body: taken.body };
  }
  return proxy(forward, upstream);
}

/** Passes the request to moto as it is and answers moto's answer. */
async function proxy(
  request: FrontRequest,
  upstream: string,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || ['host', 'connection', 'content-length'].includes(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const hasBody = !['GET', 'HEAD'].includes(request.method);
  const response = await fetch(`${upstream}${request.url}`, {
    method: request.method,
    headers,
    ...(hasBody ? { body: request.body } : {}),
  });
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name))
      out[name] = value;
  });
  return { status: response.status, headers: out, body: Buffer.from(await response.arrayBuffer()) };
}

/** The Step Functions action a JSON-protocol request calls (`X-Amz-Target: AWSStepFunctions.<action>`). */
export function sfnAction(request: FrontRequest): string | undefined {
  const target = String(request.headers['x-amz-target'] ?? '');
  return target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : undefined;
}

/** asl-validator ships no type declarations: its documented API, typed at the boundary. */
const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: Array<Record<string, unknown>>;
};

/**
 * Answers ValidateStateMachineDefinition as AWS does (`{result, diagnostics, truncated}`), the checks
 * asl-validator's: its error codes and messages, the location its JSON path (or the state) when it has one.
 */
export const validateDefinitionRoute: FrontRoute = (request) => {
  if (sfnAction(request) !== 'ValidateStateMachineDefinition') return undefined;
  const { definition } = JSON.parse(request.body.toString('utf8')) as { definition: string };
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition);
  } catch (error) {
    return json({
      result: 'FAIL',
      diagnostics: [{ severity: 'ERROR', code: 'INVALID_JSON_DESCRIPTION', message: String(error) }],
      truncated: false,
    });
  }
  const { isValid, errors } = aslValidator(parsed);
  const diagnostics = errors.map((e) => ({
    severity: 'ERROR',
    code: String(e['Error code'] ?? 'SCHEMA_VALIDATION_FAILED'),
    message: String(e.Message ?? e.message ?? 'invalid'),
    ...locationOf(e),
  }));
  return json({ result: isValid ? 'OK' : 'FAIL', diagnostics, truncated: false });
};

/**
 * moto 5.2 cannot start an execution on a state machine *version* (StartExecution on `...:stateMachine:
 * <name>:<n>` fails inside moto with a 500, and executions it kept on a version are not found again by
 * DescribeExecution). This route passes such a start on to moto on the unqualified state machine ARN; the
 * request the adapter sent (the version ARN) stays in `requests` for the test to check.
 */
export const startOnVersionRoute: FrontRoute = (request) => {
  if (sfnAction(request) !== 'StartExecution') return undefined;
  const body = JSON.parse(request.body.toString('utf8')) as { stateMachineArn: string };
  const unqualified = body.stateMachineArn.replace(/(:stateMachine:[^:]+):\d+$/, '$1');
  if (unqualified === body.stateMachineArn) return undefined;
  return {
    forward: { ...request, body: Buffer.from(JSON.stringify({ ...body, stateMachineArn: unqualified })) },
  };
};

/** Where asl-validator found an error: the JSON pointer of a schema error, as AWS's `location`. */
function locationOf(error: Record<string, unknown>): { location?: string } {
  const schema = error.schemaError as { instancePath?: unknown } | undefined;
  return typeof schema?.instancePath === 'string' ? { location: schema.instancePath } : {};
}

function json(value: unknown): FrontAnswer {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify(value),
  };
}
