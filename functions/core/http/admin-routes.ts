// The administration routes of the HTTP API: the user directory, vault entries (names only), the MCP
// servers and their tools, the template gallery, and the caller's API tokens. Mounted on the app after its
// `/api/*` authentication (and CSRF) middleware, so every route has a caller; roles are checked here.
//
//   GET    /api/users                    manager+: every user (never a password hash)
//   GET    /api/users/:email             the user themselves, or manager+
//   PUT    /api/users/:email             admin: create or replace { name, role, groups, manager, disabled, service }
//   DELETE /api/users/:email             admin, not themselves → 204 (the user's API tokens are revoked)
//   POST   /api/users/:email/password    { password, currentPassword? } the admin, or the user (with currentPassword)
//   GET    /api/vault?scope=             member+: entry names visible to the caller (never values)
//   PUT    /api/vault                    { scope, name, value } the scope's rules → 201 or 200
//   DELETE /api/vault                    { scope, name } the scope's rules → 204
//   GET    /api/mcp/servers              member+: name, transport (stdio|http), credential names
//   GET    /api/mcp/tools                member+: server, name, description, inputSchema, annotations
//   GET    /api/templates                viewer+: the gallery
//   POST   /api/templates/:id/install    lead+: saves the template as a workflow; 409 when it exists (?force=true);
//                                        the caller publishes it (functions/core/delegation.ts)
//   GET    /api/tokens                   the caller's API tokens (never their secrets)
//   POST   /api/tokens                   { name, scopes } → 201 with the token, shown this once
//   DELETE /api/tokens/:id               its owner, or an admin → 204
//
// Vault scopes, the schedule scope rules (functions/core/triggers/schedules.ts) for reading and writing:
// `user:<self>` member+, `group:<g>` lead+ who is in g, `org` manager+; admins every scope.
//
// Each route's role and scope are declared with its OpenAPI description (ADMIN_PATHS, `requires`) and
// enforced by the app's one authorization middleware (access.ts). Your own password and API tokens need
// the `account` scope, which only a login holds: a token never mints tokens. A new token's scopes must be
// ones the caller holds.
//
// Every check runs before anything is written; errors are problem documents naming the field. A vault
// value or a password is never part of any answer, error or not.
import type { Context, Hono } from 'hono';
import { parseDocument } from 'yaml';
import { validateWorkflow } from '../../../translator/validate.js';
import { checkScopes, requireGrantable } from '../auth.js';
import type { DelegationDirectory } from '../delegation.js';
import { HttpError } from '../http-error.js';
import { isEmail } from '../identity.js';
import type { ApiTokenStore, SecretEntry, SessionStore, Vault, VaultScope } from '../ports.js';
import type { Identity } from '../protocol.js';
import { requires } from './access.js';
import { requirePublishable } from './delegation-checks.js';
import { errors, json, problemOf } from './openapi-parts.js';
import { HttpProblem } from './problem.js';
import { atLeast, jsonBody } from './request.js';
import type { Env, WorkflowStore } from './types.js';

/** A user as the admin sees it (adapters/local/sqlite-directory.ts UserRecord): never a password hash. */
export interface AdminUserRecord extends Identity {
  disabled: boolean;
  hasPassword: boolean;
}

export interface AdminUserInput {
  email: string;
  name?: string | null;
  role: string;
  groups?: string[];
  manager?: string | null;
  disabled?: boolean;
  /** A service account: nobody logs in as it (its password is removed), a webhook may run as it. */
  service?: boolean;
}

/** What the routes need of the directory (SqliteDirectory); its errors carry the `field` at fault. */
export interface AdminDirectory {
  listUsers(): AdminUserRecord[];
  getUser(email: string): AdminUserRecord | undefined;
  /** Validates the whole record before writing any of it; throws an error with `field` when invalid. */
  upsertUser(input: AdminUserInput): AdminUserRecord;
  deleteUser(email: string): boolean;
  setPassword(email: string, password: string): Promise<void>;
  verifyPassword(email: string, password: string): Promise<Identity | null>;
}

/** The MCP servers as configured: only their transport and credential names are ever shown. */
export type McpServerList = Record<
  string,
  ({ command: string } | { url: string }) & { credentials: { name: string }[]; identity?: string }
>;

export interface McpToolView {
  server: string;
  name: string;
  description: string | null;
  inputSchema: unknown;
  annotations?: unknown;
}

/** A gallery entry: a workflow definition shipped with Stepgate. */
export interface TemplateEntry {
  id: string;
  name: string;
  source: string;
  format: 'yaml' | 'json';
}

export interface AdminRoutesDeps {
  directory: AdminDirectory;
  vault: Pick<Vault, 'list' | 'set' | 'delete'>;
  tokens: ApiTokenStore;
  /** Ends a user's login sessions when their password changes or they are disabled or deleted. */
  sessions?: Pick<SessionStore, 'deleteSessionsFor'>;
  mcp: { servers: McpServerList; registry: { listTools(): Promise<McpToolView[]> } };
  templates: TemplateEntry[] | (() => TemplateEntry[]);
  workflows: Pick<WorkflowStore, 'get' | 'save'>;
  /** The enabled users, as the delegation check of a template install reads them. */
  users: DelegationDirectory;
  clock: { now(): number };
}

const MAX_VALUE_CHARS = 65_536;
const USER_FIELDS = new Set(['email', 'name', 'role', 'groups', 'manager', 'disabled', 'service']);
const GROUP = /^[^\s:]{1,128}$/;
const SECRET_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function mountAdmin(app: Hono<Env>, deps: AdminRoutesDeps): void {
  const caller = (c: Context<Env>): Identity => c.get('principal').identity;
  const endSessions = async (email: string) => {
    await deps.sessions?.deleteSessionsFor(email);
  };

  // ---- the directory ----

  app.get('/api/users', (c) => {
    return c.json(deps.directory.listUsers().map(userView));
  });

  app.get('/api/users/:email', (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    if (email !== identity.email.toLowerCase() && !atLeast(identity.role, 'manager'))
      throw new HttpProblem(
        403,
        'Forbidden',
        'you can see your own record; other users need manager or above',
      );
    const user = deps.directory.getUser(email);
    if (user === undefined) throw new HttpProblem(404, 'Not found', `no user '${email}'`);
    return c.json(userView(user));
  });

  app.put('/api/users/:email', async (c) => {
    const identity = caller(c);
    const email = c.req.param('email').toLowerCase();
    const body = await jsonBody(c);
    for (const key of Object.keys(body))
      if (!USER_FIELDS.has(key)) throw new HttpProblem(422, 'Invalid user', `unknown field '${key}'`, key);
    if (body.email !== undefined && (typeof body.email !== 'string' || body.email.toLowerCase() !== email))
      throw new HttpProblem(
        422,
        'Invalid user',
        'email must match the address in the path (or be left out)',
        'email',
      );
    if (typeof body.role !== 'string') throw new HttpProblem(422, 'Invalid user', 'role is required', 'role');
    const before = deps.directory.getUser(email);
    const isSelf = email === identity.email.toLowerCase();
    if (isSelf && body.disabled === true)
      throw new HttpProblem(409, 'Conflict', 'you cannot disable yourself', 'disabled');
    const input: AdminUserInput = {
      email,
      role: body.role,
      ...(body.name !== undefined ? { name: body.name as string | null } : {}),
      ...(body.groups !== undefined ? { groups: body.groups as string[] } : {}),
      ...(body.manager !== undefined ? { manager: body.manager as string | null } : {}),
      ...(body.disabled !== undefined ? { disabled: body.disabled as boolean } : {}),
      ...(body.service !== undefined ? { service: body.service as boolean } : {}),
    };
    // The last enabled admin stays one: checked and written with no await in between.
    const disabledAfter = typeof body.disabled === 'boolean' ? body.disabled : (before?.disabled ?? false);
    if (before !== undefined && before.role === 'admin' && !before.disabled) {
      const staysAdmin = body.role === 'admin' && !disabledAfter;
      if (!staysAdmin && otherEnabledAdmins(email) === 0)
        throw new HttpProblem(
          409,
          'Conflict',
          `${email} is the last enabled admin; make someone else an admin first`,
          body.role === 'admin' ? 'disabled' : 'role',
        );
    }
    let user: AdminUserRecord;
    try {
      user = deps.directory.upsertUser(input);
    } catch (error) {
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
      throw new HttpProblem(409, 'Conflict', 'you cannot delete yourself', 'email');
    const user = deps.directory.getUser(email);
    if (user === undefined) throw new HttpProblem(404, 'Not found', `no user '${email}'`);
    if (user.role === 'admin' && !user.disabled && otherEnabledAdmins(email) === 0)
      throw new HttpProblem(409, 'Conflict', `${email} is the last enabled admin`, 'email');
    deps.directory.deleteUser(email);
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
      throw new HttpProblem(403, 'Forbidden', "only an admin can set another user's password");
    const body = await jsonBody(c);
    for (const key of Object.keys(body))
      if (key !== 'password' && key !== 'currentPassword')
        throw new HttpProblem(422, 'Invalid password', `unknown field '${key}'`, key);
    if (typeof body.password !== 'string' || body.password === '')
      throw new HttpProblem(422, 'Invalid password', 'password is required', 'password');
    if (deps.directory.getUser(email) === undefined)
      throw new HttpProblem(404, 'Not found', `no user '${email}'`);
    if (isSelf) {
      if (typeof body.currentPassword !== 'string' || body.currentPassword === '')
        throw new HttpProblem(422, 'Invalid password', 'give your current password', 'currentPassword');
      if ((await deps.directory.verifyPassword(email, body.currentPassword)) === null)
        throw new HttpProblem(403, 'Forbidden', 'the current password is wrong', 'currentPassword');
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

  function otherEnabledAdmins(email: string): number {
    return deps.directory.listUsers().filter((u) => u.role === 'admin' && !u.disabled && u.email !== email)
      .length;
  }

  // ---- vault entries ----

  app.get('/api/vault', async (c) => {
    const identity = caller(c);
    const text = c.req.query('scope');
    let entries: SecretEntry[];
    if (text !== undefined && text !== '') {
      const scope = vaultScope(text);
      const refused = vaultScopeProblem(scope, identity);
      if (refused !== undefined) throw new HttpProblem(403, 'Forbidden', refused, 'scope');
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
      throw new HttpProblem(422, 'Invalid vault entry', 'value must be a non-empty string', 'value');
    if (value.length > MAX_VALUE_CHARS)
      throw new HttpProblem(
        422,
        'Invalid vault entry',
        `value is at most ${MAX_VALUE_CHARS} characters`,
        'value',
      );
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
    if (!deleted) throw new HttpProblem(404, 'Not found', `no vault entry '${name}' in ${scope}`);
    return c.body(null, 204);
  });

  // ---- MCP ----

  app.get('/api/mcp/servers', (c) => {
    return c.json(
      Object.entries(deps.mcp.servers).map(([name, server]) => ({
        name,
        transport: 'command' in server ? 'stdio' : 'http',
        credentials: server.credentials.map((credential) => credential.name),
      })),
    );
  });

  app.get('/api/mcp/tools', async (c) => {
    const tools = await deps.mcp.registry.listTools();
    return c.json(
      tools.map((t) => ({
        server: t.server,
        name: t.name,
        description: t.description ?? null,
        inputSchema: t.inputSchema,
        annotations: t.annotations ?? null,
      })),
    );
  });

  // ---- templates ----

  const templates = () => (typeof deps.templates === 'function' ? deps.templates() : deps.templates);
  // A template's IR, validated once per entry (the gallery is listed on every visit of its page).
  const validated = new WeakMap<TemplateEntry, ReturnType<typeof validateWorkflow>['ir']>();
  const irOf = (t: TemplateEntry) => {
    if (!validated.has(t)) validated.set(t, validateWorkflow(t.source, t.format).ir);
    return validated.get(t);
  };

  app.get('/api/templates', (c) => {
    return c.json(
      templates().map((t) => {
        const ir = irOf(t);
        return {
          id: t.id,
          name: t.name,
          description: ir?.description ?? null,
          format: t.format,
          source: t.source,
          installed: deps.workflows.get(t.id) !== undefined,
        };
      }),
    );
  });

  app.post('/api/templates/:id/install', (c) => {
    const identity = caller(c);
    const id = c.req.param('id');
    const template = templates().find((t) => t.id === id);
    if (template === undefined) throw new HttpProblem(404, 'Not found', `no template '${id}'`);
    const force = c.req.query('force');
    if (force !== undefined && force !== 'true' && force !== 'false')
      throw new HttpProblem(422, 'Invalid request', "force must be 'true' or 'false'", 'force');
    const copy = c.req.query('copy');
    if (copy !== undefined && copy !== 'true' && copy !== 'false')
      throw new HttpProblem(422, 'Invalid request', "copy must be 'true' or 'false'", 'copy');
    const ir = irOf(template);
    if (ir === undefined)
      throw new HttpProblem(422, 'Invalid template', `template '${id}' does not validate`, 'id');
    // `copy=true`: always a new workflow, under the template's id while it is free, else `<id>-copy[-N]`.
    if (copy === 'true') {
      // Copy n is `<id>` (n = 0), `<id>-copy` (1), then `<id>-copy-<n>`.
      const copyId = (n: number) => (n === 0 ? ir.id : n === 1 ? `${ir.id}-copy` : `${ir.id}-copy-${n}`);
      const n = Array.from({ length: 100 }, (_, i) => i).find(
        (i) => deps.workflows.get(copyId(i)) === undefined,
      );
      if (n === undefined)
        throw new HttpProblem(409, 'Conflict', `too many copies of '${ir.id}'; delete some first`, 'id');
      const source = renamed(
        template.source,
        template.format,
        copyId(n),
        n === 0 ? ir.name : `${ir.name} (copy${n > 1 ? ` ${n}` : ''})`,
      );
      const checked = validateWorkflow(source, template.format);
      if (checked.ir === undefined)
        throw new HttpProblem(422, 'Invalid template', `a copy of template '${id}' does not validate`, 'id');
      requirePublishable(checked.ir, identity, undefined, deps.users);
      const saved = deps.workflows.save({
        ir: checked.ir,
        source,
        format: template.format,
        by: identity.email,
        at: deps.clock.now(),
      });
      return c.json({ id: saved.id, version: saved.version, name: checked.ir.name }, 201);
    }
    const existing = deps.workflows.get(ir.id);
    if (existing !== undefined && force !== 'true')
      throw new HttpProblem(
        409,
        'Conflict',
        `a workflow '${ir.id}' exists (version ${existing.version}); install with ?force=true to save the template as a new version, or ?copy=true for a copy`,
        'id',
      );
    requirePublishable(ir, identity, existing, deps.users);
    const saved = deps.workflows.save({
      ir,
      source: template.source,
      format: template.format,
      by: identity.email,
      at: deps.clock.now(),
    });
    return c.json(
      { id: saved.id, version: saved.version, name: ir.name },
      existing === undefined ? 201 : 200,
    );
  });

  // ---- API tokens ----

  app.get('/api/tokens', async (c) => {
    const identity = caller(c);
    return c.json((await deps.tokens.listApiTokens(identity.email)).map(tokenView));
  });

  app.post('/api/tokens', async (c) => {
    const identity = caller(c);
    const body = await jsonBody(c);
    for (const key of Object.keys(body))
      if (key !== 'name' && key !== 'scopes')
        throw new HttpProblem(422, 'Invalid token', `unknown field '${key}'`, key);
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
    if (!own && !atLeast(identity.role, 'admin')) throw new HttpProblem(404, 'Not found', `no token '${id}'`);
    if (!(await deps.tokens.revokeApiToken(id)))
      throw new HttpProblem(404, 'Not found', `no unrevoked token '${id}'`);
    return c.body(null, 204);
  });
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

/** A scope's text checked as the vault checks it (`user:<email>` lower-cased, `group:<name>`, `org`). */
function vaultScope(text: unknown): VaultScope {
  if (text === 'org') return 'org';
  if (typeof text === 'string' && text.startsWith('user:') && isEmail(text.slice(5)))
    return `user:${text.slice(5).toLowerCase()}`;
  if (typeof text === 'string' && text.startsWith('group:') && GROUP.test(text.slice(6)))
    return `group:${text.slice(6)}`;
  throw new HttpProblem(
    422,
    'Invalid vault entry',
    'scope must be user:<email>, group:<name> or org',
    'scope',
  );
}

/** Why `identity` may not read or write `scope` (the schedule scope rules; admins: every scope). */
export function vaultScopeProblem(scope: VaultScope, identity: Identity): string | undefined {
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
      throw new HttpProblem(422, 'Invalid vault entry', `unknown field '${key}'`, key);
  const scope = vaultScope(body.scope);
  if (typeof body.name !== 'string' || !SECRET_NAME.test(body.name))
    throw new HttpProblem(
      422,
      'Invalid vault entry',
      "name must be 1 to 128 letters, digits, '_', '.' or '-'",
      'name',
    );
  const refused = vaultScopeProblem(scope, identity);
  if (refused !== undefined) throw new HttpProblem(403, 'Forbidden', refused, 'scope');
  return { scope, name: body.name };
}

/** A vault's own refusal (its messages name the scope and name, never the value) as a 422. */
function vaultProblem(error: unknown): unknown {
  if (error instanceof Error && error.name === 'VaultError')
    return new HttpProblem(422, 'Invalid vault entry', error.message);
  return error;
}

/** An error naming its field (DirectoryError, the token store's HttpError 400) as a 422; others as they are. */
function fieldProblem(error: unknown, title: string): unknown {
  if (error instanceof HttpError && error.status === 400)
    return new HttpProblem(422, title, error.detail, error.field);
  if (error instanceof Error && error.name === 'DirectoryError' && 'field' in error)
    return new HttpProblem(422, title, error.message, String(error.field));
  return error;
}

// ---- OpenAPI path items (merged into OPENAPI.paths) ----

const body = (properties: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: { 'application/json': { schema: { type: 'object', required, properties } } },
});
const pathParameter = (name: string) => [{ name, in: 'path', required: true, schema: { type: 'string' } }];
const vaultTargetSchema = {
  scope: { type: 'string', description: 'user:<email>, group:<name> or org' },
  name: { type: 'string' },
};

export const ADMIN_PATHS = {
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
      requestBody: body(
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
      requestBody: body({ password: { type: 'string' }, currentPassword: { type: 'string' } }, ['password']),
      responses: {
        '204': { description: 'set' },
        '404': problemOf('none'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
  },
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
      requestBody: body({ ...vaultTargetSchema, value: { type: 'string', writeOnly: true } }, [
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
      requestBody: body(vaultTargetSchema, ['scope', 'name']),
      responses: {
        '204': { description: 'deleted' },
        '404': problemOf('none'),
        '422': problemOf('an invalid field'),
        ...errors,
      },
    },
  },
  '/api/mcp/servers': {
    get: {
      ...requires('member', 'mcp:read'),
      summary: 'MCP servers (member and above): name, transport, credential names',
      responses: { '200': json('servers'), ...errors },
    },
  },
  '/api/mcp/tools': {
    get: {
      ...requires('member', 'mcp:read'),
      summary: 'Tools of the reachable MCP servers (member and above)',
      responses: { '200': json('tools'), ...errors },
    },
  },
  '/api/templates': {
    get: {
      ...requires('viewer', 'workflows:read'),
      summary: 'The template gallery',
      responses: { '200': json('templates'), ...errors },
    },
  },
  '/api/templates/{id}/install': {
    parameters: pathParameter('id'),
    post: {
      ...requires('lead', 'workflows:write'),
      summary: 'Save a template as a workflow (lead and above); ?force=true over an existing one',
      parameters: [{ name: 'force', in: 'query', schema: { enum: ['true', 'false'] } }],
      responses: {
        '200': json('saved as a new version'),
        '201': json('installed'),
        '404': problemOf('no such template'),
        '409': problemOf('the workflow exists'),
        ...errors,
      },
    },
  },
  '/api/tokens': {
    get: {
      ...requires('viewer', 'account'),
      summary: "The caller's API tokens (never their secrets)",
      responses: { '200': json('tokens'), ...errors },
    },
    post: {
      ...requires('viewer', 'account'),
      summary: 'Create an API token (a login, not a token); the token is in this answer only',
      requestBody: body({ name: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } }, [
        'name',
        'scopes',
      ]),
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

/** A definition's source with a new `id` and `name`, comments and layout kept (YAML) or re-serialised (JSON). */
function renamed(source: string, format: 'yaml' | 'json', id: string, name: string): string {
  if (format === 'json') {
    const value = JSON.parse(source) as Record<string, unknown>;
    return `${JSON.stringify({ ...value, id, name }, null, 2)}\n`;
  }
  const document = parseDocument(source);
  document.set('id', id);
  document.set('name', name);
  return document.toString();
}
