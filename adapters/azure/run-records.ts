// What a run's history is made of on Azure, and what the activity functions write to it. The run records
// (AzureRunRecords: one record per run, created once, ended once) and the run's trail (AzureRunTrail: gapless,
// in seq order) are ports the Azure Table adapters implement (adapters/azure/run-store.ts, audit.ts); the
// AzureDurableHost reads them, and AzureRunRecorder is what the activities write through:
//
// - the orchestrator's entries, one `record` batch per orchestrator yield (applied once per orchestrator seq
//   by the trail), without the `run.started` entry: the record's create wrote it with the record, so the
//   trail holds it once, as on every host;
// - the tool pipeline's stage entries, appended by the tool-call activity after each attempt, stamped when
//   the recorder appends them (the activity ran after the orchestrator recorded the attempt's start);
// - the run's end (the `run-end` activity, called by the orchestrator once it returned): the record ends with
//   the outcome and, for a completed run, what decided its path (RunRecord.pathOutcome, from the trail as it
//   stands then), once — a redelivered run-end finds the record ended and writes nothing. The orchestrator
//   records `run.cancelled` / `run.timed-out` / `run.finished` itself, in its last batch, which it waits for
//   before it calls run-end; so the end adds no entry, as the embedded engine's end adds none.
//
// The trail's seq order is the order of appends, and activities run concurrently with the batch that records
// their start (Durable Functions runs a yield's activities in parallel), so a stage entry may be appended
// before the attempt's `attempt.started`. `timeOrdered` gives the trail in the order things happened — by
// time, the orchestrator's entries of an instant before the pipeline's — renumbered, as the AWS and GCP hosts
// merge their execution's steps into their trails.

import type { RecordBatch } from '../../functions/azure/activities.js';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { Clock, RunFilter, RunRecord } from '../../functions/core/ports.js';
import type { RunOutcome } from '../../functions/core/protocol.js';
import { type RunOutcomeView, runOutcome } from '../../functions/core/run-outcome.js';

/** A run record as the Azure host keeps it: the port's fields, and the Stepgate version it started on. */
export interface StoredAzureRun extends RunRecord {
  /** The Stepgate version of the workflow the run was started on (null when the start named none). */
  version: number | null;
}

/** The run records (adapters/azure/run-store.ts AzureRunStore). */
export interface AzureRunRecords {
  /** Writes a new running record and its `run.started` entry, all or nothing; throws RunExistsError when the id is taken. */
  create(start: RunStart, at: number, where: { version: number | null }): Promise<StoredAzureRun>;
  get(runId: string): Promise<StoredAzureRun | undefined>;
  /** Newest first, filtered as RunFilter says. */
  list(filter?: RunFilter): Promise<StoredAzureRun[]>;
  /** Ends a running run with its trail's end entries, all or nothing; false when it had ended already. */
  end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean>;
}

/** The run's audit trail (adapters/azure/audit.ts AzureRunAudit). */
export interface AzureRunTrail {
  append(runId: string, entry: AuditEntry, at?: number): Promise<AuditRecord>;
  /** Appends the orchestrator's batch, skipping entries whose orchestrator seq it applied already. */
  appendBatch(batch: RecordBatch): Promise<void>;
  /** In seq order. */
  list(runId: string): Promise<AuditRecord[]>;
}

export interface AzureRunRecorderOptions {
  records: AzureRunRecords;
  trail: AzureRunTrail;
  clock?: Pick<Clock, 'now'>;
}

/** What the activity functions write about a run: its trail's batches and stages, and its end. */
export class AzureRunRecorder {
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: AzureRunRecorderOptions) {
    this.clock = options.clock ?? Date;
  }

  /** The `record` activity: the orchestrator's batch, without the `run.started` the record's create wrote. */
  async append(batch: RecordBatch): Promise<void> {
    const entries = batch.entries.filter((entry) => entry.type !== 'run.started');
    if (entries.length > 0) await this.options.trail.appendBatch({ runId: batch.runId, entries });
  }

  /** A tool attempt's pipeline stages, in the order the pipeline went through them. */
  async stages(runId: string, entries: readonly AuditEntry[]): Promise<void> {
    for (const entry of entries) await this.options.trail.append(runId, entry, this.clock.now());
  }

  /**
   * The `run-end` activity: ends the run's record with the orchestrator's outcome (and what decided a completed
   * run's path), once; false when the run is unknown or had ended already.
   */
  async end(runId: string, outcome: RunOutcome, entries: AuditEntry[] = []): Promise<boolean> {
    const path =
      outcome.status === 'completed'
        ? (runOutcome('completed', timeOrdered(await this.options.trail.list(runId))) ?? null)
        : undefined;
    return this.options.records.end(runId, outcome, this.clock.now(), entries, path);
  }
}

/** Where an entry goes among entries of the same instant: the start, the orchestrator's, the pipeline's, the end. */
function rank(record: AuditRecord): number {
  if (record.type === 'run.started') return 0;
  if (record.type.startsWith('tool.')) return 2;
  return record.type.startsWith('run.') ? 3 : 1;
}

/** The trail in the order things happened (time, then rank, then seq), renumbered from 1. */
export function timeOrdered(trail: readonly AuditRecord[]): AuditRecord[] {
  return [...trail]
    .sort((a, b) => a.at - b.at || rank(a) - rank(b) || a.seq - b.seq)
    .map((record, i) => auditRecord(entryOf(record), i + 1, record.at));
}

function entryOf(record: AuditRecord): AuditEntry {
  return { type: record.type, step: record.step ?? undefined, data: record.data } as AuditEntry;
}
