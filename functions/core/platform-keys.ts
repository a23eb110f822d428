// The keys derived from one platform secret (the local master key, the AWS stack's Secrets Manager key): the
// approval machinery's HMAC key of the emailed approval links and AES-256-GCM key that seals each level's
// callback handle (a task token) in its record, and chat's HMAC key of a pending start's confirmation.
// HKDF-SHA256 with a label per use, so one secret never serves two purposes and every host derives the same
// keys from the same secret.
import { hkdfSync } from 'node:crypto';

const KEY_BYTES = 32;

const derive = (secret: Uint8Array, label: string) =>
  new Uint8Array(hkdfSync('sha256', secret, '', label, KEY_BYTES));

export interface ApprovalKeys {
  /** HMAC key of the emailed approval links. */
  linkSecret: Uint8Array;
  /** AES-256-GCM key sealing each level's callback handle in its approval record. */
  callbackKey: Uint8Array;
}

/** The approval keys `secret` derives. */
export function approvalKeys(secret: Uint8Array): ApprovalKeys {
  return {
    linkSecret: derive(secret, 'stepgate approval links'),
    callbackKey: derive(secret, 'stepgate approval callbacks'),
  };
}

/** The HMAC key of chat's pending starts (functions/core/chat-confirm.ts) that `secret` derives. */
export function chatConfirmKey(secret: Uint8Array): Uint8Array {
  return derive(secret, 'stepgate chat confirmations');
}
