// Schedules and their fires on the embedded engine's SQLite database (tables `schedules`, `schedule_fires`).
// `claimFire` is one IMMEDIATE transaction: it advances the schedule only while it is still due at the
// scheduled time, and records the fire under the unique key (schedule_id, scheduled_time) — so two
// schedulers (or one restarted) over the same file never fire one scheduled time twice.
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleScope,
  ScheduleStore,
} from '../../functions/core/ports.js';
import type { Db } from './database.js';

interface ScheduleRow {
  id: string;
  workflow_id: string;
  cron: string;
  timezone: string;
  scope: ScheduleScope;
  scope_ref: string | null;
  created_by: string;
  input: string;
  enabled: number;
  next_fire_at: number | null;
  last_fired_at: number | null;
  created_at: number;
}

interface FireRow {
  schedule_id: string;
  scheduled_time: number;
  fired_at: number;
  status: ScheduleFireStatus;
  run_id: string;
  reason: string | null;
}

class Rollback extends Error {}

export class SqliteScheduleStore implements ScheduleStore {
  private readonly sql;
  private readonly claimTransaction: (
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ) => boolean;

  constructor(private readonly db: Db) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO schedules (id, workflow_id, cron, timezone, scope, scope_ref, created_by, input, enabled,
           next_fire_at, last_fired_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare<[string], ScheduleRow>('SELECT * FROM schedules WHERE id = ?'),
      setEnabled: db.prepare<[number, number | null, string]>(
        'UPDATE schedules SET enabled = ?, next_fire_at = ? WHERE id = ?',
      ),
      delete: db.prepare<[string]>('DELETE FROM schedules WHERE id = ?'),
      advance: db.prepare<[number | null, number, string, number]>(
        'UPDATE schedules SET next_fire_at = ?, last_fired_at = ? WHERE id = ? AND enabled = 1 AND next_fire_at = ?',
      ),
      insertFire: db.prepare<[string, number, number, string]>(
        `INSERT OR IGNORE INTO schedule_fires (schedule_id, scheduled_time, fired_at, status, run_id)
           VALUES (?, ?, ?, 'claimed', ?)`,
      ),
      finishFire: db.prepare<[string, string | null, string, number]>(
        'UPDATE schedule_fires SET status = ?, reason = ? WHERE schedule_id = ? AND scheduled_time = ?',
      ),
      fires: db.prepare<[string, number], FireRow>(
        'SELECT * FROM schedule_fires WHERE schedule_id = ? ORDER BY scheduled_time DESC LIMIT ?',
      ),
      unfinished: db.prepare<[], FireRow>(
        "SELECT * FROM schedule_fires WHERE status = 'claimed' ORDER BY scheduled_time",
      ),
    };
    const claim = db.transaction(
      (fire: Omit<ScheduleFireRecord, 'status' | 'reason'>, nextFireAt: number | null): boolean => {
        const advanced = this.sql.advance.run(nextFireAt, fire.firedAt, fire.scheduleId, fire.scheduledTime);
        if (advanced.changes === 0) return false;
        const recorded = this.sql.insertFire.run(
          fire.scheduleId,
          fire.scheduledTime,
          fire.firedAt,
          fire.runId,
        );
        // Already fired at this scheduled time: undo the advance.
        if (recorded.changes === 0) throw new Rollback();
        return true;
      },
    );
    this.claimTransaction = (fire, nextFireAt) => {
      try {
        return claim.immediate(fire, nextFireAt);
      } catch (error) {
        if (error instanceof Rollback) return false;
        throw error;
      }
    };
  }

  async insert(record: ScheduleRecord): Promise<void> {
    this.sql.insert.run(
      record.id,
      record.workflowId,
      record.cron,
      record.timezone,
      record.scope,
      record.scopeRef,
      record.createdBy,
      JSON.stringify(record.input),
      record.enabled ? 1 : 0,
      record.nextFireAt,
      record.lastFiredAt,
      record.createdAt,
    );
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const row = this.sql.get.get(id);
    return row === undefined ? undefined : toRecord(row);
  }

  async list(filter: ScheduleFilter = {}): Promise<ScheduleRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.workflowId !== undefined) {
      where.push('workflow_id = ?');
      params.push(filter.workflowId);
    }
    if (filter.enabled !== undefined) {
      where.push('enabled = ?');
      params.push(filter.enabled ? 1 : 0);
    }
    if (filter.createdBy !== undefined) {
      where.push('created_by = ?');
      params.push(filter.createdBy);
    }
    const sql = `SELECT * FROM schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return (this.db.prepare(sql).all(...params) as ScheduleRow[]).map(toRecord);
  }

  async setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    return this.sql.setEnabled.run(enabled ? 1 : 0, nextFireAt, id).changes === 1;
  }

  async delete(id: string): Promise<boolean> {
    return this.sql.delete.run(id).changes === 1;
  }

  async claimFire(
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ): Promise<boolean> {
    return this.claimTransaction(fire, nextFireAt);
  }

  async finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void> {
    this.sql.finishFire.run(status, reason, scheduleId, scheduledTime);
  }

  async fires(scheduleId: string, limit = 100): Promise<ScheduleFireRecord[]> {
    return this.sql.fires.all(scheduleId, limit).map(toFire);
  }

  async unfinishedFires(): Promise<ScheduleFireRecord[]> {
    return this.sql.unfinished.all().map(toFire);
  }
}

function toRecord(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    cron: row.cron,
    timezone: row.timezone,
    scope: row.scope,
    scopeRef: row.scope_ref,
    createdBy: row.created_by,
    input: JSON.parse(row.input) as Record<string, unknown>,
    enabled: row.enabled === 1,
    nextFireAt: row.next_fire_at,
    lastFiredAt: row.last_fired_at,
    createdAt: row.created_at,
  };
}

function toFire(row: FireRow): ScheduleFireRecord {
  return {
    scheduleId: row.schedule_id,
    scheduledTime: row.scheduled_time,
    firedAt: row.fired_at,
    status: row.status,
    runId: row.run_id,
    reason: row.reason,
  };
}
