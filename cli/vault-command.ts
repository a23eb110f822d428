// `stepgate vault set|list|delete`: the local credential vault from the command line. A value is read from
// stdin, never from argv (argv shows in `ps` and shell history); listings show scope, name and time, never
// values. The master key: STEPGATE_MASTER_KEY (base64 or hex) when set, else the key file (created 0600 on
// first use).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { type Db, openDatabase } from '../adapters/local/database.js';
import {
  checkSecretName,
  loadOrCreateKeyFile,
  parseMasterKey,
  parseScope,
  SqliteVault,
  VaultError,
} from '../adapters/local/vault.js';
import type { CommandIo } from './validate-command.js';

export const MASTER_KEY_VARIABLE = 'STEPGATE_MASTER_KEY';
const DEFAULT_DB = '.stepgate/stepgate.db';
const DEFAULT_KEY_FILE = '.stepgate/master.key';

interface StoreOptions {
  db: string;
  keyFile: string;
}

export interface VaultCommandDeps {
  io: CommandIo;
  /** The whole of stdin as text. */
  readStdin: () => Promise<string>;
  env: Record<string, string | undefined>;
}

export function registerVaultCommand(program: Command, deps: VaultCommandDeps): void {
  const vault = program
    .command('vault')
    .description('store, list and delete credentials (user:<email>, group:<name> or org scope)');
  const store = (command: Command) =>
    command
      .option('--db <path>', 'the SQLite database', DEFAULT_DB)
      .option(
        '--key-file <path>',
        `the master key file when ${MASTER_KEY_VARIABLE} is not set`,
        DEFAULT_KEY_FILE,
      );

  store(
    vault
      .command('set')
      .description('store a credential; the value is read from stdin (one trailing newline is dropped)')
      .argument('<name>', 'the credential name, e.g. STRIPE_API_KEY')
      .requiredOption('--scope <scope>', 'user:<email>, group:<name> or org'),
  ).action(async (name: string, options: StoreOptions & { scope: string }) => {
    process.exitCode = await runVaultSet(name, options, deps);
  });

  store(
    vault
      .command('list')
      .description('list credentials: scope, name and when each was set (never values)')
      .option('--scope <scope>', 'only this scope'),
  ).action(async (options: StoreOptions & { scope?: string }) => {
    process.exitCode = await runVaultList(options, deps);
  });

  store(
    vault
      .command('delete')
      .description('delete a credential')
      .argument('<name>', 'the credential name')
      .requiredOption('--scope <scope>', 'user:<email>, group:<name> or org'),
  ).action(async (name: string, options: StoreOptions & { scope: string }) => {
    process.exitCode = await runVaultDelete(name, options, deps);
  });
}

export async function runVaultSet(
  name: string,
  options: StoreOptions & { scope: string },
  deps: VaultCommandDeps,
): Promise<number> {
  return withVault('set', options, deps, async (open) => {
    const scope = parseScope(options.scope, '--scope');
    checkSecretName(name, 'NAME');
    const value = (await deps.readStdin()).replace(/\r?\n$/, '');
    if (value.length === 0)
      throw new VaultError(
        `the value of ${name} read from stdin is empty; pipe it in, e.g. printf %s "$VALUE" |`,
      );
    await open().set(scope, name, value);
    deps.io.out(`stored ${name} in ${scope}`);
    return 0;
  });
}

export async function runVaultList(
  options: StoreOptions & { scope?: string },
  deps: VaultCommandDeps,
): Promise<number> {
  return withVault('list', options, deps, async (open) => {
    const scope = options.scope === undefined ? undefined : parseScope(options.scope, '--scope');
    const entries = await open().list(scope);
    if (entries.length === 0) {
      deps.io.err(scope === undefined ? 'no credentials stored' : `no credentials in ${scope}`);
      return 0;
    }
    const rows = [
      ['SCOPE', 'NAME', 'UPDATED'],
      ...entries.map((e) => [e.scope, e.name, new Date(e.updatedAt).toISOString()]),
    ];
    const width = (column: number) => Math.max(...rows.map((r) => (r[column] ?? '').length));
    const [scopeWidth, nameWidth] = [width(0), width(1)];
    for (const [s = '', n = '', u = ''] of rows)
      deps.io.out(`${s.padEnd(scopeWidth)}  ${n.padEnd(nameWidth)}  ${u}`);
    return 0;
  });
}

export async function runVaultDelete(
  name: string,
  options: StoreOptions & { scope: string },
  deps: VaultCommandDeps,
): Promise<number> {
  return withVault('delete', options, deps, async (open) => {
    const scope = parseScope(options.scope, '--scope');
    if (!(await open().delete(scope, name))) throw new VaultError(`no credential ${name} in ${scope}`);
    deps.io.out(`deleted ${name} from ${scope}`);
    return 0;
  });
}

/** Runs `body` with a vault it opens on first use, so bad arguments are reported before any file is made. */
async function withVault(
  command: string,
  options: StoreOptions,
  deps: VaultCommandDeps,
  body: (open: () => SqliteVault) => Promise<number>,
): Promise<number> {
  let db: Db | undefined;
  const open = () => {
    mkdirSync(dirname(options.db), { recursive: true, mode: 0o700 });
    db = openDatabase(options.db);
    // The key is loaded on first use: list and delete never decrypt, so they neither need nor create one.
    return new SqliteVault(db, () => masterKey(options.keyFile, deps));
  };
  try {
    return await body(open);
  } catch (error) {
    if (!(error instanceof VaultError) && !isFileError(error)) throw error;
    deps.io.err(`stepgate vault ${command}: ${(error as Error).message}`);
    return 1;
  } finally {
    db?.close();
  }
}

function masterKey(keyFile: string, deps: VaultCommandDeps): Buffer {
  const fromEnv = deps.env[MASTER_KEY_VARIABLE];
  if (fromEnv !== undefined && fromEnv !== '') return parseMasterKey(fromEnv, MASTER_KEY_VARIABLE);
  const { key, created } = loadOrCreateKeyFile(keyFile);
  if (created)
    deps.io.err(
      `stepgate vault: created the master key ${keyFile} (mode 0600); back it up — the stored credentials cannot be read without it`,
    );
  return key;
}

function isFileError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('reading the value from stdin; end it with Ctrl-D\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
