// RFC 9457 problem details: every error the API returns is `application/problem+json` naming the field
// when one is at fault. Anything unexpected is a 500 that says nothing about the internals.
import type { Context } from 'hono';

export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail);
  }

  toProblem(): { type: string; title: string; status: number; detail: string; field?: string } {
    return {
      type: 'about:blank',
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.field !== undefined ? { field: this.field } : {}),
    };
  }
}

export function problemResponse(c: Context, error: unknown): Response {
  const problem =
    error instanceof HttpProblem
      ? error
      : isHttpError(error)
        ? new HttpProblem(error.status, error.title, error.detail, error.field)
        : new HttpProblem(500, 'Internal error', 'the server could not handle the request');
  if (problem.status >= 500 && !(error instanceof HttpProblem)) console.error(error);
  return c.json(problem.toProblem(), problem.status as 400, { 'content-type': 'application/problem+json' });
}

/** Errors from other modules shaped like a problem (status, title, detail). */
function isHttpError(
  error: unknown,
): error is { status: number; title: string; detail: string; field?: string } {
  const e = error as { status?: unknown; title?: unknown; detail?: unknown } | null;
  return (
    e !== null &&
    typeof e === 'object' &&
    typeof e.status === 'number' &&
    e.status >= 400 &&
    e.status < 600 &&
    typeof e.title === 'string' &&
    typeof e.detail === 'string'
  );
}
