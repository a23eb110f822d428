// The SQLite user directory: the same answers as InMemoryDirectory for the same users, group order, input
// checks naming the field, scrypt passwords (wrong password, unknown user, disabled user), idempotent seed,
// password-less service accounts (and their column added to a database from before it).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import {
  checkPasswordHash,
  DirectoryError,
  hashPassword,
  SqliteDirectory,
  type UserInput,
} from '../../adapters/local/sqlite-directory.js';
import type { Identity } from '../../functions/core/protocol.js';

// Every scrypt the directory runs, with its cost: the work a login does, observed without timing it.
const scryptRuns = vi.hoisted(() => [] as Array<{ keylen: unknown; N: unknown; r: unknown; p: unknown }>);
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  const scrypt = (...args: unknown[]): void => {
    const options = (args.length === 5 ? args[3] : {}) as { N?: unknown; r?: unknown; p?: unknown };
    scryptRuns.push({ keylen: args[2], N: options.N, r: options.r, p: options.p });
    (crypto.scrypt as (...forwarded: unknown[]) => void)(...args);
  };
  return { ...crypto, default: { ...crypto, scrypt }, scrypt };
});

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function database(): Db {
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'stepgate-dir-')), 'stepgate.db'));
  open.push(db);
  return db;
}

const USERS: Identity[] = [
  {
    email: 'Alice@Example.com',
    role: 'member',
    groups: ['finance', 'engineering'],
    manager: 'bob@example.com',
  },
  {
    email: 'bob@example.com',
    role: 'manager',
    groups: ['finance'],
    manager: 'carol@example.com',
    name: 'Bob',
  },
  { email: 'carol@example.com', role: 'director', groups: ['leadership', 'finance'], manager: null },
  { email: 'dave@example.com', role: 'member', groups: [], manager: 'bob@example.com' },
  { email: 'erin@example.com', role: 'admin', groups: ['it', '__proto__'], manager: null },
  { email: '__proto__@example.com', role: 'viewer', groups: ['constructor', 'toString'], manager: null },
];

async function both(
  users: Identity[] = USERS,
): Promise<{ memory: InMemoryDirectory; sqlite: SqliteDirectory }> {
  const sqlite = new SqliteDirectory(database());
  for (const user of users) await sqlite.upsertUser(user);
  return { memory: new InMemoryDirectory(users), sqlite };
}

describe('SqliteDirectory resolves as InMemoryDirectory does', () => {
  const specs = [
    'role:member',
    'role:manager',
    'role:director',
    'role:admin',
    'role:viewer',
    'role:lead',
    'role:',
    'role:Member',
    'role:nobody',
    'group:finance',
    'group:engineering',
    'group:leadership',
    'group:it',
    'group:',
    'group:Finance',
    'group:__proto__',
    'group:constructor',
    'group:toString',
    'group:hasOwnProperty',
    'alice@example.com',
    'ALICE@EXAMPLE.COM',
    'stranger@example.com',
    '__proto__@example.com',
    '__proto__',
    'constructor',
    'finance',
    'Role:member',
    'role:x@y.com',
    'group:a@b.com',
    '',
  ];
  it.each(specs)('resolve(%j)', async (spec) => {
    const { memory, sqlite } = await both();
    expect(await sqlite.resolve(spec)).toEqual(await memory.resolve(spec));
  });

  it.each([
    ...USERS.map((u) => u.email),
    'ALICE@example.COM',
    'stranger@example.com',
    '__proto__',
    'constructor',
  ])('user(%j)', async (email) => {
    const { memory, sqlite } = await both();
    expect(await sqlite.user(email)).toEqual(await memory.user(email));
  });

  it('keeps the order users were first added, also after an update', async () => {
    const { memory, sqlite } = await both();
    await sqlite.upsertUser({ ...USERS[0], role: 'member', groups: ['finance'] } as UserInput);
    expect(await sqlite.resolve('group:finance')).toEqual(await memory.resolve('group:finance'));
    expect(await sqlite.resolve('role:member')).toEqual(['alice@example.com', 'dave@example.com']);
  });

  it('keeps the order of a user’s groups', async () => {
    const { sqlite } = await both();
    const groups = ['zeta', 'alpha', 'mid', 'beta'];
    await sqlite.upsertUser({ email: 'gina@example.com', role: 'lead', groups, manager: null });
    expect((await sqlite.user('gina@example.com'))?.groups).toEqual(groups);
    expect((await sqlite.listUsers()).find((u) => u.email === 'gina@example.com')?.groups).toEqual(groups);
    await sqlite.upsertUser({
      email: 'gina@example.com',
      role: 'lead',
      groups: ['beta', 'alpha'],
      manager: null,
    });
    expect((await sqlite.user('gina@example.com'))?.groups).toEqual(['beta', 'alpha']);
    expect(await sqlite.resolve('group:zeta')).toEqual([]);
  });

  it('survives a reopen of the database file', async () => {
    const db = database();
    const first = new SqliteDirectory(db);
    for (const user of USERS) await first.upsertUser(user);
    const file = db.name;
    db.close();
    const again = openDatabase(file);
    open.push(again);
    const memory = new InMemoryDirectory(USERS);
    const sqlite = new SqliteDirectory(again);
    for (const spec of ['role:member', 'group:finance', 'group:__proto__'])
      expect(await sqlite.resolve(spec)).toEqual(await memory.resolve(spec));
  });
});

describe('SqliteDirectory administration', () => {
  it('lists users in order with their flags, never a hash', async () => {
    const { sqlite } = await both();
    await sqlite.setPassword('bob@example.com', 'correct horse battery');
    const list = await sqlite.listUsers();
    expect(list.map((u) => u.email)).toEqual(USERS.map((u) => u.email.toLowerCase()));
    expect(list[1]).toEqual({
      email: 'bob@example.com',
      name: 'Bob',
      role: 'manager',
      groups: ['finance'],
      manager: 'carol@example.com',
      disabled: false,
      hasPassword: true,
    });
    expect(JSON.stringify(list)).not.toContain('scrypt');
  });

  it('deletes a user and its groups', async () => {
    const { sqlite } = await both();
    expect(await sqlite.deleteUser('ALICE@example.com')).toBe(true);
    expect(await sqlite.deleteUser('alice@example.com')).toBe(false);
    expect(await sqlite.user('alice@example.com')).toBeUndefined();
    expect(await sqlite.resolve('group:engineering')).toEqual([]);
    await sqlite.upsertUser({ email: 'alice@example.com', role: 'member', groups: ['finance'] });
    // Re-added: last in order, as a Map would put it.
    expect(await sqlite.resolve('group:finance')).toEqual([
      'bob@example.com',
      'carol@example.com',
      'alice@example.com',
    ]);
  });

  it('hides a disabled user from user() and resolve(), keeps it for the admin', async () => {
    const { sqlite } = await both();
    await sqlite.upsertUser({
      email: 'bob@example.com',
      role: 'manager',
      groups: ['finance'],
      disabled: true,
    });
    expect(await sqlite.user('bob@example.com')).toBeUndefined();
    expect(await sqlite.resolve('role:manager')).toEqual([]);
    expect(await sqlite.resolve('group:finance')).toEqual(['alice@example.com', 'carol@example.com']);
    expect((await sqlite.getUser('bob@example.com'))?.disabled).toBe(true);
    // An update that does not mention `disabled` leaves it as it is.
    await sqlite.upsertUser({ email: 'bob@example.com', role: 'director' });
    expect((await sqlite.getUser('bob@example.com'))?.disabled).toBe(true);
    await sqlite.upsertUser({ email: 'bob@example.com', role: 'director', disabled: false });
    expect(await sqlite.resolve('role:director')).toEqual(['bob@example.com', 'carol@example.com']);
  });

  it('drops duplicate groups, keeping the first', async () => {
    const { sqlite } = await both([]);
    await sqlite.upsertUser({ email: 'a@example.com', role: 'member', groups: ['x', 'y', 'x'] });
    expect((await sqlite.user('a@example.com'))?.groups).toEqual(['x', 'y']);
  });

  const invalid: [string, Partial<UserInput> & Record<string, unknown>, string][] = [
    ['no @', { email: 'alice' }, 'email'],
    ['two @', { email: 'a@b@c' }, 'email'],
    ['spaces', { email: 'a b@example.com' }, 'email'],
    ['empty', { email: '' }, 'email'],
    ['not a string', { email: 42 as unknown as string }, 'email'],
    ['newline', { email: 'a@example.com\nBcc: x@y' }, 'email'],
    ['too long', { email: `${'a'.repeat(250)}@example.com` }, 'email'],
    ['unknown role', { role: 'superuser' }, 'role'],
    ['role prototype', { role: '__proto__' }, 'role'],
    ['role case', { role: 'Admin' }, 'role'],
    ['manager shape', { manager: 'bob' }, 'manager'],
    ['own manager', { manager: 'A@example.com' }, 'manager'],
    ['empty group', { groups: [''] }, 'groups'],
    ['group not a string', { groups: [7 as unknown as string] }, 'groups'],
    ['groups not a list', { groups: 'finance' as unknown as string[] }, 'groups'],
    ['name too long', { name: 'n'.repeat(201) }, 'name'],
    ['disabled not boolean', { disabled: 'yes' as unknown as boolean }, 'disabled'],
  ];
  it.each(invalid)('refuses %s, naming the field', async (_label, patch, field) => {
    const { sqlite } = await both([]);
    const input = {
      email: 'a@example.com',
      role: 'member',
      groups: [],
      manager: null,
      ...patch,
    } as UserInput;
    let error: unknown;
    try {
      await sqlite.upsertUser(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as DirectoryError).field).toBe(field);
    expect(await sqlite.listUsers()).toEqual([]);
  });

  it('treats __proto__ and friends as plain strings', async () => {
    const { sqlite } = await both([]);
    await sqlite.upsertUser({
      email: '__proto__@example.com',
      role: 'member',
      groups: ['__proto__', 'constructor'],
    });
    await sqlite.upsertUser({ email: 'constructor@example.com', role: 'member', groups: ['prototype'] });
    expect(await sqlite.user('__proto__@example.com')).toEqual({
      email: '__proto__@example.com',
      role: 'member',
      groups: ['__proto__', 'constructor'],
      manager: null,
    });
    expect(await sqlite.resolve('group:__proto__')).toEqual(['__proto__@example.com']);
    expect(await sqlite.resolve('group:prototype')).toEqual(['constructor@example.com']);
    expect(({} as Record<string, unknown>).member).toBeUndefined();
  });
});

describe('SqliteDirectory passwords', () => {
  it('hashes with scrypt in the documented format, a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await checkPasswordHash('correct horse battery', a)).toBe(true);
    expect(await checkPasswordHash('correct horse batterY', a)).toBe(false);
    expect(await checkPasswordHash('correct horse battery', 'scrypt$3$8$1$AAAA$AAAA')).toBe(false);
    expect(await checkPasswordHash('x', 'plain')).toBe(false);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const { sqlite } = await both();
    await sqlite.setPassword('Alice@Example.com', 'correct horse battery');
    const identity = await sqlite.verifyPassword('ALICE@example.com', 'correct horse battery');
    expect(identity).toEqual(await sqlite.user('alice@example.com'));
    expect(await sqlite.verifyPassword('alice@example.com', 'correct horse batterx')).toBeNull();
    expect(await sqlite.verifyPassword('alice@example.com', '')).toBeNull();
  });

  it('answers null for unknown, password-less and disabled users', async () => {
    const { sqlite } = await both();
    await sqlite.setPassword('bob@example.com', 'correct horse battery');
    expect(await sqlite.verifyPassword('nobody@example.com', 'correct horse battery')).toBeNull();
    expect(await sqlite.verifyPassword('carol@example.com', 'correct horse battery')).toBeNull();
    expect(await sqlite.verifyPassword('__proto__', 'correct horse battery')).toBeNull();
    await sqlite.upsertUser({ email: 'bob@example.com', role: 'manager', disabled: true });
    expect(await sqlite.verifyPassword('bob@example.com', 'correct horse battery')).toBeNull();
  });

  it('does the same scrypt work for unknown, password-less and disabled users (no fast path)', async () => {
    const { sqlite } = await both();
    await sqlite.setPassword('bob@example.com', 'correct horse battery');
    await sqlite.setPassword('erin@example.com', 'correct horse battery');
    // Erin is the fixture's only admin: another one first, so she may be demoted and disabled.
    await sqlite.upsertUser({ email: 'root@example.com', role: 'admin' });
    await sqlite.upsertUser({ email: 'erin@example.com', role: 'lead', disabled: true });
    const work = async (email: string): Promise<unknown[]> => {
      scryptRuns.length = 0;
      await sqlite.verifyPassword(email, 'wrong password!');
      return [...scryptRuns];
    };

    const known = await work('bob@example.com');

    expect(known).toEqual([{ keylen: 32, N: 2 ** 15, r: 8, p: 1 }]);
    for (const email of ['nobody@example.com', 'carol@example.com', 'erin@example.com', '__proto__'])
      expect({ email, work: await work(email) }).toEqual({ email, work: known });
  });

  it('spends about as long on an unknown user as on a wrong password (within 0.5-2x, same run)', async () => {
    const { sqlite } = await both();
    await sqlite.setPassword('bob@example.com', 'correct horse battery');
    const time = async (email: string): Promise<number> => {
      const start = performance.now();
      await sqlite.verifyPassword(email, 'wrong password!');
      return performance.now() - start;
    };
    const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1] ?? 0;
    await time('bob@example.com');
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, so that both see the same load on a shared machine.
    for (let i = 0; i < 5; i++) {
      known.push(await time('bob@example.com'));
      unknown.push(await time('nobody@example.com'));
    }

    const ratio = median(unknown) / median(known);

    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('refuses short passwords and unknown users, naming the field', async () => {
    const { sqlite } = await both();
    await expect(sqlite.setPassword('alice@example.com', 'short')).rejects.toMatchObject({
      field: 'password',
    });
    await expect(sqlite.setPassword('nobody@example.com', 'long enough pw')).rejects.toMatchObject({
      field: 'email',
    });
  });

  it('stores only the hash', async () => {
    const db = database();
    const sqlite = new SqliteDirectory(db);
    await sqlite.upsertUser({ email: 'a@example.com', role: 'member' });
    await sqlite.setPassword('a@example.com', 'hunter2hunter2');
    const row = db.prepare('SELECT * FROM users').get();
    expect(JSON.stringify(row)).not.toContain('hunter2');
    expect((row as { password_hash: string }).password_hash).toMatch(/^scrypt\$/);
  });
});

describe('SqliteDirectory seed', () => {
  it('creates missing users once and leaves existing ones alone', async () => {
    const db = database();
    const sqlite = new SqliteDirectory(db);
    const demo = [
      {
        email: 'alice@example.com',
        role: 'member',
        groups: ['finance'],
        manager: 'bob@example.com',
        password: 'alice-demo-pw',
      },
      { email: 'bob@example.com', role: 'manager', groups: ['finance'], password: 'bob-demo-pw1' },
    ];
    expect(await sqlite.seed(demo)).toEqual({ created: ['alice@example.com', 'bob@example.com'] });
    await sqlite.upsertUser({ email: 'bob@example.com', role: 'director', groups: ['finance'] });
    expect(await sqlite.seed(demo)).toEqual({ created: [] });
    expect((await sqlite.user('bob@example.com'))?.role).toBe('director');
    expect(await sqlite.listUsers()).toHaveLength(2);
    expect(await sqlite.verifyPassword('alice@example.com', 'alice-demo-pw')).not.toBeNull();
  });

  it('checks every user before writing any', async () => {
    const sqlite = new SqliteDirectory(database());
    await expect(
      sqlite.seed([
        { email: 'ok@example.com', role: 'member' },
        { email: 'bad@example.com', role: 'emperor' },
      ]),
    ).rejects.toMatchObject({ name: 'DirectoryError', field: 'role' });
    await expect(
      sqlite.seed([
        { email: 'ok@example.com', role: 'member' },
        { email: 'OK@example.com', role: 'member' },
      ]),
    ).rejects.toMatchObject({ field: 'email' });
    expect(await sqlite.listUsers()).toEqual([]);
  });
});

describe('SqliteDirectory service accounts', () => {
  const bot: UserInput = { email: 'bot@example.com', role: 'member', groups: ['hr'], service: true };

  it('marks a service account on its identity, and nobody else', async () => {
    const sqlite = new SqliteDirectory(database());
    await sqlite.upsertUser(bot);
    await sqlite.upsertUser({ email: 'dave@example.com', role: 'member' });
    expect(await sqlite.user('bot@example.com')).toMatchObject({ service: true });
    expect(await sqlite.user('dave@example.com')).not.toHaveProperty('service');
    // Omitted on an update: left as it is.
    await sqlite.upsertUser({ email: 'bot@example.com', role: 'lead' });
    expect(await sqlite.user('bot@example.com')).toMatchObject({ role: 'lead', service: true });
  });

  it('never gives a service account a password: removed when it becomes one, refused after', async () => {
    const sqlite = new SqliteDirectory(database());
    await sqlite.upsertUser({ email: 'kiosk@example.com', role: 'member' });
    await sqlite.setPassword('kiosk@example.com', 'kiosk-password');
    await sqlite.upsertUser({ email: 'kiosk@example.com', role: 'member', service: true });
    expect((await sqlite.getUser('kiosk@example.com'))?.hasPassword).toBe(false);
    expect(await sqlite.verifyPassword('kiosk@example.com', 'kiosk-password')).toBeNull();
    await expect(sqlite.setPassword('kiosk@example.com', 'kiosk-password')).rejects.toMatchObject({
      field: 'password',
    });
    await expect(sqlite.seed([{ ...bot, password: 'bot-password' }])).rejects.toMatchObject({
      field: 'password',
    });
    await expect(sqlite.upsertUser({ ...bot, service: 'yes' as unknown as boolean })).rejects.toThrow(
      DirectoryError,
    );
  });

  it('adds the column to a database from before it, and the seed fills it in once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stepgate-dir-')), 'stepgate.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE users (email TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT, role TEXT NOT NULL,
      manager TEXT, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0);
      INSERT INTO users (email, position, role) VALUES ('bot@example.com', 1, 'member'), ('dave@example.com', 2, 'member');`);
    old.close();
    const db = openDatabase(file);
    open.push(db);
    const sqlite = new SqliteDirectory(db);
    expect(await sqlite.user('bot@example.com')).not.toHaveProperty('service');

    await sqlite.seed([bot, { email: 'dave@example.com', role: 'member' }]);
    expect(await sqlite.user('bot@example.com')).toMatchObject({ service: true });
    expect(await sqlite.user('dave@example.com')).not.toHaveProperty('service');
    // Once known, an admin's change stays across restarts.
    await sqlite.upsertUser({ ...bot, service: false });
    await sqlite.seed([bot]);
    expect(await sqlite.user('bot@example.com')).not.toHaveProperty('service');
  });
});
