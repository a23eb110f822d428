// A run's audit trail in Azure Table Storage (table `runs`, adapters/azure/tables.ts): the run's partition
// (entityKey(runId)) holds a head entity (RowKey `head`: `seq`, the last seq of the trail, and `applied`,
// the highest orchestrator seq written) and one entity per entry (RowKey `entry|<seq, 12 digits>`, so the
// RowKey orders the trail). An append is ONE entity-group transaction: the head moved on (a replace
// conditioned on the ETag it was read at, or a create when the run has none) and the entry's create. Of
// concurrent appends one commits per head value, the others fail with 412/409 and read the head again, so
// the trail stays gapless and ordered.
//
// The Azure orchestrator's entries arrive in batches (functions/azure/activities.ts RecordBatch), each
// entry numbered by the orchestrator (1, 2, 3... per run), and a batch may be delivered more than once
// (activities are at-least-once, and two deliveries may run at the same time). Each orchestrator entry
// leaves a marker (RowKey `applied|<orchestrator seq, 12 digits>`, holding the trail seq it went to),
// created in the same transaction as the entry: a redelivered entry finds its marker and is skipped, and
// of two deliveries racing, the second's marker create (or head replace) fails and it reads again. Markers
// rather than a watermark alone: batches are separate activities, and one may be applied before an earlier
// one (the trail then holds them in the order they arrived; a watermark would drop the late one). A batch
// larger than one transaction is written as several, each idempotent in the same way. The trail stores what
// it is given: the orchestrator's own `run.started` (the run store wrote the run's with its record) is left
// out of the batches by the one who delivers them (run-records.ts AzureRunRecorder.append).
//
// `entriesActions` hands the same writes to another store's transaction in the run's partition (the run
// store's create and end, the approval store's decision with its entry): they commit together or not at all.
// Entry data is JSON text, packed over several properties when longer than one holds (packText).
import type { TableClient, TableEntity, TransactionAction } from '@azure/data-tables';
import type { RecordBatch, RecordedEntry } from '../../functions/azure/activities.js';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import {
  type AzureTables,
  digits,
  entityKey,
  MAX_TRANSACTION,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

const HEAD = 'head';
const ENTRY = 'entry|';
const APPLIED = 'applied|';
const SEQ_WIDTH = 12;

/** The run's partition in `runs` (its record, trail and approvals). */
export function runPartition(runId: string): string {
  if (runId.length === 0) throw new Error('runId is empty');
  return entityKey(runId);
}

/** A trail's head as read: where the next append goes, and the ETag its write is conditioned on. */
export interface TrailHead {
  /** The last seq of the trail (0: no entry yet). */
  seq: number;
  /** The highest orchestrator seq written (0: none). */
  applied: number;
  /** Undefined when the run has no head yet (the write creates it). */
  etag: string | undefined;
}

export class AzureRunAudit {
  private readonly runs: TableClient;

  constructor(tables: AzureTables) {
    this.runs = tables.client('runs');
  }

  /** The run's head, read now. */
  async head(runId: string): Promise<TrailHead> {
    const found = await readEntity<{ seq?: number; applied?: number }>(this.runs, runPartition(runId), HEAD);
    return {
      seq: typeof found?.seq === 'number' ? found.seq : 0,
      applied: typeof found?.applied === 'number' ? found.applied : 0,
      etag: found?.etag,
    };
  }

  /**
   * The transaction actions appending `entries` (in order, each at its own `at`) after `head`, and the
   * records they store: the head moved on (conditioned on its ETag, or created) and an entity per entry.
   * `applied` (orchestrator seqs, one per entry) also writes each entry's marker (see the header).
   */
  entriesActions(
    runId: string,
    head: TrailHead,
    entries: ReadonlyArray<{ entry: AuditEntry; at: number; applied?: number }>,
  ): { actions: TransactionAction[]; records: AuditRecord[] } {
    const partitionKey = runPartition(runId);
    const records = entries.map(({ entry, at }, i) => auditRecord(entry, head.seq + 1 + i, at));
    const applied = Math.max(head.applied, ...entries.map((e) => e.applied ?? 0));
    const moved = { partitionKey, rowKey: HEAD, seq: head.seq + entries.length, applied };
    const actions: TransactionAction[] = [
      head.etag === undefined ? ['create', moved] : ['update', moved, 'Replace', { etag: head.etag }],
    ];
    records.forEach((record, i) => {
      actions.push(['create', { partitionKey, rowKey: entryRow(record.seq), ...toEntity(record) }]);
      const orchestratorSeq = entries[i]?.applied;
      if (orchestratorSeq !== undefined) actions.push(['create', marker(runId, orchestratorSeq, record.seq)]);
    });
    return { actions, records };
  }

  /** Appends `entry` to the run's trail under the next seq, at `at` (now by default). */
  append(runId: string, entry: AuditEntry, at = Date.now()): Promise<AuditRecord> {
    return retryRaces(`appending to the trail of run ${runId}`, async () => {
      const { actions, records } = this.entriesActions(runId, await this.head(runId), [{ entry, at }]);
      await this.runs.submitTransaction(actions);
      return records[0] as AuditRecord;
    });
  }

  /** Appends the orchestrator's `batch`, skipping the entries written already (see the header). */
  async appendBatch(batch: RecordBatch): Promise<void> {
    const entries = [...batch.entries].sort((a, b) => a.seq - b.seq);
    for (const entry of entries)
      if (!Number.isSafeInteger(entry.seq) || entry.seq < 1)
        throw new Error(
          `run ${batch.runId}: a recorded entry's seq must be a positive integer, got ${entry.seq}`,
        );
    // An entry and its marker are two operations, beside the head's one.
    const perTransaction = Math.floor((MAX_TRANSACTION - 1) / 2);
    for (let at = 0; at < entries.length; at += perTransaction)
      await this.applyChunk(batch.runId, entries.slice(at, at + perTransaction));
  }

  /** The run's trail, in order. */
  async list(runId: string): Promise<AuditRecord[]> {
    const partitionKey = runPartition(runId);
    const records: AuditRecord[] = [];
    const found = this.runs.listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: `PartitionKey eq '${partitionKey}' and RowKey gt '${ENTRY}' and RowKey lt '${ENTRY}~'`,
      },
    });
    for await (const entity of found) records.push(fromEntity(entity));
    return records;
  }

  /** Writes those of `chunk` not applied yet, in one transaction, retried when another writer came first. */
  private applyChunk(runId: string, chunk: RecordedEntry[]): Promise<void> {
    const first = chunk[0];
    const last = chunk[chunk.length - 1];
    if (first === undefined || last === undefined) return Promise.resolve();
    return retryRaces(`recording entries of run ${runId}`, async () => {
      const [head, done] = await Promise.all([this.head(runId), this.appliedIn(runId, first.seq, last.seq)]);
      const todo = chunk.filter((e) => !done.has(e.seq));
      if (todo.length === 0) return;
      const { actions } = this.entriesActions(
        runId,
        head,
        todo.map(({ seq, at, ...entry }) => ({ entry: entry as AuditEntry, at, applied: seq })),
      );
      await this.runs.submitTransaction(actions);
    });
  }

  /** The orchestrator seqs from `from` to `to` that are written already. */
  private async appliedIn(runId: string, from: number, to: number): Promise<Set<number>> {
    const done = new Set<number>();
    const found = this.runs.listEntities({
      queryOptions: {
        filter: `PartitionKey eq '${runPartition(runId)}' and RowKey ge '${APPLIED}${digits(from, SEQ_WIDTH)}' and RowKey le '${APPLIED}${digits(to, SEQ_WIDTH)}'`,
        select: ['RowKey'],
      },
    });
    for await (const marker of found) done.add(Number(String(marker.rowKey).slice(APPLIED.length)));
    return done;
  }
}

/** The marker of orchestrator entry `applied`, written to trail seq `seq`. */
function marker(runId: string, applied: number, seq: number): TableEntity<{ seq: number }> {
  return { partitionKey: runPartition(runId), rowKey: `${APPLIED}${digits(applied, SEQ_WIDTH)}`, seq };
}

function entryRow(seq: number): string {
  return `${ENTRY}${digits(seq, SEQ_WIDTH)}`;
}

function toEntity(record: AuditRecord): Record<string, string | number> {
  return {
    seq: record.seq,
    at: record.at,
    type: record.type,
    ...(record.step === null ? {} : { step: record.step }),
    ...packText('data', JSON.stringify(record.data)),
  };
}

function fromEntity(entity: Record<string, unknown>): AuditRecord {
  const entry = {
    type: String(entity.type),
    ...(typeof entity.step === 'string' ? { step: entity.step } : {}),
    data: JSON.parse(unpackText(entity, 'data') ?? 'null'),
  };
  return auditRecord(entry as AuditEntry, Number(entity.seq), Number(entity.at));
}
