// The shared Azure table helpers on Azurite: table names, keys for any text, text longer than a property
// holds, and the status codes a lost race shows as.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AzureTables,
  alreadyExists,
  changedSinceRead,
  deleteAsRead,
  digits,
  entityKey,
  lostRace,
  MAX_PROPERTY_CHARS,
  newestFirst,
  packText,
  readEntity,
  TABLES,
  unpackText,
} from '../../adapters/azure/tables.js';
import { type Azurite, startAzurite } from '../support/azurite.js';

let azurite: Azurite;
let tables: AzureTables;
beforeAll(async () => {
  azurite = await startAzurite();
  tables = await azurite.freshTables();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

describe('Azure tables on Azurite', () => {
  it('creates every registered table under the prefix', async () => {
    const names: string[] = [];
    const service = tables.client('runs');
    for await (const entity of service.listEntities({ queryOptions: { filter: "PartitionKey eq 'none'" } }))
      names.push(String(entity.rowKey));
    expect(names).toEqual([]);
    expect(Object.values(TABLES).every((t) => /^[A-Z][A-Za-z0-9]+$/.test(t.name))).toBe(true);
    expect(tables.tableName('runs')).toBe(`${tables.options.prefix}Runs`);
  });

  it('stores entities under keys made of any text, one to one', async () => {
    const client = tables.client('intake');
    const awkward = ['a/b', 'c\\d', 'e#f', 'g?h', 'tab\there', 'ümlaut', '', '%41', 'A', 'x'.repeat(2_000)];
    for (const [i, text] of awkward.entries())
      await client.createEntity({ partitionKey: entityKey('k', text), rowKey: entityKey(i), text });
    for (const [i, text] of awkward.entries()) {
      const entity = await readEntity(client, entityKey('k', text), entityKey(i));
      expect(entity?.text).toBe(text);
    }
    expect(new Set(awkward.map((t) => entityKey(t))).size).toBe(awkward.length);
    expect(entityKey('x'.repeat(2_000))).toMatch(/^~[0-9a-f]{64}$/);
  });

  it('packs text longer than one property holds, surrogate pairs whole', async () => {
    const client = tables.client('workflows');
    const long = `${'a'.repeat(MAX_PROPERTY_CHARS - 1)}😀${'b'.repeat(MAX_PROPERTY_CHARS * 2)}`;
    for (const [rowKey, text] of [
      ['long', long],
      ['empty', ''],
    ] as const)
      await client.createEntity({ partitionKey: 'p', rowKey, ...packText('source', text) });
    const read = await readEntity(client, 'p', 'long');
    expect(read && unpackText(read, 'source')).toBe(long);
    const empty = await readEntity(client, 'p', 'empty');
    expect(empty && unpackText(empty, 'source')).toBe('');
    expect(empty && unpackText(empty, 'other')).toBeUndefined();
  });

  it('tells a lost race by its status: 409 on create, 412 on a stale ETag', async () => {
    const client = tables.client('claims');
    await client.createEntity({ partitionKey: 'p', rowKey: 'r', n: 1 });
    const first = await readEntity(client, 'p', 'r');
    const dup = await client.createEntity({ partitionKey: 'p', rowKey: 'r' }).catch((e: unknown) => e);
    expect(alreadyExists(dup) && lostRace(dup)).toBe(true);
    await client.updateEntity({ partitionKey: 'p', rowKey: 'r', n: 2 }, 'Replace', { etag: first?.etag });
    const stale = await client
      .updateEntity({ partitionKey: 'p', rowKey: 'r', n: 3 }, 'Replace', { etag: first?.etag })
      .catch((e: unknown) => e);
    expect(changedSinceRead(stale) && lostRace(stale)).toBe(true);
    expect(first && (await deleteAsRead(client, first))).toBe(false);
    const now = await readEntity(client, 'p', 'r');
    expect(now?.n).toBe(2);
    expect(now && (await deleteAsRead(client, now))).toBe(true);
  });

  it('orders fixed-width numbers as numbers, newest first when asked', () => {
    expect(digits(42, 6)).toBe('000042');
    expect([digits(10), digits(9)].sort()).toEqual([digits(9), digits(10)]);
    expect(newestFirst(2_000) < newestFirst(1_000)).toBe(true);
    expect(() => digits(-1)).toThrow(/non-negative/);
  });
});
