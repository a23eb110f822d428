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

function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'stepgate-auth-')), 'stepgate.db');
  const db = openDatabase(file);
  open.push(db);
  const clock = { t: T0 };
  const now = () => clock.t;
  const directory = new SqliteDirectory(db);
  directory.upsertUser({
    email: 'alice@example.com',
    role: 'member',
    groups: ['finance'],
    manager: 'bob@example.com',
  });
  directory.upsertUser({ email: 'bob@example.com', role: 'manager', groups: ['finance'] });
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

function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('sessions', () => {
  it('creates, reads and deletes a session', () => {
    const { sessions } = setup();
    const grant = sessions.createSession('Alice@Example.com', 3_600_000);
    expect(grant.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(grant.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(grant.expiresAt).toBe(T0 + 3_600_000);
    expect(sessions.getSession(grant.token)).toEqual({
      email: 'alice@example.com',
      csrf: grant.csrf,
      expiresAt: grant.expiresAt,
    });
    sessions.deleteSession(grant.token);
    expect(sessions.getSession(grant.token)).toBeNull();
  });

  it('expires a session and deletes it when met', () => {
    const { sessions, clock, db } = setup();
    const grant = sessions.createSession('alice@example.com', 1000);
    clock.t += 999;
    expect(sessions.getSession(grant.token)).not.toBeNull();
    clock.t += 1;
    expect(sessions.getSession(grant.token)).toBeNull();
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
  });

  it('sweeps expired sessions at the next login', () => {
    const { sessions, clock, db } = setup();
    sessions.createSession('alice@example.com', 1000);
    clock.t += 5000;
    sessions.createSession('bob@example.com', 1000);
    expect(db.prepare('SELECT email FROM sessions').all()).toEqual([{ email: 'bob@example.com' }]);
  });

  it('ends every session of a user', () => {
    const { sessions } = setup();
    const a = sessions.createSession('alice@example.com', 10_000);
    sessions.createSession('alice@example.com', 10_000);
    const b = sessions.createSession('bob@example.com', 10_000);
    expect(sessions.deleteSessionsFor('ALICE@example.com')).toBe(2);
    expect(sessions.getSession(a.token)).toBeNull();
    expect(sessions.getSession(b.token)).not.toBeNull();
  });

  it('stores only the hash of the token', () => {
    const { sessions, db, file } = setup();
    const grant = sessions.createSession('alice@example.com', 10_000);
    const rows = db.prepare('SELECT * FROM sessions').all();
    expect(JSON.stringify(rows)).not.toContain(grant.token);
    expect(fileBytes(file)).not.toContain(grant.token);
    expect(rows).toHaveLength(1);
  });

  it('answers null for unknown, empty and absurd tokens', () => {
    const { sessions } = setup();
    expect(sessions.getSession('nope')).toBeNull();
    expect(sessions.getSession('')).toBeNull();
    expect(sessions.getSession('x'.repeat(10_000))).toBeNull();
    expect(() => sessions.createSession('alice@example.com', 0)).toThrow(RangeError);
  });
});

describe('API tokens', () => {
  it('creates a token shown once, verifies it and lists it without the secret', () => {
    const { tokens, clock } = setup();
    const { id, token } = tokens.createApiToken('Alice@example.com', 'ci', ['runs:start', 'runs:read']);
    expect(token).toMatch(new RegExp(`^sg_${id}_[A-Za-z0-9_-]{43}$`));
    clock.t += 10;
    expect(tokens.verifyApiToken(token)).toEqual({
      id,
      email: 'alice@example.com',
      scopes: ['runs:start', 'runs:read'],
    });
    const list = tokens.listApiTokens('alice@example.com');
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

  it('refuses a tampered secret, a wrong id and malformed text', () => {
    const { tokens } = setup();
    const { id, token } = tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    expect(tokens.verifyApiToken(token.slice(0, -1) + last)).toBeNull();
    expect(tokens.verifyApiToken(token.replace(id, '0123456789abcdef'))).toBeNull();
    expect(tokens.verifyApiToken('sg_')).toBeNull();
    expect(tokens.verifyApiToken(`${token}x`)).toBeNull();
    expect(tokens.verifyApiToken('__proto__')).toBeNull();
  });

  it('revokes a token', () => {
    const { tokens } = setup();
    const { id, token } = tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    expect(tokens.revokeApiToken(id)).toBe(true);
    expect(tokens.revokeApiToken(id)).toBe(false);
    expect(tokens.verifyApiToken(token)).toBeNull();
    expect(tokens.listApiTokens('alice@example.com')[0]?.revokedAt).toBe(T0);
  });

  it('keeps only the hash of the secret at rest', () => {
    const { tokens, db, file } = setup();
    const { token } = tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const secret = token.slice(-43);
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(secret);
    expect(fileBytes(file)).not.toContain(secret);
  });

  it('checks scopes and names', () => {
    const { tokens } = setup();
    expect(checkScopes(['runs:read', 'webhook:expense-approval', 'runs:read'])).toEqual([
      'runs:read',
      'webhook:expense-approval',
    ]);
    for (const bad of [[], ['admin'], ['webhook:'], ['webhook:Bad_Id'], ['__proto__'], 'runs:read', [1]]) {
      const error = thrown(() => tokens.createApiToken('alice@example.com', 'ci', bad as string[]));
      expect(error.status).toBe(400);
      expect(error.field).toBe('scopes');
    }
    expect(thrown(() => tokens.createApiToken('alice@example.com', ' ', ['runs:read'])).field).toBe('name');
  });
});

describe('authenticate', () => {
  function deps(s: ReturnType<typeof setup>, oidc?: OidcVerifier): AuthDeps {
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
    const s = setup();
    const grant = s.sessions.createSession('alice@example.com', 10_000);
    const principal = await authenticate({ cookie: `theme=dark; stepgate_session=${grant.token}` }, deps(s));
    expect(principal).toEqual({
      identity: s.directory.user('alice@example.com'),
      via: 'session',
      scopes: null,
      csrf: grant.csrf,
    });
  });

  it('accepts an API token with its scopes', async () => {
    const s = setup();
    const { id, token } = s.tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    const principal = await authenticate({ authorization: `Bearer ${token}` }, deps(s));
    expect(principal).toMatchObject({ via: 'token', scopes: ['runs:read'], tokenId: id });
    expect(principal?.identity.email).toBe('alice@example.com');
    expect(principal?.csrf).toBeUndefined();
  });

  it('prefers the Authorization header over the cookie, and a bad header is not rescued by it', async () => {
    const s = setup();
    const session = s.sessions.createSession('alice@example.com', 10_000);
    const { token } = s.tokens.createApiToken('bob@example.com', 'ci', ['runs:read']);
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
    const s = setup();
    const principal = await authenticate({ authorization: 'bearer good.jwt.bob' }, deps(s, fakeOidc));
    expect(principal).toEqual({ identity: s.directory.user('bob@example.com'), via: 'oidc', scopes: null });
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
    const s = setup();
    const grant = s.sessions.createSession('alice@example.com', 10_000);
    const { token } = s.tokens.createApiToken('alice@example.com', 'ci', ['runs:read']);
    s.directory.upsertUser({ email: 'alice@example.com', role: 'member', disabled: true });
    expect(await authenticate({ cookie: `stepgate_session=${grant.token}` }, deps(s))).toBeNull();
    expect(await authenticate({ authorization: `Bearer ${token}` }, deps(s))).toBeNull();
    s.directory.deleteUser('alice@example.com');
    expect(await authenticate({ authorization: `Bearer ${token}` }, deps(s))).toBeNull();
  });

  it('answers null without credentials or with an unknown cookie', async () => {
    const s = setup();
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

  it('requireRole: 401 without a principal, 403 below the role', () => {
    expect(thrown(() => requireRole(null, 'member')).status).toBe(401);
    expect(thrown(() => requireRole(principal('member'), 'manager')).status).toBe(403);
    expect(() => requireRole(principal('director'), 'manager')).not.toThrow();
  });

  it("scopes narrow tokens; a login holds its role's whole set, a token never more than its owner's role", () => {
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
    expect(thrown(() => requireScope(token, 'approvals:decide')).status).toBe(403);
    expect(thrown(() => requireScope(undefined, 'approvals:decide')).status).toBe(401);
  });

  it('CSRF: a session needs the matching header; tokens are exempt; safe methods pass', () => {
    const session = principal('member');
    expect(() => checkCsrf(session, 'csrf-value')).not.toThrow();
    const wrong = thrown(() => checkCsrf(session, 'csrf-valuf'));
    expect(wrong.status).toBe(403);
    expect(wrong.field).toBe('x-csrf-token');
    expect(thrown(() => checkCsrf(session, undefined)).status).toBe(403);
    expect(thrown(() => checkCsrf(session, '')).status).toBe(403);
    expect(thrown(() => checkCsrf(session, 'csrf-value ')).status).toBe(403);
    expect(thrown(() => checkCsrf({ ...session, csrf: undefined }, '')).status).toBe(403);
    expect(() => checkCsrf(session, undefined, 'GET')).not.toThrow();
    expect(thrown(() => checkCsrf(session, undefined, 'POST')).status).toBe(403);
    expect(() => checkCsrf(principal('member', ['runs:read']), undefined, 'POST')).not.toThrow();
    expect(() => checkCsrf({ ...session, via: 'oidc', csrf: undefined }, undefined, 'DELETE')).not.toThrow();
    expect(thrown(() => checkCsrf(null, 'x')).status).toBe(401);
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
