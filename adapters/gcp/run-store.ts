// Run records in Firestore, for the GCP Workflows host: one document per run, `runs/<runId>` (runDocId),
// beside its audit trail (audit.ts). A listing is one query newest first (createdAt descending, the
// document id breaking ties), the time range and the equality filters in the query, served by the
// composite indexes registered in collections.ts.
//
// Exactly one start per run id: `create` is ONE transaction that reads the record and the trail's counter
// and writes the record and the trail's first entry (`run.started`) only when neither exists, so of
// concurrent starts of one id exactly one writes anything (Firestore aborts the others, which then read the
// winner's record and refuse). A run ends once: `end` is a transaction too, writing the record's end and the
// trail's end entries only when it reads the record running, so a redelivered end, or a cancel racing the
// execution's own end, writes nothing the second time and never regresses a terminal status. Reads are
// strongly consistent (Firestore's are).
//
// Workflows names an execution itself, so a run's record is written before its execution exists, with
// `executionName` null, and `attachExecution` sets the name once the execution has started.
//
// Trigger, input, outcome and `pathOutcome` are kept as JSON text (Firestore refuses arrays of arrays, which a
// run's JSON may hold); `pathOutcome` (what decided a completed run's path, `null` when nothing did) is set by
// the end that completes the run. Firestore cannot query for a missing field, so a boolean `pathRecorded`
// says whether it is set: a completed run without it completed before runs kept it (`unrecorded`,
// `recordPath`). `triggeredBy` is the lower-cased email of who the run acts for, for the filter.
import {
  type DocumentData,
  type DocumentReference,
  FieldPath,
  type Firestore,
  type Query,
} from '@google-cloud/firestore';
import { type AuditEntry, runStartedEntry } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunFilter, RunRecord } from '../../functions/core/ports.js';
import type { RunOutcome, RunStatus } from '../../functions/core/protocol.js';
import type { RunOutcomeView } from '../../functions/core/run-outcome.js';
import { runningRecord } from '../../functions/core/run-start.js';
import { type FirestoreRunAudit, MAX_TRANSACTION_ATTEMPTS, runDocId } from './audit.js';
import { COLLECTIONS } from './collections.js';

/** A run record as the GCP host keeps it: the port's fields, and where the run executes. */
export interface StoredGcpRun extends RunRecord {
  /** The Stepgate version of the workflow the run was started on (null when the start named none). */
  version: number | null;
  /**
   * The execution's full resource name (`projects/…/workflows/…/executions/…`); null until the execution
   * has started (Workflows names executions itself, so the record is written first, `attachExecution` after).
   */
  executionName: string | null;
}

/** A start refused because a run with that id exists already (DurableHost: one start per run id). */
export class RunExistsError extends Error {
  override name = 'RunExistsError';
}

const TRANSACTION = { maxAttempts: MAX_TRANSACTION_ATTEMPTS };

export class FirestoreRunStore {
  constructor(
    private readonly db: Firestore,
    private readonly trail: FirestoreRunAudit,
  ) {}

  /**
   * Writes the record of a new run (status running) and its `run.started` entry, or nothing: throws
   * RunExistsError when the id is taken.
   */
  async create(
    start: RunStart,
    at: number,
    where: { version: number | null; executionName: string | null },
  ): Promise<StoredGcpRun> {
    const run: StoredGcpRun = { ...runningRecord(start, at), ...where };
    const started = runStartedEntry(start);
    const ref = this.runRef(run.id);
    await this.db.runTransaction(async (tx) => {
      const [record, lastSeq] = await Promise.all([tx.get(ref), this.trail.lastSeq(run.id, tx)]);
      // The record, or the trail a run of that id began: both exist only together.
      if (record.exists || lastSeq !== 0) throw new RunExistsError(`run ${run.id} exists already`);
      tx.create(ref, toDocument(run));
      this.trail.entriesWrites(tx, run.id, [started], 0);
    }, TRANSACTION);
    return run;
  }

  /**
   * Sets the execution's name on the run's record once it has started (whatever the run's status: a cancel
   * may have ended it meanwhile, and the execution is still its). Setting the same name again changes
   * nothing; an unknown run, or one attached to another execution, is refused naming the run.
   */
  async attachExecution(runId: string, executionName: string): Promise<void> {
    if (executionName.length === 0) throw new Error(`executionName of run ${runId} is empty`);
    const ref = this.runRef(runId);
    return this.db.runTransaction(async (tx) => {
      const record = await tx.get(ref);
      if (!record.exists)
        throw new Error(`run ${runId} has no record to attach execution ${executionName} to`);
      const attached = record.get('executionName') as unknown;
      if (attached === executionName) return;
      if (typeof attached === 'string')
        throw new Error(`run ${runId} is attached to execution ${attached} already, not ${executionName}`);
      tx.update(ref, { executionName });
    }, TRANSACTION);
  }

  /** The run's record; undefined for an unknown run. */
  async get(runId: string): Promise<StoredGcpRun | undefined> {
    const found = await this.runRef(runId).get();
    const data = found.data();
    return data === undefined ? undefined : fromDocument(data);
  }

  /** Runs newest first, filtered as RunFilter says (at most `limit`, 100 by default). */
  async list(filter: RunFilter = {}): Promise<StoredGcpRun[]> {
    let query: Query = this.db.collection(COLLECTIONS.runs.name);
    if (filter.status !== undefined) query = query.where('status', '==', filter.status);
    if (filter.workflowId !== undefined) query = query.where('workflowId', '==', filter.workflowId);
    if (filter.triggeredBy !== undefined)
      query = query.where('triggeredBy', '==', filter.triggeredBy.toLowerCase());
    if (filter.from !== undefined) query = query.where('createdAt', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('createdAt', '<', filter.to);
    const found = await query
      .orderBy('createdAt', 'desc')
      .orderBy(FieldPath.documentId(), 'desc')
      .limit(filter.limit ?? 100)
      .get();
    return found.docs.map((doc) => fromDocument(doc.data()));
  }

  /**
   * Ends a running run with `outcome` at `at` and appends `entries` to its trail, all or nothing; `path`
   * (what decided a completed run's path, RunRecord.pathOutcome; null: nothing did) is stored in the same
   * write. False when the run is unknown or has ended already (nothing is written): an end is applied once.
   */
  end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean> {
    const ref = this.runRef(runId);
    return this.db.runTransaction(async (tx) => {
      const [record, lastSeq] = await Promise.all([tx.get(ref), this.trail.lastSeq(runId, tx)]);
      if (record.get('status') !== ('running' satisfies RunStatus)) return false;
      tx.update(ref, {
        status: outcome.status,
        outcome: JSON.stringify(outcome),
        endedAt: at,
        ...(path === undefined ? {} : { pathOutcome: JSON.stringify(path), pathRecorded: true }),
      });
      this.trail.entriesWrites(tx, runId, entries, lastSeq);
      return true;
    }, TRANSACTION);
  }

  /** Up to `limit` runs that completed before runs kept what decided their path (no `pathOutcome`). */
  async unrecorded(limit: number): Promise<StoredGcpRun[]> {
    const found = await this.db
      .collection(COLLECTIONS.runs.name)
      .where('status', '==', 'completed' satisfies RunStatus)
      .where('pathRecorded', '==', false)
      .limit(limit)
      .get();
    return found.docs.map((doc) => fromDocument(doc.data()));
  }

  /** Records what decided a completed run's path where nothing is recorded yet; false when something is. */
  recordPath(runId: string, path: RunOutcomeView | null): Promise<boolean> {
    const ref = this.runRef(runId);
    return this.db.runTransaction(async (tx) => {
      const record = await tx.get(ref);
      if (record.get('status') !== ('completed' satisfies RunStatus) || record.get('pathRecorded') !== false)
        return false;
      tx.update(ref, { pathOutcome: JSON.stringify(path), pathRecorded: true });
      return true;
    }, TRANSACTION);
  }

  private runRef(runId: string): DocumentReference {
    return this.db.collection(COLLECTIONS.runs.name).doc(runDocId(runId));
  }
}

function toDocument(run: StoredGcpRun): DocumentData {
  return {
    id: run.id,
    workflowId: run.workflowId,
    version: run.version,
    executionName: run.executionName,
    status: run.status,
    triggeredBy: run.trigger.user.email.toLowerCase(),
    trigger: JSON.stringify(run.trigger),
    input: JSON.stringify(run.input),
    createdAt: run.createdAt,
    endedAt: run.endedAt,
    outcome: run.outcome === null ? null : JSON.stringify(run.outcome),
    pathRecorded: false,
  };
}

function fromDocument(data: DocumentData): StoredGcpRun {
  return {
    id: String(data.id),
    workflowId: String(data.workflowId),
    version: typeof data.version === 'number' ? data.version : null,
    executionName: typeof data.executionName === 'string' ? data.executionName : null,
    status: data.status as RunStatus,
    trigger: JSON.parse(String(data.trigger)) as RunRecord['trigger'],
    input: JSON.parse(String(data.input)) as RunRecord['input'],
    createdAt: Number(data.createdAt),
    endedAt: typeof data.endedAt === 'number' ? data.endedAt : null,
    outcome: typeof data.outcome === 'string' ? (JSON.parse(data.outcome) as RunOutcome) : null,
    ...(typeof data.pathOutcome === 'string' && data.pathOutcome !== 'null'
      ? { pathOutcome: JSON.parse(data.pathOutcome) as RunOutcomeView }
      : {}),
  };
}
