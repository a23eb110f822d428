// Tool results too large for a run's variables, in the embedded engine's SQLite database (table
// `tool_results`). A uri names one row: `sqlite:tool_results/<runId>/<stepId>/<visit>/<attempt>/<sha256>`,
// each segment URI-encoded.
import { createHash } from 'node:crypto';
import type { ResultKey, ResultStore } from '../../functions/core/ports.js';
import type { Db } from './database.js';

const PREFIX = 'sqlite:tool_results/';

export class SqliteResultStore implements ResultStore {
  private readonly sql;

  constructor(db: Db) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO tool_results (run_id, step_id, visit, attempt, sha256, bytes, json) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
      ),
      get: db.prepare<[string, string, number, number, string], { json: string }>(
        'SELECT json FROM tool_results WHERE run_id = ? AND step_id = ? AND visit = ? AND attempt = ? AND sha256 = ?',
      ),
    };
  }

  async put(key: ResultKey, json: string): Promise<string> {
    const sha256 = createHash('sha256').update(json, 'utf8').digest('hex');
    this.sql.insert.run(
      key.runId,
      key.stepId,
      key.visit,
      key.attempt,
      sha256,
      Buffer.byteLength(json, 'utf8'),
      json,
    );
    const segments = [key.runId, key.stepId, String(key.visit), String(key.attempt), sha256];
    return PREFIX + segments.map(encodeURIComponent).join('/');
  }

  async get(uri: string): Promise<string | undefined> {
    if (!uri.startsWith(PREFIX)) return undefined;
    const segments = uri.slice(PREFIX.length).split('/');
    if (segments.length !== 5) return undefined;
    let decoded: string[];
    try {
      decoded = segments.map(decodeURIComponent);
    } catch {
      return undefined; // a malformed %-escape: not a uri this store made
    }
    const [runId = '', stepId = '', visit = '', attempt = '', sha256 = ''] = decoded;
    if (!/^[1-9][0-9]*$/.test(visit) || !/^[1-9][0-9]*$/.test(attempt)) return undefined;
    return this.sql.get.get(runId, stepId, Number(visit), Number(attempt), sha256)?.json;
  }
}
