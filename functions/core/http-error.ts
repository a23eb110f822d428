// The one error an HTTP handler answers with: RFC 9457 problem details (`application/problem+json`). Core
// code, adapters and the routes throw it (authentication, authorization, validation, a missing object); the
// app turns it into a response (functions/core/http/problem.ts) with `toProblem()` as the body and `status`
// as the status code. `title` and `detail` are shown to the caller, so they never carry a secret.

/** The body of an `application/problem+json` response (RFC 9457), plus the offending input field if any. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
}

export interface HttpErrorOptions {
  /** The input field the problem is about (`email`, `scopes`, ...). */
  field?: string;
  /** A 429 or 503: when to try again, in seconds (the Retry-After header). */
  retryAfterSeconds?: number;
  /** A URI naming the problem type; `about:blank` (the RFC's default) when the status and title say it all. */
  type?: string;
}

/**
 * A problem with its status, its title (short, the same for every occurrence: 'Not found', 'Invalid user')
 * and its detail (this occurrence, naming the value at fault), title first as a route reads best.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly field?: string;
  readonly retryAfterSeconds?: number;

  constructor(status: number, title: string, detail: string, options: HttpErrorOptions = {}) {
    super(detail);
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`an HTTP error status is 400-599, not ${status}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = options.type ?? 'about:blank';
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toProblem(): Problem {
    const problem: Problem = { type: this.type, title: this.title, status: this.status, detail: this.detail };
    if (this.field !== undefined) problem.field = this.field;
    return problem;
  }
}
