// What decided a completed run's path (functions/core/run-outcome.ts), as the embedded engine keeps it in
// the run's row (`runs.path_outcome`, JSON; NULL when nothing decided it or the run did not complete): read
// from the run's trail once, when the run ends, in the transaction that ends it, and for the runs completed
// before the column existed once, when the database is opened (database.ts `ADDED_COLUMNS`).
import type Database from 'better-sqlite3';
import type { AuditRecord } from '../../functions/core/ports.js';
import type { RunStatus } from '../../functions/core/protocol.js';
import { OUTCOME_ENTRY_TYPES, type RunOutcomeView, runOutcome } from '../../functions/core/run-outcome.js';

interface OutcomeRow {
  seq: number;
  at: number;
  type: string;
  step: string | null;
  data: string;
}

const ENTRIES = `SELECT seq, at, type, step, data FROM audit WHERE run_id = ? AND type IN (${OUTCOME_ENTRY_TYPES.map(() => '?').join(', ')}) ORDER BY seq`;

/** The query, prepared once per connection: a run's end is on the engine's hot path. */
const prepared = new WeakMap<Database.Database, Database.Statement<unknown[], OutcomeRow>>();

/** The outcome of run `runId` ending `status`, from the entries of its trail that can decide it. */
export function pathOutcomeOf(
  db: Database.Database,
  runId: string,
  status: RunStatus,
): RunOutcomeView | undefined {
  if (status !== 'completed') return undefined;
  let entries = prepared.get(db);
  if (entries === undefined) {
    entries = db.prepare<unknown[], OutcomeRow>(ENTRIES);
    prepared.set(db, entries);
  }
  const rows = entries.all(runId, ...OUTCOME_ENTRY_TYPES);
  const trail = rows.map((row) => ({ ...row, data: JSON.parse(row.data) }) as AuditRecord);
  return runOutcome(status, trail);
}

/** The column's text for `outcome`: NULL for none. */
export function pathOutcomeText(outcome: RunOutcomeView | undefined): string | null {
  return outcome === undefined ? null : JSON.stringify(outcome);
}

/**
 * Fills `path_outcome` for every run that completed before the column was added: once, in the migration's
 * transaction. Done at open rather than on the first listing: the list then never writes, and a database
 * too big to walk through at once is not expected of the embedded engine (the filtered query reads only
 * the entries that can decide a path).
 */
export function backfillPathOutcomes(db: Database.Database): void {
  const completed = db.prepare<[], { id: string }>("SELECT id FROM runs WHERE status = 'completed'").all();
  const set = db.prepare('UPDATE runs SET path_outcome = ? WHERE id = ?');
  for (const { id } of completed) {
    const outcome = pathOutcomeOf(db, id, 'completed');
    if (outcome !== undefined) set.run(pathOutcomeText(outcome), id);
  }
}
