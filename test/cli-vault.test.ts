// `stepgate vault` as a user runs it (the built dist/cli/stepgate.js), in a scratch working directory.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../adapters/local/database.js';
import { SqliteVault } from '../adapters/local/vault.js';

const BIN = join(import.meta.dirname, '..', 'dist', 'cli', 'stepgate.js');
const SECRET = 'sk_live_9d8c7b6a5f4e3d2c1b0a';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function stepgate(
  cwd: string,
  args: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const { STEPGATE_MASTER_KEY: _, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'stepgate-cli-vault-'));
}

describe('stepgate vault', () => {
  it('stores a value read from stdin, lists it without the value, and deletes it', async () => {
    const cwd = scratchDir();
    const set = await stepgate(
      cwd,
      ['vault', 'set', '--scope', 'user:alice@example.com', 'STRIPE_KEY'],
      `${SECRET}\n`,
    );
    expect(set).toMatchObject({ code: 0, stdout: 'stored STRIPE_KEY in user:alice@example.com\n' });
    expect(set.stderr).toContain('created the master key .stepgate/master.key');
    expect(statSync(join(cwd, '.stepgate', 'master.key')).mode & 0o777).toBe(0o600);

    await stepgate(cwd, ['vault', 'set', '--scope', 'group:finance', 'ERP_TOKEN'], 'erp-token-value');
    const list = await stepgate(cwd, ['vault', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SCOPE\s+NAME\s+UPDATED$/);
    expect(lines[1]).toMatch(/^group:finance\s+ERP_TOKEN\s+\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(lines[2]).toMatch(/^user:alice@example.com\s+STRIPE_KEY\s+\d{4}-/);
    expect(list.stdout + list.stderr).not.toContain(SECRET);
    expect(list.stdout + list.stderr).not.toContain('erp-token-value');

    const only = await stepgate(cwd, ['vault', 'list', '--scope', 'group:finance']);
    expect(only.stdout).not.toContain('STRIPE_KEY');

    const deleted = await stepgate(cwd, [
      'vault',
      'delete',
      '--scope',
      'user:alice@example.com',
      'STRIPE_KEY',
    ]);
    expect(deleted).toMatchObject({ code: 0, stdout: 'deleted STRIPE_KEY from user:alice@example.com\n' });
    expect((await stepgate(cwd, ['vault', 'list'])).stdout).not.toContain('STRIPE_KEY');
    const again = await stepgate(cwd, ['vault', 'delete', '--scope', 'user:alice@example.com', 'STRIPE_KEY']);
    expect(again).toMatchObject({ code: 1 });
    expect(again.stderr).toContain('no credential STRIPE_KEY in user:alice@example.com');
  });

  it('stores exactly the value piped in, with one trailing newline removed, encrypted under the env key', async () => {
    const cwd = scratchDir();
    const key = randomBytes(32);
    const env = { STEPGATE_MASTER_KEY: key.toString('hex') };
    const db = join(cwd, 'data', 'vault.db');
    const set = await stepgate(
      cwd,
      ['vault', 'set', '--db', db, '--scope', 'org', 'MULTI'],
      'line one\nline two\n\n',
      env,
    );
    expect(set.code).toBe(0);
    expect(readdirSync(cwd)).toEqual(['data']); // no key file when the variable is set

    const database = openDatabase(db);
    try {
      const resolved = await new SqliteVault(database, key).resolve({ email: 'x@example.com', groups: [] }, [
        'MULTI',
      ]);
      expect(resolved.values.MULTI).toBe('line one\nline two\n');
    } finally {
      database.close();
    }
    for (const file of readdirSync(join(cwd, 'data')))
      expect(readFileSync(join(cwd, 'data', file)).includes(Buffer.from('line one'))).toBe(false);
  });

  it('refuses a bad scope, naming the flag, with exit code 1', async () => {
    const cwd = scratchDir();
    const result = await stepgate(cwd, ['vault', 'set', '--scope', 'team:finance', 'TOKEN'], 'value');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "stepgate vault set: invalid --scope 'team:finance': use user:<email>, group:<name> or org\n",
    );
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses a bad name and an empty value with exit code 1', async () => {
    const cwd = scratchDir();
    const name = await stepgate(cwd, ['vault', 'set', '--scope', 'org', 'bad name'], 'value');
    expect(name.code).toBe(1);
    expect(name.stderr).toContain("invalid NAME 'bad name'");
    const empty = await stepgate(cwd, ['vault', 'set', '--scope', 'org', 'TOKEN'], '\n');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('the value of TOKEN read from stdin is empty');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('names STEPGATE_MASTER_KEY when it is malformed, without echoing it', async () => {
    const cwd = scratchDir();
    const result = await stepgate(cwd, ['vault', 'set', '--scope', 'org', 'TOKEN'], 'value', {
      STEPGATE_MASTER_KEY: 'hunter2-not-a-key',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('STEPGATE_MASTER_KEY must be a 32-byte key');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('exits 2 on usage errors: a missing --scope, a missing name, no subcommand', async () => {
    const cwd = scratchDir();
    expect((await stepgate(cwd, ['vault', 'set', 'TOKEN'], 'value')).code).toBe(2);
    expect((await stepgate(cwd, ['vault', 'set', '--scope', 'org'], 'value')).code).toBe(2);
    expect((await stepgate(cwd, ['vault'])).code).toBe(2);
    expect((await stepgate(cwd, ['vault', 'rotate'])).code).toBe(2);
  });
});
