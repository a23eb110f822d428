// AES-256-GCM for the values the local adapters keep encrypted at rest (vault secrets, approval callback
// handles): a random 12-byte IV per value, the 16-byte tag beside it, and associated data binding the
// ciphertext to the row that holds it, so a ciphertext copied to another row fails to open.
import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  type KeyObject,
  randomBytes,
} from 'node:crypto';

const ALGORITHM: CipherGCMTypes = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Encrypts `plaintext` under `key` (32 bytes), bound to `aad`. */
export function seal(key: KeyObject, plaintext: string, aad: Buffer): Sealed {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** Decrypts what `seal` made; throws when the key or `aad` differ or any byte was altered. */
export function unseal(key: KeyObject, sealed: Sealed, aad: Buffer): string {
  const decipher = createDecipheriv(ALGORITHM, key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
}

/** One blob for a single column: IV, tag, then ciphertext. */
export function packSealed(sealed: Sealed): Buffer {
  return Buffer.concat([sealed.iv, sealed.tag, sealed.ciphertext]);
}

/** The inverse of `packSealed`; throws on a blob too short to hold an IV and a tag. */
export function unpackSealed(blob: Buffer): Sealed {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is truncated');
  return {
    iv: blob.subarray(0, IV_BYTES),
    tag: blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
    ciphertext: blob.subarray(IV_BYTES + TAG_BYTES),
  };
}
