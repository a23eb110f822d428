// The counters a state machine's handlers keep beside a run on the DynamoDB table (adapters/aws/table.ts,
// all in the run's partition `RUN#<runId>`): the visits by entered time (sk `ENTRIES#<stepId>`, the count
// so far, and sk `ENTRY#<stepId>#<enteredTime>`, the visit that time took, both written in one transaction
// conditioned on the count read), and the
// finished branches of a quorum parallel (sk `QUORUM#<stepId>`, one item: the finishes in the order they
// were recorded and the set of their branches, appended by one conditional update). Step ids have no `#`
// (translator/definition.ts). A quorum's finishes share one item of at most 400 KB: the branches' result
// overlays together must stay below that.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import { cancelledBy, conditionFailed, type Table } from './table.js';

/** How many times `visitAt` reads and writes again after losing a race before it gives up. */
const ATTEMPTS = 50;

const runKey = (runId: string, sk: string) => ({ pk: `RUN#${runId}`, sk });

export class DynamoStepVisits implements StepVisits {
  constructor(private readonly table: Table) {}

  async latest(runId: string, stepId: string): Promise<number> {
    return ((await this.get(runKey(runId, `ENTRIES#${stepId}`)))?.count as number | undefined) ?? 0;
  }

  async visitAt(runId: string, stepId: string, enteredTime: string): Promise<number> {
    const entry = runKey(runId, `ENTRY#${stepId}#${enteredTime}`);
    const counter = runKey(runId, `ENTRIES#${stepId}`);
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const seen = await this.get(entry);
      if (seen !== undefined) return seen.visit as number;
      const count = (await this.get(counter))?.count as number | undefined;
      const visit = (count ?? 0) + 1;
      try {
        await this.table.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.table.name,
                  Item: { ...entry, visit },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Put: {
                  TableName: this.table.name,
                  Item: { ...counter, count: visit },
                  ...(count === undefined
                    ? { ConditionExpression: 'attribute_not_exists(pk)' }
                    : {
                        ConditionExpression: '#count = :count',
                        ExpressionAttributeValues: { ':count': count },
                      }),
                  ExpressionAttributeNames: count === undefined ? undefined : { '#count': 'count' },
                },
              },
            ],
          }),
        );
        return visit;
      } catch (error) {
        if (cancelledBy(error) === undefined) throw error;
        // Another visit took the number (or this time was recorded meanwhile): read again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
    throw new Error(`the visits of ${runId}/${stepId} stayed contended through ${ATTEMPTS} attempts`);
  }

  private async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }),
    );
    return found.Item;
  }
}

export class DynamoQuorumTallies implements QuorumTallies {
  constructor(private readonly table: Table) {}

  async add(runId: string, stepId: string, finish: BranchFinish): Promise<BranchFinish[]> {
    const key = runKey(runId, `QUORUM#${stepId}`);
    try {
      const answer = await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression:
            'SET finishes = list_append(if_not_exists(finishes, :none), :finish) ADD branches :branches',
          ConditionExpression: 'NOT contains(branches, :branch)',
          ExpressionAttributeValues: {
            ':none': [],
            ':finish': [finish],
            ':branches': new Set([finish.branch]),
            ':branch': finish.branch,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return (answer.Attributes?.finishes ?? []) as BranchFinish[];
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
    // Recorded before: its first finish keeps its place, and the answer is what came up to it.
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }),
    );
    const finishes = (found.Item?.finishes ?? []) as BranchFinish[];
    const place = finishes.findIndex((f) => f.branch === finish.branch);
    if (place < 0) throw new Error(`branch ${finish.branch} of ${runId}/${stepId} vanished during its add`);
    return finishes.slice(0, place + 1);
  }
}
