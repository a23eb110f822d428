// An error an HTTP handler answers with: RFC 9457 problem details (`application/problem+json`). Core code
// throws it (authentication, authorization, validation); the host's app turns it into a response with
// `toProblem()` as the body and `status` as the status code. `detail` is shown to the caller, so it never
// carries a secret.

/** The body of an `application/problem+json` response (RFC 9457), plus the offending input field if any. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export interface HttpErrorOptions {
  /** A URI naming the problem type; `about:blank` (the RFC's default) when the status says it all. */
  type?: string;
  /** Short and the same for every occurrence of the type; the status phrase by default. */
  title?: string;
  /** The input field the problem is about (`email`, `scopes`, ...). */
  field?: string;
  /** A 429 or 503: when to try again, in seconds (the Retry-After header). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly field?: string;
  readonly retryAfterSeconds?: number;

  constructor(status: number, detail: string, options: HttpErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`an HTTP error status is 400-599, not ${status}`);
    this.status = status;
    this.detail = detail;
    this.type = options.type ?? 'about:blank';
    this.title = options.title ?? TITLES[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
    if (options.field !== undefined) this.field = options.field;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toProblem(): Problem {
    const problem: Problem = { type: this.type, title: this.title, status: this.status, detail: this.detail };
    if (this.field !== undefined) problem.field = this.field;
    return problem;
  }
}

export function isHttpError(error: unknown): error is HttpError {
  return error instanceof HttpError;
}
