// The counters a state machine's handlers keep beside a run on SQLite (tables `step_visits` and
// `quorum_finishes`, created here): the visits of a step (StepVisits) and the finished branches of a
// quorum parallel (QuorumTallies). Each write is one statement, so concurrent writers on one file count
// each visit and each branch exactly once.
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import type { Db } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS step_visits (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  visit INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id)
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
  private readonly enterStatement;
  private readonly currentStatement;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.enterStatement = db.prepare<[string, string], { visit: number }>(
      'INSERT INTO step_visits (run_id, step_id, visit) VALUES (?, ?, 1) ON CONFLICT (run_id, step_id) DO UPDATE SET visit = visit + 1 RETURNING visit',
    );
    this.currentStatement = db.prepare<[string, string], { visit: number }>(
      'SELECT visit FROM step_visits WHERE run_id = ? AND step_id = ?',
    );
  }

  async enter(runId: string, stepId: string): Promise<number> {
    const row = this.enterStatement.get(runId, stepId);
    if (row === undefined) throw new Error(`entering ${runId}/${stepId} returned no visit`);
    return row.visit;
  }

  async current(runId: string, stepId: string): Promise<number> {
    return this.currentStatement.get(runId, stepId)?.visit ?? 0;
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
