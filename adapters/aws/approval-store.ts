// Approval requests in the DynamoDB table (adapters/aws/table.ts): one item per (run, step, visit, level)
// in the run's partition, so a step's requests are one Query and the run's audit trail sits beside them.
// `create` is a conditional put (exactly once); `update` is compare-and-set on `version`, and with an audit
// entry it is ONE TransactWriteItems (the request, the trail's counter, the entry): both or neither.
// Requests are found across runs through the sparse index `gsi1`: `gsi1pk` is `APPROVAL#OPEN` while open,
// `APPROVAL#UNDELIVERED` while decided but not delivered, absent otherwise, so each listing is one Query
// over the few items that qualify (a per-approver item would need rewriting on every decision; the open
// list is short and filtered here, as the SQLite store does). Index reads are eventually consistent: a
// request decided a moment ago may still be listed (the decision itself is conditional, so no harm). The
// callback handle is sealed as in adapters/local/approval-store.ts (AES-256-GCM, the key from
// `approvalCallbackKey`, bound to the request's run, step, visit and level).
import {
  GetCommand,
  PutCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AuditEntry } from '../../functions/core/audit.js';
import { normalizeEmail } from '../../functions/core/identity.js';
import type { ApprovalRecord, ApprovalStore } from '../../functions/core/ports.js';
import { CallbackSeal } from '../local/callback-seal.js';
import { type DynamoRunAudit, runPartition } from './audit.js';
import { conditionFailed, queryAll, TABLE, type Table, transactionCancelled } from './table.js';

/** The same associated-data prefix as the SQLite store: a handle sealed by either opens in the other. */
const SK_PREFIX = 'APPROVAL#';
const OPEN = 'APPROVAL#OPEN';
const UNDELIVERED = 'APPROVAL#UNDELIVERED';
/** How many times an update with an audit entry re-reads the trail's counter after losing it. */
const MAX_ATTEMPTS = 50;

type Key = Pick<ApprovalRecord, 'runId' | 'stepId' | 'visit' | 'level'>;

export interface DynamoApprovalStoreOptions {
  /** 32 bytes (see `approvalCallbackKey`); without it, storing a callback handle is refused. */
  callbackKey?: Uint8Array;
  /** The run's audit trail, which `update` writes an entry to; without it, an update with one is refused. */
  audit?: DynamoRunAudit;
}

export class DynamoApprovalStore implements ApprovalStore {
  private readonly callbacks: CallbackSeal;
  private readonly audit: DynamoRunAudit | undefined;

  constructor(
    private readonly table: Table,
    options: DynamoApprovalStoreOptions = {},
  ) {
    this.callbacks = new CallbackSeal(options.callbackKey);
    this.audit = options.audit;
  }

  async create(r: ApprovalRecord): Promise<boolean> {
    const { callback: _, ...fields } = r;
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            ...fields,
            ...itemKey(r),
            callback: this.callbacks.seal(r) ?? undefined,
            version: 1,
            [TABLE.gsi1.partitionKey]: indexPartition(r),
            [TABLE.gsi1.sortKey]: `${String(r.createdAt).padStart(15, '0')}#${itemKey(r).sk}#${r.runId}`,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async get(
    runId: string,
    stepId: string,
    visit: number,
    level: number,
  ): Promise<ApprovalRecord | undefined> {
    const found = await this.table.client.send(
      new GetCommand({
        TableName: this.table.name,
        Key: itemKey({ runId, stepId, visit, level }),
        ConsistentRead: true,
      }),
    );
    return found.Item && this.toRecord(found.Item);
  }

  async openFor(runId: string, stepId: string): Promise<ApprovalRecord | undefined> {
    // Newest visit and level first; the filter also keeps out a step whose id extends this one's.
    const items = await this.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      FilterExpression: '#status = :open AND stepId = :step',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pk': runPartition(runId),
        ':prefix': `${SK_PREFIX}${stepId}#`,
        ':open': 'open',
        ':step': stepId,
      },
      ScanIndexForward: false,
      ConsistentRead: true,
    });
    return items[0] && this.toRecord(items[0]);
  }

  async pendingFor(email: string): Promise<ApprovalRecord[]> {
    const who = normalizeEmail(email);
    return (await this.listed(OPEN)).filter(
      (r) => r.approvers.includes(who) && !r.decisions.some((d) => d.by === who),
    );
  }

  undelivered(): Promise<ApprovalRecord[]> {
    return this.listed(UNDELIVERED);
  }

  async update(r: ApprovalRecord, audit?: AuditEntry): Promise<ApprovalRecord | undefined> {
    const write = this.updateInput(r);
    if (audit === undefined) {
      try {
        await this.table.client.send(new UpdateCommand(write));
      } catch (error) {
        if (conditionFailed(error)) return undefined;
        throw error;
      }
      return { ...r, version: r.version + 1 };
    }
    if (this.audit === undefined)
      throw new Error(
        `approval ${r.runId}/${r.stepId} level ${r.level}: an update carries an audit entry, but this store was given no audit trail to write it to`,
      );
    for (let attempt = 1; ; attempt++) {
      const entry = this.audit.entryWrites(r.runId, audit, await this.audit.lastSeq(r.runId));
      try {
        await this.table.client.send(
          new TransactWriteCommand({ TransactItems: [{ Update: write }, ...entry.writes] }),
        );
        return { ...r, version: r.version + 1 };
      } catch (error) {
        const reasons = transactionCancelled(error);
        if (reasons === undefined) throw error;
        // The request moved on: nothing was written. Otherwise another append took the seq: try the next.
        if (reasons[0] === 'ConditionalCheckFailed') return undefined;
        if (attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** The conditional write of `r`'s mutable fields, from the version it was read at. */
  private updateInput(r: ApprovalRecord): UpdateCommandInput & { UpdateExpression: string } {
    const callback = this.callbacks.seal(r);
    const gsi1pk = indexPartition(r);
    const set = ['#status = :status', 'decisions = :decisions', 'delivered = :delivered', 'version = :next'];
    const remove: string[] = [];
    const values: Record<string, unknown> = {
      ':status': r.status,
      ':decisions': r.decisions,
      ':delivered': r.delivered,
      ':next': r.version + 1,
      ':read': r.version,
    };
    if (callback === null) remove.push('callback');
    else {
      set.push('callback = :callback');
      values[':callback'] = callback;
    }
    if (gsi1pk === undefined) remove.push(TABLE.gsi1.partitionKey);
    else {
      set.push(`${TABLE.gsi1.partitionKey} = :gsi1pk`);
      values[':gsi1pk'] = gsi1pk;
    }
    return {
      TableName: this.table.name,
      Key: itemKey(r),
      UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ConditionExpression: 'version = :read',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
    };
  }

  /** The requests under `gsi1pk` in the index, oldest first. */
  private async listed(gsi1pk: string): Promise<ApprovalRecord[]> {
    const items = await this.query({
      IndexName: TABLE.gsi1.name,
      KeyConditionExpression: `${TABLE.gsi1.partitionKey} = :pk`,
      ExpressionAttributeValues: { ':pk': gsi1pk },
    });
    return items.map((item) => this.toRecord(item));
  }

  private query(input: Omit<QueryCommandInput, 'TableName'>): Promise<Record<string, unknown>[]> {
    return queryAll(this.table, input);
  }

  private toRecord(item: Record<string, unknown>): ApprovalRecord {
    const r = item as unknown as Omit<ApprovalRecord, 'callback'>;
    return {
      runId: r.runId,
      workflowId: r.workflowId,
      stepId: r.stepId,
      visit: r.visit,
      level: r.level,
      eventName: r.eventName,
      approvers: r.approvers,
      require: r.require,
      message: r.message,
      ...(r.context === undefined || r.context === null ? {} : { context: r.context }),
      requestedBy: r.requestedBy,
      requesters: r.requesters,
      allowSelfApproval: r.allowSelfApproval,
      deadline: r.deadline,
      status: r.status,
      decisions: r.decisions,
      createdAt: r.createdAt,
      delivered: r.delivered,
      callback: this.callbacks.open(r, item.callback instanceof Uint8Array ? item.callback : null),
      version: r.version,
    };
  }
}

/** Where a request sits in the table: its run's partition, ordered by step, visit and level. */
function itemKey(r: Key): { pk: string; sk: string } {
  const visit = String(r.visit).padStart(6, '0');
  const level = String(r.level).padStart(6, '0');
  return { pk: runPartition(r.runId), sk: `${SK_PREFIX}${r.stepId}#${visit}#${level}` };
}

/** Which listing of the index a request is in, if any. */
function indexPartition(r: Pick<ApprovalRecord, 'status' | 'delivered'>): string | undefined {
  if (r.status === 'open') return OPEN;
  if ((r.status === 'approved' || r.status === 'rejected') && !r.delivered) return UNDELIVERED;
  return undefined;
}
