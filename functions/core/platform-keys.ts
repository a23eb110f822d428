// The keys the approval machinery derives from one platform secret (the local master key, the AWS stack's
// Secrets Manager key): the HMAC key of the emailed approval links and the AES-256-GCM key that seals each
// level's callback handle (a task token) in its record. HKDF-SHA256 with a label per use, so one secret
// never serves two purposes and every host derives the same keys from the same secret.
import { hkdfSync } from 'node:crypto';

const KEY_BYTES = 32;

export interface ApprovalKeys {
  /** HMAC key of the emailed approval links. */
  linkSecret: Uint8Array;
  /** AES-256-GCM key sealing each level's callback handle in its approval record. */
  callbackKey: Uint8Array;
}

/** The approval keys `secret` derives. */
export function approvalKeys(secret: Uint8Array): ApprovalKeys {
  const derive = (label: string) => new Uint8Array(hkdfSync('sha256', secret, '', label, KEY_BYTES));
  return {
    linkSecret: derive('stepgate approval links'),
    callbackKey: derive('stepgate approval callbacks'),
  };
}
