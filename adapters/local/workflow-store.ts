// Workflow definitions as users saved them: every version's source text (YAML or JSON, as written) and its
// validated IR. Saving validates first, so an invalid definition is never stored; a save is one row.

import type { StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import type { Db } from './database.js';

/** One stored version: the core's view of it (functions/core/ports.ts). */
export type StoredWorkflow = StoredWorkflowView;

interface Row {
  id: string;
  version: number;
  name: string;
  format: 'yaml' | 'json';
  source: string;
  ir: string;
  created_at: number;
  created_by: string;
  deleted: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workflows (
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  format TEXT NOT NULL,
  source TEXT NOT NULL,
  ir TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id, version)
);`;

export class SqliteWorkflowStore implements WorkflowStore {
  private readonly latest;
  private readonly versions;
  private readonly insert;
  private readonly markDeleted;
  private readonly all;

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    this.latest = db.prepare<[string], Row>(
      'SELECT * FROM workflows WHERE id = ? ORDER BY version DESC LIMIT 1',
    );
    this.versions = db.prepare<[string], Row>('SELECT * FROM workflows WHERE id = ? ORDER BY version');
    this.insert = db.prepare(
      `INSERT INTO workflows (id, version, name, format, source, ir, created_at, created_by)
       VALUES (@id, @version, @name, @format, @source, @ir, @created_at, @created_by)`,
    );
    this.markDeleted = db.prepare('UPDATE workflows SET deleted = 1 WHERE id = ?');
    this.all = db.prepare<[], Row>(
      `SELECT w.* FROM workflows w
       JOIN (SELECT id, MAX(version) AS version FROM workflows GROUP BY id) m
         ON m.id = w.id AND m.version = w.version
       WHERE w.deleted = 0 ORDER BY w.id`,
    );
  }

  /** Saves a new version (1 for a new id, or after a delete); returns it. */
  async save(input: {
    ir: IrWorkflow;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): Promise<StoredWorkflow> {
    return this.db.transaction(() => {
      const previous = this.latest.get(input.ir.id);
      const version = (previous?.version ?? 0) + 1;
      this.insert.run({
        id: input.ir.id,
        version,
        name: input.ir.name,
        format: input.format,
        source: input.source,
        ir: JSON.stringify(input.ir),
        created_at: input.at,
        created_by: input.by,
      });
      return this.latestOf(input.ir.id) as StoredWorkflow;
    })();
  }

  /**
   * The latest version, unless the workflow was deleted. Parsed once per version: callers get the same IR
   * object for the same version, so what is cached per IR (compiled input schemas) stays cached.
   */
  async get(id: string): Promise<StoredWorkflow | undefined> {
    return this.latestOf(id);
  }

  private latestOf(id: string): StoredWorkflow | undefined {
    const row = this.latest.get(id);
    if (row === undefined || row.deleted) return undefined;
    const cached = this.parsed.get(id);
    if (cached !== undefined && cached.version === row.version) return cached;
    const workflow = toWorkflow(row);
    this.parsed.set(id, workflow);
    return workflow;
  }

  private readonly parsed = new Map<string, StoredWorkflow>();

  async list(): Promise<StoredWorkflow[]> {
    return this.all.all().map(toWorkflow);
  }

  async history(id: string): Promise<StoredWorkflow[]> {
    return this.versions.all(id).map(toWorkflow);
  }

  /** False when there was no such workflow. Versions are kept (runs refer to them). */
  async delete(id: string): Promise<boolean> {
    return this.latestOf(id) !== undefined && this.markDeleted.run(id).changes > 0;
  }
}

function toWorkflow(row: Row): StoredWorkflow {
  return {
    id: row.id,
    version: row.version,
    name: row.name,
    format: row.format,
    source: row.source,
    ir: JSON.parse(row.ir) as IrWorkflow,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
