// The functions-framework side of a GCP function: an HTTP function (Express request and response) that
// takes a JSON body and answers JSON. Only POST is served; a body that is not what the function takes is
// answered 400 naming the field (BadBodyError), as is a callback URL outside the workflows' callback base;
// any other failure 500 with a generic message (the detail goes to the function's log, never to the
// caller: it may name internals), so Cloud Tasks, Cloud Scheduler or the workflow retry it.
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import { errorMessage } from '../../translator/util.js';
import { BadBodyError } from './bodies.js';
import { CallbackUrlError } from './callbacks.js';

export interface JsonAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** The request's JSON body: parsed by the framework for application/json, else read from the raw bytes. */
function jsonBody(req: Request): unknown {
  if (req.body !== undefined && !Buffer.isBuffer(req.body) && typeof req.body !== 'string') return req.body;
  const raw = req.rawBody?.toString('utf8') ?? (typeof req.body === 'string' ? req.body : '');
  if (raw.trim() === '') throw new BadBodyError('invalid request body: body: expected a JSON object');
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new BadBodyError('invalid request body: body: not JSON');
  }
}

const problem = (code: string, message: string) => ({ error: { code, message } });

/** An HTTP function answering `run`'s JSON for a POSTed JSON body. */
export function jsonFunction(
  name: string,
  run: (body: unknown, req: Request) => Promise<JsonAnswer>,
): HttpFunction {
  return async (req, res) => {
    if (req.method !== 'POST') {
      res
        .status(405)
        .set('allow', 'POST')
        .json(problem('method-not-allowed', `${name} takes POST only`));
      return;
    }
    try {
      const answer = await run(jsonBody(req), req);
      res
        .status(answer.status ?? 200)
        .set(answer.headers ?? {})
        .json(answer.body);
    } catch (error) {
      if (error instanceof BadBodyError || error instanceof CallbackUrlError) {
        res.status(400).json(problem('bad-request', error.message));
        return;
      }
      console.error(`${name}: ${errorMessage(error)}`);
      res.status(500).json(problem('internal', `${name} failed; the function's log has the detail`));
    }
  };
}
