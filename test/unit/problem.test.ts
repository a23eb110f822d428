// The one HTTP error class and its response (functions/core/http-error.ts, functions/core/http/problem.ts):
// a thrown HttpError becomes its problem document with its status (and Retry-After when it has one),
// anything else a 500 that says nothing of the internals, and a store's 400 or a directory's field error a
// 422 under the route's title that keeps the field.
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fieldProblem, problemResponse } from '../../functions/core/http/problem.js';
import { HttpError } from '../../functions/core/http-error.js';

/** The answer of an app whose only route throws `error`. */
async function answerTo(error: unknown) {
  const app = new Hono();
  app.onError((e, c) => problemResponse(c, e));
  app.get('/', () => {
    throw error;
  });
  const response = await app.request('/');
  return { response, body: (await response.json()) as Record<string, unknown> };
}

describe('problemResponse', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers an HttpError with its problem document, status and field', async () => {
    const { response, body } = await answerTo(
      new HttpError(422, 'Invalid user', 'role is required', { field: 'role' }),
    );
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Invalid user',
      status: 422,
      detail: 'role is required',
      field: 'role',
    });
  });

  it('says when to come back for an error with retryAfterSeconds', async () => {
    const { response, body } = await answerTo(
      new HttpError(429, 'Too Many Requests', 'too many failed logins', { retryAfterSeconds: 30 }),
    );
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(body).not.toHaveProperty('field');
  });

  it('answers any other error with a 500 that names nothing of it, and logs it', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const internal = new Error('connect to postgres://admin:hunter2@db failed');
    const { response, body } = await answerTo(internal);
    expect(response.status).toBe(500);
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Internal error',
      status: 500,
      detail: 'the server could not handle the request',
    });
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(logged).toHaveBeenCalledWith(internal);
  });
});

describe('fieldProblem', () => {
  it("turns a store's 400 into a 422 under the route's title, keeping the field", () => {
    const problem = fieldProblem(
      new HttpError(400, 'Bad Request', "a token's name is 1-100 characters", { field: 'name' }),
      'Invalid token',
    );
    expect(problem).toBeInstanceOf(HttpError);
    expect((problem as HttpError).toProblem()).toEqual({
      type: 'about:blank',
      title: 'Invalid token',
      status: 422,
      detail: "a token's name is 1-100 characters",
      field: 'name',
    });
  });

  it("turns a directory's field error into a 422 naming the field", () => {
    const error = Object.assign(new Error('groups must be a list of names'), {
      name: 'DirectoryError',
      field: 'groups',
    });
    const problem = fieldProblem(error, 'Invalid user') as HttpError;
    expect([problem.status, problem.title, problem.detail, problem.field]).toEqual([
      422,
      'Invalid user',
      'groups must be a list of names',
      'groups',
    ]);
  });

  it('leaves other errors as they are (a 403, an unexpected error)', () => {
    const forbidden = new HttpError(403, 'Forbidden', 'you cannot grant admin', { field: 'scopes' });
    const unexpected = new Error('disk full');
    expect(fieldProblem(forbidden, 'Invalid token')).toBe(forbidden);
    expect(fieldProblem(unexpected, 'Invalid token')).toBe(unexpected);
  });
});
