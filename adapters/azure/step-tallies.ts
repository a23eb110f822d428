// The counters a workflow's activities keep beside a run on Azure Table Storage (adapters/azure/tables.ts,
// table `steps`). A run's counters share one partition, so what must change together is one entity-group
// transaction and a compare-and-set is an ETag:
//
// | PartitionKey    | RowKey                              | properties                                        |
// | --------------- | ----------------------------------- | ------------------------------------------------- |
// | entityKey(run)  | `count|` + entityKey(step)          | `count`: the visits numbered so far                |
// | entityKey(run)  | `entry|` + entityKey(step, entered) | `visit`: the number that entered time took         |
// | entityKey(run)  | `quorum|` + entityKey(step)         | `finishes` (packText): the finishes as JSON, in order |
//
// `visitAt` reads the entry (a time seen before answers its number), then the counter, and writes the entry
// (create) and the counter (create, or replace at the ETag read) in one transaction: a racer that committed
// first makes it fail with 409 or 412, and it reads again — it takes the next number or finds its time
// numbered. `add` reads a quorum's finishes and replaces them at the ETag read (or creates them); a lost
// race reads again. A quorum's finishes share one entity of at most 1 MiB (2 MB on Cosmos DB): the
// branches' result overlays together must stay below that.
import type { TableClient } from '@azure/data-tables';
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import { type AzureTables, entityKey, packText, readEntity, retryRaces, unpackText } from './tables.js';

const countKey = (stepId: string) => `count|${entityKey(stepId)}`;
const entryKey = (stepId: string, enteredTime: string) => `entry|${entityKey(stepId, enteredTime)}`;
const quorumKey = (stepId: string) => `quorum|${entityKey(stepId)}`;

export class AzureStepVisits implements StepVisits {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('steps');
  }

  async latest(runId: string, stepId: string): Promise<number> {
    const counter = await readEntity<{ count: number }>(this.client, entityKey(runId), countKey(stepId));
    return counter?.count ?? 0;
  }

  visitAt(runId: string, stepId: string, enteredTime: string): Promise<number> {
    const partitionKey = entityKey(runId);
    return retryRaces(`the visits of ${runId}/${stepId}`, async () => {
      const entry = { partitionKey, rowKey: entryKey(stepId, enteredTime) };
      const seen = await readEntity<{ visit: number }>(this.client, partitionKey, entry.rowKey);
      if (seen !== undefined) return seen.visit;
      const counter = await readEntity<{ count: number }>(this.client, partitionKey, countKey(stepId));
      const visit = (counter?.count ?? 0) + 1;
      const count = { partitionKey, rowKey: countKey(stepId), count: visit };
      await this.client.submitTransaction([
        ['create', { ...entry, visit }],
        counter === undefined ? ['create', count] : ['update', count, 'Replace', { etag: counter.etag }],
      ]);
      return visit;
    });
  }
}

export class AzureQuorumTallies implements QuorumTallies {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('steps');
  }

  add(runId: string, stepId: string, finish: BranchFinish): Promise<BranchFinish[]> {
    const partitionKey = entityKey(runId);
    const rowKey = quorumKey(stepId);
    return retryRaces(`the quorum of ${runId}/${stepId}`, async () => {
      const stored = await readEntity(this.client, partitionKey, rowKey);
      const finishes = JSON.parse((stored && unpackText(stored, 'finishes')) ?? '[]') as BranchFinish[];
      // Recorded before: its first finish keeps its place, and the answer is what came up to it.
      const place = finishes.findIndex((f) => f.branch === finish.branch);
      if (place >= 0) return finishes.slice(0, place + 1);
      const now = [...finishes, finish];
      const entity = { partitionKey, rowKey, ...packText('finishes', JSON.stringify(now)) };
      if (stored === undefined) await this.client.createEntity(entity);
      else await this.client.updateEntity(entity, 'Replace', { etag: stored.etag });
      return now;
    });
  }
}
