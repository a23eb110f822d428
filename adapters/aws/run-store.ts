// Run records in the DynamoDB table (adapters/aws/table.ts), for the Step Functions host
// (adapters/aws/step-functions-host.ts): one item per run (pk `RUN#<id>`, sk `RUN`, beside the run's audit
// trail and approval requests), in the sparse `gsi1` under `RUNS` with `gsi1sk` the creation time (16
// digits) and the id, so a listing is one Query newest first, the time range its key condition and the
// other filters a FilterExpression (paged until the limit is filled).
//
// Exactly one start per run id: the record is a conditional put (`attribute_not_exists`), written in ONE
// TransactWriteItems with the trail's first entry (`run.started`), so of concurrent starts of one id
// exactly one writes anything. A run ends once: the end is a transaction too, the record's update
// conditioned on `status = running` and the trail's end entries appended with it, so a redelivered status
// event, or a cancel racing the execution's own end, writes nothing the second time and never regresses a
// terminal status. Listings read the index, which DynamoDB keeps eventually consistent (moto at once);
// `get` reads strongly. Trigger, input and outcome are kept as JSON text (any JSON the run holds, as
// written), and so is `pathOutcome` (what decided a completed run's path; `null` when nothing did), set by
// the end that completes the run, in its update — a completed run without it completed before runs kept it
// (`unrecorded`, `recordPath`); `triggeredBy` is the lower-cased email of who the run acts for, for the filter.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry, runStartedEntry } from '../../functions/core/audit.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { RunFilter, RunRecord } from '../../functions/core/ports.js';
import type { RunOutcome, RunStatus } from '../../functions/core/protocol.js';
import type { RunOutcomeView } from '../../functions/core/run-outcome.js';
import { runningRecord } from '../../functions/core/run-start.js';
import { type DynamoRunAudit, runPartition } from './audit.js';
import { conditionFailed, queryAll, type Table, type TransactItem, transactionCancelled } from './table.js';

const RUN_SK = 'RUN';
const RUNS = 'RUNS';
/** How many times an end re-reads the trail's counter after losing it to another append. */
const MAX_ATTEMPTS = 50;

/** A run record as the AWS host keeps it: the port's fields, and where the run executes. */
export interface StoredRun extends RunRecord {
  /** The Stepgate version of the workflow the run was started on (null when the start named none). */
  version: number | null;
  /** The execution's ARN, known once the run record is written (executions are named by the run id). */
  executionArn: string;
}

/** A start refused because a run with that id exists already (DurableHost: one start per run id). */
export class RunExistsError extends Error {
  override name = 'RunExistsError';
}

export class DynamoRunStore {
  constructor(
    private readonly table: Table,
    private readonly trail: DynamoRunAudit,
  ) {}

  /**
   * Writes the record of a new run (status running) and its `run.started` entry, or nothing: throws
   * RunExistsError when the id is taken.
   */
  async create(
    start: RunStart,
    at: number,
    where: { version: number | null; executionArn: string },
  ): Promise<StoredRun> {
    const run: StoredRun = { ...runningRecord(start, at), ...where };
    const started = runStartedEntry(start);
    const { writes } = this.trail.entriesWrites(run.id, [started], 0);
    const record: TransactItem = {
      Put: {
        TableName: this.table.name,
        Item: toItem(run),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    try {
      await this.table.client.send(new TransactWriteCommand({ TransactItems: [record, ...writes] }));
    } catch (error) {
      // Any condition: the record, or the trail a run of that id began (both exist only together).
      if (transactionCancelled(error)?.includes('ConditionalCheckFailed'))
        throw new RunExistsError(`run ${run.id} exists already`);
      throw error;
    }
    return run;
  }

  /** The run's record, read strongly consistent; undefined for an unknown run. */
  async get(runId: string): Promise<StoredRun | undefined> {
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: runKey(runId), ConsistentRead: true }),
    );
    return found.Item === undefined ? undefined : fromItem(found.Item);
  }

  /** Runs newest first, filtered as RunFilter says (at most `limit`, 100 by default). */
  async list(filter: RunFilter = {}): Promise<StoredRun[]> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':runs': RUNS };
    let key = 'gsi1pk = :runs';
    if (filter.from !== undefined && filter.to !== undefined) {
      key += ' AND gsi1sk BETWEEN :from AND :to';
      Object.assign(values, { ':from': timeKey(filter.from), ':to': timeKey(filter.to) });
    } else if (filter.from !== undefined) {
      key += ' AND gsi1sk >= :from';
      values[':from'] = timeKey(filter.from);
    } else if (filter.to !== undefined) {
      // `<time>#<id>` sorts after `<time>`: a run created at `to` itself is left out, as "before" says.
      key += ' AND gsi1sk < :to';
      values[':to'] = timeKey(filter.to);
    }
    const tests: string[] = [];
    const test = (attribute: string, value: unknown): void => {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      tests.push(`#${attribute} = :${attribute}`);
    };
    if (filter.status !== undefined) test('status', filter.status);
    if (filter.workflowId !== undefined) test('workflowId', filter.workflowId);
    if (filter.triggeredBy !== undefined) test('triggeredBy', filter.triggeredBy.toLowerCase());
    const items = await queryAll(
      this.table,
      {
        IndexName: 'gsi1',
        KeyConditionExpression: key,
        ...(tests.length > 0
          ? { FilterExpression: tests.join(' AND '), ExpressionAttributeNames: names }
          : {}),
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
      },
      filter.limit ?? 100,
    );
    return items.map(fromItem);
  }

  /**
   * Ends a running run with `outcome` at `at` and appends `entries` to its trail, all or nothing; `path`
   * (what decided a completed run's path, RunRecord.pathOutcome; null: nothing did) is stored in the same
   * update. False when the run is unknown or has ended already (nothing is written): an end is applied once.
   */
  async end(
    runId: string,
    outcome: RunOutcome,
    at: number,
    entries: AuditEntry[],
    path?: RunOutcomeView | null,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const { writes } = this.trail.entriesWrites(runId, entries, await this.trail.lastSeq(runId));
      const update: TransactItem = {
        Update: {
          TableName: this.table.name,
          Key: runKey(runId),
          UpdateExpression: `SET #status = :status, outcome = :outcome, endedAt = :at${path === undefined ? '' : ', pathOutcome = :path'}`,
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': outcome.status,
            ':outcome': JSON.stringify(outcome),
            ':at': at,
            ':running': 'running' satisfies RunStatus,
            ...(path === undefined ? {} : { ':path': JSON.stringify(path) }),
          },
        },
      };
      try {
        await this.table.client.send(new TransactWriteCommand({ TransactItems: [update, ...writes] }));
        return true;
      } catch (error) {
        const codes = transactionCancelled(error);
        if (codes === undefined) throw error;
        if (codes[0] === 'ConditionalCheckFailed') return false;
        if (attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Up to `limit` runs that completed before runs kept what decided their path (no `pathOutcome`). */
  async unrecorded(limit: number): Promise<StoredRun[]> {
    const items = await queryAll(
      this.table,
      {
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :runs',
        FilterExpression: '#status = :completed AND attribute_not_exists(pathOutcome)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':runs': RUNS, ':completed': 'completed' satisfies RunStatus },
      },
      limit,
    );
    return items.map(fromItem);
  }

  /** Records what decided a completed run's path where nothing is recorded yet; false when something is. */
  async recordPath(runId: string, path: RunOutcomeView | null): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: runKey(runId),
          UpdateExpression: 'SET pathOutcome = :path',
          ConditionExpression: '#status = :completed AND attribute_not_exists(pathOutcome)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':path': JSON.stringify(path),
            ':completed': 'completed' satisfies RunStatus,
          },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }
}

function runKey(runId: string): { pk: string; sk: string } {
  return { pk: runPartition(runId), sk: RUN_SK };
}

function timeKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(16, '0');
}

function toItem(run: StoredRun): Record<string, unknown> {
  return {
    ...runKey(run.id),
    id: run.id,
    workflowId: run.workflowId,
    version: run.version,
    executionArn: run.executionArn,
    status: run.status,
    triggeredBy: run.trigger.user.email.toLowerCase(),
    trigger: JSON.stringify(run.trigger),
    input: JSON.stringify(run.input),
    createdAt: run.createdAt,
    endedAt: run.endedAt,
    outcome: run.outcome === null ? null : JSON.stringify(run.outcome),
    gsi1pk: RUNS,
    gsi1sk: `${timeKey(run.createdAt)}#${run.id}`,
  };
}

function fromItem(item: Record<string, unknown>): StoredRun {
  return {
    id: String(item.id),
    workflowId: String(item.workflowId),
    version: typeof item.version === 'number' ? item.version : null,
    executionArn: String(item.executionArn),
    status: item.status as RunStatus,
    trigger: JSON.parse(String(item.trigger)) as RunRecord['trigger'],
    input: JSON.parse(String(item.input)) as RunRecord['input'],
    createdAt: Number(item.createdAt),
    endedAt: typeof item.endedAt === 'number' ? item.endedAt : null,
    outcome: typeof item.outcome === 'string' ? (JSON.parse(item.outcome) as RunOutcome) : null,
    ...(typeof item.pathOutcome === 'string' && item.pathOutcome !== 'null'
      ? { pathOutcome: JSON.parse(item.pathOutcome) as RunOutcomeView }
      : {}),
  };
}
