// Shared by the sandbox MCP servers: where state lives, opening a server's SQLite file, the identity and
// idempotency arguments every server accepts, results and the stdio bootstrap.
//
// These servers are sandbox stand-ins for real SaaS (directory, payments, travel, ...). They are entrypoints,
// so they read their environment here:
//   STEPGATE_SANDBOX_DIR  the data directory, one SQLite file per server (default `.stepgate/sandbox`)

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { z } from 'zod';

export type Db = Database.Database;

export const SANDBOX_VERSION = '0.1.0';

export function sandboxDir(): string {
  const dir = process.env.STEPGATE_SANDBOX_DIR || path.join('.stepgate', 'sandbox');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Opens (creating on first start) `<sandbox dir>/<name>.sqlite`. `schema` runs every start and must be
 * idempotent (`CREATE TABLE IF NOT EXISTS`); `seed` runs once, in the same transaction that marks the file
 * seeded, so a crash during the first start leaves no half-seeded file.
 */
export function openStateDb(name: string, schema: string, seed?: (db: Db) => void): Db {
  const db = new Database(path.join(sandboxDir(), `${name}.sqlite`));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS idempotency (
      tool TEXT NOT NULL,
      key TEXT NOT NULL,
      result TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (tool, key)
    );
  `);
  db.exec(schema);
  db.transaction(() => {
    const seeded = db.prepare('SELECT value FROM meta WHERE key = ?').get('seeded');
    if (seeded) return;
    seed?.(db);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('seeded', nowIso());
  })();
  return db;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * The caller's identity, injected by the Stepgate engine where a tool's schema accepts it. Optional: a
 * server used outside Stepgate is called without them.
 */
export const identityShape = {
  _user_email: z
    .string()
    .optional()
    .describe('Email of the user the workflow runs as (injected by Stepgate)'),
  _user_role: z.string().optional().describe('Role of that user (injected by Stepgate)'),
  _user_groups: z
    .union([z.array(z.string()), z.string()])
    .optional()
    .describe('Groups of that user, a list or comma-separated (injected by Stepgate)'),
};

export type Identity = { email: string | null; role: string | null; groups: string[] };

export function identityOf(args: {
  _user_email?: string | undefined;
  _user_role?: string | undefined;
  _user_groups?: string[] | string | undefined;
}): Identity {
  const raw = args._user_groups;
  const groups = (typeof raw === 'string' ? raw.split(',') : (raw ?? []))
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  return { email: args._user_email?.trim() || null, role: args._user_role?.trim() || null, groups };
}

/** The idempotency key of a write: Stepgate passes each step attempt's stable key. */
export const idempotencyShape = {
  idempotencyKey: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('Repeating a call with the same key returns the first result and changes nothing'),
  _idempotency_key: z.string().min(1).max(500).optional().describe('Same as idempotencyKey'),
};

/**
 * The key from the arguments (either spelling) or from the request's `_meta.idempotencyKey`; null when
 * the call carries none.
 */
export function idempotencyKeyOf(
  args: { idempotencyKey?: string | undefined; _idempotency_key?: string | undefined },
  extra?: { _meta?: Record<string, unknown> | undefined },
): string | null {
  const fromMeta = extra?._meta?.idempotencyKey;
  return args.idempotencyKey ?? args._idempotency_key ?? (typeof fromMeta === 'string' ? fromMeta : null);
}

export function recallIdempotent<T>(db: Db, tool: string, key: string | null): T | null {
  if (key === null) return null;
  const row = db.prepare('SELECT result FROM idempotency WHERE tool = ? AND key = ?').get(tool, key) as
    | { result: string }
    | undefined;
  return row ? (JSON.parse(row.result) as T) : null;
}

export function rememberIdempotent(db: Db, tool: string, key: string | null, result: unknown): void {
  if (key === null) return;
  db.prepare('INSERT INTO idempotency (tool, key, result, created_at) VALUES (?, ?, ?, ?)').run(
    tool,
    key,
    JSON.stringify(result),
    nowIso(),
  );
}

/**
 * Runs a synchronous write once per key: inside one transaction, a key seen before returns the stored
 * result (with `replayed: true`) and `write` does not run; otherwise `write` runs and its result is stored
 * with the key. Without a key `write` always runs.
 */
export function onceByKey<T extends Record<string, unknown>>(
  db: Db,
  tool: string,
  key: string | null,
  write: () => T,
): T & { replayed: boolean } {
  return db.transaction(() => {
    const previous = recallIdempotent<T>(db, tool, key);
    if (previous) return { ...previous, replayed: true };
    const result = write();
    rememberIdempotent(db, tool, key, result);
    return { ...result, replayed: false };
  })();
}

/** A failure the caller should see as the tool's error (`isError: true`), with this message. */
export class ToolError extends Error {}

/** A JSON tool result: `structuredContent` for programs and the same JSON as text for models. */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { structuredContent: value, content: [{ type: 'text', text: JSON.stringify(value) }] };
}

/** Tolerates a template that resolved to null or '' (a missing optional workflow input). */
export function optionalText(max = 5000) {
  return z.string().max(max).nullable().optional();
}

export function text(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/**
 * Creates the server, lets `register` add its tools, and serves it over stdio until stdin closes or a
 * signal arrives; then the database is closed.
 */
export async function runServer(name: string, db: Db, register: (server: McpServer) => void): Promise<void> {
  const server = new McpServer({ name: `stepgate-sandbox-${name}`, version: SANDBOX_VERSION });
  register(server);
  let closed = false;
  const shutdown = async () => {
    if (closed) return;
    closed = true;
    await server.close().catch(() => {});
    if (db.open) db.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  await server.connect(new StdioServerTransport());
  console.error(`stepgate sandbox ${name} server ready (state in ${db.name})`);
}
