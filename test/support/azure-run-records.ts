// In-memory run records and trail for the Azure DurableHost's tests: a test double of our own ports
// (adapters/azure/run-records.ts AzureRunRecords / AzureRunTrail), not of an Azure service. It keeps their
// contract — create and end each decided in one step (no await between the read and the write, so racing
// callers see one winner, as the Table adapters' entity-group transactions give), the trail gapless in seq
// order, a batch's entries applied once per orchestrator seq. The Azure Table adapters (AzureRunStore,
// AzureRunAudit on Azurite) take its place where the ports are composed for real.

import { RunExistsError } from '../../adapters/azure/run-errors.js';
import type { AzureRunRecords, AzureRunTrail, StoredAzureRun } from '../../adapters/azure/run-records.js';
import type { RecordBatch } from '../../functions/azure/activities.js';
import {
  type AuditEntry,
  type AuditRecord,
  auditRecord,
  runStartedEntry,
} from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunFilter } from '../../functions/core/ports.js';
import type { RunOutcome } from '../../functions/core/protocol.js';
import type { RunOutcomeView } from '../../functions/core/run-outcome.js';
import { runningRecord } from '../../functions/core/run-start.js';

export class MemoryRunTrail implements AzureRunTrail {
  private readonly trails = new Map<string, AuditRecord[]>();
  /** The highest orchestrator seq applied, per run. */
  private readonly applied = new Map<string, number>();

  constructor(private readonly clock: { now(): number } = Date) {}

  async append(runId: string, entry: AuditEntry, at?: number): Promise<AuditRecord> {
    return this.add(runId, entry, at ?? this.clock.now());
  }

  async appendBatch(batch: RecordBatch): Promise<void> {
    const applied = this.applied.get(batch.runId) ?? 0;
    for (const entry of batch.entries) {
      if (entry.seq <= applied) continue;
      const { seq: _seq, at, ...rest } = entry;
      this.add(batch.runId, rest as AuditEntry, at);
    }
    const last = Math.max(applied, ...batch.entries.map((e) => e.seq));
    this.applied.set(batch.runId, last);
  }

  async list(runId: string): Promise<AuditRecord[]> {
    return [...(this.trails.get(runId) ?? [])];
  }

  /** Appends at once (the callers' atomic steps rely on it). */
  add(runId: string, entry: AuditEntry, at: number): AuditRecord {
    const trail = this.trails.get(runId) ?? [];
    const record = auditRecord(entry, trail.length + 1, at);
    trail.push(record);
    this.trails.set(runId, trail);
    return record;
  }
}

export class MemoryRunRecords implements AzureRunRecords {
  private readonly runs = new Map<string, StoredAzureRun>();

  constructor(private readonly trail: MemoryRunTrail) {}

  async create(start: RunStart, at: number, where: { version: number | null }): Promise<StoredAzureRun> {
    if (this.runs.has(start.runId)) throw new RunExistsError(`run ${start.runId} exists already`);
    const run: StoredAzureRun = { ...runningRecord(start, at), ...where };
    this.runs.set(run.id, run);
    this.trail.add(run.id, runStartedEntry(start), at);
    return structuredClone(run);
  }

  async get(runId: string): Promise<StoredAzureRun | undefined> {
    const run = this.runs.get(runId);
    return run === undefined ? undefined : structuredClone(run);
  }

  async list(filter: RunFilter = {}): Promise<StoredAzureRun[]> {
    const who = filter.triggeredBy?.toLowerCase();
    return [...this.runs.values()]
      .filter(
        (r) =>
          (filter.status === undefined || r.status === filter.status) &&
          (filter.workflowId === undefined || r.workflowId === filter.workflowId) &&
          (who === undefined || r.trigger.user.email.toLowerCase() === who) &&
          (filter.from === undefined || r.createdAt >= filter.from) &&
          (filter.to === undefined || r.createdAt < filter.to),
      )
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(0, filter.limit ?? 100)
      .map((r) => structuredClone(r));
  }

  async end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean> {
    const run = this.runs.get(runId);
    if (run === undefined || run.status !== 'running') return false;
    run.status = outcome.status;
    run.outcome = structuredClone(outcome);
    run.endedAt = at;
    if (path !== undefined && path !== null) run.pathOutcome = path;
    for (const entry of entries) this.trail.add(runId, entry, at);
    return true;
  }
}
