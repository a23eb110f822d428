// A run's audit trail in the DynamoDB table (adapters/aws/table.ts): one item per entry, pk `RUN#<runId>`,
// sk `AUDIT#<seq>` (zero-padded, so the sort key orders the trail), and one counter item per run (sk
// `AUDIT-SEQ`) holding the last seq. An append writes the counter and the entry in ONE TransactWriteItems,
// the counter conditioned on the value it was read at: of concurrent appends, one takes each number and the
// others re-read and try the next, so the trail stays gapless and ordered. `entryWrites` hands the same two
// writes to another store's transaction (the approval store's decision and its entry, written together).
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, type AuditRecord, auditRecord } from '../../functions/core/audit.js';
import type { Clock } from '../../functions/core/ports.js';
import { queryAll, type Table, type TransactItem, transactionCancelled } from './table.js';

const COUNTER_SK = 'AUDIT-SEQ';
const ENTRY_PREFIX = 'AUDIT#';
/** How many times an append re-reads the counter after losing it to another append before giving up. */
const MAX_ATTEMPTS = 50;

/** The partition of everything one run keeps in the table (its audit trail, its approval requests). */
export function runPartition(runId: string): string {
  return `RUN#${runId}`;
}

export class DynamoRunAudit {
  constructor(
    private readonly table: Table,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  /** The last seq of a run's trail (0 when it has none), read strongly consistent. */
  async lastSeq(runId: string): Promise<number> {
    const counter = await this.table.client.send(
      new GetCommand({
        TableName: this.table.name,
        Key: { pk: runPartition(runId), sk: COUNTER_SK },
        ConsistentRead: true,
      }),
    );
    const seq = counter.Item?.seq;
    return typeof seq === 'number' ? seq : 0;
  }

  /**
   * The writes that append `entry` as the trail's entry after `lastSeq`, for a TransactWriteItems: the
   * counter moved from `lastSeq` on (failing its condition when another append got there first) and the
   * entry's item. Answers them with the record they store.
   */
  entryWrites(
    runId: string,
    entry: AuditEntry,
    lastSeq: number,
  ): { writes: TransactItem[]; record: AuditRecord } {
    const { writes, records } = this.entriesWrites(runId, [entry], lastSeq);
    return { writes, record: records[0] as AuditRecord };
  }

  /**
   * The writes that append `entries`, in order, after `lastSeq` (one counter write, moved to the last of
   * them, and an item each): several entries in one transaction, where `entryWrites` would write the
   * counter twice.
   */
  entriesWrites(
    runId: string,
    entries: AuditEntry[],
    lastSeq: number,
  ): { writes: TransactItem[]; records: AuditRecord[] } {
    const pk = runPartition(runId);
    const at = this.clock.now();
    const records = entries.map((entry, i) => auditRecord(entry, lastSeq + 1 + i, at));
    const counter: TransactItem = {
      Put: {
        TableName: this.table.name,
        Item: { pk, sk: COUNTER_SK, seq: lastSeq + entries.length },
        ConditionExpression: lastSeq === 0 ? 'attribute_not_exists(pk)' : 'seq = :last',
        ExpressionAttributeValues: lastSeq === 0 ? undefined : { ':last': lastSeq },
      },
    };
    const items = records.map(
      (record): TransactItem => ({
        Put: {
          TableName: this.table.name,
          Item: {
            pk,
            sk: entrySk(record.seq),
            seq: record.seq,
            at: record.at,
            type: record.type,
            step: record.step,
            data: JSON.stringify(record.data),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      }),
    );
    return { writes: [counter, ...items], records };
  }

  /** Appends `entry` to the run's trail under the next seq, retrying when a concurrent append took it. */
  async append(runId: string, entry: AuditEntry): Promise<AuditRecord> {
    for (let attempt = 1; ; attempt++) {
      const { writes, record } = this.entryWrites(runId, entry, await this.lastSeq(runId));
      try {
        await this.table.client.send(new TransactWriteCommand({ TransactItems: writes }));
        return record;
      } catch (error) {
        if (transactionCancelled(error) === undefined || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** The run's trail, in order (strongly consistent). */
  async list(runId: string): Promise<AuditRecord[]> {
    const items = await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': runPartition(runId), ':prefix': ENTRY_PREFIX },
      ConsistentRead: true,
    });
    const records = items.map((item) => {
      const entry = { type: item.type, step: item.step ?? undefined, data: JSON.parse(String(item.data)) };
      return auditRecord(entry as AuditEntry, Number(item.seq), Number(item.at));
    });
    return records;
  }
}

function entrySk(seq: number): string {
  return `${ENTRY_PREFIX}${String(seq).padStart(12, '0')}`;
}
