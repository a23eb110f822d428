// The vault routes of the HTTP API: entry names (never values) and their writes. Their role and scope are
// declared with their OpenAPI description (VAULT_PATHS); the caller's right to the entry's vault scope is
// checked here, before anything is written. A value is never part of any answer, error or not.
//
//   GET    /api/vault?scope=             member+: entry names visible to the caller (never values)
//   PUT    /api/vault                    { scope, name, value } the scope's rules → 201 or 200
//   DELETE /api/vault                    { scope, name } the scope's rules → 204
//
// Vault scopes, the schedule scope rules (functions/core/triggers/schedules.ts) for reading and writing:
// `user:<self>` member+, `group:<g>` lead+ who is in g, `org` manager+; admins every scope.
import type { Hono } from 'hono';
import { didYouMean } from '../../../translator/diagnostics.js';
import { hasScope } from '../auth.js';
import { HttpError } from '../http-error.js';
import { isEmail } from '../identity.js';
import type { SecretEntry, Vault, VaultScope } from '../ports.js';
import type { Identity } from '../protocol.js';
import { requires } from './access.js';
import { errors, json, jsonBodyOf, problemOf } from './openapi-parts.js';
import { atLeast, caller, jsonBody } from './request.js';
import type { Env } from './types.js';

export interface VaultRoutesDeps {
  vault: Pick<Vault, 'list' | 'set' | 'delete'>;
  clock: { now(): number };
}

const MAX_VALUE_CHARS = 65_536;
const GROUP = /^[^\s:]{1,128}$/;
const SECRET_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function mountVault(app: Hono<Env>, deps: VaultRoutesDeps): void {
  app.get('/api/vault', async (c) => {
    const identity = caller(c);
    const text = c.req.query('scope');
    let entries: SecretEntry[];
    if (text !== undefined && text !== '') {
      const scope = vaultScope(text);
      const refused = vaultScopeProblem(scope, identity);
      if (refused !== undefined) throw new HttpError(403, 'Forbidden', refused, { field: 'scope' });
      entries = await deps.vault.list(scope);
    } else {
      entries = (await deps.vault.list()).filter((e) => vaultScopeProblem(e.scope, identity) === undefined);
    }
    return c.json(entries.map((e) => ({ scope: e.scope, name: e.name, updatedAt: e.updatedAt })));
  });

  app.put('/api/vault', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    const { scope, name } = vaultTarget(body, ['scope', 'name', 'value'], identity);
    const value = body.value;
    if (typeof value !== 'string' || value.length === 0)
      throw new HttpError(422, 'Invalid vault entry', 'value must be a non-empty string', { field: 'value' });
    if (value.length > MAX_VALUE_CHARS)
      throw new HttpError(422, 'Invalid vault entry', `value is at most ${MAX_VALUE_CHARS} characters`, {
        field: 'value',
      });
    const existed = (await deps.vault.list(scope)).some((e) => e.name === name);
    try {
      await deps.vault.set(scope, name, value);
    } catch (error) {
      throw vaultProblem(error);
    }
    const entry = (await deps.vault.list(scope)).find((e) => e.name === name);
    return c.json({ scope, name, updatedAt: entry?.updatedAt ?? deps.clock.now() }, existed ? 200 : 201);
  });

  app.delete('/api/vault', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    const { scope, name } = vaultTarget(body, ['scope', 'name'], identity);
    let deleted: boolean;
    try {
      deleted = await deps.vault.delete(scope, name);
    } catch (error) {
      throw vaultProblem(error);
    }
    if (!deleted) {
      // The names (never the values) of the scope are what GET /api/vault shows a caller with vault:read.
      const names = hasScope(c.get('principal'), 'vault:read')
        ? (await deps.vault.list(scope)).map((e) => e.name)
        : [];
      throw new HttpError(404, 'Not found', `no vault entry '${name}' in ${scope}${didYouMean(name, names)}`);
    }
    return c.body(null, 204);
  });
}

/** A scope's text checked as the vault checks it (`user:<email>` lower-cased, `group:<name>`, `org`). */
function vaultScope(text: unknown): VaultScope {
  if (text === 'org') return 'org';
  if (typeof text === 'string' && text.startsWith('user:') && isEmail(text.slice(5)))
    return `user:${text.slice(5).toLowerCase()}`;
  if (typeof text === 'string' && text.startsWith('group:') && GROUP.test(text.slice(6)))
    return `group:${text.slice(6)}`;
  throw new HttpError(422, 'Invalid vault entry', 'scope must be user:<email>, group:<name> or org', {
    field: 'scope',
  });
}

/** Why `identity` may not read or write `scope` (the schedule scope rules; admins: every scope). */
function vaultScopeProblem(scope: VaultScope, identity: Identity): string | undefined {
  if (atLeast(identity.role, 'admin')) return undefined;
  if (scope === 'org')
    return atLeast(identity.role, 'manager') ? undefined : 'the org scope needs the role manager or above';
  if (scope.startsWith('user:'))
    return scope === `user:${identity.email.toLowerCase()}` && atLeast(identity.role, 'member')
      ? undefined
      : "another user's scope is theirs (and an admin's)";
  const group = scope.slice('group:'.length);
  if (!atLeast(identity.role, 'lead')) return 'a group scope needs the role lead or above';
  return identity.groups.includes(group) ? undefined : `you are not in the group '${group}'`;
}

/** The body's scope and name, checked (fields first, then the caller's right to the scope). */
function vaultTarget(
  body: Record<string, unknown>,
  fields: string[],
  identity: Identity,
): { scope: VaultScope; name: string } {
  for (const key of Object.keys(body))
    if (!fields.includes(key))
      throw new HttpError(422, 'Invalid vault entry', `unknown field '${key}'`, { field: key });
  const scope = vaultScope(body.scope);
  if (typeof body.name !== 'string' || !SECRET_NAME.test(body.name))
    throw new HttpError(
      422,
      'Invalid vault entry',
      "name must be 1 to 128 letters, digits, '_', '.' or '-'",
      { field: 'name' },
    );
  const refused = vaultScopeProblem(scope, identity);
  if (refused !== undefined) throw new HttpError(403, 'Forbidden', refused, { field: 'scope' });
  return { scope, name: body.name };
}

/** A vault's own refusal (its messages name the scope and name, never the value) as a 422. */
function vaultProblem(error: unknown): unknown {
  if (error instanceof Error && error.name === 'VaultError')
    return new HttpError(422, 'Invalid vault entry', error.message);
  return error;
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

const vaultTargetSchema = {
  scope: { type: 'string', description: 'user:<email>, group:<name> or org' },
  name: { type: 'string' },
};

export const VAULT_PATHS = {
  '/api/vault': {
    get: {
      ...requires('member', 'vault:read'),
      summary: 'Vault entries the caller may see (member and above): scope, name, updatedAt; never values',
      parameters: [{ name: 'scope', in: 'query', schema: { type: 'string' } }],
      responses: { '200': json('entries'), '422': problemOf('an invalid scope'), ...errors },
    },
    put: {
      ...requires('member', 'vault:write'),
      summary: 'Set a value (user:<self> member+, group:<g> lead+ in g, org manager+, admins any)',
      requestBody: jsonBodyOf({ ...vaultTargetSchema, value: { type: 'string', writeOnly: true } }, [
        'scope',
        'name',
        'value',
      ]),
      responses: {
        '200': json('updated'),
        '201': json('created'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
    delete: {
      ...requires('member', 'vault:write'),
      summary: 'Delete an entry (the same scope rules)',
      requestBody: jsonBodyOf(vaultTargetSchema, ['scope', 'name']),
      responses: {
        '204': { description: 'deleted' },
        '404': problemOf('none'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
  },
} as const;
