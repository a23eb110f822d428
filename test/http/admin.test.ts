// The administration routes (functions/core/http/users-, vault-, mcp-, template- and token-routes.ts) over
// Hono's fetch interface, on the real SQLite directory, vault and token store: each route as each role and
// unauthenticated, vault values and password hashes never in an answer, the last admin kept, problems naming
// the field, the template gallery, and API tokens that work until they are revoked (checked with the real
// authenticator).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import { SqliteVault } from '../../adapters/local/vault.js';
import { SqliteWorkflowStore } from '../../adapters/local/workflow-store.js';
import { authenticate } from '../../functions/core/auth.js';
import { understand } from '../../functions/core/chat.js';
import { createApp } from '../../functions/core/http/app.js';
import { ROLES } from '../../translator/definition.js';
import { serviceAccounts } from '../support/service-accounts.js';

const SECRET = 'sk_live_PLANTED_9f8e7d6c5b4a';
const EXPENSE = readFileSync(
  join(import.meta.dirname, '..', '..', 'templates', 'expense-approval.yaml'),
  'utf8',
);
const email = (role: string) => `${role}@example.com`;

/** A fresh app over an in-memory database with one user per role (all in group `staff`), and the templates' service accounts. */
async function setup() {
  const db = openDatabase(':memory:');
  const clock = new VirtualClock();
  const directory = new SqliteDirectory(db);
  await directory.seed([
    ...ROLES.map((role) => ({ email: email(role), role, groups: ['staff'] })),
    ...serviceAccounts(),
  ]);
  const vault = new SqliteVault(db, new Uint8Array(32).fill(7), { now: () => clock.now() });
  const tokens = new SqliteApiTokenStore(db);
  const sessions = new SqliteSessionStore(db);
  const workflows = new SqliteWorkflowStore(db);
  const servers = {
    files: {
      command: 'node',
      args: ['files.js'],
      env: { FILES_API_KEY: SECRET },
      credentials: [{ name: 'FILES_TOKEN', env: 'FILES_TOKEN' }],
      identity: 'inject' as const,
    },
    crm: {
      url: `https://crm.example.com/mcp?key=${SECRET}`,
      headers: { 'x-api-key': SECRET },
      credentials: [{ name: 'CRM_KEY', header: 'authorization', prefix: 'Bearer ' }],
      identity: 'schema' as const,
    },
  };
  const app = createApp({
    authenticate: async (c) => {
      const authorization = c.req.header('authorization');
      if (authorization !== undefined)
        return authenticate({ authorization, cookie: null }, { directory, sessions, tokens });
      const who = c.req.header('x-test-user');
      const identity = who === undefined ? undefined : await directory.user(who);
      return identity === undefined ? null : { identity, via: 'oidc', scopes: null };
    },
    admin: {
      directory,
      vault,
      tokens,
      sessions,
      mcp: {
        servers,
        registry: {
          listTools: async () => [
            {
              server: 'files',
              name: 'read-file',
              description: 'Reads a file',
              inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
              annotations: { readOnlyHint: true },
              identity: 'inject' as const,
            },
          ],
        },
      },
      templates: [{ id: 'expense-approval', name: 'Expense approval', source: EXPENSE, format: 'yaml' }],
    },
    users: directory,
    workflows,
    host: {
      startRun: async () => 'run',
      cancelRun: async () => {},
      getRun: async () => undefined,
      listRuns: async () => [],
      audit: async () => [],
    },
    approvals: { decide: async () => ({ accepted: false, reason: 'none' }) as never },
    approvalStore: { pendingFor: async () => [] },
    clock,
  });

  const bodies: string[] = [];
  /** `as`: a role (its user), an email, or `{ token }`; every answer's body is kept for the leak checks. */
  const call = async (method: string, path: string, as?: string | { token: string }, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (typeof as === 'string') headers['x-test-user'] = as.includes('@') ? as : email(as);
    else if (as !== undefined) headers.authorization = `Bearer ${as.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await app.request(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    bodies.push(text);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, type: response.headers.get('content-type') ?? '', json, text };
  };
  return { db, directory, vault, tokens, sessions, workflows, call, bodies, clock };
}

type Env = Awaited<ReturnType<typeof setup>>;
type Who = (typeof ROLES)[number] | 'anonymous';

interface Row {
  method: string;
  path: string | ((env: Env, role: Who) => string | Promise<string>);
  body?: (role: Who) => unknown;
  prepare?: (env: Env) => Promise<void> | void;
  expect: Record<Who, number>;
}

const table = (anonymous: number, ...byRole: number[]): Record<Who, number> => ({
  anonymous,
  ...(Object.fromEntries(ROLES.map((role, i) => [role, byRole[i]])) as Record<
    (typeof ROLES)[number],
    number
  >),
});

//                                                 anon viewer member lead manager director admin
const ROWS: Row[] = [
  { method: 'GET', path: '/api/users', expect: table(401, 403, 403, 403, 200, 200, 200) },
  { method: 'GET', path: '/api/users/member@example.com', expect: table(401, 403, 200, 403, 200, 200, 200) },
  {
    method: 'PUT',
    path: '/api/users/new@example.com',
    body: () => ({ name: 'New', role: 'member', groups: ['staff'] }),
    expect: table(401, 403, 403, 403, 403, 403, 201),
  },
  {
    method: 'DELETE',
    path: '/api/users/member@example.com',
    expect: table(401, 403, 403, 403, 403, 403, 204),
  },
  {
    // The viewer is changing their own password without giving the current one: 422.
    method: 'POST',
    path: '/api/users/viewer@example.com/password',
    body: () => ({ password: 'a brand new password' }),
    expect: table(401, 422, 403, 403, 403, 403, 204),
  },
  { method: 'GET', path: '/api/vault', expect: table(401, 403, 200, 200, 200, 200, 200) },
  {
    method: 'PUT',
    path: '/api/vault',
    body: (role) => ({ scope: `user:${email(role)}`, name: 'MY_KEY', value: SECRET }),
    expect: table(401, 403, 201, 201, 201, 201, 201),
  },
  {
    method: 'PUT',
    path: '/api/vault',
    body: () => ({ scope: 'group:staff', name: 'TEAM_KEY', value: SECRET }),
    expect: table(401, 403, 403, 201, 201, 201, 201),
  },
  {
    method: 'PUT',
    path: '/api/vault',
    body: () => ({ scope: 'org', name: 'ORG_KEY', value: SECRET }),
    expect: table(401, 403, 403, 403, 201, 201, 201),
  },
  {
    method: 'DELETE',
    path: '/api/vault',
    body: () => ({ scope: 'org', name: 'ORG_SEEDED' }),
    prepare: (env) => env.vault.set('org', 'ORG_SEEDED', SECRET),
    expect: table(401, 403, 403, 403, 204, 204, 204),
  },
  { method: 'GET', path: '/api/mcp/servers', expect: table(401, 403, 200, 200, 200, 200, 200) },
  { method: 'GET', path: '/api/mcp/tools', expect: table(401, 403, 200, 200, 200, 200, 200) },
  { method: 'GET', path: '/api/templates', expect: table(401, 200, 200, 200, 200, 200, 200) },
  {
    method: 'POST',
    path: '/api/templates/expense-approval/install',
    expect: table(401, 403, 403, 201, 201, 201, 201),
  },
  { method: 'GET', path: '/api/tokens', expect: table(401, 200, 200, 200, 200, 200, 200) },
  {
    method: 'POST',
    path: '/api/tokens',
    body: () => ({ name: 'ci', scopes: ['runs:read'] }),
    expect: table(401, 201, 201, 201, 201, 201, 201),
  },
  {
    // The member's token: its owner and an admin may revoke it; anyone else learns nothing (404).
    method: 'DELETE',
    path: async (env) => `/api/tokens/${(await env.tokens.listApiTokens(email('member')))[0]?.id}`,
    prepare: async (env) => {
      await env.tokens.createApiToken(email('member'), 'laptop', ['runs:read']);
    },
    expect: table(401, 404, 204, 404, 404, 404, 204),
  },
];

describe('the admin routes', () => {
  it('answer each route as each role, and unauthenticated, with the status its rules give', async () => {
    const failures: string[] = [];
    for (const row of ROWS) {
      for (const who of ['anonymous', ...ROLES] as Who[]) {
        const env = await setup();
        await row.prepare?.(env);
        const path = typeof row.path === 'string' ? row.path : await row.path(env, who);
        const result = await env.call(
          row.method,
          path,
          who === 'anonymous' ? undefined : who,
          row.body?.(who),
        );
        if (result.status !== row.expect[who])
          failures.push(`${row.method} ${path} as ${who}: ${result.status}, expected ${row.expect[who]}`);
        if (result.status >= 400 && !result.type.includes('application/problem+json'))
          failures.push(`${row.method} ${path} as ${who}: not a problem document`);
        expect(env.bodies.join('\n')).not.toContain(SECRET);
      }
    }
    expect(failures).toEqual([]);
  });

  it('never answers with a vault value, whoever asks and however the request goes wrong', async () => {
    const env = await setup();
    const { call } = env;
    expect(
      (await call('PUT', '/api/vault', 'admin', { scope: 'org', name: 'ORG_KEY', value: SECRET })).status,
    ).toBe(201);
    const set = await call('PUT', '/api/vault', 'member', {
      scope: 'user:member@example.com',
      name: 'MY_KEY',
      value: SECRET,
    });
    expect(set.status).toBe(201);
    expect(set.json).toEqual({
      scope: 'user:member@example.com',
      name: 'MY_KEY',
      updatedAt: expect.any(Number),
    });
    // Overwriting answers 200.
    expect(
      (
        await call('PUT', '/api/vault', 'member', {
          scope: 'user:member@example.com',
          name: 'MY_KEY',
          value: `${SECRET}2`,
        })
      ).status,
    ).toBe(200);
    // Refusals of every kind, each with the value in the request.
    const refused = [
      await call('PUT', '/api/vault', 'viewer', {
        scope: 'user:viewer@example.com',
        name: 'K',
        value: SECRET,
      }),
      await call('PUT', '/api/vault', 'member', { scope: 'org', name: 'K', value: SECRET }),
      await call('PUT', '/api/vault', 'member', { scope: 'nowhere', name: 'K', value: SECRET }),
      await call('PUT', '/api/vault', 'member', {
        scope: 'user:member@example.com',
        name: 'bad name',
        value: SECRET,
      }),
      await call('PUT', '/api/vault', 'member', {
        scope: 'user:member@example.com',
        name: 'K',
        value: SECRET,
        x: 1,
      }),
      await call('PUT', '/api/vault', 'member', { scope: 'user:member@example.com', name: 'K', value: '' }),
      await call('PUT', '/api/vault', 'member', {
        scope: 'user:member@example.com',
        name: 'K',
        value: SECRET.repeat(Math.ceil(65_537 / SECRET.length)),
      }),
    ];
    expect(refused.map((r) => [r.status, (r.json as { field?: string }).field])).toEqual([
      [403, undefined],
      [403, 'scope'],
      [422, 'scope'],
      [422, 'name'],
      [422, 'x'],
      [422, 'value'],
      [422, 'value'],
    ]);
    for (const role of ROLES) await call('GET', '/api/vault', role);
    await call('GET', '/api/vault?scope=org', 'admin');
    await call('GET', '/api/mcp/servers', 'member');
    expect(env.bodies.join('\n')).not.toContain(SECRET);
    expect(env.bodies.join('\n')).not.toContain('sk_live');
    // The values were stored all the same.
    const resolved = await env.vault.resolve({ email: 'member@example.com', groups: [] }, [
      'MY_KEY',
      'ORG_KEY',
    ]);
    expect(resolved.values).toEqual({ MY_KEY: `${SECRET}2`, ORG_KEY: SECRET });
  });

  it('lists the vault entries of the scopes each role may see, and refuses a scope it may not', async () => {
    const env = await setup();
    for (const scope of [
      'user:member@example.com',
      'user:lead@example.com',
      'group:staff',
      'group:finance',
      'org',
    ] as const)
      await env.vault.set(scope, 'K', SECRET);
    const names = async (role: string) =>
      ((await env.call('GET', '/api/vault', role)).json as { scope: string }[]).map((e) => e.scope);
    expect(await names('member')).toEqual(['user:member@example.com']);
    expect(await names('lead')).toEqual(['group:staff', 'user:lead@example.com']);
    expect(await names('manager')).toEqual(['group:staff', 'org']);
    expect(await names('admin')).toEqual([
      'group:finance',
      'group:staff',
      'org',
      'user:lead@example.com',
      'user:member@example.com',
    ]);
    const other = await env.call('GET', '/api/vault?scope=user:lead@example.com', 'member');
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ field: 'scope' });
    expect((await env.call('GET', '/api/vault?scope=elsewhere', 'member')).json).toMatchObject({
      status: 422,
      field: 'scope',
    });
    const foreignGroup = await env.call('PUT', '/api/vault', 'lead', {
      scope: 'group:finance',
      name: 'K',
      value: 'v',
    });
    expect(foreignGroup.status).toBe(403);
    expect(foreignGroup.json).toMatchObject({ field: 'scope' });
    expect(
      (await env.call('DELETE', '/api/vault', 'member', { scope: 'user:member@example.com', name: 'NOPE' }))
        .status,
    ).toBe(404);
    expect(env.bodies.join('\n')).not.toContain(SECRET);
  });

  it('keeps at least one enabled admin, and an admin from deleting or disabling themselves', async () => {
    const env = await setup();
    const { call } = env;
    const demote = await call('PUT', '/api/users/admin@example.com', 'admin', {
      role: 'member',
      groups: ['staff'],
    });
    expect(demote.status).toBe(409);
    expect(demote.json).toMatchObject({ status: 409, field: 'role' });
    const disable = await call('PUT', '/api/users/admin@example.com', 'admin', {
      role: 'admin',
      disabled: true,
    });
    expect(disable.json).toMatchObject({ status: 409, field: 'disabled' });
    const remove = await call('DELETE', '/api/users/admin@example.com', 'admin');
    expect(remove.json).toMatchObject({ status: 409, field: 'email' });
    expect(await env.directory.getUser('admin@example.com')).toMatchObject({
      role: 'admin',
      disabled: false,
    });

    // With a second admin, the first may step down; then the second is the last one.
    expect((await call('PUT', '/api/users/second@example.com', 'admin', { role: 'admin' })).status).toBe(201);
    expect((await call('PUT', '/api/users/admin@example.com', 'admin', { role: 'member' })).status).toBe(200);
    expect((await call('GET', '/api/users', 'admin')).status).toBe(403);
    expect(
      (await call('PUT', '/api/users/second@example.com', 'second@example.com', { role: 'lead' })).status,
    ).toBe(409);
    // A disabled admin does not count.
    expect(
      (
        await call('PUT', '/api/users/third@example.com', 'second@example.com', {
          role: 'admin',
          disabled: true,
        })
      ).status,
    ).toBe(201);
    expect(
      (await call('PUT', '/api/users/second@example.com', 'second@example.com', { role: 'lead' })).json,
    ).toMatchObject({ status: 409, field: 'role' });
  });

  it('keeps one of the last two admins when each demotes the other at once, on a directory that answers later', async () => {
    const env = await setup();
    const { call, directory } = env;
    await directory.upsertUser({ email: 'second@example.com', role: 'admin' });
    // Reads answer a turn after they were taken, as a network store's do: unless the check and the write it
    // guards run one change at a time, both checks see the other admin still there.
    const later =
      <T>(read: () => Promise<T>) =>
      async () => {
        const value = await read();
        await new Promise((resolve) => setImmediate(resolve));
        return value;
      };
    const listUsers = directory.listUsers.bind(directory);
    directory.listUsers = later(listUsers);
    const [first, second] = await Promise.all([
      call('PUT', '/api/users/second@example.com', 'admin', { role: 'lead' }),
      call('PUT', '/api/users/admin@example.com', 'second@example.com', { role: 'lead' }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect([first.json, second.json]).toContainEqual(expect.objectContaining({ status: 409, field: 'role' }));
    const admins = (await listUsers()).filter((u) => u.role === 'admin' && !u.disabled);
    expect(admins).toHaveLength(1);
  });

  it('answers invalid users with a problem naming the field, and writes nothing', async () => {
    const env = await setup();
    const put = (path: string, body: unknown) => env.call('PUT', path, 'admin', body);
    const cases: [string, unknown, string][] = [
      ['/api/users/new@example.com', { role: 'boss' }, 'role'],
      ['/api/users/new@example.com', { groups: ['staff'] }, 'role'],
      ['/api/users/new@example.com', { role: 'member', groups: 'staff' }, 'groups'],
      ['/api/users/new@example.com', { role: 'member', manager: 'not an email' }, 'manager'],
      ['/api/users/new@example.com', { role: 'member', disabled: 'yes' }, 'disabled'],
      ['/api/users/new@example.com', { role: 'member', nickname: 'x' }, 'nickname'],
      ['/api/users/new@example.com', { role: 'member', email: 'other@example.com' }, 'email'],
      ['/api/users/not-an-email', { role: 'member' }, 'email'],
      ['/api/users/member@example.com', { role: 'admin', groups: [''] }, 'groups'],
    ];
    for (const [path, body, field] of cases) {
      const result = await put(path, body);
      expect(result.status, JSON.stringify(body)).toBe(422);
      expect(result.type).toContain('application/problem+json');
      expect(result.json).toMatchObject({ status: 422, field });
    }
    expect(await env.directory.getUser('new@example.com')).toBeUndefined();
    expect(await env.directory.getUser('member@example.com')).toMatchObject({
      role: 'member',
      groups: ['staff'],
    });
    expect((await env.call('GET', '/api/users/nobody@example.com', 'admin')).status).toBe(404);
    expect((await env.call('DELETE', '/api/users/nobody@example.com', 'admin')).status).toBe(404);
  });

  it('sets passwords for an admin or the user with their current one, and never shows a hash', async () => {
    const env = await setup();
    const { call } = env;
    expect(
      (await call('POST', '/api/users/member@example.com/password', 'admin', { password: 'first password' }))
        .status,
    ).toBe(204);
    const short = await call('POST', '/api/users/member@example.com/password', 'admin', {
      password: 'short',
    });
    expect(short.json).toMatchObject({ status: 422, field: 'password' });
    const noCurrent = await call('POST', '/api/users/member@example.com/password', 'member', {
      password: 'second password',
    });
    expect(noCurrent.json).toMatchObject({ status: 422, field: 'currentPassword' });
    const wrong = await call('POST', '/api/users/member@example.com/password', 'member', {
      password: 'second password',
      currentPassword: 'not it at all',
    });
    expect(wrong.json).toMatchObject({ status: 403, field: 'currentPassword' });
    const session = await env.sessions.createSession('member@example.com', 60_000);
    expect(
      (
        await call('POST', '/api/users/member@example.com/password', 'member', {
          password: 'second password',
          currentPassword: 'first password',
        })
      ).status,
    ).toBe(204);
    expect(await env.directory.verifyPassword('member@example.com', 'second password')).not.toBeNull();
    expect(await env.directory.verifyPassword('member@example.com', 'first password')).toBeNull();
    expect(await env.sessions.getSession(session.token)).toBeNull();
    expect(
      (
        await call('POST', '/api/users/lead@example.com/password', 'member', {
          password: 'hijacked password',
        })
      ).status,
    ).toBe(403);

    const users = await call('GET', '/api/users', 'admin');
    expect(users.json).toContainEqual(
      expect.objectContaining({ email: 'member@example.com', hasPassword: true }),
    );
    for (const text of env.bodies) {
      expect(text).not.toContain('scrypt');
      expect(text).not.toContain('password_hash');
      expect(text).not.toContain('first password');
      expect(text).not.toContain('second password');
    }
  });

  it('installs a template as a workflow, refuses to overwrite one unless forced', async () => {
    const env = await setup();
    const { call } = env;
    const gallery = await call('GET', '/api/templates', 'viewer');
    expect(gallery.json).toEqual([
      {
        id: 'expense-approval',
        name: 'Expense approval',
        description: expect.any(String),
        format: 'yaml',
        source: expect.stringContaining('id: expense-approval'),
        installed: false,
      },
    ]);
    const installed = await call('POST', '/api/templates/expense-approval/install', 'lead');
    expect(installed.status).toBe(201);
    expect(installed.json).toMatchObject({ id: 'expense-approval', version: 1 });
    expect(await env.workflows.get('expense-approval')).toMatchObject({
      version: 1,
      createdBy: 'lead@example.com',
    });
    const again = await call('POST', '/api/templates/expense-approval/install', 'lead');
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ status: 409, field: 'id' });
    expect((await env.workflows.get('expense-approval'))?.version).toBe(1);
    const forced = await call('POST', '/api/templates/expense-approval/install?force=true', 'lead');
    expect(forced.status).toBe(200);
    expect(forced.json).toMatchObject({ version: 2 });
    expect(
      (await call('POST', '/api/templates/expense-approval/install?force=maybe', 'lead')).json,
    ).toMatchObject({
      status: 422,
      field: 'force',
    });
    expect((await call('POST', '/api/templates/nope/install', 'lead')).status).toBe(404);
    expect((await call('GET', '/api/templates', 'member')).json).toMatchObject([{ installed: true }]);
  });

  it('installs a copy under a free id, keeping the YAML comments, however often it is asked', async () => {
    const env = await setup();
    const { call } = env;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const copy = await call('POST', '/api/templates/expense-approval/install?copy=true', 'lead');
      expect(copy.status).toBe(201);
      ids.push((copy.json as { id: string }).id);
    }
    expect(ids).toEqual(['expense-approval', 'expense-approval-copy', 'expense-approval-copy-2']);
    const third = await env.workflows.get('expense-approval-copy-2');
    expect(third?.ir).toMatchObject({ id: 'expense-approval-copy-2', name: 'Expense approval (copy 2)' });
    // Everything but the id, name and aliases is the template's, comments included.
    const original = await env.workflows.get('expense-approval');
    expect(original?.source).toMatch(/#/);
    const strip = (text: string) => text.replace(/^(id|name|aliases):.*$/gm, '');
    expect(strip(third?.source ?? '')).toBe(strip(original?.source ?? ''));
    // The copies have no chat aliases until the user gives them some; the first install keeps them.
    expect(original?.ir.aliases).toEqual(['start expense approval', 'submit expense', 'expense approval']);
    expect(third?.source).toMatch(/^aliases: \[\]$/m);
    expect(third?.ir.aliases).toEqual([]);
    expect((await env.workflows.get('expense-approval-copy'))?.ir.aliases).toEqual([]);
    // So the original's phrase still names it alone (with the aliases copied, it asked "which one?"),
    // and the copies are reached by their names.
    const all = (await env.workflows.list()).map((w) => ({ ...w, aliases: w.ir.aliases }));
    expect(understand('submit expense 45', all)).toMatchObject({
      kind: 'ask',
      workflow: { id: 'expense-approval' },
    });
    const copies = understand('expense approval copy for 45 pens', all);
    expect(copies.kind === 'choose' && copies.candidates.map((w) => w.id).sort()).toEqual([
      'expense-approval-copy',
      'expense-approval-copy-2',
    ]);
    expect(
      (await call('POST', '/api/templates/expense-approval/install?copy=yes', 'lead')).json,
    ).toMatchObject({ status: 422, field: 'copy' });
  });

  it('shows MCP servers by transport and credential names only, and their tools', async () => {
    const env = await setup();
    const servers = await env.call('GET', '/api/mcp/servers', 'member');
    expect(servers.json).toEqual([
      { name: 'files', transport: 'stdio', credentials: ['FILES_TOKEN'] },
      { name: 'crm', transport: 'http', credentials: ['CRM_KEY'] },
    ]);
    expect(servers.text).not.toContain('crm.example.com');
    expect(servers.text).not.toContain('files.js');
    const tools = await env.call('GET', '/api/mcp/tools', 'member');
    expect(tools.json).toEqual([
      {
        server: 'files',
        name: 'read-file',
        description: 'Reads a file',
        inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
        annotations: { readOnlyHint: true },
      },
    ]);
  });

  it('creates an API token shown once, lists it without its secret, and it works only until revoked', async () => {
    const env = await setup();
    const { call } = env;
    const created = await call('POST', '/api/tokens', 'member', { name: 'laptop', scopes: ['runs:read'] });
    expect(created.status).toBe(201);
    const { id, token } = created.json as { id: string; token: string };
    expect(token).toMatch(/^sg_[0-9a-f]{16}_/);
    expect(created.json).toMatchObject({ id, name: 'laptop', scopes: ['runs:read'], revokedAt: null });

    const listed = await call('GET', '/api/tokens', 'member');
    expect(listed.json).toEqual([expect.objectContaining({ id, name: 'laptop' })]);
    expect(listed.text).not.toContain(token);
    expect(listed.text).not.toContain(token.slice(20));
    expect((await call('GET', '/api/tokens', 'lead')).json).toEqual([]);

    // The token authenticates (the real authenticator), but cannot mint or revoke tokens itself.
    const me = await call('GET', '/api/me', { token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ email: 'member@example.com', via: 'token' });
    expect(
      (await call('POST', '/api/tokens', { token }, { name: 'more', scopes: ['workflows:write'] })).status,
    ).toBe(403);
    expect(
      (
        await call(
          'PUT',
          '/api/vault',
          { token },
          { scope: 'user:member@example.com', name: 'K', value: 'v' },
        )
      ).status,
    ).toBe(403);

    expect((await call('DELETE', `/api/tokens/${id}`, 'lead')).status).toBe(404);
    expect((await call('DELETE', `/api/tokens/${id}`, 'member')).status).toBe(204);
    expect((await call('GET', '/api/me', { token })).status).toBe(401);
    expect(await env.tokens.verifyApiToken(token)).toBeNull();
    expect((await call('DELETE', `/api/tokens/${id}`, 'member')).status).toBe(404);
    expect((await call('GET', '/api/tokens', 'member')).json).toEqual([
      expect.objectContaining({ id, revokedAt: expect.any(Number) }),
    ]);

    const bad = [
      await call('POST', '/api/tokens', 'member', { name: '', scopes: ['runs:read'] }),
      await call('POST', '/api/tokens', 'member', { name: 'x', scopes: ['everything'] }),
      await call('POST', '/api/tokens', 'member', { name: 'x' }),
      await call('POST', '/api/tokens', 'member', { name: 'x', scopes: ['runs:read'], owner: 'admin' }),
    ];
    expect(bad.map((r) => [r.status, (r.json as { field?: string }).field])).toEqual([
      [422, 'name'],
      [422, 'scopes'],
      [422, 'scopes'],
      [422, 'owner'],
    ]);
  });

  it("revokes a deleted user's tokens, so a later user with the same email does not inherit them", async () => {
    const env = await setup();
    const { token } = await env.tokens.createApiToken('member@example.com', 'ci', ['runs:read']);
    expect((await env.call('GET', '/api/me', { token })).status).toBe(200);
    expect((await env.call('DELETE', '/api/users/member@example.com', 'admin')).status).toBe(204);
    expect((await env.call('PUT', '/api/users/member@example.com', 'admin', { role: 'member' })).status).toBe(
      201,
    );
    expect((await env.call('GET', '/api/me', { token })).status).toBe(401);
  });

  it('lets a token install a template only with its workflows:write scope', async () => {
    const env = await setup();
    const read = (await env.tokens.createApiToken('lead@example.com', 'r', ['runs:read'])).token;
    const write = (await env.tokens.createApiToken('lead@example.com', 'w', ['workflows:write'])).token;
    expect((await env.call('POST', '/api/templates/expense-approval/install', { token: read })).status).toBe(
      403,
    );
    expect((await env.call('POST', '/api/templates/expense-approval/install', { token: write })).status).toBe(
      201,
    );
  });
});
