// The one DynamoDB table the AWS adapters share (single-table design). Every item has a partition key `pk`
// and a sort key `sk`, both strings, prefixed by what the item is; items that may be forgotten carry `ttl`
// (epoch seconds), which DynamoDB's TTL deletes some time after. The keys, one row per kind of item:
//
// | item | pk | sk | other attributes |
// | --- | --- | --- | --- |
// | webhook delivery claim | `WEBHOOK#<workflowId>` | `DELIVERY#<deliveryId>` | runId, claimedAt, ttl |
// | spent approval-link nonce | `LINK#<nonce>` | `LINK` | runId, stepId, level, approver, usedAt, expiresAt, ttl |
// | rate-limit bucket | `RATE#<key>` | `RATE` | hits (call times in the window), version, lastAt, ttl |
// | schedule | `SCHEDULES` | `SCHEDULE#<id>` | the ScheduleRecord's fields |
// | schedule fire | `FIRES#<scheduleId>` | `FIRE#<scheduledTime, 16 digits>` | the ScheduleFireRecord's fields |
// | unfinished fire marker | `UNFINISHED_FIRES` | `<scheduledTime, 16 digits>#<scheduleId>` | the fire's fields |
// | visits by entered time | `RUN#<runId>` | `ENTRIES#<stepId>` / `ENTRY#<stepId>#<enteredTime>` | count / visit |
// | a quorum's finishes | `RUN#<runId>` | `QUORUM#<stepId>` | finishes (in recorded order), branches (set) |
// | audit entry of a run | `RUN#<runId>` | `AUDIT#<seq, 12 digits>` | seq, at, type, step, data (JSON text) |
// | last audit seq of a run | `RUN#<runId>` | `AUDIT-SEQ` | seq |
// | approval request | `RUN#<runId>` | `APPROVAL#<stepId>#<visit, 6 digits>#<level, 6 digits>` | the record, callback (sealed), version, gsi1pk?, gsi1sk |
// | run record | `RUN#<runId>` | `RUN` | id, workflowId, version, executionArn, status, triggeredBy, trigger/input/outcome (JSON text), pathOutcome? (JSON text, once completed), createdAt, endedAt, gsi1pk, gsi1sk |
// | state machine version | `WORKFLOW#<id>` | `MACHINE#<version, 10 digits>` | workflowId, version, stateMachineArn, versionArn, deployedAt |
// | workflow version | `WORKFLOW#<id>` | `VERSION#<version, 10 digits>` | name, format, source, ir (JSON text), createdAt, createdBy |
// | workflow head | `WORKFLOWS` | `WORKFLOW#<id>` | id, version (the latest), deleted |
// | vault secret | `VAULT#<scope>` | `SECRET#<name>` | scope, name, sealed (AES-256-GCM), updatedAt |
// | vault data key | `VAULT-KEY` | `VAULT-KEY` | encryptedKey (by KMS), kmsKeyId, createdAt |
// | login session | `SESSION#<sha256 of the token>` | `SESSION` | email, csrf, expiresAt, ttl |
// | a user's session entry | `SESSIONS#<email>` | `SESSION#<sha256 of the token>` | ttl |
// | API token | `TOKEN#<id>` | `TOKEN` | hash (of the secret), email, name, scopes, createdAt, lastUsedAt?, revokedAt?, gsi1pk, gsi1sk |
// | user | `USERS` | `USER#<email>` | name, role, groups, manager, disabled, service, passwordHash?, position, version |
// | enabled admins | `ADMINS` | `ADMINS` | admins (string set) |
// | last user position | `USER-SEQ` | `USER-SEQ` | seq |
//
// One global secondary index, `gsi1` (keys `gsi1pk`, `gsi1sk`, every attribute projected), is sparse: only
// items with a `gsi1pk` are in it. Approval requests use it to be found across runs: `APPROVAL#OPEN` while
// open, `APPROVAL#UNDELIVERED` while decided and not yet delivered, none otherwise; `gsi1sk` orders them by
// creation (see adapters/aws/approval-store.ts). API tokens are listed by owner through it: `TOKENS#<email>`,
// `gsi1sk` the creation time (16 digits) and id. Run records are listed newest first through it: `RUNS`,
// `gsi1sk` the creation time (16 digits) and the run id (see adapters/aws/run-store.ts).
//
// The same definition creates the table in tests (moto) and, later, in the CDK stack.
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  type DynamoDBClientConfig,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

import {
  DeleteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** The table's key schema and TTL attribute: what a stack and a test both create. */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

/** Where the adapters write: a document client (plain JS values in and out) and the table's name. */
export interface Table {
  client: DynamoDBDocumentClient;
  name: string;
}

/** A document client over `config` (endpoint, region, credentials) for the table `name`. */
export function openTable(name: string, config: DynamoDBClientConfig = {}): Table {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { client, name };
}

/** Creates the table (on demand billing) with its TTL; for tests and tools, the stack has its own. */
export async function createTable(table: Table): Promise<void> {
  const input: CreateTableCommandInput = {
    TableName: table.name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: TABLE.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.sortKey, AttributeType: 'S' },
      { AttributeName: TABLE.gsi1.partitionKey, AttributeType: 'S' },
      { AttributeName: TABLE.gsi1.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE.gsi1.name,
        KeySchema: [
          { AttributeName: TABLE.gsi1.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE.gsi1.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
  await table.client.send(new CreateTableCommand(input));
  await table.client.send(
    new UpdateTimeToLiveCommand({
      TableName: table.name,
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    }),
  );
}

/** Epoch seconds for a `ttl` attribute from ms since epoch (rounded up: never before the moment). */
export function ttlSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** One element of a TransactWriteItems (the document client's form). */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * For a cancelled transaction (a condition failed, or it met another transaction), the reason code of
 * each of its items in order (`None` for the items that were fine); undefined for any other error.
 */
export function transactionCancelled(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

/** True for the error a failed `ConditionExpression` raises. */
export function conditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * Why a TransactWriteItems was cancelled, when only for reasons a writer recovers from: `condition` when a
 * condition failed (the state it read is stale, or the write is refused), `conflict` when another write
 * touched the same items at the same moment (try again); undefined for any other error.
 */
export function cancelledBy(error: unknown): 'condition' | 'conflict' | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map(
    (r) => r.Code ?? 'None',
  );
  if (!codes.every((code) => ['None', 'ConditionalCheckFailed', 'TransactionConflict'].includes(code)))
    return undefined;
  return codes.includes('ConditionalCheckFailed') ? 'condition' : 'conflict';
}

/**
 * Deletes the items whose partition key starts with `prefix` and whose number attribute `attribute` is
 * below `before`, each only while that still holds (a conditional delete); answers how many. A scan: for
 * housekeeping on demand, where TTL does not already do it.
 */
export async function deleteOlder(
  table: Table,
  prefix: string,
  attribute: string,
  before: number,
): Promise<number> {
  let deleted = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new ScanCommand({
        TableName: table.name,
        FilterExpression: 'begins_with(pk, :prefix) AND #at < :before',
        ExpressionAttributeNames: { '#at': attribute },
        ExpressionAttributeValues: { ':prefix': prefix, ':before': before },
        ProjectionExpression: 'pk, sk',
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      try {
        await table.client.send(
          new DeleteCommand({
            TableName: table.name,
            Key: { pk: item.pk, sk: item.sk },
            ConditionExpression: '#at < :before',
            ExpressionAttributeNames: { '#at': attribute },
            ExpressionAttributeValues: { ':before': before },
          }),
        );
        deleted++;
      } catch (error) {
        if (!conditionFailed(error)) throw error;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return deleted;
}

/**
 * Every item a Query answers, page after page, up to `limit` items (all by default): the paging every
 * adapter's listings share.
 */
export async function queryAll(
  table: Table,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
  limit = Number.POSITIVE_INFINITY,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        ...input,
        TableName: table.name,
        ExclusiveStartKey: start,
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined && items.length < limit);
  return items;
}
