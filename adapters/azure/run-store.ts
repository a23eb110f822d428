// Run records in Azure Table Storage, for the Azure Durable Functions host: one entity per run in the run's
// partition of `runs` (RowKey `run`), beside its audit trail (audit.ts) and its approvals.
//
// Exactly one start per run id: `create` is ONE entity-group transaction creating the record and the
// trail's head and first entry (`run.started`); a create fails (409) when any of them exists, so of
// concurrent starts exactly one writes anything and the others read the winner's record and refuse (a trail
// begun without a record refuses a start too). A run ends once: `end` replaces the record conditioned on
// the ETag it was read at while running, with the trail's end entries, in one transaction; a redelivered
// end, or a cancel racing the orchestration's own end, writes nothing and never regresses a terminal status.
//
// Listing across runs goes through index entities in `runIndex`, written by `create` BEFORE the record:
// partition `all`, `workflow|<workflowId>` and `user|<lower-cased email>` (entityKey), RowKey
// `<newestFirst(createdAt)>|<entityKey(runId)>`, so a partition reads newest first and a time range is a
// RowKey range. The record is the truth: every listed run is read from its record (a listed run is always
// readable), an index entity whose record is missing is skipped (its create is under way, or died before
// the record: the entity stays, skipped), and one the record contradicts (another start's, which lost the
// id) is skipped and deleted: what an index entity says (creation time, workflow, user) never changes in
// a record, so a contradicted one never becomes right. `status` is not indexed (it changes): a status filter
// reads the listing's partition until `limit` runs match. Ties in creation time are broken by id, newest
// (greatest) first, as the other hosts do.
//
// Trigger, input, outcome and path outcome are JSON text, packed over several properties when long
// (packText). Runs on Azure have always kept their path outcome, so there is no `unrecorded`/`recordPath`.
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { type AuditEntry, runStartedEntry } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunFilter, RunRecord } from '../../functions/core/ports.js';
import type { RunOutcome, RunStatus } from '../../functions/core/protocol.js';
import type { RunOutcomeView } from '../../functions/core/run-outcome.js';
import { runningRecord } from '../../functions/core/run-start.js';
import { type AzureRunAudit, runPartition } from './audit.js';
import { RunExistsError } from './run-errors.js';
import type { StoredAzureRun } from './run-records.js';
import {
  type AzureTables,
  deleteAsRead,
  entityKey,
  lostRace,
  MAX_TRANSACTION,
  newestFirst,
  ownProperties,
  packText,
  readEntity,
  retryRaces,
  unpackText,
} from './tables.js';

const RUN = 'run';
const ALL = 'all';
type Entity = Record<string, unknown>;

export class AzureRunStore {
  private readonly runs: TableClient;
  private readonly index: TableClient;

  constructor(
    tables: AzureTables,
    private readonly trail: AzureRunAudit,
  ) {
    this.runs = tables.client('runs');
    this.index = tables.client('runIndex');
  }

  /**
   * Writes the record of a new run (status running) and its `run.started` entry at `at`, or nothing of
   * them: throws RunExistsError when the id is taken.
   */
  async create(start: RunStart, at: number, where: { version: number | null }): Promise<StoredAzureRun> {
    if (!Number.isSafeInteger(at) || at < 0)
      throw new Error(`run ${start.runId}: the start time must be ms since epoch, got ${at}`);
    const run: StoredAzureRun = { ...runningRecord(start, at), ...where };
    const partitionKey = runPartition(run.id);
    const exists = () => new RunExistsError(`run ${run.id} exists already`);
    // Checked first so that a known id leaves no index entity behind.
    const head = await this.trail.head(run.id);
    if (head.seq !== 0 || (await readEntity(this.runs, partitionKey, RUN)) !== undefined) throw exists();
    await Promise.all(
      indexPartitions(run).map((pk) =>
        this.index.upsertEntity({ partitionKey: pk, rowKey: indexRow(run), runId: run.id }, 'Replace'),
      ),
    );
    const { actions } = this.trail.entriesActions(run.id, head, [{ entry: runStartedEntry(start), at }]);
    try {
      await this.runs.submitTransaction([
        ['create', { partitionKey, rowKey: RUN, ...toEntity(run) }],
        ...actions,
      ]);
    } catch (error) {
      if (lostRace(error)) throw exists();
      throw error;
    }
    return run;
  }

  /** The run's record; undefined for an unknown run. */
  async get(runId: string): Promise<StoredAzureRun | undefined> {
    const found = await readEntity<Entity>(this.runs, runPartition(runId), RUN);
    return found === undefined ? undefined : fromEntity(found);
  }

  /** Runs newest first, filtered as RunFilter says (at most `limit`, 100 by default). */
  async list(filter: RunFilter = {}): Promise<StoredAzureRun[]> {
    const limit = filter.limit ?? 100;
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new Error(`limit must be a non-negative integer, got ${limit}`);
    const range = rowRange(filter);
    if (range === undefined || limit === 0) return [];
    const partitionKey = listingPartition(filter);
    const found: StoredAzureRun[] = [];
    const pages = this.index
      .listEntities<Entity>({ queryOptions: { filter: `PartitionKey eq '${partitionKey}'${range}` } })
      .byPage({ maxPageSize: Math.min(1000, Math.max(limit, 50)) });
    for await (const page of pages) {
      const runs = await Promise.all(page.map((entity) => this.listed(entity)));
      for (const run of runs) if (run !== undefined && matches(run, filter)) found.push(run);
      // Enough once the runs not read yet are all older than the limit-th (a tie is broken by id).
      const boundary = found[limit - 1];
      const lastRead = page[page.length - 1];
      if (boundary !== undefined && (lastRead === undefined || createdAtOf(lastRead) < boundary.createdAt))
        break;
    }
    return found.sort(newestFirstById).slice(0, limit);
  }

  /**
   * Ends a running run with `outcome` at `at` and appends `entries` to its trail (at `at`), all or nothing;
   * `path` (RunRecord.pathOutcome; null: nothing decided the path) is stored in the same write. False when
   * the run is unknown or has ended already (nothing is written): an end is applied once.
   */
  end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean> {
    if (entries.length > MAX_TRANSACTION - 2)
      throw new Error(
        `run ${runId}: an end writes at most ${MAX_TRANSACTION - 2} entries, got ${entries.length}`,
      );
    const partitionKey = runPartition(runId);
    return retryRaces(`ending run ${runId}`, async () => {
      const [record, head] = await Promise.all([
        readEntity<Entity>(this.runs, partitionKey, RUN),
        this.trail.head(runId),
      ]);
      if (record === undefined || record.status !== ('running' satisfies RunStatus)) return false;
      const ended = {
        partitionKey,
        rowKey: RUN,
        ...ownProperties(record),
        status: outcome.status,
        endedAt: at,
        ...packText('outcome', JSON.stringify(outcome)),
        ...(path === undefined || path === null ? {} : packText('pathOutcome', JSON.stringify(path))),
      };
      const { actions } = this.trail.entriesActions(
        runId,
        head,
        entries.map((entry) => ({ entry, at })),
      );
      await this.runs.submitTransaction([['update', ended, 'Replace', { etag: record.etag }], ...actions]);
      return true;
    });
  }

  /** The run an index entity lists, or undefined (skipped; deleted when its record contradicts it). */
  private async listed(entity: TableEntityResult<Entity>): Promise<StoredAzureRun | undefined> {
    const run = await this.get(String(entity.runId));
    if (run === undefined) return undefined;
    if (indexRow(run) === entity.rowKey && indexPartitions(run).includes(String(entity.partitionKey)))
      return run;
    await deleteAsRead(this.index, entity);
    return undefined;
  }
}

function indexPartitions(run: RunRecord): string[] {
  return [
    ALL,
    entityKey('workflow', run.workflowId),
    entityKey('user', run.trigger.user.email.toLowerCase()),
  ];
}

/** The creation time an index entity's RowKey holds. */
function createdAtOf(entity: { rowKey?: string }): number {
  return Number.MAX_SAFE_INTEGER - Number(String(entity.rowKey).slice(0, 16));
}

function indexRow(run: Pick<RunRecord, 'id' | 'createdAt'>): string {
  return `${newestFirst(run.createdAt)}|${entityKey(run.id)}`;
}

/** The index partition a listing reads: the narrowest its filter names. */
function listingPartition(filter: RunFilter): string {
  if (filter.workflowId !== undefined) return entityKey('workflow', filter.workflowId);
  if (filter.triggeredBy !== undefined) return entityKey('user', filter.triggeredBy.toLowerCase());
  return ALL;
}

/** The RowKey conditions of the filter's time range; undefined when no run can be in it. */
function rowRange(filter: RunFilter): string | undefined {
  let range = '';
  for (const [name, value] of [
    ['from', filter.from],
    ['to', filter.to],
  ] as const)
    if (value !== undefined && !Number.isFinite(value))
      throw new Error(`${name} must be a time in ms since epoch, got ${value}`);
  const from = filter.from === undefined ? 0 : Math.ceil(filter.from);
  // createdAt >= from: newestFirst(createdAt) <= newestFirst(from), below newestFirst(from - 1).
  if (from > 0) range += ` and RowKey lt '${newestFirst(from - 1)}'`;
  if (filter.to !== undefined) {
    const to = Math.ceil(filter.to);
    if (to <= 0 || to <= from) return undefined;
    // createdAt < to: createdAt <= to - 1, newestFirst(createdAt) >= newestFirst(to - 1).
    range += ` and RowKey ge '${newestFirst(to - 1)}'`;
  }
  return range;
}

function matches(run: StoredAzureRun, filter: RunFilter): boolean {
  return (
    (filter.status === undefined || run.status === filter.status) &&
    (filter.workflowId === undefined || run.workflowId === filter.workflowId) &&
    (filter.triggeredBy === undefined ||
      run.trigger.user.email.toLowerCase() === filter.triggeredBy.toLowerCase())
  );
}

function newestFirstById(a: RunRecord, b: RunRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function toEntity(run: StoredAzureRun): Entity {
  return {
    id: run.id,
    workflowId: run.workflowId,
    ...(run.version === null ? {} : { version: run.version }),
    status: run.status,
    triggeredBy: run.trigger.user.email.toLowerCase(),
    ...packText('trigger', JSON.stringify(run.trigger)),
    ...packText('input', JSON.stringify(run.input)),
    createdAt: run.createdAt,
  };
}

function fromEntity(entity: Entity): StoredAzureRun {
  const outcome = unpackText(entity, 'outcome');
  const path = unpackText(entity, 'pathOutcome');
  return {
    id: String(entity.id),
    workflowId: String(entity.workflowId),
    version: typeof entity.version === 'number' ? entity.version : null,
    status: entity.status as RunStatus,
    trigger: JSON.parse(unpackText(entity, 'trigger') ?? 'null') as RunRecord['trigger'],
    input: JSON.parse(unpackText(entity, 'input') ?? 'null') as RunRecord['input'],
    createdAt: Number(entity.createdAt),
    endedAt: typeof entity.endedAt === 'number' ? entity.endedAt : null,
    outcome: outcome === undefined ? null : (JSON.parse(outcome) as RunOutcome),
    ...(path === undefined ? {} : { pathOutcome: JSON.parse(path) as RunOutcomeView }),
  };
}
