// RFC 9457 problem details: every error the API returns is `application/problem+json` naming the field
// when one is at fault, from the one HttpError (functions/core/http-error.ts). Anything unexpected is a 500
// that says nothing about the internals.
import type { Context } from 'hono';
import { HttpError } from '../http-error.js';

/** The response to a thrown error: its problem document, or a 500 that names nothing (the error is logged). */
export function problemResponse(c: Context, error: unknown): Response {
  const problem =
    error instanceof HttpError
      ? error
      : new HttpError(500, 'Internal error', 'the server could not handle the request');
  if (!(error instanceof HttpError)) console.error(error);
  return c.json(problem.toProblem(), problem.status as 400, {
    'content-type': 'application/problem+json',
    ...(problem.retryAfterSeconds === undefined ? {} : { 'retry-after': String(problem.retryAfterSeconds) }),
  });
}

/** An error naming its field (DirectoryError, a store's HttpError 400) as a 422 titled `title`; others as they are. */
export function fieldProblem(error: unknown, title: string): unknown {
  if (error instanceof HttpError && error.status === 400)
    return new HttpError(422, title, error.detail, { field: error.field });
  if (error instanceof Error && error.name === 'DirectoryError' && 'field' in error)
    return new HttpError(422, title, error.message, { field: String(error.field) });
  return error;
}
