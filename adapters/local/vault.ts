// The local credential vault: secrets in the SQLite table `secrets`, each value encrypted with AES-256-GCM
// under a 32-byte master key the entrypoint supplies (STEPGATE_MASTER_KEY, or a key file).
//
// Every value has its own random 12-byte IV; the GCM tag is stored beside it, and the row's scope and name
// are bound as additional authenticated data, so a ciphertext copied to another scope or name fails to
// decrypt instead of handing one user's credential to another.
//
// The cascade (`resolve`), per name: the user's own scope (`user:<email>`, email lower-cased as the
// directory keeps it), then the identity's groups in the order the directory lists them (the first group
// holding the name wins), then `org`. A value that fails to decrypt is an error, never a silent fall-through
// to a lower level. Errors name the scope and name, never the value or ciphertext.
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { isEmail } from '../../functions/core/identity.js';
import type { ResolvedSecrets, SecretEntry, Vault, VaultScope } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { resolveCascade } from '../../functions/core/vault-cascade.js';
import type { Db } from './database.js';
import { seal, unseal } from './sealed.js';

const KEY_BYTES = 32;
/** Versioned so a future format can change what is bound without old rows decrypting under new rules. */
const AAD_PREFIX = 'stepgate-vault/v1';

export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const GROUP_NAME_PATTERN = /^[^\s:]{1,128}$/;

export class VaultError extends Error {
  override name = 'VaultError';
}

/**
 * Checks and normalises a scope (`user:<email>`, `group:<name>` or `org`); emails are lower-cased. `field`
 * names the scope in the error (the CLI's --scope).
 */
export function parseScope(text: string, field = 'scope'): VaultScope {
  if (text === 'org') return 'org';
  if (text.startsWith('user:')) {
    const email = text.slice('user:'.length);
    if (isEmail(email)) return `user:${email.toLowerCase()}`;
  } else if (text.startsWith('group:')) {
    const group = text.slice('group:'.length);
    if (GROUP_NAME_PATTERN.test(group)) return `group:${group}`;
  }
  throw new VaultError(`invalid ${field} '${text}': use user:<email>, group:<name> or org`);
}

/** Checks a secret's name; `field` names it in the error (the CLI's NAME argument). */
export function checkSecretName(name: string, field = 'secret name'): string {
  if (!SECRET_NAME_PATTERN.test(name))
    throw new VaultError(
      `invalid ${field} '${name}': use 1 to 128 letters, digits, '_', '.' or '-' (e.g. STRIPE_API_KEY)`,
    );
  return name;
}

/**
 * A master key as text: 64 hex digits or base64 (standard or url-safe) of exactly 32 bytes. `source` names
 * where the text came from in errors (the environment variable or the key file); the text itself is never
 * repeated.
 */
export function parseMasterKey(text: string, source = 'STEPGATE_MASTER_KEY'): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(trimmed)) {
    const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new VaultError(
    `${source} must be a 32-byte key written as 64 hex digits or 44 base64 characters (got ${trimmed.length} characters); generate one with: openssl rand -base64 32`,
  );
}

/**
 * The master key in a file: created (32 random bytes, base64, mode 0600, parent directory 0700) when the
 * file does not exist, refused when group or others may read or write it, read otherwise. The file appears
 * complete or not at all: it is written under a temporary name (`wx`) and hard-linked into place, which
 * fails when another process created it first — then that process's key is read.
 */
export function loadOrCreateKeyFile(path: string): { key: Buffer; created: boolean } {
  let created = false;
  try {
    statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    created = createKeyFile(path);
  }
  const stat = statSync(path);
  if (!stat.isFile()) throw new VaultError(`master key file ${path} is not a regular file`);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0)
    throw new VaultError(
      `master key file ${path} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); restrict it with: chmod 600 ${path}`,
    );
  return { key: parseMasterKey(readFileSync(path, 'utf8'), `master key file ${path}`), created };
}

function createKeyFile(path: string): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

interface SecretRow {
  scope: string;
  name: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export interface SqliteVaultOptions {
  /** The clock for `updatedAt` (ms since epoch). */
  now?: () => number;
}

export class SqliteVault implements Vault {
  private readonly sql;
  private readonly now: () => number;
  private key: KeyObject | undefined;

  /**
   * `masterKey`: the 32 bytes, or a function that supplies them on first use — listing and deleting never
   * decrypt, so an entrypoint can offer them without loading (or creating) a key.
   */
  constructor(
    private readonly db: Db,
    private readonly masterKey: Uint8Array | (() => Uint8Array),
    options: SqliteVaultOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    if (typeof masterKey !== 'function') this.key = toKey(masterKey);
    this.sql = {
      upsert: db.prepare(
        `INSERT INTO secrets (scope, name, iv, tag, ciphertext, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (scope, name) DO UPDATE SET iv = excluded.iv, tag = excluded.tag,
             ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
      ),
      delete: db.prepare<[string, string]>('DELETE FROM secrets WHERE scope = ? AND name = ?'),
      listAll: db.prepare<[], { scope: VaultScope; name: string; updated_at: number }>(
        'SELECT scope, name, updated_at FROM secrets ORDER BY scope, name',
      ),
      listScope: db.prepare<[string], { scope: VaultScope; name: string; updated_at: number }>(
        'SELECT scope, name, updated_at FROM secrets WHERE scope = ? ORDER BY name',
      ),
    };
  }

  async set(scope: VaultScope, name: string, value: string): Promise<void> {
    const checkedScope = parseScope(scope);
    checkSecretName(name);
    if (value.length === 0)
      throw new VaultError(`refusing to store an empty value for ${name} in ${checkedScope}`);
    const { iv, tag, ciphertext } = seal(this.masterKeyObject(), value, secretAad(checkedScope, name));
    this.sql.upsert.run(checkedScope, name, iv, tag, ciphertext, this.now());
  }

  async delete(scope: VaultScope, name: string): Promise<boolean> {
    return this.sql.delete.run(parseScope(scope), name).changes > 0;
  }

  async list(scope?: VaultScope): Promise<SecretEntry[]> {
    const rows = scope === undefined ? this.sql.listAll.all() : this.sql.listScope.all(parseScope(scope));
    return rows.map((r) => ({ scope: r.scope, name: r.name, updatedAt: r.updated_at }));
  }

  async resolve(identity: Pick<Identity, 'email' | 'groups'>, names: string[]): Promise<ResolvedSecrets> {
    return resolveCascade(
      identity,
      names,
      (scopes, wanted) => this.lookup(scopes.length, wanted.length).all(...scopes, ...wanted),
      (row) => this.decrypt(row),
    );
  }

  // One prepared statement per shape (levels × names): preparing on every call cost more than the query.
  private readonly lookups = new Map<string, Statement<string[], SecretRow>>();

  private lookup(levels: number, names: number): Statement<string[], SecretRow> {
    const key = `${levels}x${names}`;
    let statement = this.lookups.get(key);
    if (statement === undefined) {
      statement = this.db.prepare<string[], SecretRow>(
        `SELECT scope, name, iv, tag, ciphertext FROM secrets
           WHERE scope IN (${Array(levels).fill('?').join(', ')}) AND name IN (${Array(names).fill('?').join(', ')})`,
      );
      if (this.lookups.size < 64) this.lookups.set(key, statement);
    }
    return statement;
  }

  private decrypt(row: SecretRow): string {
    const key = this.masterKeyObject();
    try {
      return unseal(key, row, secretAad(row.scope, row.name));
    } catch {
      throw new VaultError(
        `cannot decrypt secret ${row.name} in scope ${row.scope}: the master key is not the one it was stored with, or the row was altered or moved`,
      );
    }
  }

  private masterKeyObject(): KeyObject {
    this.key ??= toKey(typeof this.masterKey === 'function' ? this.masterKey() : this.masterKey);
    return this.key;
  }
}

function toKey(bytes: Uint8Array): KeyObject {
  if (bytes.length !== KEY_BYTES)
    throw new VaultError(`the master key must be ${KEY_BYTES} bytes, got ${bytes.length}`);
  return createSecretKey(bytes);
}

/** The associated data binding a secret's ciphertext to its scope and name (every vault adapter's). */
export function secretAad(scope: string, name: string): Buffer {
  return Buffer.from(`${AAD_PREFIX}\u0000${scope}\u0000${name}`, 'utf8');
}
