// Published workflow definitions in the DynamoDB table (adapters/aws/table.ts): every version an item of
// its own (pk `WORKFLOW#<id>`, sk `VERSION#<version>`), never changed once written, and one head item per
// workflow in a shared partition (pk `WORKFLOWS`, sk `WORKFLOW#<id>`: its latest version and whether it was
// deleted), so `list` is one strongly consistent Query and `get` two reads. A save writes the new version
// and moves the head in ONE TransactWriteItems, the version a conditional put and the head conditioned on
// the version it was read at: of concurrent saves, one takes each number, the others re-read and take the
// next.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredWorkflowView, WorkflowStore } from '../../functions/core/ports.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { conditionFailed, queryAll, type Table, transactionCancelled } from './table.js';

const HEADS = 'WORKFLOWS';
const VERSION_PREFIX = 'VERSION#';
/** How many times a save re-reads the head after a concurrent save took its version. */
const MAX_ATTEMPTS = 50;

export class DynamoWorkflowStore implements WorkflowStore {
  /** Parsed once per version: callers get the same IR object, so what is cached per IR stays cached. */
  private readonly parsed = new Map<string, StoredWorkflowView>();

  constructor(private readonly table: Table) {}

  /** Saves a new version (one after the latest kept, deleted or not); returns it. */
  async save(input: {
    ir: IrWorkflow;
    source: string;
    format: 'yaml' | 'json';
    by: string;
    at: number;
  }): Promise<StoredWorkflowView> {
    const id = input.ir.id;
    for (let attempt = 1; ; attempt++) {
      const previous = (await this.head(id))?.version ?? 0;
      const saved: StoredWorkflowView = {
        id,
        version: previous + 1,
        name: input.ir.name,
        format: input.format,
        source: input.source,
        ir: input.ir,
        createdAt: input.at,
        createdBy: input.by,
      };
      try {
        await this.table.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: this.table.name,
                  Item: { ...saved, ...versionKey(id, saved.version), ir: JSON.stringify(saved.ir) },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Put: {
                  TableName: this.table.name,
                  Item: { ...headKey(id), id, version: saved.version, deleted: false },
                  ConditionExpression: previous === 0 ? 'attribute_not_exists(pk)' : 'version = :previous',
                  ExpressionAttributeValues: previous === 0 ? undefined : { ':previous': previous },
                },
              },
            ],
          }),
        );
        return saved;
      } catch (error) {
        if (transactionCancelled(error) === undefined || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  async get(id: string): Promise<StoredWorkflowView | undefined> {
    const head = await this.head(id);
    return head === undefined || head.deleted ? undefined : this.load(id, head.version);
  }

  async list(): Promise<StoredWorkflowView[]> {
    const heads = await this.query(HEADS, 'WORKFLOW#');
    const listed = await Promise.all(
      heads
        .filter((head) => head.deleted !== true)
        .map((head) => this.load(String(head.id), Number(head.version))),
    );
    return listed.flatMap((workflow) => (workflow === undefined ? [] : [workflow]));
  }

  async history(id: string): Promise<StoredWorkflowView[]> {
    return (await this.query(versionKey(id, 0).pk, VERSION_PREFIX)).map(toWorkflow);
  }

  /** False when there was no such workflow (or it was deleted already). Versions are kept. */
  async delete(id: string): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: headKey(id),
          UpdateExpression: 'SET deleted = :yes',
          ConditionExpression: 'deleted = :no',
          ExpressionAttributeValues: { ':yes': true, ':no': false },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  /** A version of a workflow, parsed once (the cache keeps each workflow's latest read). */
  private async load(id: string, version: number): Promise<StoredWorkflowView | undefined> {
    const cached = this.parsed.get(id);
    if (cached !== undefined && cached.version === version) return cached;
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: versionKey(id, version), ConsistentRead: true }),
    );
    if (found.Item === undefined) return undefined;
    const workflow = toWorkflow(found.Item);
    this.parsed.set(id, workflow);
    return workflow;
  }

  private async head(id: string): Promise<{ version: number; deleted: boolean } | undefined> {
    const found = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: headKey(id), ConsistentRead: true }),
    );
    return found.Item && { version: Number(found.Item.version), deleted: found.Item.deleted === true };
  }

  /** Every item of partition `pk` whose sort key starts with `prefix`, in sort key order. */
  private query(pk: string, prefix: string): Promise<Record<string, unknown>[]> {
    return queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ConsistentRead: true,
    });
  }
}

function headKey(id: string): { pk: string; sk: string } {
  return { pk: HEADS, sk: `WORKFLOW#${id}` };
}

function versionKey(id: string, version: number): { pk: string; sk: string } {
  return { pk: `WORKFLOW#${id}`, sk: `${VERSION_PREFIX}${String(version).padStart(10, '0')}` };
}

function toWorkflow(item: Record<string, unknown>): StoredWorkflowView {
  const w = item as unknown as Omit<StoredWorkflowView, 'ir'> & { ir: string };
  return {
    id: w.id,
    version: w.version,
    name: w.name,
    format: w.format,
    source: w.source,
    ir: JSON.parse(w.ir) as IrWorkflow,
    createdAt: w.createdAt,
    createdBy: w.createdBy,
  };
}
