// The tables the Azure adapters keep, and what they share about them. The same client (`@azure/data-tables`)
// and wire protocol serve Azure Table Storage and Azure Cosmos DB for Table: an adapter is given an
// AzureTables (an endpoint, a credential, a name prefix) and never knows which one it writes to.
//
// Table Storage has no secondary index: an entity is found by its PartitionKey and RowKey, a query is cheap
// only within one partition (a RowKey range), and a transaction (an entity-group batch, at most 100
// operations) covers one partition of one table. So each adapter lays its entities out for the reads it
// makes, keeps its own index entities where it lists across partitions, and writes together what must
// change together into one partition. Compare-and-set is an ETag: a create fails with 409 when the entity
// exists, a replace or delete with `If-Match` fails with 412 when it changed since it was read.
//
// Keys may not hold `/`, `\`, `#`, `?` or control characters and are at most 1 KiB: `entityKey` turns any
// key into one (the shared percent-encoding; a long one is `~` and its SHA-256). A string property holds at
// most 32 K characters (64 KiB of UTF-16): `packText` splits longer text over numbered properties. An
// entity holds at most 1 MiB (2 MB on Cosmos DB).
import type { TokenCredential } from '@azure/core-auth';
import { type NamedKeyCredential, TableClient, type TableEntityResult } from '@azure/data-tables';
import { encodedKey, retryRacesWith } from '../storage-keys.js';

export interface TableSpec {
  /** The table's name after the deployment's prefix (letters and digits: Azure allows nothing else). */
  name: string;
  /** The adapter(s) writing it and what it holds (the layout is documented in each adapter's header). */
  holds: string;
}

/** Every table the Azure adapters use, filled in by the adapters; infra/azure creates exactly these. */
export const TABLES = {
  workflows: { name: 'Workflows', holds: 'adapters/azure/workflow-store.ts: workflow heads and versions' },
  identity: {
    name: 'Identity',
    holds: 'adapters/azure/session-store.ts, directory.ts: sessions, API tokens, users, the admin set',
  },
  intake: {
    name: 'Intake',
    holds: 'adapters/azure/webhook-store.ts, rate-limiter.ts: webhook delivery claims, rate-limit buckets',
  },
  runs: {
    name: 'Runs',
    holds:
      'adapters/azure/run-store.ts, audit.ts, approval-store.ts: per run (one partition) its record, its audit trail and its approvals',
  },
  runIndex: {
    name: 'RunIndex',
    holds:
      'adapters/azure/run-store.ts, approval-store.ts: runs newest first, open and undelivered approvals',
  },
  links: { name: 'Links', holds: 'adapters/azure/approval-link-store.ts: spent approval-link nonces' },
  steps: { name: 'Steps', holds: 'adapters/azure/step-tallies.ts: step visits and quorum tallies' },
  schedules: { name: 'Schedules', holds: 'adapters/azure/schedule-store.ts: schedules and their fires' },
  claims: { name: 'Claims', holds: 'adapters/azure/activity-claims.ts: claimed activity attempts' },
  vault: { name: 'Vault', holds: 'adapters/azure/vault.ts: sealed secrets and the wrapped data key' },
} as const satisfies Record<string, TableSpec>;

export type TableId = keyof typeof TABLES;

/** A deployment's table prefix: a letter, then letters and digits (a table name is at most 63 of them). */
export const TABLE_PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,39}$/;

export interface AzureTablesOptions {
  /** The table service: `https://<account>.table.core.windows.net`, `https://<account>.table.cosmos.azure.com`, or Azurite's. */
  endpoint: string;
  /** A managed identity (Microsoft Entra token), or an account key (Azurite's well-known one in tests). */
  credential: TokenCredential | NamedKeyCredential;
  /** Starts every table name of this deployment (`stepgate` → `stepgateRuns`). */
  prefix: string;
  /** Only for a loopback emulator: plain HTTP. */
  allowInsecureConnection?: boolean;
}

/** The deployment's tables: one client per table, made once. */
export class AzureTables {
  private readonly clients = new Map<TableId, TableClient>();

  constructor(readonly options: AzureTablesOptions) {
    if (!TABLE_PREFIX_PATTERN.test(options.prefix))
      throw new Error(
        `the table prefix "${options.prefix}" must be a letter followed by at most 39 letters and digits`,
      );
  }

  /** The full name of table `id` in this deployment. */
  tableName(id: TableId): string {
    return `${this.options.prefix}${TABLES[id].name}`;
  }

  client(id: TableId): TableClient {
    let client = this.clients.get(id);
    if (client === undefined) {
      const { endpoint, credential, allowInsecureConnection } = this.options;
      client = new TableClient(endpoint, this.tableName(id), credential as TokenCredential, {
        allowInsecureConnection: allowInsecureConnection === true,
      });
      this.clients.set(id, client);
    }
    return client;
  }

  /** Creates every table that does not exist yet (tests, and a deployment's first start). */
  async createAll(): Promise<void> {
    await Promise.all(Object.keys(TABLES).map((id) => this.client(id as TableId).createTable()));
  }
}

/** A PartitionKey or RowKey standing for the key `parts`, one to one (see the header). */
export function entityKey(...parts: Array<string | number>): string {
  return encodedKey('~', parts);
}

/** A number as fixed-width digits, so RowKeys sort as the numbers do (non-negative integers). */
export function digits(n: number, width = 16): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${n} is not a non-negative integer`);
  return String(n).padStart(width, '0');
}

/** Fixed-width digits that sort newest first: the complement of `ms` (ms since epoch). */
export function newestFirst(ms: number): string {
  return digits(Number.MAX_SAFE_INTEGER - ms);
}

const statusOf = (error: unknown): unknown =>
  typeof error === 'object' && error !== null ? (error as { statusCode?: unknown }).statusCode : undefined;

/** A create found the entity there already (409), alone or in a transaction. */
export function alreadyExists(error: unknown): boolean {
  return statusOf(error) === 409;
}

/** A read, update or delete of an entity (or table) that does not exist (404). */
export function notFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** An `If-Match` write of an entity that changed since it was read (412). */
export function changedSinceRead(error: unknown): boolean {
  return statusOf(error) === 412;
}

/** A write conditioned on what was read lost to another writer: created, changed or deleted meanwhile. */
export function lostRace(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 412 || status === 404;
}

/** Runs `attempt` (read, decide, write conditioned on the read) until it does not lose a race. */
export function retryRaces<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  return retryRacesWith(lostRace, what, attempt);
}

/** The entity at (partitionKey, rowKey) with its ETag, or undefined. */
export async function readEntity<T extends object = Record<string, unknown>>(
  client: TableClient,
  partitionKey: string,
  rowKey: string,
): Promise<TableEntityResult<T> | undefined> {
  try {
    return await client.getEntity<T>(partitionKey, rowKey);
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
}

/**
 * An entity's own properties as read, without what the service adds (keys, ETag, timestamp): what a store
 * writes back when it replaces an entity it read with some properties changed.
 */
export function ownProperties<T extends object>(entity: TableEntityResult<T>): Omit<T, 'etag'> {
  const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...own } = entity;
  return own as Omit<T, 'etag'>;
}

/** Deletes an entity only while it is as it was read; false when it changed or went since. */
export async function deleteAsRead(client: TableClient, entity: TableEntityResult<object>): Promise<boolean> {
  try {
    await client.deleteEntity(entity.partitionKey as string, entity.rowKey as string, { etag: entity.etag });
    return true;
  } catch (error) {
    if (changedSinceRead(error) || notFound(error)) return false;
    throw error;
  }
}

/** The most operations one entity-group transaction may hold. */
export const MAX_TRANSACTION = 100;

/** The most characters one string property holds (32 K UTF-16 code units), less a margin. */
export const MAX_PROPERTY_CHARS = 30_000;

/**
 * `text` as properties of an entity: `<name>` holds the number of parts and `<name>0`, `<name>1`, ... the
 * parts, each at most MAX_PROPERTY_CHARS (read back with `unpackText`).
 */
export function packText(name: string, text: string): Record<string, string | number> {
  const parts: Record<string, string | number> = {};
  let count = 0;
  for (let at = 0; at < text.length || count === 0; count++) {
    let end = Math.min(at + MAX_PROPERTY_CHARS, text.length);
    // Never between the two halves of a surrogate pair: each part must be well-formed text on the wire.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
    parts[`${name}${count}`] = text.slice(at, end);
    at = end;
  }
  parts[name] = count;
  return parts;
}

/** The text `packText` stored under `name`; undefined when the entity holds none. */
export function unpackText(entity: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const count = entity[name];
  if (typeof count !== 'number') return undefined;
  let text = '';
  for (let i = 0; i < count; i++) {
    const part = entity[`${name}${i}`];
    if (typeof part !== 'string') throw new Error(`the entity's ${name} lost its part ${i}`);
    text += part;
  }
  return text;
}
