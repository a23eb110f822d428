// A database made before runs kept what decided their path (`runs.path_outcome`) opens with the column
// added and every run that had completed given its outcome from its trail, once: rejected, approved,
// timed out, error handled; nothing for a completed run nothing decided or a run that did not complete.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { openDatabase } from '../../adapters/local/database.js';
import { LocalDurableHost } from '../../adapters/local/durable-host.js';

/** The tables a run's record and trail lived in before the column (as that version created them). */
const EARLIER_SCHEMA = `
CREATE TABLE plans (hash TEXT PRIMARY KEY, ir TEXT NOT NULL);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL,
  plan_hash TEXT NOT NULL REFERENCES plans(hash),
  status TEXT NOT NULL,
  trigger TEXT NOT NULL,
  input TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT
);
CREATE TABLE audit (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  step TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
`;

const TRIGGER = JSON.stringify({
  type: 'manual',
  user: { email: 'alice@example.com', role: 'member', groups: [], manager: null },
});

/** A trail entry: type, step, data. */
type Entry = [type: string, step: string | null, data: unknown];

const decision = (decision: 'approve' | 'reject', decides = true): Entry => [
  'approval.decision',
  'ask',
  {
    level: 1,
    decides,
    by: 'bob@example.com',
    decision,
    comment: null,
    at: '2026-01-01T00:00:00Z',
    channel: 'api',
  },
];
const timedOut = (level: number, escalatesTo: number | null): Entry => [
  'approval.timed-out',
  'ask',
  { level, escalatesTo },
];
const handled: Entry = [
  'step.error-handled',
  'buy',
  { error: { code: 'Shop.Closed', message: 'closed', step: 'buy' }, next: 'tell' },
];
const started: Entry = ['run.started', null, {}];

/** Each earlier run: its status and its trail. */
const RUNS: Record<string, { status: string; trail: Entry[] }> = {
  // The last deciding decision counts; one that did not decide its step does not.
  rejected: { status: 'completed', trail: [started, decision('approve', false), decision('reject')] },
  approved: { status: 'completed', trail: [started, decision('approve')] },
  'timed-out': { status: 'completed', trail: [started, timedOut(1, 2), timedOut(2, null)] },
  handled: { status: 'completed', trail: [started, handled] },
  plain: { status: 'completed', trail: [started] },
  failed: { status: 'failed', trail: [started, decision('reject')] },
  running: { status: 'running', trail: [started, decision('approve')] },
};

/** Appends `entry` to run `id`'s trail as entry `seq`. */
function append(db: Database.Database, id: string, seq: number, [type, step, data]: Entry): void {
  db.prepare('INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)').run(id, seq, 1, type, step, JSON.stringify(data));
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function earlierDatabase(): string {
  dir = mkdtempSync(join(tmpdir(), 'stepgate-migration-'));
  const file = join(dir, 'stepgate.db');
  const db = new Database(file);
  db.exec(EARLIER_SCHEMA);
  db.prepare("INSERT INTO plans VALUES ('h', '{}')").run();
  const run = db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  for (const [id, { status, trail }] of Object.entries(RUNS)) {
    const ended = status === 'running' ? null : 2;
    run.run(
      id,
      'w',
      'h',
      status,
      TRIGGER,
      '{}',
      1,
      ended,
      ended === null ? null : JSON.stringify({ status, error: null, vars: {} }),
    );
    for (const [i, entry] of trail.entries()) append(db, id, i + 1, entry);
  }
  db.close();
  return file;
}

/** Each run's recorded outcome, by id ('none' for none). */
async function outcomes(host: LocalDurableHost): Promise<Record<string, unknown>> {
  return Object.fromEntries((await host.listRuns()).map((r) => [r.id, r.pathOutcome ?? 'none']));
}

describe("a database from before runs kept their path's outcome", () => {
  it('opens with the column, each completed run given its outcome from its trail, once', async () => {
    const file = earlierDatabase();
    const db = openDatabase(file);
    const host = new LocalDurableHost({ db, clock: new VirtualClock(), activities: {} });
    const expected = {
      rejected: { kind: 'rejected', step: 'ask', by: 'bob@example.com' },
      approved: { kind: 'approved', step: 'ask', by: 'bob@example.com' },
      'timed-out': { kind: 'timed-out', step: 'ask' },
      handled: { kind: 'error-handled', step: 'buy' },
      plain: 'none',
      failed: 'none',
      running: 'none',
    };
    expect(await outcomes(host)).toEqual(expected);
    await host.close();

    // Once: opening it again walks no trail (an entry added since does not change a recorded outcome).
    append(db, 'plain', 2, decision('approve'));
    db.close();
    const again = openDatabase(file);
    const reopened = new LocalDurableHost({ db: again, clock: new VirtualClock(), activities: {} });
    expect(await outcomes(reopened)).toEqual(expected);
    await reopened.close();
    again.close();
  });
});
