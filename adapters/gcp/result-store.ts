// Tool results too large for a run's variables, as Cloud Storage objects (@google-cloud/storage, the JSON
// API). An object's name is the result's ResultKey and the SHA-256 of its JSON
// (`results/<runId>/<stepId>/<visit>/<attempt>/<sha256>.json`, the ids URI-encoded), as S3ResultStore's keys
// are, so the same result always lands on the same name and a different answer to a redelivered attempt
// lands beside it. A put is a single-request upload with `ifGenerationMatch: 0` (only when no live object
// has the name): Cloud Storage answers 412 when it exists, which is this very result, since the name is its
// content's hash. The library checks the upload's and the download's CRC32C against what Cloud Storage
// reports. A uri names one object: `gs://<bucket>/<name>`; anything else, or a missing object, reads as
// undefined.
import { createHash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import type { ResultKey, ResultStore } from '../../functions/core/ports.js';

const NAME_PREFIX = 'results/';
const NAME_PATTERN = /^results\/[^/]+\/[^/]+\/[1-9][0-9]*\/[1-9][0-9]*\/[0-9a-f]{64}\.json$/;
/** Cloud Storage's bucket names: 3 to 63 (222 with dots) lower-case letters, digits, `-`, `_` and `.`. */
const BUCKET_PATTERN = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export class GcsResultStore implements ResultStore {
  constructor(
    private readonly storage: Storage,
    private readonly bucket: string,
  ) {
    if (!BUCKET_PATTERN.test(bucket))
      throw new Error(
        `bucket must be a Cloud Storage bucket name (lower-case letters, digits, '-', '_', '.'), got '${bucket}'`,
      );
  }

  async put(key: ResultKey, json: string): Promise<string> {
    const sha256 = createHash('sha256').update(json, 'utf8').digest('hex');
    const segments = [key.runId, key.stepId].map(encodeURIComponent);
    const name = `${NAME_PREFIX}${segments.join('/')}/${key.visit}/${key.attempt}/${sha256}.json`;
    try {
      await this.storage
        .bucket(this.bucket)
        .file(name)
        .save(json, {
          contentType: 'application/json',
          resumable: false,
          preconditionOpts: { ifGenerationMatch: 0 },
        });
    } catch (error) {
      // Already there: its name is its content's hash, so it is this very result.
      if (statusOf(error) !== 412) throw error;
    }
    return `gs://${this.bucket}/${name}`;
  }

  async get(uri: string): Promise<string | undefined> {
    const prefix = `gs://${this.bucket}/`;
    if (!uri.startsWith(prefix)) return undefined;
    const name = uri.slice(prefix.length);
    if (!NAME_PATTERN.test(name)) return undefined;
    try {
      const [contents] = await this.storage.bucket(this.bucket).file(name).download();
      return contents.toString('utf8');
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}
