// Spent approval-link tokens on the embedded engine's SQLite database (table `approval_links_used`, created
// here). Only each token's random nonce is kept, never the token. A claim is one INSERT OR IGNORE on the
// nonce's primary key: of concurrent claims of one token, from this connection or another process on the
// same file, exactly one inserts the row.
import type { ApprovalLinkStore, UsedLink } from '../../functions/core/approval-links.js';
import type { Db } from './database.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS approval_links_used (
  nonce TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  level INTEGER NOT NULL,
  approver TEXT NOT NULL,
  used_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS approval_links_used_by_expiry ON approval_links_used(expires_at);
`;

export class SqliteApprovalLinkStore implements ApprovalLinkStore {
  private readonly insert;
  private readonly select;
  private readonly pruneStatement;

  constructor(db: Db) {
    db.exec(SCHEMA);
    this.insert = db.prepare<[string, string, string, number, string, number, number]>(
      'INSERT OR IGNORE INTO approval_links_used (nonce, run_id, step_id, level, approver, used_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.select = db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM approval_links_used WHERE nonce = ?',
    );
    this.pruneStatement = db.prepare<[number]>('DELETE FROM approval_links_used WHERE expires_at < ?');
  }

  claim(used: UsedLink): boolean {
    return (
      this.insert.run(
        used.nonce,
        used.runId,
        used.stepId,
        used.level,
        used.approver,
        used.usedAt,
        used.expiresAt,
      ).changes === 1
    );
  }

  isUsed(nonce: string): boolean {
    return this.select.get(nonce) !== undefined;
  }

  prune(before: number): number {
    return this.pruneStatement.run(before).changes;
  }
}
