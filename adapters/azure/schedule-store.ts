// Schedules and their fires on Azure Table Storage (adapters/azure/tables.ts, table `schedules`). A fire
// claim must record the fire and advance its schedule in one atomic write, and a transaction covers one
// partition: so every schedule, fire and unfinished-fire marker lives in the one partition `schedules`,
// kinds told apart by the RowKey's first part (entityKey(id) never holds `|`, so a kind's rows are one
// RowKey range):
//
// | RowKey                                      | properties                                                   |
// | ------------------------------------------- | ------------------------------------------------------------ |
// | `s|` + entityKey(id)                        | the ScheduleRecord; `input` as JSON text (packText); a null  |
// |                                             | `nextFireAt` / `lastFiredAt` / `scopeRef` is left out        |
// | `f|` + entityKey(id) + `|` + newestFirst(t) | a ScheduleFireRecord (`fires` reads them newest first)       |
// | `u|` + digits(t) + `|` + entityKey(id)      | a fire still `claimed` (`unfinishedFires`, oldest first)      |
//
// `claimFire` reads the schedule and, only while it is enabled and due at the fire's time, submits one
// transaction: the fire created (409 when it exists), its marker created, and the schedule replaced at the
// ETag read (412 when it changed) — of any number of claims from any instance exactly one commits; a
// loser reads again and finds the schedule advanced or the fire there, and a refused claim changes
// nothing. `finishFire` updates the fire and deletes its marker in one transaction. `due` (the timer
// trigger's query) reads the enabled schedules and keeps those whose next fire is at or before a time.
//
// One partition serves an organisation's schedules (hundreds) and their fires comfortably: Table Storage
// serves about 2,000 entities a second per partition, and a Cosmos DB logical partition holds 20 GB
// (some twenty million fires).
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import type {
  ScheduleFilter,
  ScheduleFireRecord,
  ScheduleFireStatus,
  ScheduleRecord,
  ScheduleStore,
} from '../../functions/core/ports.js';
import {
  type AzureTables,
  alreadyExists,
  digits,
  entityKey,
  MAX_TRANSACTION,
  newestFirst,
  notFound,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

const PARTITION = 'schedules';
type Entity = Record<string, unknown>;

const scheduleKey = (id: string) => `s|${entityKey(id)}`;
const fireKey = (id: string, time: number) => `f|${entityKey(id)}|${newestFirst(time)}`;
const markerKey = (id: string, time: number) => `u|${digits(time)}|${entityKey(id)}`;

/** The OData filter of the RowKeys starting with `prefix` (`}` follows `|`, and `v` follows `u`). */
function startsWith(prefix: string): string {
  const end = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
  return `PartitionKey eq '${PARTITION}' and RowKey ge '${quoted(prefix)}' and RowKey lt '${quoted(end)}'`;
}

const quoted = (text: string) => text.replaceAll("'", "''");

export class AzureScheduleStore implements ScheduleStore {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('schedules');
  }

  async insert(record: ScheduleRecord): Promise<void> {
    try {
      await this.client.createEntity(scheduleEntity(record));
    } catch (error) {
      if (alreadyExists(error)) throw new Error(`schedule ${record.id} already exists`);
      throw error;
    }
  }

  async get(id: string): Promise<ScheduleRecord | undefined> {
    const entity = await readEntity(this.client, PARTITION, scheduleKey(id));
    return entity && toRecord(entity);
  }

  async list(filter: ScheduleFilter = {}): Promise<ScheduleRecord[]> {
    const all = (await this.query(startsWith('s|'))).map(toRecord);
    return all
      .filter(
        (s) =>
          (filter.workflowId === undefined || s.workflowId === filter.workflowId) &&
          (filter.enabled === undefined || s.enabled === filter.enabled) &&
          (filter.createdBy === undefined || s.createdBy === filter.createdBy),
      )
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The enabled schedules due at `now` (their next fire at or before it), soonest first: a timer's work. */
  async due(now: number): Promise<ScheduleRecord[]> {
    if (!Number.isFinite(now)) throw new Error(`due: now must be a time in ms, not ${now}`);
    // The time is compared here: the service compares a number only with one of its own EDM type (Int32
    // or Double, as each was inferred on write), so a filter on it could miss schedules.
    const enabled = (await this.query(`${startsWith('s|')} and enabled eq true`)).map(toRecord);
    return enabled
      .filter((s) => s.nextFireAt !== null && s.nextFireAt <= now)
      .sort((a, b) => (a.nextFireAt ?? 0) - (b.nextFireAt ?? 0));
  }

  setEnabled(id: string, enabled: boolean, nextFireAt: number | null): Promise<boolean> {
    return retryRaces(`schedule ${id}`, async () => {
      const entity = await readEntity(this.client, PARTITION, scheduleKey(id));
      if (entity === undefined) return false;
      const next = scheduleEntity({ ...toRecord(entity), enabled, nextFireAt });
      await this.client.updateEntity(next, 'Replace', { etag: entity.etag });
      return true;
    });
  }

  async delete(id: string): Promise<boolean> {
    try {
      await this.client.deleteEntity(PARTITION, scheduleKey(id));
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
    // The fires and their markers, a transaction's worth at a time (a fire's marker goes with it).
    const fires = await this.query(startsWith(`f|${entityKey(id)}|`));
    const keys = fires.flatMap((f) => {
      const time = f.scheduledTime as number;
      return [fireKey(id, time), markerKey(id, time)];
    });
    for (let i = 0; i < keys.length; i += MAX_TRANSACTION)
      await Promise.all(keys.slice(i, i + MAX_TRANSACTION).map((rowKey) => this.deleteIfThere(rowKey)));
    return true;
  }

  claimFire(
    fire: Omit<ScheduleFireRecord, 'status' | 'reason'>,
    nextFireAt: number | null,
  ): Promise<boolean> {
    const record: ScheduleFireRecord = { ...fire, status: 'claimed', reason: null };
    return retryRaces(`the fire of schedule ${fire.scheduleId}`, async () => {
      const entity = await readEntity(this.client, PARTITION, scheduleKey(fire.scheduleId));
      if (entity === undefined) return false;
      const schedule = toRecord(entity);
      if (!schedule.enabled || schedule.nextFireAt !== fire.scheduledTime) return false;
      if (await this.exists(fireKey(fire.scheduleId, fire.scheduledTime))) return false;
      const advanced = { ...schedule, nextFireAt, lastFiredAt: fire.firedAt };
      await this.client.submitTransaction([
        ['create', fireEntity(fireKey(fire.scheduleId, fire.scheduledTime), record)],
        ['create', fireEntity(markerKey(fire.scheduleId, fire.scheduledTime), record)],
        ['update', scheduleEntity(advanced), 'Replace', { etag: entity.etag }],
      ]);
      return true;
    });
  }

  finishFire(
    scheduleId: string,
    scheduledTime: number,
    status: Exclude<ScheduleFireStatus, 'claimed'>,
    reason: string | null,
  ): Promise<void> {
    return retryRaces(`the fire of schedule ${scheduleId}`, async () => {
      const rowKey = fireKey(scheduleId, scheduledTime);
      const entity = await readEntity(this.client, PARTITION, rowKey);
      // No such fire: nothing to finish (as an UPDATE of no row).
      if (entity === undefined) return;
      const finished = fireEntity(rowKey, { ...toFire(entity), status, reason });
      const marker = markerKey(scheduleId, scheduledTime);
      const actions: TransactionAction[] = [['update', finished, 'Replace', { etag: entity.etag }]];
      if (entity.status === 'claimed') actions.push(['delete', { partitionKey: PARTITION, rowKey: marker }]);
      await this.client.submitTransaction(actions);
    });
  }

  async fires(scheduleId: string, limit = 100): Promise<ScheduleFireRecord[]> {
    const found = await this.query(startsWith(`f|${entityKey(scheduleId)}|`), limit);
    return found.map(toFire);
  }

  async unfinishedFires(): Promise<ScheduleFireRecord[]> {
    return (await this.query(startsWith('u|'))).map(toFire);
  }

  /** The entities `filter` matches in RowKey order, page after page, up to `limit` of them. */
  private async query(
    filter: string,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<TableEntityResult<Entity>[]> {
    const found: TableEntityResult<Entity>[] = [];
    if (limit <= 0) return found;
    for await (const entity of this.client.listEntities<Entity>({ queryOptions: { filter } })) {
      found.push(entity);
      if (found.length >= limit) break;
    }
    return found;
  }

  private async exists(rowKey: string): Promise<boolean> {
    return (await readEntity(this.client, PARTITION, rowKey)) !== undefined;
  }

  private async deleteIfThere(rowKey: string): Promise<void> {
    try {
      await this.client.deleteEntity(PARTITION, rowKey);
    } catch (error) {
      if (!notFound(error)) throw error;
    }
  }
}

interface ScheduleKeys {
  partitionKey: string;
  rowKey: string;
}

/** The schedule's entity: nulls left out (a property cannot hold one), the input as packed JSON text. */
function scheduleEntity(record: ScheduleRecord): ScheduleKeys & Entity {
  const { input, ...rest } = record;
  return {
    partitionKey: PARTITION,
    rowKey: scheduleKey(record.id),
    ...withoutNulls(rest),
    ...packText('input', JSON.stringify(input)),
  };
}

function fireEntity(rowKey: string, fire: ScheduleFireRecord): ScheduleKeys & Entity {
  return { partitionKey: PARTITION, rowKey, ...withoutNulls({ ...fire }) };
}

function withoutNulls(fields: Record<string, unknown>): Entity {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
}

function toRecord(entity: Entity): ScheduleRecord {
  const input = unpackText(entity, 'input');
  return {
    id: entity.id as string,
    workflowId: entity.workflowId as string,
    cron: entity.cron as string,
    timezone: entity.timezone as string,
    scope: entity.scope as ScheduleRecord['scope'],
    scopeRef: (entity.scopeRef ?? null) as string | null,
    createdBy: entity.createdBy as string,
    input: input === undefined ? {} : (JSON.parse(input) as Record<string, unknown>),
    enabled: entity.enabled === true,
    nextFireAt: (entity.nextFireAt ?? null) as number | null,
    lastFiredAt: (entity.lastFiredAt ?? null) as number | null,
    createdAt: entity.createdAt as number,
  };
}

function toFire(entity: Entity): ScheduleFireRecord {
  return {
    scheduleId: entity.scheduleId as string,
    scheduledTime: entity.scheduledTime as number,
    firedAt: entity.firedAt as number,
    status: entity.status as ScheduleFireStatus,
    runId: entity.runId as string,
    reason: (entity.reason ?? null) as string | null,
  };
}
