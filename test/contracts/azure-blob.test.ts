// The ResultStore contract against BlobResultStore (adapters/azure/result-store.ts) on Azurite's blob
// service: Blob Storage's real wire protocol, `If-None-Match: *` and the MD5 it checks and keeps included.
// Each test gets a container of its own; each store of a test its own ContainerClient (its own pipeline),
// as two function instances would have. Beside the contract: the blob's name, content type and MD5 as
// Blob Storage keeps them, that a second put does not replace the first blob, how a blob changed under the
// store's feet is refused, and what a missing container or a wrong container name reads as.
import { createHash } from 'node:crypto';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobResultStore } from '../../adapters/azure/result-store.js';
import { type Azurite, DEV_ACCOUNT, DEV_KEY, startAzurite } from '../support/azurite.js';
import { type Contenders, fresh } from './contenders.js';
import { describeResultStoreContract } from './result-store.contract.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

let containers = 0;

function containerClient(name: string): ContainerClient {
  if (azurite === undefined) throw new Error('Azurite is not running');
  // Blob Storage's own key credential: the tables' AzureNamedKeyCredential is not one it takes.
  const key = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY);
  return new ContainerClient(`${azurite.blobEndpoint}/${name}`, key);
}

/** A fresh container and two stores of it, each with its own client. */
async function twoStores(): Promise<Contenders<BlobResultStore> & { container: string }> {
  const container = `results-${process.pid}-${++containers}`;
  await containerClient(container).create();
  return {
    container,
    connections: [0, 1].map(() => new BlobResultStore(containerClient(container))),
    close: () => {},
  };
}

describeResultStoreContract('Blob Storage (Azurite)', twoStores);

const KEY = { runId: 'run/1', stepId: 'fetch', visit: 2, attempt: 3 };

describe('the Blob Storage result store', () => {
  it('stores one blob named by the key and the content’s hash, as application/json with its MD5', async () => {
    const made = await twoStores();
    const [store] = await fresh(() => made);
    const json = JSON.stringify({ rows: [1, 2], text: 'é ✓' });
    const uri = await store.put(KEY, json);
    const sha = createHash('sha256').update(json).digest('hex');
    const name = `results/run%2F1/fetch/2/3/${sha}.json`;
    expect(uri).toBe(`${azurite?.blobEndpoint}/${made.container}/${name.replace(/%/g, '%25')}`);
    const listed = [];
    for await (const blob of containerClient(made.container).listBlobsFlat()) listed.push(blob);
    expect(listed.map((b) => b.name)).toEqual([name]);
    const properties = listed[0]?.properties;
    expect(properties?.contentType).toBe('application/json');
    expect(Buffer.from(properties?.contentMD5 ?? []).toString('base64')).toBe(
      createHash('md5').update(json).digest('base64'),
    );
    expect(await store.get(uri)).toBe(json);
  });

  it('does not rewrite a stored result: a second put leaves the first blob as it was', async () => {
    const made = await twoStores();
    const [store, other] = await fresh(() => made);
    const uri = await store.put(KEY, '{"a":1}');
    const blob = containerClient(made.container).getBlockBlobClient(
      decodeURIComponent(uri.split(`/${made.container}/`)[1] ?? ''),
    );
    const before = await blob.getProperties();
    expect(await other.put(KEY, '{"a":1}')).toBe(uri);
    const after = await blob.getProperties();
    expect(after.etag).toBe(before.etag);
    expect(after.lastModified).toEqual(before.lastModified);
  });

  it('refuses a blob whose bytes no longer match the MD5 Blob Storage keeps', async () => {
    const made = await twoStores();
    const [store] = await fresh(() => made);
    const uri = await store.put(KEY, '{"a":1}');
    const name = decodeURIComponent(uri.split(`/${made.container}/`)[1] ?? '');
    const blob = containerClient(made.container).getBlockBlobClient(name);
    // Another writer replaces the bytes, then sets the old MD5 back (Set Blob Properties keeps what it is told).
    const old = (await blob.getProperties()).contentMD5;
    await blob.upload('{"a":2}', 7);
    await blob.setHTTPHeaders({ blobContentType: 'application/json', blobContentMD5: old });
    await expect(store.get(uri)).rejects.toThrow(/does not match the MD5 Blob Storage keeps/);
  });

  it('reads a missing blob as undefined and names a missing container', async () => {
    const made = await twoStores();
    const [store] = await fresh(() => made);
    const uri = await store.put(KEY, '{"a":1}');
    expect(await store.get(uri.replace(/[0-9a-f]{64}\.json$/, `${'0'.repeat(64)}.json`))).toBeUndefined();
    const gone = new BlobResultStore(containerClient('no-such-container'));
    await expect(gone.put(KEY, '{"a":1}')).rejects.toThrow(
      "the results container 'no-such-container' does not exist in the blob service",
    );
  });

  it('refuses a container name Blob Storage would refuse, naming the field', () => {
    expect(() => new BlobResultStore(containerClient('Results'))).toThrow(
      /container must be a Blob Storage container name.*'Results'/,
    );
    expect(() => new BlobResultStore(containerClient('a--b'))).toThrow(/container/);
  });
});
