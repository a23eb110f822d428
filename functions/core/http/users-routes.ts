// The user directory routes of the HTTP API: users and their passwords. Their role and scope are declared
// with their OpenAPI description (USERS_PATHS); the object-level rules (yourself, the last enabled admin)
// are checked here, all before anything is written. A password is never part of any answer, error or not.
//
//   GET    /api/users                    manager+: every user (never a password hash)
//   GET    /api/users/:email             the user themselves, or manager+
//   PUT    /api/users/:email             admin: create or replace { name, role, groups, manager, disabled, service }
//   DELETE /api/users/:email             admin, not themselves → 204 (the user's API tokens are revoked)
//   POST   /api/users/:email/password    { password, currentPassword? } the admin, or the user (with currentPassword)
//
// Your own password needs the `account` scope, which only a login holds.
import type { Context, Hono } from 'hono';
import { hasScope } from '../auth.js';
import { HttpError } from '../http-error.js';
import {
  type AdminDirectory,
  type AdminUserInput,
  type AdminUserRecord,
  type ApiTokenStore,
  LastAdminError,
  type SessionStore,
} from '../ports.js';
import { requires } from './access.js';
import { errors, json, jsonBodyOf, pathParameter, problemOf } from './openapi-parts.js';
import { fieldProblem } from './problem.js';
import { atLeast, caller, jsonBody, notFound } from './request.js';
import type { Env } from './types.js';

export interface UsersRoutesDeps {
  directory: AdminDirectory;
  /** A deleted user's API tokens are revoked. */
  tokens: Pick<ApiTokenStore, 'listApiTokens' | 'revokeApiToken'>;
  /** Ends a user's login sessions when their password changes or they are disabled or deleted. */
  sessions?: Pick<SessionStore, 'deleteSessionsFor'>;
}

const USER_FIELDS = new Set(['email', 'name', 'role', 'groups', 'manager', 'disabled', 'service']);

export function mountUsers(app: Hono<Env>, deps: UsersRoutesDeps): void {
  const endSessions = async (email: string) => {
    await deps.sessions?.deleteSessionsFor(email);
  };
  /** A 404 for `email`, suggesting the closest user to a caller who may list users (manager+, users:read). */
  const noUser = async (c: Context<Env>, email: string): Promise<HttpError> => {
    const principal = c.get('principal');
    const listable =
      atLeast(principal.identity.role, 'manager') && hasScope(principal, 'users:read')
        ? (await deps.directory.listUsers()).map((u) => u.email)
        : [];
    return notFound('user', email, listable);
  };

  app.get('/api/users', async (c) => {
    return c.json((await deps.directory.listUsers()).map(userView));
  });

  app.get('/api/users/:email', async (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    if (email !== identity.email.toLowerCase() && !atLeast(identity.role, 'manager'))
      throw new HttpError(403, 'Forbidden', 'you can see your own record; other users need manager or above');
    const user = await deps.directory.getUser(email);
    if (user === undefined) throw await noUser(c, email);
    return c.json(userView(user));
  });

  app.put('/api/users/:email', async (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    const body = await jsonBody(c);
    const input = userInput(email, body);
    const isSelf = email === identity.email.toLowerCase();
    if (isSelf && body.disabled === true)
      throw new HttpError(409, 'Conflict', 'you cannot disable yourself', { field: 'disabled' });
    const before = await deps.directory.getUser(email);
    let user: AdminUserRecord;
    try {
      user = await deps.directory.upsertUser(input);
    } catch (error) {
      if (error instanceof LastAdminError)
        throw new HttpError(409, 'Conflict', error.message, {
          field: body.role === 'admin' ? 'disabled' : 'role',
        });
      throw fieldProblem(error, 'Invalid user');
    }
    // A disabled user, or one who became a service account, is logged out everywhere.
    if ((user.disabled && before?.disabled !== true) || (user.service === true && before?.service !== true))
      await endSessions(email);
    return c.json(userView(user), before === undefined ? 201 : 200);
  });

  app.delete('/api/users/:email', async (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    if (email === identity.email.toLowerCase())
      throw new HttpError(409, 'Conflict', 'you cannot delete yourself', { field: 'email' });
    try {
      if (!(await deps.directory.deleteUser(email))) throw await noUser(c, email);
    } catch (error) {
      if (error instanceof LastAdminError)
        throw new HttpError(409, 'Conflict', `${email} is the last enabled admin`, { field: 'email' });
      throw error;
    }
    // A user created later under the same email must not inherit these.
    for (const token of await deps.tokens.listApiTokens(email))
      if (token.revokedAt === null) await deps.tokens.revokeApiToken(token.id);
    await endSessions(email);
    return c.body(null, 204);
  });

  app.post('/api/users/:email/password', async (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    const isSelf = email === identity.email.toLowerCase();
    if (!isSelf && !atLeast(identity.role, 'admin'))
      throw new HttpError(403, 'Forbidden', "only an admin can set another user's password");
    const body = await jsonBody(c);
    for (const key of Object.keys(body))
      if (key !== 'password' && key !== 'currentPassword')
        throw new HttpError(422, 'Invalid password', `unknown field '${key}'`, { field: key });
    if (typeof body.password !== 'string' || body.password === '')
      throw new HttpError(422, 'Invalid password', 'password is required', { field: 'password' });
    if ((await deps.directory.getUser(email)) === undefined) throw await noUser(c, email);
    if (isSelf) {
      if (typeof body.currentPassword !== 'string' || body.currentPassword === '')
        throw new HttpError(422, 'Invalid password', 'give your current password', {
          field: 'currentPassword',
        });
      if ((await deps.directory.verifyPassword(email, body.currentPassword)) === null)
        throw new HttpError(403, 'Forbidden', 'the current password is wrong', { field: 'currentPassword' });
    }
    try {
      await deps.directory.setPassword(email, body.password);
    } catch (error) {
      throw fieldProblem(error, 'Invalid password');
    }
    // Every session of the user ends, the caller's own included: log in again with the new password.
    await endSessions(email);
    return c.body(null, 204);
  });
}

/** The body of PUT /api/users/:email as the directory's input: known fields only, the path's email, a role. */
function userInput(email: string, body: Record<string, unknown>): AdminUserInput {
  for (const key of Object.keys(body))
    if (!USER_FIELDS.has(key))
      throw new HttpError(422, 'Invalid user', `unknown field '${key}'`, { field: key });
  if (body.email !== undefined && (typeof body.email !== 'string' || body.email.toLowerCase() !== email))
    throw new HttpError(422, 'Invalid user', 'email must match the address in the path (or be left out)', {
      field: 'email',
    });
  if (typeof body.role !== 'string')
    throw new HttpError(422, 'Invalid user', 'role is required', { field: 'role' });
  return {
    email,
    role: body.role,
    ...(body.name !== undefined ? { name: body.name as string | null } : {}),
    ...(body.groups !== undefined ? { groups: body.groups as string[] } : {}),
    ...(body.manager !== undefined ? { manager: body.manager as string | null } : {}),
    ...(body.disabled !== undefined ? { disabled: body.disabled as boolean } : {}),
    ...(body.service !== undefined ? { service: body.service as boolean } : {}),
  };
}

function userView(u: AdminUserRecord) {
  return {
    email: u.email,
    ...(u.name !== undefined ? { name: u.name } : {}),
    role: u.role,
    groups: u.groups,
    manager: u.manager,
    disabled: u.disabled,
    service: u.service === true,
    hasPassword: u.hasPassword,
  };
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const USERS_PATHS = {
  '/api/users': {
    get: {
      ...requires('manager', 'users:read'),
      summary: 'Every user (manager and above); never password hashes',
      responses: { '200': json('users'), ...errors },
    },
  },
  '/api/users/{email}': {
    parameters: pathParameter('email'),
    get: {
      ...requires('viewer', 'users:read'),
      summary: 'One user (themselves, or manager and above)',
      responses: { '200': json('user'), '404': problemOf('none'), ...errors },
    },
    put: {
      ...requires('admin', 'users:write'),
      summary: 'Create or replace a user (admin); the last enabled admin stays one',
      requestBody: jsonBodyOf(
        {
          name: { type: ['string', 'null'] },
          role: { enum: ['viewer', 'member', 'lead', 'manager', 'director', 'admin'] },
          groups: { type: 'array', items: { type: 'string' } },
          manager: { type: ['string', 'null'] },
          disabled: { type: 'boolean' },
          service: {
            type: 'boolean',
            description: 'a service account: no password, a webhook may run as it',
          },
        },
        ['role'],
      ),
      responses: {
        '200': json('updated'),
        '201': json('created'),
        '409': problemOf('the last admin, or yourself'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
    delete: {
      ...requires('admin', 'users:write'),
      summary: "Delete a user (admin; not yourself); the user's API tokens are revoked",
      responses: {
        '204': { description: 'deleted' },
        '404': problemOf('none'),
        '409': problemOf('yourself, or the last admin'),
        ...errors,
      },
    },
  },
  '/api/users/{email}/password': {
    parameters: pathParameter('email'),
    post: {
      ...requires('viewer', 'account', 'login'),
      summary: "Set a password (admin, or the user with currentPassword); the user's sessions end",
      requestBody: jsonBodyOf({ password: { type: 'string' }, currentPassword: { type: 'string' } }, [
        'password',
      ]),
      responses: {
        '204': { description: 'set' },
        '404': problemOf('none'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
  },
} as const;
