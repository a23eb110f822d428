// Approval requests in the embedded engine's SQLite database.
import { normalizeEmail } from '../../functions/core/identity.js';
import type { ApprovalRecord, ApprovalStore } from '../ports.js';
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
}

export class SqliteApprovalStore implements ApprovalStore {
  private readonly sql;

  constructor(db: Db) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO approvals (run_id, step_id, visit, level, workflow_id, event_name, approvers, require, message,
           requested_by, requesters, allow_self_approval, deadline, status, decisions, created_at, delivered)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        'UPDATE approvals SET status = ?, decisions = ?, delivered = ? WHERE run_id = ? AND step_id = ? AND visit = ? AND level = ?',
      ),
    };
  }

  create(r: ApprovalRecord): void {
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
    );
  }

  get(runId: string, stepId: string, visit: number, level: number): ApprovalRecord | undefined {
    const row = this.sql.get.get(runId, stepId, visit, level);
    return row && toRecord(row);
  }

  openFor(runId: string, stepId: string): ApprovalRecord | undefined {
    const row = this.sql.open.get(runId, stepId);
    return row && toRecord(row);
  }

  pendingFor(email: string): ApprovalRecord[] {
    const who = normalizeEmail(email);
    return this.sql.pending
      .all()
      .map(toRecord)
      .filter((r) => r.approvers.includes(who) && !r.decisions.some((d) => d.by === who));
  }

  undelivered(): ApprovalRecord[] {
    return this.sql.undelivered.all().map(toRecord);
  }

  update(r: ApprovalRecord): void {
    this.sql.update.run(
      r.status,
      JSON.stringify(r.decisions),
      r.delivered ? 1 : 0,
      r.runId,
      r.stepId,
      r.visit,
      r.level,
    );
  }
}

function toRecord(row: Row): ApprovalRecord {
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
    requestedBy: row.requested_by,
    requesters: JSON.parse(row.requesters) as string[],
    allowSelfApproval: row.allow_self_approval === 1,
    deadline: row.deadline,
    status: row.status,
    decisions: JSON.parse(row.decisions) as ApprovalRecord['decisions'],
    createdAt: row.created_at,
    delivered: row.delivered === 1,
  };
}
