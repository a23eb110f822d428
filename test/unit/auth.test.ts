// Sessions and API tokens on a real SQLite file (only hashes at rest), authenticate() precedence, roles,
// scopes, CSRF and problem details.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteApiTokenStore, SqliteSessionStore } from '../../adapters/local/session-store.js';
import { SqliteDirectory } from '../../adapters/local/sqlite-directory.js';
import {
  type AuthDeps,
  authenticate,
  checkCsrf,
  checkScopes,
  clearSessionCookie,
  hasScope,
  type OidcClaims,
  type OidcVerifier,
  type Principal,
  readCookie,
  requireRole,
  requireScope,
  roleAtLeast,
  safeEqual,
  sessionCookie,
} from '../../functions/core/auth.js';
import { HttpError } from '../../functions/core/http-error.js';

const T0 = 1_700_000_000_000;
const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

async function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'stepgate-auth-')), 'stepgate.db');
  const db = openDatabase(file);
  open.push(db);
  const clock = { t: T0 };
  const now = () => clock.t;
  const directory = new SqliteDirectory(db);
  await directory.upsertUser({
    email: 'alice@example.com',
    role: 'member',
    groups: ['finance'],
    manager: 'bob@example.com',
  });
  await directory.upsertUser({ email: 'bob@example.com', role: 'manager', groups: ['finance'] });
  const sessions = new SqliteSessionStore(db, { now });
  const tokens = new SqliteApiTokenStore(db, { now });
  return { db, file, clock, directory, sessions, tokens };
}

/** The database file and its WAL as text, to search for secrets at rest. */
function fileBytes(file: string): string {
  let text = readFileSync(file).toString('latin1');
  try {
    text += readFileSync(`${file}-wal`).toString('latin1');
  } catch {}
  return text;
}

async function thrown(fn: () => unknown): Promise<HttpError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('sessions', () => {
  it('creates, reads and deletes a session', async () => {
    const { sessions } = await setup();
    const grant = await sessions.createSession('Alice@Example.com', 3_600_000);
    expect(grant.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(grant.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(grant.expiresAt).toBe(T0 + 3_600_000);
    expect(await sessions.getSession(grant.token)).toEqual({
      email: 'alice@example.com',
      csrf: grant.csrf,
      expiresAt: grant.expiresAt,
    });
    await sessions.deleteSession(grant.token);
    expect(await sessions.getSession(grant.token)).toBeNull();
  });

  it('expires a session and deletes it when met', async () => {
    const { sessions, clock, db } = await setup();
    const grant = await sessions.createSession('alice@example.com', 1000);
    clock.t += 999;
    expect(await sessions.getSession(grant.token)).not.toBeNull();
    clock.t += 1;
    expect(await sessions.getSession(grant.token)).toBeNull();
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });

  it('sweeps expired sessions at the next login', async () => {
    const { sessions, clock, db } = await setup();
    await sessions.createSession('alice@example.com', 1000);
    clock.t += 5000;
    await sessions.createSession('bob@example.com', 1000);
    expect(db.prepare('SELECT email FROM sessions').all()).toEqual([{ email: 'bob@example.com' }]);
  });

  it('ends every session of a user', async () => {
    const { sessions } = await setup();
    const a = await sessions.createSession('alice@example.com', 10_000);
    await sessions.createSession('alice@example.com', 10_000);
    const b = await sessions.createSession('bob@example.com', 10_000);
    expect(await sessions.deleteSessionsFor('ALICE@example.com')).toBe(2);
    expect(await sessions.getSession(a.token)).toBeNull();
    expect(await sessions.getSession(b.token)).not.toBeNull();
  });

  it('stores only the hash of the token', async () => {
    const { sessions, db, file } = await setup();
    const grant = await sessions.createSession('alice@example.com', 10_000);
    const rows = db.prepare('SELECT * FROM sessions').all();
    expect(JSON.stringify(rows)).not.toContain(grant.token);
    expect(fileBytes(file)).not.toContain(grant.token);
    expect(rows).toHaveLength(1);
  });

  it('answers null for unknown, empty and absurd tokens', async () => {
    const { sessions } = await setup();
    expect(await sessions.getSession('nope')).toBeNull();
    expect(await sessions.getSession('')).toBeNull();
    expect(await sessions.getSession('x'.repeat(10_000))).toBeNull();
    await expect(sessions.createSession('alice@example.com', 0)).rejects.toThrow(RangeError);
  });
});

describe('API tokens', () => {
  it('creates a token shown once, verifies it and lists it without the secret', async () => {
    const { tokens, clock } = await setup();
    const { id, token } = await tokens.createApiToken('Alice@example.com', 'ci', ['runs:start', 'runs:read']);
    expect(token).toMatch(new RegExp(`^sg_${id}_[A-Za-z0-9_-]{43}$`));
    clock.t += 10;
    expect(await tokens.verifyApiToken(token)).toEqual({
      id,
      email: 'alice@example.com',
      scopes: ['runs:start', 'runs:read'],
    });
    const list = await tokens.listApiTokens('alice@example.com');
    expect(list).toEqual([
      {
        id,
        email: 'alice@example.com',
        name: 'ci',
        scopes: ['runs:start', 'runs:read'],
        createdAt: T0,
        lastUsedAt: T0 + 10,
        revokedAt: null,
      },
    ]);
    expect(JSON.stringify(list)).not.toContain(token.slice(-43));
  });

  it('refuses a tampered secret, a wrong id and malformed text', async () => {
    const { tokens } = await setup();
    const { id, token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(await tokens.verifyApiToken(token.slice(0, -1) + last)).toBeNull();
    expect(await tokens.verifyApiToken(token.replace(id, '0123456789abcdef'))).toBeNull();
    expect(await tokens.verifyApiToken('sg_')).toBeNull();
    expect(await tokens.verifyApiToken(`${token}x`)).toBeNull();
    expect(await tokens.verifyApiToken('__proto__')).toBeNull();
  });

  it('revokes a token', async () => {
    const { tokens } = await setup();
    const { id, token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    expect(await tokens.revokeApiToken(id)).toBe(true);
    expect(await tokens.revokeApiToken(id)).toBe(false);
    expect(await tokens.verifyApiToken(token)).toBeNull();
    expect((await tokens.listApiTokens('alice@example.com'))[0]?.revokedAt).toBe(T0);
  });

  it('keeps only the hash of the secret at rest', async () => {
    const { tokens, db, file } = await setup();
    const { token } = await tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const secret = token.slice(-43);
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(secret);
    expect(fileBytes(file)).not.toContain(secret);
  });

  it('checks scopes and names', async () => {
    const { tokens } = await setup();
    expect(checkScopes(['runs:read', 'webhook:expense-approval', 'runs:read'])).toEqual([
      'runs:read',
      'webhook:expense-approval',
    ]);
    for (const bad of [[], ['admin'], ['webhook:'], ['webhook:Bad_Id'], ['__proto__'], 'runs:read', [1]]) {
      const error = await thrown(() => tokens.createApiToken('alice@example.com', 'ci', bad as string[]));
      expect(error.status).toBe(400);
      expect(error.field).toBe('scopes');
    }
    expect((await thrown(() => tokens.createApiToken('alice@example.com', ' ', ['runs:read']))).field).toBe(
      'name',
    );
  });
});

describe('authenticate', () => {
  function deps(s: Awaited<ReturnType<typeof setup>>, oidc?: OidcVerifier): AuthDeps {
    return { directory: s.directory, sessions: s.sessions, tokens: s.tokens, oidc: oidc ?? null };
  }
  const fakeOidc: OidcVerifier = {
    config: {} as OidcVerifier['config'],
    async verify(jwt: string): Promise<OidcClaims> {
      if (jwt === 'good.jwt.bob') return { email: 'bob@example.com', claims: {} };
      if (jwt === 'good.jwt.stranger') return { email: 'stranger@example.com', claims: {} };
      throw new Error('bad token');
    },
  };

  it('accepts a session cookie, with its CSRF token', async () => {
    const s = await setup();
    const grant = await s.sessions.createSession('alice@example.com', 10_000);
    const principal = await authenticate({ cookie: `theme=dark; stepgate_session=${grant.token}` }, deps(s));
    expect(principal).toEqual({
      identity: await s.directory.user('alice@example.com'),
      via: 'session',
      scopes: null,
      csrf: grant.csrf,
    });
  });

  it('accepts an API token with its scopes', async () => {
    const s = await setup();
    const { id, token } = await s.tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const principal = await authenticate({ authorization: `Bearer ${token}` }, deps(s));
    expect(principal).toMatchObject({ via: 'token', scopes: ['runs:read'], tokenId: id });
    expect(principal?.identity.email).toBe('alice@example.com');
    expect(principal?.csrf).toBeUndefined();
  });

  it('prefers the Authorization header over the cookie, and a bad header is not rescued by it', async () => {
    const s = await setup();
    const session = await s.sessions.createSession('alice@example.com', 10_000);
    const { token } = await s.tokens.createApiToken('bob@example.com', 'ci', ['runs:read']);
    const cookie = `stepgate_session=${session.token}`;
    expect((await authenticate({ cookie, authorization: `Bearer ${token}` }, deps(s)))?.identity.email).toBe(
      'bob@example.com',
    );
    expect(
      await authenticate({ cookie, authorization: 'Bearer sg_0123456789abcdef_nope' }, deps(s)),
    ).toBeNull();
    expect(await authenticate({ cookie, authorization: 'Basic YWxpY2U6cHc=' }, deps(s))).toBeNull();
    expect(await authenticate({ cookie, authorization: 'Bearer good.jwt.bob' }, deps(s))).toBeNull();
    expect((await authenticate({ cookie, authorization: '' }, deps(s)))?.via).toBe('session');
  });

  it('sends other bearer tokens to OIDC when configured, then to the directory', async () => {
    const s = await setup();
    const principal = await authenticate({ authorization: 'bearer good.jwt.bob' }, deps(s, fakeOidc));
    expect(principal).toEqual({
      identity: await s.directory.user('bob@example.com'),
      via: 'oidc',
      scopes: null,
    });
    expect(await authenticate({ authorization: 'Bearer good.jwt.stranger' }, deps(s, fakeOidc))).toBeNull();
    expect(await authenticate({ authorization: 'Bearer bad.jwt' }, deps(s, fakeOidc))).toBeNull();
    const provisioned = await authenticate(
      { authorization: 'Bearer good.jwt.stranger' },
      {
        ...deps(s, fakeOidc),
        oidcIdentity: (c) => ({ email: c.email, role: 'viewer', groups: [], manager: null }),
      },
    );
    expect(provisioned?.identity.role).toBe('viewer');
  });

  it('refuses credentials of users deleted or disabled since', async () => {
    const s = await setup();
    const grant = await s.sessions.createSession('alice@example.com', 10_000);
    const { token } = await s.tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    await s.directory.upsertUser({ email: 'alice@example.com', role: 'member', disabled: true });
    expect(await authenticate({ cookie: `stepgate_session=${grant.token}` }, deps(s))).toBeNull();
    expect(await authenticate({ authorization: `Bearer ${token}` }, deps(s))).toBeNull();
    await s.directory.deleteUser('alice@example.com');
    expect(await authenticate({ authorization: `Bearer ${token}` }, deps(s))).toBeNull();
  });

  it('answers null without credentials or with an unknown cookie', async () => {
    const s = await setup();
    expect(await authenticate({}, deps(s))).toBeNull();
    expect(await authenticate({ cookie: 'stepgate_session=' }, deps(s))).toBeNull();
    expect(await authenticate({ cookie: 'stepgate_session=forged' }, deps(s))).toBeNull();
    expect(await authenticate({ cookie: '__proto__=x; constructor=y' }, deps(s))).toBeNull();
  });
});

describe('authorization', () => {
  const principal = (role: string, scopes: string[] | null = null): Principal => ({
    identity: { email: 'a@example.com', role, groups: [], manager: null },
    via: scopes === null ? 'session' : 'token',
    scopes,
    csrf: 'csrf-value',
  });

  it('orders roles viewer < member < lead < manager < director < admin', () => {
    expect(roleAtLeast({ role: 'manager' }, 'lead')).toBe(true);
    expect(roleAtLeast({ role: 'manager' }, 'manager')).toBe(true);
    expect(roleAtLeast({ role: 'manager' }, 'director')).toBe(false);
    expect(roleAtLeast({ role: 'admin' }, 'admin')).toBe(true);
    expect(roleAtLeast({ role: 'superuser' }, 'viewer')).toBe(false);
    expect(roleAtLeast({ role: '__proto__' }, 'viewer')).toBe(false);
  });

  it('requireRole: 401 without a principal, 403 below the role', async () => {
    expect((await thrown(() => requireRole(null, 'member'))).status).toBe(401);
    expect((await thrown(() => requireRole(principal('member'), 'manager'))).status).toBe(403);
    expect(() => requireRole(principal('director'), 'manager')).not.toThrow();
  });

  it("scopes narrow tokens; a login holds its role's whole set, a token never more than its owner's role", async () => {
    expect(hasScope(principal('lead'), 'workflows:write')).toBe(true);
    expect(hasScope(principal('member'), 'workflows:write')).toBe(false);
    expect(hasScope(principal('member', ['workflows:write']), 'workflows:write')).toBe(false);
    expect(hasScope(principal('admin', ['runs:read']), 'users:write')).toBe(false);
    expect(hasScope(principal('admin'), 'users:write')).toBe(true);
    const token = principal('member', ['runs:read', 'webhook:payroll']);
    expect(hasScope(token, 'runs:read')).toBe(true);
    expect(hasScope(token, 'runs:start')).toBe(false);
    expect(hasScope(token, 'webhook:payroll')).toBe(true);
    expect(hasScope(token, 'webhook:other')).toBe(false);
    expect(hasScope(principal('member', ['runs:start']), 'webhook:other')).toBe(true);
    expect((await thrown(() => requireScope(token, 'approvals:decide'))).status).toBe(403);
    expect((await thrown(() => requireScope(undefined, 'approvals:decide'))).status).toBe(401);
  });

  it('CSRF: a session needs the matching header; tokens are exempt; safe methods pass', async () => {
    const session = principal('member');
    expect(() => checkCsrf(session, 'csrf-value')).not.toThrow();
    const wrong = await thrown(() => checkCsrf(session, 'csrf-valuf'));
    expect(wrong.status).toBe(403);
    expect(wrong.field).toBe('x-csrf-token');
    expect((await thrown(() => checkCsrf(session, undefined))).status).toBe(403);
    expect((await thrown(() => checkCsrf(session, ''))).status).toBe(403);
    expect((await thrown(() => checkCsrf(session, 'csrf-value '))).status).toBe(403);
    expect((await thrown(() => checkCsrf({ ...session, csrf: undefined }, ''))).status).toBe(403);
    expect(() => checkCsrf(session, undefined, 'GET')).not.toThrow();
    expect((await thrown(() => checkCsrf(session, undefined, 'POST'))).status).toBe(403);
    expect(() => checkCsrf(principal('member', ['runs:read']), undefined, 'POST')).not.toThrow();
    expect(() => checkCsrf({ ...session, via: 'oidc', csrf: undefined }, undefined, 'DELETE')).not.toThrow();
    expect((await thrown(() => checkCsrf(null, 'x'))).status).toBe(401);
  });

  it('compares in constant time without leaking lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});

describe('cookies and problems', () => {
  it('reads the session cookie among others', () => {
    expect(readCookie('a=1; stepgate_session=tok; b=2', 'stepgate_session')).toBe('tok');
    expect(readCookie('stepgate_session="tok"', 'stepgate_session')).toBe('tok');
    expect(readCookie('xstepgate_session=tok', 'stepgate_session')).toBeUndefined();
    expect(readCookie(undefined, 'stepgate_session')).toBeUndefined();
  });

  it('sets and clears a hardened cookie', () => {
    const set = sessionCookie('tok', T0);
    expect(set).toBe(
      `stepgate_session=tok; Path=/; Expires=${new Date(T0).toUTCString()}; HttpOnly; SameSite=Lax; Secure`,
    );
    expect(sessionCookie('tok', T0, { secure: false })).not.toContain('Secure');
    expect(clearSessionCookie()).toContain('Max-Age=0');
    expect(clearSessionCookie()).toMatch(/^stepgate_session=;/);
  });

  it('turns an HttpError into RFC 9457 problem details', () => {
    expect(new HttpError(403, 'Forbidden', 'no').toProblem()).toEqual({
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      detail: 'no',
    });
    expect(
      new HttpError(400, 'Bad Request', 'bad scope', {
        field: 'scopes',
        type: 'https://stepgate.dev/problems/scope',
      }).toProblem(),
    ).toEqual({
      type: 'https://stepgate.dev/problems/scope',
      title: 'Bad Request',
      status: 400,
      detail: 'bad scope',
      field: 'scopes',
    });
    expect(() => new HttpError(200, 'OK', 'ok')).toThrow(RangeError);
  });
});
