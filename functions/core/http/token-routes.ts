// The API token routes of the HTTP API: the caller's own tokens. Their role and scope are declared with
// their OpenAPI description (TOKEN_PATHS): they need the `account` scope, which only a login holds, so a
// token never mints tokens; a new token's scopes must be ones the caller holds. A token's secret is in
// the answer that creates it and nowhere else.
//
//   GET    /api/tokens                   the caller's API tokens (never their secrets)
//   POST   /api/tokens                   { name, scopes } → 201 with the token, shown this once
//   DELETE /api/tokens/:id               its owner, or an admin → 204
import type { Hono } from 'hono';
import { checkScopes, requireGrantable } from '../auth.js';
import { HttpError } from '../http-error.js';
import type { ApiTokenStore } from '../ports.js';
import { requires } from './access.js';
import { errors, json, jsonBodyOf, pathParameter, problemOf } from './openapi-parts.js';
import { fieldProblem } from './problem.js';
import { atLeast, caller, jsonBody } from './request.js';
import type { Env } from './types.js';

export interface TokenRoutesDeps {
  tokens: ApiTokenStore;
}

export function mountTokens(app: Hono<Env>, deps: TokenRoutesDeps): void {
  app.get('/api/tokens', async (c) => {
    const identity = caller(c);
    return c.json((await deps.tokens.listApiTokens(identity.email)).map(tokenView));
  });

  app.post('/api/tokens', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    for (const key of Object.keys(body))
      if (key !== 'name' && key !== 'scopes')
        throw new HttpError(422, 'Invalid token', `unknown field '${key}'`, { field: key });
    let created: { id: string; token: string };
    try {
      // Nobody grants what they do not hold: a token's scopes are within the caller's.
      requireGrantable(c.get('principal'), checkScopes(body.scopes));
      created = await deps.tokens.createApiToken(
        identity.email,
        body.name as string,
        body.scopes as string[],
      );
    } catch (error) {
      throw fieldProblem(error, 'Invalid token');
    }
    const info = (await deps.tokens.listApiTokens(identity.email)).find((t) => t.id === created.id);
    return c.json({ ...(info ? tokenView(info) : { id: created.id }), token: created.token }, 201);
  });

  app.delete('/api/tokens/:id', async (c) => {
    const identity = caller(c);
    const id = c.req.param('id');
    const own = (await deps.tokens.listApiTokens(identity.email)).some((t) => t.id === id);
    // Someone else's token is none of a non-admin's business: the same 404 as an unknown one.
    if (!own && !atLeast(identity.role, 'admin')) throw new HttpError(404, 'Not found', `no token '${id}'`);
    if (!(await deps.tokens.revokeApiToken(id)))
      throw new HttpError(404, 'Not found', `no unrevoked token '${id}'`);
    return c.body(null, 204);
  });
}

function tokenView(t: {
  id: string;
  name: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

export const TOKEN_PATHS = {
  '/api/tokens': {
    get: {
      ...requires('viewer', 'account'),
      summary: "The caller's API tokens (never their secrets)",
      responses: { '200': json('tokens'), ...errors },
    },
    post: {
      ...requires('viewer', 'account'),
      summary: 'Create an API token (a login, not a token); the token is in this answer only',
      requestBody: jsonBodyOf(
        { name: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } },
        ['name', 'scopes'],
      ),
      responses: { '201': json('the token, shown once'), '422': problemOf('an invalid field'), ...errors },
    },
  },
  '/api/tokens/{id}': {
    parameters: pathParameter('id'),
    delete: {
      ...requires('viewer', 'account'),
      summary: 'Revoke an API token (its owner, or an admin)',
      responses: { '204': { description: 'revoked' }, '404': problemOf('none'), ...errors },
    },
  },
} as const;
