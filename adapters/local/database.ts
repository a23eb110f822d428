// The embedded engine's SQLite database: one file (or :memory:) holding runs, their append-only event
// history, outstanding activities and timers, the audit trail, approval requests, tool results too
// large for a run's variables, the credential vault (encrypted), the rate limiter's log, and identity: the
// user directory (with scrypt password hashes), login sessions and API tokens (both as SHA-256 hashes only).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { backfillPathOutcomes } from './path-outcome.js';

export type Db = Database.Database;

/**
 * `normal`: WAL with synchronous=NORMAL — a commit survives a process crash (what the kill tests check)
 * and loses at most the last transactions on power loss. `full`: fsync on every commit, for machines
 * where power loss must not lose an acknowledged step.
 */
export type Durability = 'normal' | 'full';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS plans (
  hash TEXT PRIMARY KEY,
  ir TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  plan_hash TEXT NOT NULL REFERENCES plans(hash),
  status TEXT NOT NULL,
  trigger TEXT NOT NULL,
  input TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT,
  path_outcome TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs(workflow_id, created_at);
CREATE TABLE IF NOT EXISTS history (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  task_id INTEGER,
  name TEXT,
  payload TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS work (
  run_id TEXT NOT NULL,
  task_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  input TEXT NOT NULL,
  PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
  run_id TEXT NOT NULL,
  task_id INTEGER NOT NULL,
  fire_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  step TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS approvals (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  visit INTEGER NOT NULL,
  level INTEGER NOT NULL,
  workflow_id TEXT NOT NULL,
  event_name TEXT NOT NULL,
  approvers TEXT NOT NULL,
  require TEXT NOT NULL,
  message TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  requesters TEXT NOT NULL DEFAULT '[]',
  allow_self_approval INTEGER NOT NULL DEFAULT 0,
  deadline INTEGER,
  status TEXT NOT NULL,
  decisions TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  callback BLOB,
  version INTEGER NOT NULL DEFAULT 1,
  context TEXT,
  PRIMARY KEY (run_id, step_id, visit, level)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS approvals_open ON approvals(status);
CREATE TABLE IF NOT EXISTS tool_results (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  visit INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (run_id, step_id, visit, attempt, sha256)
);
CREATE TABLE IF NOT EXISTS secrets (
  scope TEXT NOT NULL,
  name TEXT NOT NULL,
  iv BLOB NOT NULL,
  tag BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate_hits (
  key TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_hits_by_key ON rate_hits(key, at);
CREATE TABLE IF NOT EXISTS dev_inbox (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  mail_from TEXT,
  rcpt_to TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  raw TEXT NOT NULL,
  auth_user TEXT
);
CREATE INDEX IF NOT EXISTS dev_inbox_by_time ON dev_inbox(received_at);
-- Webhook deliveries already accepted (functions/core/triggers/webhook.ts): a redelivery finds its run.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  workflow_id TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (workflow_id, delivery_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_age ON webhook_deliveries(created_at);
-- Schedules and their fires (functions/core/triggers/schedules.ts); a fire is recorded once per scheduled time.
CREATE TABLE IF NOT EXISTS schedules (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('user', 'group', 'org')),
  scope_ref TEXT,
  created_by TEXT NOT NULL,
  input TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  next_fire_at INTEGER,
  last_fired_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_by_workflow ON schedules(workflow_id, created_at);
CREATE TABLE IF NOT EXISTS schedule_fires (
  schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
  scheduled_time INTEGER NOT NULL,
  fired_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  run_id TEXT NOT NULL,
  reason TEXT,
  PRIMARY KEY (schedule_id, scheduled_time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS schedule_fires_by_status ON schedule_fires(status);
CREATE TABLE IF NOT EXISTS users (
  email TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  name TEXT,
  role TEXT NOT NULL,
  manager TEXT,
  password_hash TEXT,
  disabled INTEGER NOT NULL DEFAULT 0,
  service INTEGER
);
CREATE INDEX IF NOT EXISTS users_by_position ON users(position);
CREATE INDEX IF NOT EXISTS users_by_role ON users(role, position);
CREATE TABLE IF NOT EXISTS user_groups (
  email TEXT NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  group_name TEXT NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (email, group_name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_groups_by_group ON user_groups(group_name);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_email ON sessions(email);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions(expires_at);
CREATE TABLE IF NOT EXISTS api_tokens (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS api_tokens_by_email ON api_tokens(email, created_at);
`;

const AUTO_CHECKPOINT_PAGES = 10_000;

export function openDatabase(file: string, durability: Durability = 'normal'): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Checkpointing every ~4 MB of WAL (the default) rewrites the same hot pages again and again under many
  // concurrent runs; ~40 MB between checkpoints measured about 15% more steps/s (bench/engine-throughput.ts).
  db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  db.exec(SCHEMA);
  addMissingColumns(db);
  return db;
}

// Columns added after a table's first release: `CREATE TABLE IF NOT EXISTS` leaves an existing table as it
// was, so a database made by an earlier version gets them here, each with what its existing rows take.
const ADDED_COLUMNS: {
  table: string;
  column: string;
  definition: string;
  /** SQL, or a function, that gives the existing rows their value (in the transaction that adds the column). */
  backfill?: string | ((db: Db) => void);
}[] = [
  // A service account (a webhook's runAs, never logged in as); NULL: not yet known, the seed fills it in.
  { table: 'users', column: 'service', definition: 'INTEGER' },
  // Separation of duties: an open request made before it keeps refusing its requester.
  {
    table: 'approvals',
    column: 'requesters',
    definition: `TEXT NOT NULL DEFAULT '[]'`,
    backfill: 'UPDATE approvals SET requesters = json_array(lower(trim(requested_by)))',
  },
  { table: 'approvals', column: 'allow_self_approval', definition: 'INTEGER NOT NULL DEFAULT 0' },
  // Compare-and-set updates and the hosts' callback handles (encrypted): existing rows start at version 1.
  { table: 'approvals', column: 'callback', definition: 'BLOB' },
  { table: 'approvals', column: 'version', definition: 'INTEGER NOT NULL DEFAULT 1' },
  // What the approver is shown beside the message (JSON); NULL: a request made before, which shows none.
  { table: 'approvals', column: 'context', definition: 'TEXT' },
  // What decided a completed run's path (path-outcome.ts): the runs completed before it get theirs once.
  { table: 'runs', column: 'path_outcome', definition: 'TEXT', backfill: backfillPathOutcomes },
];

function addMissingColumns(db: Db): void {
  db.transaction(() => {
    for (const { table, column, definition, backfill } of ADDED_COLUMNS) {
      const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${table})`).all();
      if (columns.some((c) => c.name === column)) continue;
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
      if (typeof backfill === 'string') db.exec(backfill);
      else backfill?.(db);
    }
  })();
}

// A worker thread that checkpoints the WAL on a connection of its own. A checkpoint run by the connection
// that commits (SQLite's auto-checkpoint) stalls that commit, and with it every request the event loop was
// serving, for as long as it copies pages and syncs the file: tens of milliseconds. PASSIVE checkpoints on
// another thread never block the writer; the WAL is then reused from its start once fully checkpointed.
// Every 5 s rather than every second: hot pages are copied once per checkpoint, not five times, and the
// thread competes less for the CPU. Measured with bench/webhook-throughput.ts on this 2-core machine, 20
// connections: auto-checkpoint 1,887/s p99 98 ms; thread every 1 s 1,669-1,918/s p99 24-31 ms; every 5 s
// 2,387-2,426/s p99 23-24 ms (50 connections: 2,256-2,496/s, p99 46-47 ms; 30 s: 2,110/s, p99 47 ms).
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  /** Checkpoints one last time and ends the thread; the connection's own auto-checkpoint comes back. */
  stop(): Promise<void>;
}

/**
 * Moves `db`'s checkpoints to a worker thread (every `intervalMs`, default 5 s). If the thread fails, the
 * connection's auto-checkpoint is switched back on, so the WAL never grows without bound.
 */
export function startWalCheckpointer(
  db: Db,
  file: string,
  options: { intervalMs?: number } = {},
): WalCheckpointer {
  const restore = () => db.open && db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
  if (file === ':memory:') return { stop: async () => {} };
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: {
      file,
      intervalMs: options.intervalMs ?? 5_000,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
    },
  });
  db.pragma('wal_autocheckpoint = 0');
  let stopped = false;
  const ended = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      if (!stopped) restore();
      resolve();
    });
  });
  worker.on('error', () => restore());
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) console.warn(`wal checkpoint: ${message.error}`);
  });
  worker.unref();
  return {
    async stop() {
      if (stopped) return ended;
      stopped = true;
      restore();
      worker.postMessage('stop');
      return ended;
    },
  };
}
