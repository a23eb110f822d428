// Approval requests in the embedded engine's SQLite database. Updates are compare-and-set on the row's
// `version` (`UPDATE ... WHERE version = ?`), so connections in several processes on one file never
// overwrite each other's decisions. A request's callback handle is stored encrypted (AES-256-GCM under a
// key the adapter is given, the row's run, step, visit and level bound as associated data); without a key
// the store keeps no callbacks, which is all the embedded engine needs. A decision's audit entry is written
// in the transaction of its update, through the writer of the run's audit trail on the same database.

import type { AuditEntry } from '../../functions/core/durable.js';
import { normalizeEmail } from '../../functions/core/identity.js';
import { approvalKeys } from '../../functions/core/platform-keys.js';
import type { ApprovalRecord, ApprovalStore } from '../../functions/core/ports.js';
import { CallbackSeal } from './callback-seal.js';
import type { Db } from './database.js';

interface Row {
  run_id: string;
  step_id: string;
  visit: number;
  level: number;
  workflow_id: string;
  event_name: string;
  approvers: string;
  require: string;
  message: string;
  requested_by: string;
  requesters: string;
  allow_self_approval: number;
  deadline: number | null;
  status: ApprovalRecord['status'];
  decisions: string;
  created_at: number;
  delivered: number;
  callback: Buffer | null;
  version: number;
  context: string | null;
}

/** The callback key of a deployment: derived from its master key with HKDF, under its own label. */
export function approvalCallbackKey(masterKey: Uint8Array): Uint8Array {
  return approvalKeys(masterKey).callbackKey;
}

export interface SqliteApprovalStoreOptions {
  /** 32 bytes (see `approvalCallbackKey`); without it, storing a callback handle is refused. */
  callbackKey?: Uint8Array;
  /**
   * Appends an entry to a run's audit trail in this database, synchronously (the durable host's
   * `recordAudit`), so that `update` writes it in its own transaction; without it, an update that carries
   * an entry is refused.
   */
  recordAudit?: (runId: string, entry: AuditEntry) => void;
}

export class SqliteApprovalStore implements ApprovalStore {
  private readonly sql;
  private readonly callbacks: CallbackSeal;
  private readonly writeUpdate: (r: ApprovalRecord, audit: AuditEntry | undefined) => boolean;

  constructor(db: Db, options: SqliteApprovalStoreOptions = {}) {
    this.callbacks = new CallbackSeal(options.callbackKey);
    this.sql = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO approvals (run_id, step_id, visit, level, workflow_id, event_name, approvers, require,
           message, requested_by, requesters, allow_self_approval, deadline, status, decisions, created_at, delivered,
           callback, version, context)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
      ),
      get: db.prepare<[string, string, number, number], Row>(
        'SELECT * FROM approvals WHERE run_id = ? AND step_id = ? AND visit = ? AND level = ?',
      ),
      open: db.prepare<[string, string], Row>(
        "SELECT * FROM approvals WHERE run_id = ? AND step_id = ? AND status = 'open' ORDER BY visit DESC, level DESC LIMIT 1",
      ),
      pending: db.prepare<[], Row>("SELECT * FROM approvals WHERE status = 'open' ORDER BY created_at"),
      undelivered: db.prepare<[], Row>(
        "SELECT * FROM approvals WHERE status IN ('approved', 'rejected') AND delivered = 0 ORDER BY created_at",
      ),
      update: db.prepare(
        `UPDATE approvals SET status = ?, decisions = ?, delivered = ?, callback = ?, version = version + 1
           WHERE run_id = ? AND step_id = ? AND visit = ? AND level = ? AND version = ?`,
      ),
    };
    const { recordAudit } = options;
    const writeRecord = (r: ApprovalRecord): boolean =>
      this.sql.update.run(
        r.status,
        JSON.stringify(r.decisions),
        r.delivered ? 1 : 0,
        this.callbacks.seal(r),
        r.runId,
        r.stepId,
        r.visit,
        r.level,
        r.version,
      ).changes === 1;
    // With an audit entry, the conditional UPDATE and the entry in one transaction; without, the UPDATE is
    // atomic on its own (no BEGIN/COMMIT: the delivered flag is set once per decided level).
    const writeWithAudit = db.transaction((r: ApprovalRecord, audit: AuditEntry): boolean => {
      if (recordAudit === undefined)
        throw new Error(
          `approval ${r.runId}/${r.stepId} level ${r.level}: an update carries an audit entry, but this store was given no audit trail to write it to`,
        );
      if (!writeRecord(r)) return false;
      recordAudit(r.runId, audit);
      return true;
    });
    this.writeUpdate = (r, audit) => (audit === undefined ? writeRecord(r) : writeWithAudit(r, audit));
  }

  async create(r: ApprovalRecord): Promise<boolean> {
    return (
      this.sql.insert.run(
        r.runId,
        r.stepId,
        r.visit,
        r.level,
        r.workflowId,
        r.eventName,
        JSON.stringify(r.approvers),
        JSON.stringify(r.require),
        r.message,
        r.requestedBy,
        JSON.stringify(r.requesters),
        r.allowSelfApproval ? 1 : 0,
        r.deadline,
        r.status,
        JSON.stringify(r.decisions),
        r.createdAt,
        r.delivered ? 1 : 0,
        this.callbacks.seal(r),
        r.context === undefined ? null : JSON.stringify(r.context),
      ).changes === 1
    );
  }

  async get(
    runId: string,
    stepId: string,
    visit: number,
    level: number,
  ): Promise<ApprovalRecord | undefined> {
    const row = this.sql.get.get(runId, stepId, visit, level);
    return row && this.toRecord(row);
  }

  async openFor(runId: string, stepId: string): Promise<ApprovalRecord | undefined> {
    const row = this.sql.open.get(runId, stepId);
    return row && this.toRecord(row);
  }

  async pendingFor(email: string): Promise<ApprovalRecord[]> {
    const who = normalizeEmail(email);
    return this.sql.pending
      .all()
      .map((row) => this.toRecord(row))
      .filter((r) => r.approvers.includes(who) && !r.decisions.some((d) => d.by === who));
  }

  async undelivered(): Promise<ApprovalRecord[]> {
    return this.sql.undelivered.all().map((row) => this.toRecord(row));
  }

  async update(r: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined> {
    return this.writeUpdate(r, audit) ? { ...r, version: r.version + 1 } : undefined;
  }

  private toRecord(row: Row): ApprovalRecord {
    return {
      runId: row.run_id,
      workflowId: row.workflow_id,
      stepId: row.step_id,
      visit: row.visit,
      level: row.level,
      eventName: row.event_name,
      approvers: JSON.parse(row.approvers) as string[],
      require: JSON.parse(row.require) as ApprovalRecord['require'],
      message: row.message,
      ...(row.context === null ? {} : { context: JSON.parse(row.context) as ApprovalRecord['context'] }),
      requestedBy: row.requested_by,
      requesters: JSON.parse(row.requesters) as string[],
      allowSelfApproval: row.allow_self_approval === 1,
      deadline: row.deadline,
      status: row.status,
      decisions: JSON.parse(row.decisions) as ApprovalRecord['decisions'],
      createdAt: row.created_at,
      delivered: row.delivered === 1,
      callback: this.callbacks.open(
        { runId: row.run_id, stepId: row.step_id, visit: row.visit, level: row.level },
        row.callback,
      ),
      version: row.version,
    };
  }
}
