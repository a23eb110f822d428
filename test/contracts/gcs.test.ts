// The ResultStore contract against GcsResultStore (adapters/gcp/result-store.ts), Cloud Storage played by the
// recording fake (test/support/google-fake.ts) answering the JSON API requests @google-cloud/storage sends:
// a single-request upload (`POST /upload/storage/v1/b/<bucket>/o?uploadType=multipart&name=…
// &ifGenerationMatch=0`, a multipart/related body of the object's metadata and its bytes) and a download
// (`GET /storage/v1/b/<bucket>/o/<name>?alt=media`). The fake keeps objects in memory, refuses an upload
// over an existing object with 412 as Cloud Storage does, and reports each object's CRC32C and MD5 (in the
// upload's answer and the download's x-goog-hash header) so the library's integrity checks run. Beside the
// contract: the exact requests, and that a corrupted download is refused rather than answered.
import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsResultStore } from '../../adapters/gcp/result-store.js';
import { FAKE_TOKEN, type FakeRequest, type GoogleFake, startGoogleFake } from '../support/google-fake.js';
import { type Contenders, fresh } from './contenders.js';
import { describeResultStoreContract } from './result-store.contract.js';

process.env.METADATA_SERVER_DETECTION = 'none';

/** CRC32C (Castagnoli), as Cloud Storage reports it: the 4 bytes big-endian, in base64. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32c(bytes: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('base64');

/** Objects by `<bucket>/<name>`. */
const objects = new Map<string, Buffer>();
/** When set, a download answers these bytes in place of the object's (its hashes stay the object's). */
let corrupt: Buffer | undefined;
let fake: GoogleFake | undefined;

/** The media part of a multipart/related upload body. */
function mediaOf(request: FakeRequest): Buffer {
  const boundary = /boundary=([^;]+)/.exec(String(request.headers['content-type']))?.[1];
  if (boundary === undefined) throw new Error('the upload is not multipart');
  const parts = request.raw.toString('latin1').split(`--${boundary}`);
  const media = parts[2] ?? '';
  return Buffer.from(media.slice(media.indexOf('\r\n\r\n') + 4, media.lastIndexOf('\r\n')), 'latin1');
}

beforeAll(async () => {
  fake = await startGoogleFake(
    [
      /^POST \/upload\/storage\/v1\/b\/(?<bucket>[^/]+)\/o$/,
      (request, { bucket }) => {
        const path = `${bucket}/${request.query.name}`;
        if (request.query.ifGenerationMatch === '0' && objects.has(path))
          return {
            status: 412,
            body: {
              error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' },
            },
          };
        const bytes = mediaOf(request);
        objects.set(path, bytes);
        const object = { bucket, name: request.query.name, generation: '1', size: String(bytes.length) };
        return { body: { ...object, crc32c: crc32c(bytes), md5Hash: md5(bytes) } };
      },
    ],
    [
      /^GET \/storage\/v1\/b\/(?<bucket>[^/]+)\/o\/(?<name>.+)$/,
      (request, { bucket, name }) => {
        const bytes = objects.get(`${bucket}/${name}`);
        if (bytes === undefined || request.query.alt !== 'media')
          return { status: 404, body: { error: { code: 404, message: 'No such object' } } };
        return {
          raw: corrupt ?? bytes,
          headers: {
            'content-type': 'application/json',
            'x-goog-hash': `crc32c=${crc32c(bytes)},md5=${md5(bytes)}`,
            'x-goog-stored-content-encoding': 'identity',
          },
        };
      },
    ],
  );
});
afterAll(async () => {
  await fake?.close();
});

let buckets = 0;
type StorageAuth = NonNullable<ConstructorParameters<typeof Storage>[0]>['authClient'];
/**
 * The fake's token for Storage. Storage 7 bundles google-auth-library 9, whose GoogleAuth spreads an auth
 * client's request headers as a plain object; the fake's auth client (google-auth-library 10) answers a
 * Headers, which spreads to nothing. So the token comes in the shape 9 expects.
 */
const storageAuth = {
  getRequestHeaders: async () => ({ Authorization: `Bearer ${FAKE_TOKEN}` }),
} as unknown as StorageAuth;

/** A fresh bucket and two stores of it, each with its own Storage client. */
function twoStores(): Contenders<GcsResultStore> {
  if (fake === undefined) throw new Error('the fake is not running');
  const bucket = `stepgate-results-${++buckets}`;
  const url = fake.url;
  const clients = [0, 1].map(
    () =>
      new Storage({
        apiEndpoint: url,
        projectId: 'acme',
        authClient: storageAuth,
        useAuthWithCustomEndpoint: true,
      }),
  );
  return { connections: clients.map((client) => new GcsResultStore(client, bucket)), close: () => {} };
}

describeResultStoreContract('Cloud Storage', twoStores);

describe('the Cloud Storage result store', () => {
  it('uploads in one request only where no object is, and downloads the object’s bytes', async () => {
    const seen = (fake as GoogleFake).requests.length;
    const [store] = await fresh(twoStores);
    const json = JSON.stringify({ rows: [1, 2], text: 'é ✓' });
    const uri = await store.put({ runId: 'run/1', stepId: 'fetch', visit: 2, attempt: 3 }, json);
    const sha = createHash('sha256').update(json).digest('hex');
    const name = `results/run%2F1/fetch/2/3/${sha}.json`;
    const bucket = `stepgate-results-${buckets}`;
    expect(uri).toBe(`gs://${bucket}/${name}`);
    expect(await store.get(uri)).toBe(json);
    const sent = (fake as GoogleFake).requests.slice(seen);
    expect(sent.map((r) => [r.method, r.path, r.query])).toEqual([
      ['POST', `/upload/storage/v1/b/${bucket}/o`, { uploadType: 'multipart', name, ifGenerationMatch: '0' }],
      ['GET', `/storage/v1/b/${bucket}/o/${name}`, { alt: 'media' }],
    ]);
    for (const request of sent) expect(request.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    expect(mediaOf(sent[0] as FakeRequest).toString('utf8')).toBe(json);
    expect(request0Metadata(sent[0] as FakeRequest)).toEqual({ contentType: 'application/json' });
  });

  it('refuses a download whose bytes do not match the hashes Cloud Storage reports', async () => {
    const [store] = await fresh(twoStores);
    const uri = await store.put({ runId: 'r1', stepId: 's', visit: 1, attempt: 1 }, '{"a":1}');
    corrupt = Buffer.from('{"a":2}');
    try {
      await expect(store.get(uri)).rejects.toThrow(/downloaded data did not match the data from the server/);
    } finally {
      corrupt = undefined;
    }
  });

  it('refuses a bucket name Cloud Storage would refuse, naming the field', () => {
    const storage = new Storage({ apiEndpoint: (fake as GoogleFake).url, projectId: 'acme' });
    expect(() => new GcsResultStore(storage, 'gs://results')).toThrow(
      /bucket must be a Cloud Storage bucket name/,
    );
    expect(() => new GcsResultStore(storage, 'Results')).toThrow(/bucket/);
  });
});

/** The metadata part (the first) of a multipart/related upload body. */
function request0Metadata(request: FakeRequest): unknown {
  const boundary = /boundary=([^;]+)/.exec(String(request.headers['content-type']))?.[1];
  const part = request.raw.toString('utf8').split(`--${boundary}`)[1] ?? '';
  return JSON.parse(part.slice(part.indexOf('\r\n\r\n') + 4));
}
