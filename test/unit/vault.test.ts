// The local credential vault on a real SQLite file: encryption at rest, the user → group → org cascade,
// the master key's sources and how failures read.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { loadOrCreateKeyFile, parseMasterKey, SqliteVault, VaultError } from '../../adapters/local/vault.js';

const KEY = randomBytes(32);
const SECRET = 'sk_live_7f3a9c1e5b2d4068a1c3e5f7';
const ALICE = { email: 'Alice@Example.com', groups: ['finance', 'engineering'] };

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
});

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'stepgate-vault-'));
}

function database(file = join(scratchDir(), 'stepgate.db')): { db: Db; file: string } {
  const db = openDatabase(file);
  open.push(db);
  return { db, file };
}

function vault(key: Uint8Array = KEY, file?: string): { vault: SqliteVault; db: Db; file: string } {
  const { db, file: path } = database(file);
  return { vault: new SqliteVault(db, key, { now: () => 1_700_000_000_000 }), db, file: path };
}

describe('SqliteVault', () => {
  it('returns a stored value through resolve', async () => {
    const { vault: v } = vault();
    await v.set('org', 'STRIPE_KEY', SECRET);
    expect(await v.resolve(ALICE, ['STRIPE_KEY'])).toEqual({
      values: { STRIPE_KEY: SECRET },
      sources: { STRIPE_KEY: 'org' },
      missing: [],
    });
  });

  it('replaces a value set again under the same scope and name', async () => {
    const { vault: v } = vault();
    await v.set('org', 'TOKEN', 'first');
    await v.set('org', 'TOKEN', 'second');
    expect((await v.resolve(ALICE, ['TOKEN'])).values.TOKEN).toBe('second');
    expect(await v.list()).toHaveLength(1);
  });

  it('resolves each name from the most specific level that holds it: user, then group, then org', async () => {
    const { vault: v } = vault();
    for (const name of ['A', 'B', 'C', 'D']) await v.set('org', name, `org-${name}`);
    for (const name of ['A', 'B', 'C']) await v.set('group:engineering', name, `engineering-${name}`);
    for (const name of ['A', 'B']) await v.set('group:finance', name, `finance-${name}`);
    await v.set('user:alice@example.com', 'A', 'alice-A');
    await v.set('user:bob@example.com', 'E', 'bob-E');
    await v.set('group:sales', 'E', 'sales-E');

    expect(await v.resolve(ALICE, ['A', 'B', 'C', 'D', 'E'])).toEqual({
      values: { A: 'alice-A', B: 'finance-B', C: 'engineering-C', D: 'org-D' },
      sources: { A: 'user', B: 'group:finance', C: 'group:engineering', D: 'org' },
      missing: ['E'],
    });
  });

  it("takes the first of the identity's groups, in the directory's order, that holds the name", async () => {
    const { vault: v } = vault();
    await v.set('group:engineering', 'TOKEN', 'engineering');
    await v.set('group:finance', 'TOKEN', 'finance');
    const resolved = await v.resolve({ email: 'x@example.com', groups: ['engineering', 'finance'] }, [
      'TOKEN',
    ]);
    expect(resolved.sources.TOKEN).toBe('group:engineering');
    const reversed = await v.resolve({ email: 'x@example.com', groups: ['finance', 'engineering'] }, [
      'TOKEN',
    ]);
    expect(reversed.sources.TOKEN).toBe('group:finance');
  });

  it('reports every name no level holds as missing', async () => {
    const { vault: v } = vault();
    expect(await v.resolve(ALICE, ['NOPE', 'ALSO_NOPE'])).toEqual({
      values: {},
      sources: {},
      missing: ['NOPE', 'ALSO_NOPE'],
    });
  });

  it('lists scope, name and time but never a value', async () => {
    const { vault: v } = vault();
    await v.set('user:Alice@Example.com', 'STRIPE_KEY', SECRET);
    await v.set('org', 'SLACK_TOKEN', 'xoxb-secret-value');
    const all = await v.list();
    expect(all).toEqual([
      { scope: 'org', name: 'SLACK_TOKEN', updatedAt: 1_700_000_000_000 },
      { scope: 'user:alice@example.com', name: 'STRIPE_KEY', updatedAt: 1_700_000_000_000 },
    ]);
    expect(JSON.stringify(all)).not.toContain(SECRET);
    expect(JSON.stringify(all)).not.toContain('xoxb');
    expect(await v.list('org')).toEqual([
      { scope: 'org', name: 'SLACK_TOKEN', updatedAt: 1_700_000_000_000 },
    ]);
  });

  it('deletes a credential and says whether there was one', async () => {
    const { vault: v } = vault();
    await v.set('group:finance', 'TOKEN', 'x');
    expect(await v.delete('group:finance', 'TOKEN')).toBe(true);
    expect(await v.delete('group:finance', 'TOKEN')).toBe(false);
    expect((await v.resolve(ALICE, ['TOKEN'])).missing).toEqual(['TOKEN']);
  });

  it('refuses a malformed scope, a malformed name and an empty value', async () => {
    const { vault: v } = vault();
    await expect(v.set('team:x' as 'org', 'A', 'v')).rejects.toThrow(/invalid scope 'team:x'/);
    await expect(v.set('user:not-an-email', 'A', 'v')).rejects.toThrow(/invalid scope/);
    await expect(v.set('org', 'has space', 'v')).rejects.toThrow(/invalid secret name 'has space'/);
    await expect(v.set('org', 'A', '')).rejects.toThrow(/empty value/);
  });

  it('never writes the plaintext to the database files', async () => {
    const { vault: v, db, file } = vault();
    await v.set('org', 'STRIPE_KEY', SECRET);
    const needle = Buffer.from(SECRET, 'utf8');
    const dir = join(file, '..');
    const files = () => readdirSync(dir).map((name) => readFileSync(join(dir, name)));
    expect(files().length).toBeGreaterThan(0);
    for (const bytes of files()) expect(bytes.includes(needle)).toBe(false);
    db.close(); // checkpoints the WAL into the main file
    for (const bytes of files()) expect(bytes.includes(needle)).toBe(false);
  });

  it('fails cleanly under the wrong master key, without the value or the ciphertext in the error', async () => {
    const { vault: v, db, file } = vault();
    await v.set('org', 'STRIPE_KEY', SECRET);
    const ciphertext = db
      .prepare<[], { ciphertext: Buffer }>("SELECT ciphertext FROM secrets WHERE name = 'STRIPE_KEY'")
      .get()?.ciphertext;
    const wrong = vault(randomBytes(32), file).vault;
    const error = await wrong.resolve(ALICE, ['STRIPE_KEY']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    const message = (error as Error).message;
    expect(message).toMatch(/cannot decrypt secret STRIPE_KEY in scope org/);
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain(ciphertext?.toString('hex'));
    expect(message).not.toContain(ciphertext?.toString('base64'));
    expect(String((error as Error).stack)).not.toContain(SECRET);
  });

  it('does not decrypt a row copied to another scope (the scope is bound to the ciphertext)', async () => {
    const { vault: v, db } = vault();
    await v.set('user:mallory@example.com', 'STRIPE_KEY', 'mallory-key');
    await v.set('user:alice@example.com', 'STRIPE_KEY', SECRET);
    db.prepare("DELETE FROM secrets WHERE scope = 'user:mallory@example.com'").run();
    db.prepare(
      `INSERT INTO secrets (scope, name, iv, tag, ciphertext, updated_at)
         SELECT 'user:mallory@example.com', name, iv, tag, ciphertext, updated_at FROM secrets
         WHERE scope = 'user:alice@example.com'`,
    ).run();
    await expect(v.resolve({ email: 'mallory@example.com', groups: [] }, ['STRIPE_KEY'])).rejects.toThrow(
      /cannot decrypt secret STRIPE_KEY in scope user:mallory@example.com/,
    );
    expect((await v.resolve(ALICE, ['STRIPE_KEY'])).values.STRIPE_KEY).toBe(SECRET);
  });

  it('uses a fresh IV for every value', async () => {
    const { vault: v, db } = vault();
    await v.set('org', 'A', 'same');
    await v.set('org', 'B', 'same');
    const rows = db
      .prepare<[], { iv: Buffer; ciphertext: Buffer }>('SELECT iv, ciphertext FROM secrets')
      .all();
    expect(rows[0]?.iv.length).toBe(12);
    expect(rows[0]?.iv.equals(rows[1]?.iv ?? Buffer.alloc(0))).toBe(false);
    expect(rows[0]?.ciphertext.equals(rows[1]?.ciphertext ?? Buffer.alloc(0))).toBe(false);
  });

  it('refuses a master key that is not 32 bytes', () => {
    const { db } = database();
    expect(() => new SqliteVault(db, randomBytes(16))).toThrow(/must be 32 bytes, got 16/);
  });
});

describe('parseMasterKey', () => {
  it('reads 64 hex digits and base64 (standard and url-safe) of 32 bytes', () => {
    expect(parseMasterKey(KEY.toString('hex')).equals(KEY)).toBe(true);
    expect(parseMasterKey(`${KEY.toString('base64')}\n`).equals(KEY)).toBe(true);
    expect(parseMasterKey(KEY.toString('base64url')).equals(KEY)).toBe(true);
  });

  it('names the variable and never repeats the text it refused', () => {
    const text = 'not-a-key-but-possibly-something-private';
    expect(() => parseMasterKey(text)).toThrow(/^STEPGATE_MASTER_KEY must be a 32-byte key/);
    expect(() => parseMasterKey(text)).not.toThrow(new RegExp(text));
    expect(() => parseMasterKey(randomBytes(16).toString('base64'))).toThrow(/STEPGATE_MASTER_KEY/);
  });
});

describe('loadOrCreateKeyFile', () => {
  it('creates a random key file with mode 0600 on first use and reads the same key afterwards', () => {
    const path = join(scratchDir(), 'keys', 'master.key');
    const first = loadOrCreateKeyFile(path);
    expect(first.created).toBe(true);
    expect(first.key.length).toBe(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = loadOrCreateKeyFile(path);
    expect(again.created).toBe(false);
    expect(again.key.equals(first.key)).toBe(true);
    expect(readdirSync(join(path, '..'))).toEqual(['master.key']);
  });

  it('refuses a key file that group or others can read', () => {
    const path = join(scratchDir(), 'master.key');
    writeFileSync(path, KEY.toString('base64'));
    chmodSync(path, 0o644);
    expect(() => loadOrCreateKeyFile(path)).toThrow(
      `master key file ${path} is accessible by group or others (mode 0644); restrict it with: chmod 600 ${path}`,
    );
  });

  it('names the file when its content is not a key', () => {
    const path = join(scratchDir(), 'master.key');
    writeFileSync(path, 'garbage', { mode: 0o600 });
    expect(() => loadOrCreateKeyFile(path)).toThrow(`master key file ${path} must be a 32-byte key`);
  });

  it('lets a vault opened with the file key read what another vault stored with it', async () => {
    const dir = scratchDir();
    const { key } = loadOrCreateKeyFile(join(dir, 'master.key'));
    const file = join(dir, 'stepgate.db');
    await vault(key, file).vault.set('org', 'TOKEN', SECRET);
    const reopened = vault(loadOrCreateKeyFile(join(dir, 'master.key')).key, file).vault;
    expect((await reopened.resolve(ALICE, ['TOKEN'])).values.TOKEN).toBe(SECRET);
  });
});
