// The dashboard's one way to the HTTP API: same-origin fetch with the session cookie, the CSRF token on
// every state-changing request, and RFC 9457 problem bodies turned into ApiError (title, detail, field,
// diagnostics) so screens can show what the server said.

/** A validator diagnostic as the API sends it (422 bodies, POST /api/workflows/validate). */
export interface Diagnostic {
  severity: 'error' | 'warning';
  code: string;
  message: string;
  /** 1-based line and column in the source. */
  line: number;
  col: number;
  /** JSON pointer into the definition: /steps/3/approvers names step 4's field. */
  pointer: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
    readonly diagnostics: Diagnostic[] = [],
  ) {
    super(detail || title);
  }
}

let csrf: string | undefined;

/** Remembers the session's CSRF token (from POST /api/login or GET /api/me). */
export function setCsrf(token: string | undefined): void {
  csrf = token;
}

let onUnauthorized: (() => void) | undefined;

/** Called on every 401 answer (the session ended): the app sends the user to the login page. */
export function setUnauthorizedHandler(handler: (() => void) | undefined): void {
  onUnauthorized = handler;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RequestOptions {
  method?: string;
  /** A JSON body (objects), or raw text with `contentType`. */
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/** Calls the API; resolves with the parsed JSON (or text), rejects with ApiError on a non-2xx answer. */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === 'string' && options.contentType !== undefined) {
      body = options.body;
      headers['content-type'] = options.contentType;
    } else {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
  }
  if (UNSAFE.has(method) && csrf !== undefined) headers['x-csrf-token'] = csrf;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const type = response.headers.get('content-type') ?? '';
  const payload: unknown = type.includes('json')
    ? await response.json().catch(() => undefined)
    : await response.text();
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/login') onUnauthorized?.();
    const problem = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<
      string,
      unknown
    >;
    throw new ApiError(
      response.status,
      typeof problem.title === 'string' ? problem.title : response.statusText,
      typeof problem.detail === 'string' ? problem.detail : typeof payload === 'string' ? payload : '',
      typeof problem.field === 'string' ? problem.field : undefined,
      Array.isArray(problem.diagnostics) ? (problem.diagnostics as Diagnostic[]) : [],
    );
  }
  return payload as T;
}

/** A query string from the defined, non-empty values (`?a=1&b=x`, or '' when there are none). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
