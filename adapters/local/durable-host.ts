// The embedded durable engine: hosts the shared orchestrator on SQLite. Events (activity results, timer
// fires, raised events) are queued, applied to the live orchestrators and committed together with what
// they caused — history rows, new work, timers, audit entries — in one transaction per batch (group
// commit). Work is dispatched only after the commit that recorded it, so every step is durable before
// the next one starts. After a restart, outstanding work is dispatched again and timers are re-armed;
// a run's orchestrator is rebuilt by replaying its history the first time an event reaches it.
import { createHash, randomUUID } from 'node:crypto';
import { auditRecord } from '../../functions/core/audit.js';
import type { AuditEntry, TaskError } from '../../functions/core/durable.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import {
  ActivityError,
  type AuditRecord,
  type Clock,
  type DurableHost,
  type RunFilter,
  type RunRecord,
  type TimerHandle,
} from '../../functions/core/ports.js';
import {
  CANCEL_EVENT,
  type FinalStatus,
  type RunOutcome,
  type RunStatus,
} from '../../functions/core/protocol.js';
import type { RunOutcomeView } from '../../functions/core/run-outcome.js';
import type { IrWorkflow } from '../../translator/ir.js';
import type { Db } from './database.js';
import { pathOutcomeOf, pathOutcomeText } from './path-outcome.js';
import { type Action, type HistoryEvent, NonDeterminismError, Replayer } from './replayer.js';

export type ActivityHandler = (
  input: unknown,
  meta: {
    runId: string;
    taskId: number;
    /** History entries about the work (a tool call's pipeline stages), committed with its result. */
    audit(entry: AuditEntry): void;
  },
) => Promise<unknown>;

export interface LocalHostOptions {
  db: Db;
  clock: Clock;
  activities: Readonly<Record<string, ActivityHandler>>;
  /** Live orchestrators kept in memory; the least recently used are evicted and replayed when needed. */
  cacheSize?: number;
  /** Called after the commit that recorded each audit entry (live run views, tests). */
  onAudit?: (runId: string, entry: AuditRecord) => void;
  /** Work under way outside the host that will hand it events (decisions being written): `pending` counts it. */
  pendingOutside?: () => number;
}

export class RunNotActiveError extends Error {
  override name = 'RunNotActiveError';
}

export class RunExistsError extends Error {
  override name = 'RunExistsError';
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class LocalDurableHost implements DurableHost {
  private readonly db: Db;
  private readonly clock: Clock;
  private readonly activities: Readonly<Record<string, ActivityHandler>>;
  private readonly cacheSize: number;
  private readonly onAudit: LocalHostOptions['onAudit'];
  private readonly pendingOutside: () => number;
  private readonly live = new Map<string, Replayer>();
  private readonly plans = new Map<string, IrWorkflow>();
  private readonly inbox = new Map<string, HistoryEvent[]>();
  private readonly created = new Map<string, RunStart>();
  private readonly armed = new Map<string, TimerHandle>();
  private readonly commitWaiters: Waiter[] = [];
  private readonly runWaiters = new Map<string, Array<(status: FinalStatus) => void>>();
  private idleWaiters: Array<() => void> = [];
  private inflight = 0;
  private flushQueued = false;
  private closed = false;
  private readonly sql;

  constructor(options: LocalHostOptions) {
    this.db = options.db;
    this.clock = options.clock;
    this.activities = options.activities;
    this.cacheSize = options.cacheSize ?? 5_000;
    this.onAudit = options.onAudit;
    this.pendingOutside = options.pendingOutside ?? (() => 0);
    const db = this.db;
    this.sql = {
      insertPlan: db.prepare('INSERT OR IGNORE INTO plans (hash, ir) VALUES (?, ?)'),
      plan: db.prepare<[string], { ir: string }>('SELECT ir FROM plans WHERE hash = ?'),
      insertRun: db.prepare(
        "INSERT INTO runs (id, workflow_id, plan_hash, status, trigger, input, created_at) VALUES (?, ?, ?, 'running', ?, ?, ?)",
      ),
      endRun: db.prepare(
        'UPDATE runs SET status = ?, outcome = ?, ended_at = ?, path_outcome = ? WHERE id = ?',
      ),
      run: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
      runStatus: db.prepare<[string], { status: RunStatus }>('SELECT status FROM runs WHERE id = ?'),
      history: db.prepare<[string], HistoryRow>('SELECT * FROM history WHERE run_id = ? ORDER BY seq'),
      nextSeq: db.prepare<[string], { seq: number | null }>(
        'SELECT max(seq) AS seq FROM history WHERE run_id = ?',
      ),
      insertHistory: db.prepare(
        'INSERT INTO history (run_id, seq, type, task_id, name, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertWork: db.prepare('INSERT INTO work (run_id, task_id, name, input) VALUES (?, ?, ?, ?)'),
      deleteWork: db.prepare('DELETE FROM work WHERE run_id = ? AND task_id = ?'),
      deleteRunWork: db.prepare('DELETE FROM work WHERE run_id = ?'),
      allWork: db.prepare<[], { run_id: string; task_id: number; name: string; input: string }>(
        'SELECT * FROM work',
      ),
      insertTimer: db.prepare('INSERT INTO timers (run_id, task_id, fire_at) VALUES (?, ?, ?)'),
      deleteTimer: db.prepare('DELETE FROM timers WHERE run_id = ? AND task_id = ?'),
      runTimers: db.prepare<[string], { task_id: number }>('SELECT task_id FROM timers WHERE run_id = ?'),
      deleteRunTimers: db.prepare('DELETE FROM timers WHERE run_id = ?'),
      allTimers: db.prepare<[], { run_id: string; task_id: number; fire_at: number }>('SELECT * FROM timers'),
      insertAudit: db.prepare(
        'INSERT INTO audit (run_id, seq, at, type, step, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      nextAuditSeq: db.prepare<[string], { seq: number | null }>(
        'SELECT max(seq) AS seq FROM audit WHERE run_id = ?',
      ),
      audit: db.prepare<[string], AuditRow>('SELECT * FROM audit WHERE run_id = ? ORDER BY seq'),
    };
  }

  /** Resumes after a restart: dispatches work that had not completed and re-arms every timer. */
  recover(): { work: number; timers: number } {
    const work = this.sql.allWork.all();
    for (const row of work)
      this.dispatch(row.run_id, row.task_id, row.name, JSON.parse(row.input) as unknown);
    const timers = this.sql.allTimers.all();
    for (const row of timers) this.arm(row.run_id, row.task_id, row.fire_at);
    return { work: work.length, timers: timers.length };
  }

  startRun(start: Omit<RunStart, 'runId'> & { runId?: string }): Promise<string> {
    const runId = start.runId ?? randomUUID();
    // A given id that is taken is refused here: a duplicate insert would fail the whole batch.
    if (this.created.has(runId) || this.sql.run.get(runId) !== undefined)
      return Promise.reject(new RunExistsError(`run ${runId} exists already`));
    this.created.set(runId, { ...start, runId });
    return this.afterCommit().then(() => runId);
  }

  raiseEvent(runId: string, name: string, payload: unknown): Promise<void> {
    if (!this.isRunning(runId)) return Promise.reject(new RunNotActiveError(`run ${runId} is not running`));
    this.enqueue(runId, { type: 'EventRaised', name, payload, at: this.clock.now() });
    return this.afterCommit();
  }

  cancelRun(runId: string, by: string): Promise<void> {
    return this.raiseEvent(runId, CANCEL_EVENT, { by });
  }

  /** Appends an entry to a run's audit trail from outside the orchestrator (e.g. a refused decision). */
  recordAudit(runId: string, entry: AuditEntry): void {
    const at = this.clock.now();
    const seq = (this.sql.nextAuditSeq.get(runId)?.seq ?? 0) + 1;
    this.sql.insertAudit.run(runId, seq, at, entry.type, entry.step ?? null, JSON.stringify(entry.data));
    const cursor = this.cursors.get(runId);
    if (cursor !== undefined) cursor.auditSeq = seq;
    this.onAudit?.(runId, auditRecord(entry, seq, at));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = this.sql.run.get(runId);
    return row === undefined ? undefined : toRunRecord(row);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.workflowId !== undefined) {
      where.push('workflow_id = ?');
      params.push(filter.workflowId);
    }
    if (filter.triggeredBy !== undefined) {
      where.push("lower(json_extract(trigger, '$.user.email')) = ?");
      params.push(filter.triggeredBy.toLowerCase());
    }
    if (filter.from !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('created_at < ?');
      params.push(filter.to);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit ?? 100) as RunRow[]).map(toRunRecord);
  }

  async audit(runId: string): Promise<AuditRecord[]> {
    // What this host wrote from typed entries; a type it no longer writes, the run view passes over.
    const record = (row: AuditRow) =>
      ({
        seq: row.seq,
        at: row.at,
        type: row.type,
        step: row.step,
        data: JSON.parse(row.data),
      }) as AuditRecord;
    return this.sql.audit.all(runId).map(record);
  }

  history(runId: string): HistoryEvent[] {
    return this.sql.history.all(runId).map(toHistoryEvent);
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  waitForRun(runId: string): Promise<FinalStatus> {
    const status = this.sql.runStatus.get(runId)?.status;
    if (status !== undefined && status !== 'running') return Promise.resolve(status);
    return new Promise((resolve) =>
      this.runWaiters.set(runId, [...(this.runWaiters.get(runId) ?? []), resolve]),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const handle of this.armed.values()) this.clock.clearTimer(handle);
    this.armed.clear();
  }

  /** Activities running plus batches waiting to commit; 0 when idle. */
  pending(): number {
    return (
      this.inflight + this.inbox.size + this.created.size + (this.flushQueued ? 1 : 0) + this.pendingOutside()
    );
  }

  /** Live orchestrators in memory (for benchmarks and tests of the cache). */
  get liveCount(): number {
    return this.live.size;
  }

  private isRunning(runId: string): boolean {
    if (this.created.has(runId) || this.live.has(runId)) return !this.live.get(runId)?.outcome;
    return this.sql.runStatus.get(runId)?.status === 'running';
  }

  private isIdle(): boolean {
    return this.inflight === 0 && !this.flushQueued && this.inbox.size === 0 && this.created.size === 0;
  }

  private enqueue(runId: string, event: HistoryEvent): void {
    const queued = this.inbox.get(runId);
    if (queued === undefined) this.inbox.set(runId, [event]);
    else queued.push(event);
    this.scheduleFlush();
  }

  private afterCommit(): Promise<void> {
    this.scheduleFlush();
    return new Promise((resolve, reject) => this.commitWaiters.push({ resolve, reject }));
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const created = [...this.created.values()];
    this.created.clear();
    const batch = [...this.inbox];
    this.inbox.clear();
    const waiters = this.commitWaiters.splice(0);
    const effects: Effects = { dispatch: [], arm: [], disarm: [], ended: [], audit: [] };
    try {
      this.db.transaction(() => {
        for (const start of created) this.create(start, effects);
        for (const [runId, events] of batch) this.deliver(runId, events, effects);
      })();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error as Error);
      throw error;
    }
    for (const waiter of waiters) waiter.resolve();
    for (const handle of effects.disarm) {
      const armed = this.armed.get(handle);
      if (armed !== undefined) this.clock.clearTimer(armed);
      this.armed.delete(handle);
    }
    for (const timer of effects.arm) this.arm(timer.runId, timer.taskId, timer.fireAt);
    for (const work of effects.dispatch) this.dispatch(work.runId, work.taskId, work.name, work.input);
    for (const [runId, record] of effects.audit) this.onAudit?.(runId, record);
    for (const { runId, status } of effects.ended) {
      for (const resolve of this.runWaiters.get(runId) ?? []) resolve(status);
      this.runWaiters.delete(runId);
    }
    this.evict();
    this.notifyIdle();
  }

  private create(start: RunStart, effects: Effects): void {
    const now = this.clock.now();
    const ir = JSON.stringify(start.ir);
    const hash = createHash('sha256').update(ir).digest('hex');
    this.sql.insertPlan.run(hash, ir);
    this.plans.set(hash, start.ir);
    this.sql.insertRun.run(
      start.runId,
      start.workflowId,
      hash,
      JSON.stringify(start.trigger),
      JSON.stringify(start.input),
      now,
    );
    const replayer = new Replayer(start.runId, start, [], now);
    const cursor: Cursor = { seq: 0, auditSeq: 0 };
    this.appendHistory(start.runId, cursor, { type: 'ExecutionStarted', at: now });
    this.live.set(start.runId, replayer);
    this.cursors.set(start.runId, cursor);
    this.advance(start.runId, replayer, cursor, effects);
  }

  private readonly cursors = new Map<string, Cursor>();

  /** Appends one entry to the run's audit trail, in the current batch. */
  private appendAudit(runId: string, cursor: Cursor, entry: AuditEntry, at: number, effects: Effects): void {
    cursor.auditSeq++;
    this.sql.insertAudit.run(
      runId,
      cursor.auditSeq,
      at,
      entry.type,
      entry.step ?? null,
      JSON.stringify(entry.data),
    );
    effects.audit.push([runId, auditRecord(entry, cursor.auditSeq, at)]);
  }
  /** Activities' own history entries, committed with the result they came with. */
  private readonly activityNotes = new WeakMap<HistoryEvent, Array<{ entry: AuditEntry; at: number }>>();

  private deliver(runId: string, events: HistoryEvent[], effects: Effects): void {
    const loaded = this.load(runId, effects);
    if (loaded === undefined) return;
    const { replayer, cursor } = loaded;
    for (const event of events) {
      if (replayer.outcome !== undefined) return;
      if (!replayer.accept(event)) continue;
      this.appendHistory(runId, cursor, event);
      if (event.type === 'TaskCompleted' || event.type === 'TaskFailed') {
        this.sql.deleteWork.run(runId, event.taskId);
        for (const note of this.activityNotes.get(event) ?? [])
          this.appendAudit(runId, cursor, note.entry, note.at, effects);
      }
      if (event.type === 'TimerFired') this.sql.deleteTimer.run(runId, event.taskId);
      this.advance(runId, replayer, cursor, effects);
    }
  }

  /**
   * The run's live orchestrator, rebuilt from history when it is not in memory; undefined once it ended,
   * including when the rebuild fails (the run then ends as failed).
   */
  private load(runId: string, effects: Effects): { replayer: Replayer; cursor: Cursor } | undefined {
    const cached = this.live.get(runId);
    const cursor = this.cursors.get(runId);
    if (cached !== undefined && cursor !== undefined) {
      this.live.delete(runId);
      this.live.set(runId, cached);
      return { replayer: cached, cursor };
    }
    const row = this.sql.run.get(runId);
    if (row === undefined || row.status !== 'running') return undefined;
    const fresh: Cursor = {
      seq: this.sql.nextSeq.get(runId)?.seq ?? 0,
      auditSeq: this.sql.nextAuditSeq.get(runId)?.seq ?? 0,
    };
    let replayer: Replayer;
    try {
      const history = this.sql.history.all(runId).map(toHistoryEvent);
      replayer = new Replayer(runId, this.startOf(row), history, row.created_at);
      replayer.run();
    } catch (error) {
      this.finishRun(runId, fresh, engineFailure(error as Error), effects);
      return undefined;
    }
    this.live.set(runId, replayer);
    this.cursors.set(runId, fresh);
    return { replayer, cursor: fresh };
  }

  private advance(runId: string, replayer: Replayer, cursor: Cursor, effects: Effects): void {
    try {
      replayer.run();
    } catch (error) {
      this.finishRun(runId, cursor, engineFailure(error as Error), effects);
      return;
    }
    for (const action of replayer.takeActions()) this.commitAction(runId, cursor, action, effects);
  }

  private commitAction(runId: string, cursor: Cursor, action: Action, effects: Effects): void {
    const now = this.clock.now();
    switch (action.type) {
      case 'schedule':
        this.appendHistory(runId, cursor, {
          type: 'TaskScheduled',
          taskId: action.taskId,
          name: action.name,
          at: now,
        });
        this.sql.insertWork.run(runId, action.taskId, action.name, JSON.stringify(action.input ?? null));
        effects.dispatch.push({ runId, taskId: action.taskId, name: action.name, input: action.input });
        return;
      case 'timer':
        this.appendHistory(runId, cursor, {
          type: 'TimerCreated',
          taskId: action.taskId,
          fireAt: action.fireAt,
          at: now,
        });
        this.sql.insertTimer.run(runId, action.taskId, action.fireAt);
        effects.arm.push({ runId, taskId: action.taskId, fireAt: action.fireAt });
        return;
      case 'cancelTimer':
        this.sql.deleteTimer.run(runId, action.taskId);
        effects.disarm.push(timerKey(runId, action.taskId));
        return;
      case 'record':
        this.appendAudit(runId, cursor, action.entry, action.at, effects);
        return;
      case 'complete':
        this.finishRun(runId, cursor, action.outcome, effects);
        return;
      default:
        assertNeverAction(action);
    }
  }

  /**
   * Ends a run, whichever way it ends (completed, failed, cancelled or timed out by the orchestrator; an
   * engine error while advancing it or replaying its history): records the outcome — and, for a completed
   * run, what decided its path, read from its trail in this same transaction (the batch's entries included)
   * — drops its timers and outstanding work, tells its waiters after the commit and forgets its orchestrator.
   */
  private finishRun(runId: string, cursor: Cursor, outcome: RunOutcome, effects: Effects): void {
    const now = this.clock.now();
    this.appendHistory(runId, cursor, { type: 'ExecutionCompleted', outcome, at: now });
    const path = pathOutcomeText(pathOutcomeOf(this.db, runId, outcome.status));
    this.sql.endRun.run(outcome.status, JSON.stringify(outcome), now, path, runId);
    for (const timer of this.sql.runTimers.all(runId)) effects.disarm.push(timerKey(runId, timer.task_id));
    this.sql.deleteRunTimers.run(runId);
    this.sql.deleteRunWork.run(runId);
    effects.ended.push({ runId, status: outcome.status });
    this.forget(runId);
  }

  private forget(runId: string): void {
    this.live.delete(runId);
    this.cursors.delete(runId);
  }

  private appendHistory(runId: string, cursor: Cursor, event: HistoryEvent): void {
    cursor.seq++;
    const { type, at, ...rest } = event;
    const taskId = 'taskId' in rest ? rest.taskId : null;
    const name = 'name' in rest ? rest.name : null;
    const payload = historyPayload(event);
    this.sql.insertHistory.run(
      runId,
      cursor.seq,
      type,
      taskId,
      name,
      payload === undefined ? null : JSON.stringify(payload),
      at,
    );
  }

  private dispatch(runId: string, taskId: number, name: string, input: unknown): void {
    const handler = this.activities[name];
    this.inflight++;
    const notes: Array<{ entry: AuditEntry; at: number }> = [];
    const audit = (entry: AuditEntry): void => {
      notes.push({ entry, at: this.clock.now() });
    };
    const run =
      handler === undefined
        ? Promise.reject(new ActivityError('Stepgate.UnknownActivity', `no activity named ${name}`, false))
        : Promise.resolve().then(() => handler(input, { runId, taskId, audit }));
    const done = (event: HistoryEvent): void => {
      if (notes.length > 0) this.activityNotes.set(event, notes);
      this.enqueue(runId, event);
    };
    run
      .then(
        (result) => done({ type: 'TaskCompleted', taskId, result: jsonSafe(result), at: this.clock.now() }),
        (error: unknown) =>
          done({ type: 'TaskFailed', taskId, error: taskError(error), at: this.clock.now() }),
      )
      .finally(() => {
        this.inflight--;
        this.notifyIdle();
      });
  }

  private arm(runId: string, taskId: number, fireAt: number): void {
    const key = timerKey(runId, taskId);
    const previous = this.armed.get(key);
    if (previous !== undefined) this.clock.clearTimer(previous);
    this.armed.set(
      key,
      this.clock.setTimer(fireAt, () => {
        this.armed.delete(key);
        this.enqueue(runId, { type: 'TimerFired', taskId, at: Math.max(fireAt, this.clock.now()) });
      }),
    );
  }

  private startOf(row: RunRow): RunStart {
    let ir = this.plans.get(row.plan_hash);
    if (ir === undefined) {
      const plan = this.sql.plan.get(row.plan_hash);
      if (plan === undefined) throw new Error(`run ${row.id} has no plan ${row.plan_hash}`);
      ir = JSON.parse(plan.ir) as IrWorkflow;
      this.plans.set(row.plan_hash, ir);
    }
    return {
      runId: row.id,
      workflowId: row.workflow_id,
      ir,
      input: JSON.parse(row.input) as RunStart['input'],
      trigger: JSON.parse(row.trigger) as RunStart['trigger'],
    };
  }

  private evict(): void {
    for (const runId of this.live.keys()) {
      if (this.live.size <= this.cacheSize) return;
      if (this.inbox.has(runId)) continue;
      this.forget(runId);
    }
  }

  private notifyIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

interface Cursor {
  seq: number;
  auditSeq: number;
}

interface Effects {
  dispatch: Array<{ runId: string; taskId: number; name: string; input: unknown }>;
  arm: Array<{ runId: string; taskId: number; fireAt: number }>;
  disarm: string[];
  ended: Array<{ runId: string; status: FinalStatus }>;
  audit: Array<[string, AuditRecord]>;
}

interface RunRow {
  id: string;
  workflow_id: string;
  plan_hash: string;
  status: RunStatus;
  trigger: string;
  input: string;
  created_at: number;
  ended_at: number | null;
  outcome: string | null;
  path_outcome: string | null;
}

interface HistoryRow {
  run_id: string;
  seq: number;
  type: HistoryEvent['type'];
  task_id: number | null;
  name: string | null;
  payload: string | null;
  at: number;
}

interface AuditRow {
  run_id: string;
  seq: number;
  at: number;
  type: string;
  step: string | null;
  data: string;
}

function timerKey(runId: string, taskId: number): string {
  return `${runId}#${taskId}`;
}

function historyPayload(event: HistoryEvent): unknown {
  switch (event.type) {
    case 'TimerCreated':
      return event.fireAt;
    case 'TaskCompleted':
      return event.result;
    case 'TaskFailed':
      return event.error;
    case 'EventRaised':
      return event.payload;
    case 'ExecutionCompleted':
      return event.outcome;
    default:
      return undefined;
  }
}

function toHistoryEvent(row: HistoryRow): HistoryEvent {
  const payload = row.payload === null ? null : (JSON.parse(row.payload) as unknown);
  const taskId = row.task_id ?? -1;
  switch (row.type) {
    case 'ExecutionStarted':
      return { type: row.type, at: row.at };
    case 'TaskScheduled':
      return { type: row.type, taskId, name: row.name ?? '', at: row.at };
    case 'TimerCreated':
      return { type: row.type, taskId, fireAt: payload as number, at: row.at };
    case 'TaskCompleted':
      return { type: row.type, taskId, result: payload, at: row.at };
    case 'TaskFailed':
      return { type: row.type, taskId, error: payload as TaskError, at: row.at };
    case 'TimerFired':
      return { type: row.type, taskId, at: row.at };
    case 'EventRaised':
      return { type: row.type, name: row.name ?? '', payload, at: row.at };
    case 'ExecutionCompleted':
      return { type: row.type, outcome: payload as RunOutcome, at: row.at };
    default:
      throw new Error(`unknown history event ${String(row.type)}`);
  }
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    status: row.status,
    trigger: JSON.parse(row.trigger) as RunRecord['trigger'],
    input: JSON.parse(row.input) as RunRecord['input'],
    createdAt: row.created_at,
    endedAt: row.ended_at,
    outcome: row.outcome === null ? null : (JSON.parse(row.outcome) as RunOutcome),
    ...(row.path_outcome === null ? {} : { pathOutcome: JSON.parse(row.path_outcome) as RunOutcomeView }),
  };
}

/** The outcome of a run the engine could not go on with: its history no longer replays, or it threw. */
function engineFailure(error: Error): RunOutcome {
  const code = error instanceof NonDeterminismError ? 'Stepgate.NonDeterminism' : 'Stepgate.EngineError';
  return { status: 'failed', error: { code, message: error.message, step: null }, vars: {} };
}

function taskError(error: unknown): TaskError {
  if (error instanceof ActivityError)
    return { code: error.code, message: error.message, retryable: error.retryable };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'Stepgate.ActivityFailed', message };
}

function jsonSafe(value: unknown): unknown {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

function assertNeverAction(action: never): never {
  throw new Error(`unexpected action ${JSON.stringify(action)}`);
}
