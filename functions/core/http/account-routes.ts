// The account routes of the HTTP API: password login (public), logout, the caller (`/api/me`) and the
// development mail inbox. Their access is declared with their OpenAPI description (ACCOUNT_PATHS).
//
//   POST   /api/login      { email, password } → the session cookie and its CSRF token (throttled)
//   POST   /api/logout     ends the session (needs its CSRF token)
//   GET    /api/me         the caller, and the session's CSRF token
//   GET    /api/inbox      the caller's development mail; admins: all of it, or ?to=
import type { Context, Hono } from 'hono';
import { HttpError } from '../http-error.js';
import type { Identity } from '../protocol.js';
import { open, requires } from './access.js';
import { errors, json } from './openapi-parts.js';
import { atLeast, caller, jsonBody } from './request.js';
import type { Env } from './types.js';

/** Password login and logout (local users); absent where an external identity provider is the only way in. */
export interface LoginDeps {
  /** Null for a wrong email or password; throws a 429/503 problem when login is throttled (`address`). */
  login(
    email: string,
    password: string,
    address: string,
  ): Promise<{ token: string; csrf: string; expiresAt: number; identity: Identity } | null>;
  logout(token: string): Promise<void>;
  /** The Set-Cookie value for a session token (and for clearing it: token ''). */
  cookie(token: string, expiresAt: number): string;
  /** The session token of a request, if it carries one. */
  sessionToken(c: Context): string | undefined;
  /** The client's address, as login throttling counts it. */
  clientAddress(c: Context): string;
}

export interface AccountRoutesDeps {
  login?: LoginDeps;
  /** The development mail inbox (`npm start` only): mail the notifier sent, by recipient. */
  inbox?: { list(filter?: { to?: string; limit?: number }): unknown[] };
}

export function mountAccount(app: Hono<Env>, deps: AccountRoutesDeps): void {
  if (deps.login !== undefined) {
    const login = deps.login;
    app.post('/api/login', async (c) => {
      const body = await jsonBody(c);
      if (typeof body.email !== 'string' || body.email === '')
        throw new HttpError(422, 'Invalid login', 'email is required', { field: 'email' });
      if (typeof body.password !== 'string' || body.password === '')
        throw new HttpError(422, 'Invalid login', 'password is required', { field: 'password' });
      const session = await login.login(body.email, body.password, login.clientAddress(c));
      // One answer for an unknown user and a wrong password: no account enumeration.
      if (session === null) throw new HttpError(401, 'Unauthenticated', 'wrong email or password');
      c.header('set-cookie', login.cookie(session.token, session.expiresAt));
      return c.json({ user: session.identity, csrf: session.csrf, expiresAt: session.expiresAt });
    });
  }

  if (deps.login !== undefined) {
    const login = deps.login;
    app.post('/api/logout', async (c) => {
      const token = login.sessionToken(c);
      if (token !== undefined) await login.logout(token);
      c.header('set-cookie', login.cookie('', 0));
      return c.body(null, 204);
    });
  }

  app.get('/api/me', (c) => {
    const principal = c.get('principal');
    return c.json({
      ...principal.identity,
      via: principal.via,
      ...(principal.csrf ? { csrf: principal.csrf } : {}),
    });
  });

  if (deps.inbox !== undefined) {
    const inbox = deps.inbox;
    app.get('/api/inbox', (c) => {
      const identity = caller(c);
      // Everyone reads their own mail; admins read the whole development inbox.
      const to = atLeast(identity.role, 'admin') ? c.req.query('to') : identity.email;
      return c.json(inbox.list({ ...(to ? { to } : {}), limit: 100 }));
    });
  }
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const ACCOUNT_PATHS = {
  '/api/login': {
    post: {
      ...open('login'),
      summary: 'Log in with email and password: sets the session cookie, returns the CSRF token',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['email', 'password'],
              properties: { email: { type: 'string' }, password: { type: 'string' } },
            },
          },
        },
      },
      responses: {
        '200': json('user, csrf'),
        '401': json('wrong email or password'),
        '422': json('missing field'),
      },
    },
  },
  '/api/logout': {
    post: {
      ...requires('viewer', 'account', 'login'),
      summary: 'End the session',
      responses: { '204': { description: 'logged out' } },
    },
  },
  '/api/me': {
    get: {
      ...requires('viewer', []),
      summary: 'The caller',
      responses: { '200': json('identity'), ...errors },
    },
  },
  '/api/inbox': {
    get: {
      ...requires('viewer', 'inbox:read'),
      summary: "The development mail inbox (npm start): the caller's mail; admins: all, or ?to=",
      responses: { '200': json('messages'), ...errors },
    },
  },
};
