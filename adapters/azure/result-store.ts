// Tool results too large for a run's variables, as block blobs in one container (@azure/storage-blob). A
// blob's name is the result's ResultKey and the SHA-256 of its JSON
// (`results/<runId>/<stepId>/<visit>/<attempt>/<sha256>.json`, the ids URI-encoded), as S3ResultStore's and
// GcsResultStore's are, so the same result always lands on the same name and a different answer to a
// redelivered attempt lands beside it. A put is a single Put Blob with `If-None-Match: *` (only when no blob
// has the name): Blob Storage refuses it with 409 BlobAlreadyExists (412 ConditionNotMet on some paths) when
// one does, which is this very result, since the name is its content's hash. The put sends the content's
// MD5, which Blob Storage checks and keeps; a read checks the bytes against it.
//
// A uri is the blob's URL (`https://<account>.blob.core.windows.net/<container>/<name>`, the name
// percent-encoded, so an encoded id's `%` is `%25` there); anything else, or a missing blob, reads as
// undefined.
import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { ResultKey, ResultStore } from '../../functions/core/ports.js';

const NAME_PREFIX = 'results/';
const NAME_PATTERN = /^results\/[^/]+\/[^/]+\/[1-9][0-9]*\/[1-9][0-9]*\/[0-9a-f]{64}\.json$/;
/** Blob Storage's container names: 3 to 63 lower-case letters, digits and single dashes. */
const CONTAINER_PATTERN = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

export class BlobResultStore implements ResultStore {
  /** `<container URL>/`: every uri this store hands out starts with it. */
  private readonly prefix: string;

  /** `container`: the results container's client (its account's endpoint and the app's credential). */
  constructor(private readonly container: ContainerClient) {
    if (!CONTAINER_PATTERN.test(container.containerName))
      throw new Error(
        `container must be a Blob Storage container name (3-63 lower-case letters, digits, single '-'), got '${container.containerName}'`,
      );
    this.prefix = `${container.url.replace(/\/+$/, '')}/`;
  }

  async put(key: ResultKey, json: string): Promise<string> {
    const bytes = Buffer.from(json, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const segments = [key.runId, key.stepId].map(encodeURIComponent);
    const name = `${NAME_PREFIX}${segments.join('/')}/${key.visit}/${key.attempt}/${sha256}.json`;
    const blob = this.blob(name);
    try {
      await blob.upload(bytes, bytes.length, {
        blobHTTPHeaders: { blobContentType: 'application/json', blobContentMD5: md5(bytes) },
        conditions: { ifNoneMatch: '*' },
      });
    } catch (error) {
      // Already there: its name is its content's hash, so it is this very result.
      if (!alreadyStored(error)) throw containerError(error, this.container.containerName);
    }
    return blob.url;
  }

  async get(uri: string): Promise<string | undefined> {
    if (!uri.startsWith(this.prefix)) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(uri.slice(this.prefix.length));
    } catch {
      return undefined;
    }
    if (!NAME_PATTERN.test(name)) return undefined;
    let contents: Buffer;
    let stored: Uint8Array | undefined;
    try {
      const response = await this.blob(name).download();
      stored = response.contentMD5;
      contents = await streamBytes(response.readableStreamBody);
    } catch (error) {
      if (errorCode(error) === 'BlobNotFound') return undefined;
      throw containerError(error, this.container.containerName);
    }
    if (stored !== undefined && !Buffer.from(stored).equals(md5(contents)))
      throw new Error(
        `the result blob ${name} in container ${this.container.containerName} does not match the MD5 Blob Storage keeps for it`,
      );
    return contents.toString('utf8');
  }

  private blob(name: string) {
    return this.container.getBlockBlobClient(name);
  }
}

/** A download's whole body (one GET: the stored MD5 comes with it). */
async function streamBytes(body: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (body === undefined) throw new Error('Blob Storage answered a download without a body');
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function md5(bytes: Uint8Array): Buffer {
  return createHash('md5').update(bytes).digest();
}

function errorCode(error: unknown): unknown {
  const e = error as { code?: unknown; details?: { errorCode?: unknown } } | undefined;
  return e?.details?.errorCode ?? e?.code;
}

function statusOf(error: unknown): unknown {
  return (error as { statusCode?: unknown } | undefined)?.statusCode;
}

/** True for Blob Storage's refusal of an `If-None-Match: *` put over an existing blob (or one racing it). */
function alreadyStored(error: unknown): boolean {
  const status = statusOf(error);
  return status === 412 || (status === 409 && errorCode(error) === 'BlobAlreadyExists');
}

/** A missing container named as such (a deployment problem, not a missing result); anything else as is. */
function containerError(error: unknown, container: string): unknown {
  if (errorCode(error) !== 'ContainerNotFound') return error;
  return new Error(`the results container '${container}' does not exist in the blob service`);
}
