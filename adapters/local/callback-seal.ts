// An approval request's callback handle (a task token, a callback URL) sealed for storage, as every
// approval store keeps it: AES-256-GCM (sealed.ts) under the deployment's callback key, the request's run,
// step, visit and level bound as associated data, so a handle copied to another request fails to open.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { ApprovalRecord } from '../../functions/core/ports.js';
import { packSealed, seal, unpackSealed, unseal } from './sealed.js';

/** Versioned so a future format can change what is bound without old values opening under new rules. */
const AAD_PREFIX = 'stepgate-approval-callback/v1';

/** The request a handle belongs to. */
export type CallbackOwner = Pick<ApprovalRecord, 'runId' | 'stepId' | 'visit' | 'level'>;

export class CallbackSeal {
  private readonly key: KeyObject | undefined;

  /** `key`: 32 bytes (see `approvalCallbackKey`); without it, a handle can be neither stored nor read. */
  constructor(key: Uint8Array | undefined) {
    if (key !== undefined && key.length !== 32)
      throw new RangeError(`the approval callback key must be 32 bytes, got ${key.length}`);
    this.key = key && createSecretKey(key);
  }

  /** The record's handle sealed as one blob, or null when it has none. */
  seal(r: ApprovalRecord): Buffer | null {
    if (r.callback === undefined || r.callback === null) return null;
    if (this.key === undefined)
      throw new Error(
        `approval ${r.runId}/${r.stepId} level ${r.level} has a callback handle, but this store was given no key to encrypt it`,
      );
    return packSealed(seal(this.key, r.callback, aad(r)));
  }

  /** The handle `blob` holds for `owner`, or null without one; throws when it does not open there. */
  open(owner: CallbackOwner, blob: Uint8Array | null): string | null {
    if (blob === null) return null;
    const where = `approval ${owner.runId}/${owner.stepId} level ${owner.level}`;
    if (this.key === undefined)
      throw new Error(`${where} has a callback handle, but this store was given no key to decrypt it`);
    try {
      return unseal(this.key, unpackSealed(Buffer.from(blob)), aad(owner));
    } catch {
      throw new Error(
        `cannot decrypt the callback handle of ${where}: the key is not the one it was stored with, or the stored request was altered or moved`,
      );
    }
  }
}

function aad(r: CallbackOwner): Buffer {
  return Buffer.from(
    `${AAD_PREFIX}\u0000${r.runId}\u0000${r.stepId}\u0000${r.visit}\u0000${r.level}`,
    'utf8',
  );
}
