// Tool results too large for a run's variables, as S3 objects. An object's key is the result's ResultKey
// and the SHA-256 of its JSON (`results/<runId>/<stepId>/<visit>/<attempt>/<sha256>.json`, the ids
// URI-encoded), so the same result always lands on the same key (a repeated put writes nothing new) and a
// different answer to a redelivered attempt lands beside it. A uri names one object: `s3://<bucket>/<key>`.
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ResultKey, ResultStore } from '../../functions/core/ports.js';

const KEY_PREFIX = 'results/';
const KEY_PATTERN = /^results\/[^/]+\/[^/]+\/[1-9][0-9]*\/[1-9][0-9]*\/[0-9a-f]{64}\.json$/;

export class S3ResultStore implements ResultStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: ResultKey, json: string): Promise<string> {
    const sha256 = createHash('sha256').update(json, 'utf8').digest('hex');
    const segments = [key.runId, key.stepId].map(encodeURIComponent);
    const objectKey = `${KEY_PREFIX}${segments.join('/')}/${key.visit}/${key.attempt}/${sha256}.json`;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: json,
          ContentType: 'application/json',
          IfNoneMatch: '*',
        }),
      );
    } catch (error) {
      // Already there: its key is its content's hash, so it is this very result.
      if (!alreadyStored(error)) throw error;
    }
    return `s3://${this.bucket}/${objectKey}`;
  }

  async get(uri: string): Promise<string | undefined> {
    const prefix = `s3://${this.bucket}/`;
    if (!uri.startsWith(prefix)) return undefined;
    const objectKey = uri.slice(prefix.length);
    if (!KEY_PATTERN.test(objectKey)) return undefined;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return await object.Body?.transformToString('utf8');
    } catch (error) {
      if (error instanceof Error && error.name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}

/** True for S3's refusal of an `If-None-Match: *` put over an existing object (or a put racing one). */
function alreadyStored(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 409;
}
