// The local server's user directory on the embedded engine's SQLite database: users (email lower-cased,
// name, role, manager, scrypt password hash, disabled, service) and their groups in order
// (`user_groups.position`). A service account (a webhook's `runAs`) never has a password: nobody logs in
// as it.
//
// `user` and `resolve` answer exactly as InMemoryDirectory does for the same users: `role:NAME` is the
// users holding exactly that role (not "at least"), `group:NAME` the members of the group, both in the
// order the users were first added; any other spec containing `@` is that email lower-cased, whether or
// not the directory knows it; anything else resolves to nobody. A disabled user is invisible to both (no
// identity, resolved by no role or group) and cannot log in, but keeps its record for the admin.
//
// Passwords are hashed with scrypt (N=2^15, r=8, p=1, 16-byte random salt, 32-byte key), stored as
// `scrypt$N$r$p$salt$hash` (base64). `verifyPassword` does the same scrypt work for unknown, disabled and
// password-less users as for real ones, so response time does not tell which emails exist.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { isEmail, normalizeEmail } from '../../functions/core/identity.js';
import {
  type AdminDirectory,
  type AdminUserInput,
  type AdminUserRecord,
  type Directory,
  LastAdminError,
} from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { ROLES } from '../../translator/definition.js';
import type { Db } from './database.js';

/** An invalid user record; `field` names the offending input field (`email`, `role`, `groups`, ...). */
export class DirectoryError extends Error {
  override name = 'DirectoryError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type UserInput = AdminUserInput;

/** A user from config: created with its password when missing, left alone when already there. */
export interface SeedUser extends UserInput {
  password?: string;
}

export type UserRecord = AdminUserRecord;

interface UserRow {
  email: string;
  name: string | null;
  role: string;
  manager: string | null;
  password_hash: string | null;
  disabled: number;
  /** NULL in rows from before the column: not a service account until the seed says so. */
  service: number | null;
}

const MAX_NAME = 200;
const MAX_GROUP = 100;
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The email lower-cased; throws DirectoryError naming `field` when it is not one. */
export function checkEmail(value: unknown, field: string): string {
  if (typeof value !== 'string' || !isEmail(value))
    throw new DirectoryError(
      field,
      `${field} must be an email address (name@domain), not ${JSON.stringify(value)}`,
    );
  return value.toLowerCase();
}

/** A user input as checked: email lower-cased, groups deduplicated, null for flags left as they are. */
export interface CheckedUser {
  email: string;
  name: string | null;
  role: string;
  groups: string[];
  manager: string | null;
  disabled: number | null;
  service: number | null;
}

/** Checks a whole user input before any of it is written; throws DirectoryError naming the field. */
export function checkUser(input: UserInput): CheckedUser {
  if (typeof input !== 'object' || input === null)
    throw new DirectoryError('email', 'a user must be an object');
  const email = checkEmail(input.email, 'email');
  if (typeof input.role !== 'string' || !(ROLES as readonly string[]).includes(input.role))
    throw new DirectoryError(
      'role',
      `role must be one of ${ROLES.join(', ')}, not ${JSON.stringify(input.role)}`,
    );
  const name = input.name ?? null;
  if (name !== null && (typeof name !== 'string' || name.length > MAX_NAME || CONTROL.test(name)))
    throw new DirectoryError(
      'name',
      `name must be text of at most ${MAX_NAME} characters without control characters`,
    );
  const manager = input.manager == null ? null : checkEmail(input.manager, 'manager');
  if (manager === email) throw new DirectoryError('manager', `${email} cannot be their own manager`);
  const rawGroups = input.groups ?? [];
  if (!Array.isArray(rawGroups)) throw new DirectoryError('groups', 'groups must be a list of group names');
  const groups: string[] = [];
  for (const [i, group] of rawGroups.entries()) {
    if (typeof group !== 'string' || group.length === 0 || group.length > MAX_GROUP || CONTROL.test(group))
      throw new DirectoryError(
        'groups',
        `groups[${i}] must be a name of 1-${MAX_GROUP} characters without control characters, not ${JSON.stringify(group)}`,
      );
    if (!groups.includes(group)) groups.push(group);
  }
  if (input.disabled !== undefined && typeof input.disabled !== 'boolean')
    throw new DirectoryError('disabled', 'disabled must be true or false');
  const disabled = input.disabled === undefined ? null : input.disabled ? 1 : 0;
  if (input.service !== undefined && typeof input.service !== 'boolean')
    throw new DirectoryError('service', 'service must be true or false');
  const service = input.service === undefined ? null : input.service ? 1 : 0;
  return { email, name, role: input.role, groups, manager, disabled, service };
}

/** The password NFC-normalised; throws DirectoryError naming `password` when its length is wrong. */
export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > MAX_PASSWORD)
    throw new DirectoryError('password', `password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters`);
  return password.normalize('NFC');
}

// ---- password hashing ----

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

const SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Compared against for unknown users: the same parameters, so the same work; no password hashes to zeros. */
export const DUMMY_HASH = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;

const DUMMY = parseHash(DUMMY_HASH) as ScryptParams & { salt: Buffer; key: Buffer };

function scryptAsync(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is exactly too small for N=2^15, r=8.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash` (salt and hash base64) of a password with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password.normalize('NFC'), salt, KEY_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parseHash(encoded: string): (ScryptParams & { salt: Buffer; key: Buffer }) | null {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds so that a tampered row cannot make a login take minutes or gigabytes.
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (
    !powerOfTwo ||
    N > 2 ** 20 ||
    !Number.isInteger(r) ||
    r < 1 ||
    r > 32 ||
    !Number.isInteger(p) ||
    p < 1 ||
    p > 16
  )
    return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const key = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** Whether `password` matches an encoded hash (constant-time comparison; false for a malformed hash). */
export async function checkPasswordHash(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  const params = parsed ?? DUMMY;
  const key = await scryptAsync(password.normalize('NFC'), params.salt, params.key.length, params);
  return timingSafeEqual(key, params.key) && parsed !== null;
}

/** Whether a stored hash was made with other parameters than today's (or is malformed). */
export function needsRehash(encoded: string): boolean {
  const parsed = parseHash(encoded);
  return parsed === null || parsed.N !== SCRYPT.N || parsed.r !== SCRYPT.r || parsed.p !== SCRYPT.p;
}

// ---- the directory ----

export class SqliteDirectory implements Directory, AdminDirectory {
  private readonly sql;
  private readonly writeUser;
  private readonly removeUser;
  private readonly seedUsers;

  constructor(db: Db) {
    this.sql = {
      user: db.prepare<[string], UserRow>(
        'SELECT email, name, role, manager, password_hash, disabled, service FROM users WHERE email = ?',
      ),
      all: db.prepare<[], UserRow>(
        'SELECT email, name, role, manager, password_hash, disabled, service FROM users ORDER BY position',
      ),
      groups: db.prepare<[string], { group_name: string }>(
        'SELECT group_name FROM user_groups WHERE email = ? ORDER BY position',
      ),
      allGroups: db.prepare<[], { email: string; group_name: string }>(
        'SELECT email, group_name FROM user_groups ORDER BY email, position',
      ),
      byRole: db.prepare<[string], { email: string }>(
        'SELECT email FROM users WHERE role = ? AND disabled = 0 ORDER BY position',
      ),
      byGroup: db.prepare<[string], { email: string }>(
        `SELECT u.email FROM users u JOIN user_groups g ON g.email = u.email
         WHERE g.group_name = ? AND u.disabled = 0 ORDER BY u.position`,
      ),
      upsert: db.prepare<[CheckedUser & { password_hash: string | null }]>(
        `INSERT INTO users (email, position, name, role, manager, password_hash, disabled, service)
         VALUES (@email, (SELECT coalesce(max(position), 0) + 1 FROM users), @name, @role, @manager,
                 CASE WHEN @service = 1 THEN NULL ELSE @password_hash END, coalesce(@disabled, 0),
                 coalesce(@service, 0))
         ON CONFLICT (email) DO UPDATE SET name = excluded.name, role = excluded.role, manager = excluded.manager,
           disabled = coalesce(@disabled, users.disabled), service = coalesce(@service, users.service, 0),
           password_hash = CASE WHEN coalesce(@service, users.service) = 1 THEN NULL ELSE users.password_hash END`,
      ),
      clearGroups: db.prepare<[string]>('DELETE FROM user_groups WHERE email = ?'),
      addGroup: db.prepare<[string, string, number]>(
        'INSERT INTO user_groups (email, group_name, position) VALUES (?, ?, ?)',
      ),
      delete: db.prepare<[string]>('DELETE FROM users WHERE email = ?'),
      otherAdmins: db.prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0 AND email <> ?",
      ),
      // Never on a service account, even one that became one while the hash was computed.
      setHash: db.prepare<[string, string]>(
        'UPDATE users SET password_hash = ? WHERE email = ? AND coalesce(service, 0) = 0',
      ),
      exists: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM users WHERE email = ?'),
      // Rows from before the service column learn it from the config once; an admin's later change stays.
      fillService: db.prepare<[{ email: string; service: number }]>(
        `UPDATE users SET service = @service,
           password_hash = CASE WHEN @service = 1 THEN NULL ELSE password_hash END
         WHERE email = @email AND service IS NULL`,
      ),
    };
    this.writeUser = db.transaction((user: CheckedUser, passwordHash: string | null) => {
      this.keepAnAdmin(user.email, user);
      this.sql.upsert.run({ ...user, password_hash: passwordHash });
      this.sql.clearGroups.run(user.email);
      for (const [i, group] of user.groups.entries()) this.sql.addGroup.run(user.email, group, i);
    });
    this.removeUser = db.transaction((email: string): boolean => {
      this.keepAnAdmin(email);
      return this.sql.delete.run(email).changes > 0;
    });
    this.seedUsers = db.transaction((users: { user: CheckedUser; hash: string | null }[]): string[] => {
      const created: string[] = [];
      for (const { user, hash } of users) {
        if ((this.sql.exists.get(user.email)?.n ?? 0) > 0) {
          this.sql.fillService.run({ email: user.email, service: user.service ?? 0 });
          continue;
        }
        this.writeUser(user, hash);
        created.push(user.email);
      }
      return created;
    });
  }

  /**
   * Inside the write's transaction: throws LastAdminError when `email` is the only enabled admin and the
   * write (`after`, or a delete without it) leaves them no enabled admin.
   */
  private keepAnAdmin(email: string, after?: CheckedUser): void {
    const row = this.sql.user.get(email);
    if (row?.role !== 'admin' || row.disabled !== 0) return;
    if (after !== undefined && after.role === 'admin' && (after.disabled ?? row.disabled) === 0) return;
    if ((this.sql.otherAdmins.get(email)?.n ?? 0) === 0) throw new LastAdminError(email);
  }

  private identity(row: UserRow, groups?: string[]): Identity {
    const identity: Identity = {
      email: row.email,
      role: row.role,
      groups: groups ?? this.sql.groups.all(row.email).map((g) => g.group_name),
      manager: row.manager,
    };
    if (row.name !== null) identity.name = row.name;
    if (row.service === 1) identity.service = true;
    return identity;
  }

  private record(row: UserRow, groups?: string[]): UserRecord {
    return {
      ...this.identity(row, groups),
      disabled: row.disabled !== 0,
      hasPassword: row.password_hash !== null,
    };
  }

  async user(email: string): Promise<Identity | undefined> {
    const row = this.sql.user.get(email.toLowerCase());
    return row === undefined || row.disabled !== 0 ? undefined : this.identity(row);
  }

  async resolve(spec: string): Promise<string[]> {
    if (spec.startsWith('role:')) return this.sql.byRole.all(spec.slice('role:'.length)).map((u) => u.email);
    if (spec.startsWith('group:'))
      return this.sql.byGroup.all(spec.slice('group:'.length)).map((u) => u.email);
    return spec.includes('@') ? [normalizeEmail(spec)] : [];
  }

  /** The admin's view of one user, disabled or not. */
  async getUser(email: string): Promise<UserRecord | undefined> {
    return this.userRecord(email);
  }

  private userRecord(email: string): UserRecord | undefined {
    const row = this.sql.user.get(email.toLowerCase());
    return row === undefined ? undefined : this.record(row);
  }

  /** Every user, disabled ones included, in the order they were first added. */
  async listUsers(): Promise<UserRecord[]> {
    const groups = new Map<string, string[]>();
    for (const { email, group_name } of this.sql.allGroups.iterate()) {
      const list = groups.get(email);
      if (list === undefined) groups.set(email, [group_name]);
      else list.push(group_name);
    }
    return this.sql.all.all().map((row) => this.record(row, groups.get(row.email) ?? []));
  }

  /** Creates or replaces a user (its groups replaced whole); the password and position are kept. */
  async upsertUser(input: UserInput): Promise<UserRecord> {
    const user = checkUser(input);
    // IMMEDIATE: the last-admin check reads under the write lock, so no other connection changes it between.
    this.writeUser.immediate(user, null);
    return this.userRecord(user.email) as UserRecord;
  }

  /** False when there was no such user. The user's groups go with it. */
  async deleteUser(email: string): Promise<boolean> {
    return this.removeUser.immediate(email.toLowerCase());
  }

  async setPassword(email: string, password: string): Promise<void> {
    const key = checkEmail(email, 'email');
    const checked = checkPassword(password);
    const row = this.sql.user.get(key);
    if (row === undefined) throw new DirectoryError('email', `no user ${key}`);
    if (row.service === 1)
      throw new DirectoryError('password', `${key} is a service account: nobody logs in as it`);
    const hash = await hashPassword(checked);
    if (this.sql.setHash.run(hash, key).changes === 0)
      throw new DirectoryError('email', `no user ${key} who can have a password`);
  }

  /** The identity of an enabled user whose password this is; null for anything else, after the same work. */
  async verifyPassword(email: string, password: string): Promise<Identity | null> {
    const row = typeof email === 'string' ? this.sql.user.get(email.toLowerCase()) : undefined;
    const usable = typeof password === 'string' && password.length <= MAX_PASSWORD;
    const stored = row?.password_hash ?? null;
    const ok = await checkPasswordHash(usable ? password : '', stored ?? DUMMY_HASH);
    if (!ok || !usable || row === undefined || stored === null || row.disabled !== 0 || row.service === 1)
      return null;
    if (needsRehash(stored)) this.sql.setHash.run(await hashPassword(password), row.email);
    return this.identity(row);
  }

  /**
   * Adds the users that are not there yet (with their password, if given) and leaves existing ones as they
   * are, so a restart neither duplicates users nor undoes an admin's changes — except that a user stored
   * before the `service` column existed takes its `service` flag from here, once. All checked before any
   * is written; a service account with a password is refused. Returns the emails created.
   */
  async seed(users: SeedUser[]): Promise<{ created: string[] }> {
    const checked: { user: CheckedUser; password: string | undefined }[] = [];
    const seen = new Set<string>();
    for (const input of users) {
      const user = checkUser(input);
      if (seen.has(user.email)) throw new DirectoryError('email', `${user.email} is listed twice`);
      seen.add(user.email);
      if (user.service === 1 && input.password !== undefined)
        throw new DirectoryError('password', `${user.email} is a service account: it has no password`);
      checked.push({
        user,
        password: input.password === undefined ? undefined : checkPassword(input.password),
      });
    }
    // Existing users are passed on too (their service flag may need filling in), but never hashed for.
    const exists = (email: string) => (this.sql.exists.get(email)?.n ?? 0) > 0;
    const hashed = await Promise.all(
      checked.map(async ({ user, password }) => ({
        user,
        hash: password === undefined || exists(user.email) ? null : await hashPassword(password),
      })),
    );
    return { created: this.seedUsers(hashed) };
  }
}
