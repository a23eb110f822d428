// The counters a state machine's handlers keep beside a run on SQLite (tables `step_visits`, `step_entries`
// and `quorum_finishes`, created here): the visits of a step (StepVisits) and the finished branches of a
// quorum parallel (QuorumTallies). Each write is one statement, so concurrent writers on one file count
// each visit and each branch exactly once.
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import type { Db } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS step_entries (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  entered TEXT NOT NULL,
  visit INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id, entered)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quorum_finishes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  branch INTEGER NOT NULL,
  finish TEXT NOT NULL,
  UNIQUE (run_id, step_id, branch)
);
`;

export class SqliteStepVisits implements StepVisits {
  private readonly latestStatement;
  private readonly insertEntry;
  private readonly selectEntry;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.latestStatement = db.prepare<[string, string], { visit: number | null }>(
      'SELECT MAX(visit) AS visit FROM step_entries WHERE run_id = ? AND step_id = ?',
    );
    // One statement: the next number is taken and the row written under the same write lock.
    this.insertEntry = db.prepare<[string, string, string, string, string]>(
      `INSERT OR IGNORE INTO step_entries (run_id, step_id, entered, visit)
       SELECT ?, ?, ?, COALESCE(MAX(visit), 0) + 1 FROM step_entries WHERE run_id = ? AND step_id = ?`,
    );
    this.selectEntry = db.prepare<[string, string, string], { visit: number }>(
      'SELECT visit FROM step_entries WHERE run_id = ? AND step_id = ? AND entered = ?',
    );
  }

  async visitAt(runId: string, stepId: string, enteredTime: string): Promise<number> {
    this.insertEntry.run(runId, stepId, enteredTime, runId, stepId);
    const row = this.selectEntry.get(runId, stepId, enteredTime);
    if (row === undefined) throw new Error(`no visit recorded for ${runId}/${stepId} at ${enteredTime}`);
    return row.visit;
  }

  async latest(runId: string, stepId: string): Promise<number> {
    return this.latestStatement.get(runId, stepId)?.visit ?? 0;
  }
}

export class SqliteQuorumTallies implements QuorumTallies {
  private readonly insert;
  private readonly select;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.insert = db.prepare<[string, string, number, string]>(
      'INSERT OR IGNORE INTO quorum_finishes (run_id, step_id, branch, finish) VALUES (?, ?, ?, ?)',
    );
    // Up to the branch's own row: of two finishes recorded at once, only the later one sees both.
    this.select = db.prepare<[string, string, string, string, number], { finish: string }>(
      `SELECT finish FROM quorum_finishes WHERE run_id = ? AND step_id = ? AND seq <= (
         SELECT seq FROM quorum_finishes WHERE run_id = ? AND step_id = ? AND branch = ?) ORDER BY seq`,
    );
  }

  async add(runId: string, stepId: string, finish: BranchFinish): Promise<BranchFinish[]> {
    this.insert.run(runId, stepId, finish.branch, JSON.stringify(finish));
    return this.select
      .all(runId, stepId, runId, stepId, finish.branch)
      .map((row) => JSON.parse(row.finish) as BranchFinish);
  }
}
