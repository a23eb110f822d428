// Schedules and their fires on the DynamoDB table (adapters/aws/table.ts). A schedule is one item in the
// partition `SCHEDULES` (sk `SCHEDULE#<id>`): `list` is a Query of that one partition, filtered — fine at
// the scale of one organisation's schedules (hundreds), where one partition's throughput is plenty. A fire
// is an item in its schedule's partition `FIRES#<scheduleId>` (sk `FIRE#<scheduledTime>`, zero-padded so
// the sort key orders by time: `fires` reads newest first). A fire still `claimed` also has a marker in
// the partition `UNFINISHED_FIRES`, written and removed with it, which `unfinishedFires` queries.
// `claimFire` is one TransactWriteItems: the fire put only if it does not exist, its marker, and the
// schedule advanced only while it is enabled and due at the fire's scheduled time — of any number of
// claims from any Lambda, exactly one succeeds, and a refused claim changes nothing.
import {
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleStore,
} from '../../functions/core/ports.js';
import { cancelledBy, conditionFailed, queryAll, type Table } from './table.js';

const SCHEDULES = 'SCHEDULES';
/** How many times a transaction cancelled by a concurrent write (not by its conditions) is tried. */
const ATTEMPTS = 10;
const UNFINISHED = 'UNFINISHED_FIRES';

const scheduleKey = (id: string) => ({ pk: SCHEDULES, sk: `SCHEDULE#${id}` });
const time = (ms: number) => String(ms).padStart(16, '0');
const fireKey = (scheduleId: string, scheduledTime: number) => ({
  pk: `FIRES#${scheduleId}`,
  sk: `FIRE#${time(scheduledTime)}`,
});
const markerKey = (scheduleId: string, scheduledTime: number) => ({
  pk: UNFINISHED,
  sk: `${time(scheduledTime)}#${scheduleId}`,
});

export class DynamoScheduleStore implements ScheduleStore {
  constructor(private readonly table: Table) {}

  async insert(record: ScheduleRecord): Promise<void> {
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { ...scheduleKey(record.id), ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (conditionFailed(error)) throw new Error(`schedule ${record.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: scheduleKey(id), ConsistentRead: true }),
    );
    return found.Item === undefined ? undefined : toRecord(found.Item);
  }

  async list(filter: ScheduleFilter = {}): Promise<ScheduleRecord[]> {
    const conditions: string[] = [];
    const values: Record<string, unknown> = { ':pk': SCHEDULES };
    if (filter.workflowId !== undefined) {
      conditions.push('workflowId = :workflowId');
      values[':workflowId'] = filter.workflowId;
    }
    if (filter.enabled !== undefined) {
      conditions.push('enabled = :enabled');
      values[':enabled'] = filter.enabled;
    }
    if (filter.createdBy !== undefined) {
      conditions.push('createdBy = :createdBy');
      values[':createdBy'] = filter.createdBy;
    }
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND ') } : {}),
      ExpressionAttributeValues: values,
    });
    return items
      .map(toRecord)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: scheduleKey(id),
          UpdateExpression: 'SET enabled = :enabled, nextFireAt = :next',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':enabled': enabled, ':next': nextFireAt },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.table.client.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: scheduleKey(id),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
    const fires = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `FIRES#${id}` },
    });
    const keys = fires.flatMap((f) => {
      const fire = toFire(f);
      return [fireKey(id, fire.scheduledTime), markerKey(id, fire.scheduledTime)];
    });
    for (let i = 0; i < keys.length; i += 25) await this.deleteKeys(keys.slice(i, i + 25));
    return true;
  }

  async claimFire(
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ): Promise<boolean> {
    const record: ScheduleFireRecord = { ...fire, status: 'claimed', reason: null };
    return this.transact({
      TransactItems: [
        {
          Put: {
            TableName: this.table.name,
            Item: { ...fireKey(fire.scheduleId, fire.scheduledTime), ...record },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.table.name,
            Item: { ...markerKey(fire.scheduleId, fire.scheduledTime), ...record },
          },
        },
        {
          Update: {
            TableName: this.table.name,
            Key: scheduleKey(fire.scheduleId),
            UpdateExpression: 'SET nextFireAt = :next, lastFiredAt = :firedAt',
            ConditionExpression: 'enabled = :true AND nextFireAt = :due',
            ExpressionAttributeValues: {
              ':next': nextFireAt,
              ':firedAt': fire.firedAt,
              ':true': true,
              ':due': fire.scheduledTime,
            },
          },
        },
      ],
    });
  }

  async finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void> {
    // No such fire: nothing to finish (as an UPDATE of no row).
    await this.transact({
      TransactItems: [
        {
          Update: {
            TableName: this.table.name,
            Key: fireKey(scheduleId, scheduledTime),
            UpdateExpression: 'SET #status = :status, reason = :reason',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':status': status, ':reason': reason },
          },
        },
        { Delete: { TableName: this.table.name, Key: markerKey(scheduleId, scheduledTime) } },
      ],
    });
  }

  async fires(scheduleId: string, limit = 100): Promise<ScheduleFireRecord[]> {
    const items = await this.query(
      {
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `FIRES#${scheduleId}` },
        ScanIndexForward: false,
      },
      limit,
    );
    return items.map(toFire);
  }

  async unfinishedFires(): Promise<ScheduleFireRecord[]> {
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': UNFINISHED },
    });
    return items.map(toFire);
  }

  /**
   * Writes `input` in one TransactWriteItems: true when it committed, false when one of its conditions failed; tried again when a
   * concurrent write cancelled it (a bounded number of times, then a clear error).
   */
  private async transact(input: TransactWriteCommandInput): Promise<boolean> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await this.table.client.send(new TransactWriteCommand(input));
        return true;
      } catch (error) {
        const cause = cancelledBy(error);
        if (cause === 'condition') return false;
        if (cause === undefined) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
    throw new Error(`a schedule write stayed contended through ${ATTEMPTS} attempts; try again`);
  }

  /** Every item a strongly consistent Query matches, page after page, up to `limit` of them. */
  private query(
    input: Omit<QueryCommandInput, 'TableName'>,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    return queryAll(this.table, { ...input, ConsistentRead: true }, limit);
  }

  /** Deletes up to 25 items by key, retrying those DynamoDB leaves unprocessed. */
  private async deleteKeys(keys: Record<string, string>[]): Promise<void> {
    let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
    while (requests.length > 0) {
      const answer = await this.table.client.send(
        new BatchWriteCommand({ RequestItems: { [this.table.name]: requests } }),
      );
      requests = (answer.UnprocessedItems?.[this.table.name] ?? []) as typeof requests;
    }
  }
}

function toRecord(item: Record<string, unknown>): ScheduleRecord {
  return {
    id: item.id as string,
    workflowId: item.workflowId as string,
    cron: item.cron as string,
    timezone: item.timezone as string,
    scope: item.scope as ScheduleRecord['scope'],
    scopeRef: (item.scopeRef ?? null) as string | null,
    createdBy: item.createdBy as string,
    input: (item.input ?? {}) as Record<string, unknown>,
    enabled: item.enabled === true,
    nextFireAt: (item.nextFireAt ?? null) as number | null,
    lastFiredAt: (item.lastFiredAt ?? null) as number | null,
    createdAt: item.createdAt as number,
  };
}

function toFire(item: Record<string, unknown>): ScheduleFireRecord {
  return {
    scheduleId: item.scheduleId as string,
    scheduledTime: item.scheduledTime as number,
    firedAt: item.firedAt as number,
    status: item.status as ScheduleFireStatus,
    runId: item.runId as string,
    reason: (item.reason ?? null) as string | null,
  };
}
