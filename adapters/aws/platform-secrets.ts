// The platform's own secrets on AWS, in Secrets Manager: for now the approval-link signing key (the HMAC
// key of functions/core/approval-links.ts). Locally that key is derived from the master key
// (functions/local/server.ts: HKDF-SHA256, info 'stepgate approval links'); on AWS there is no master key
// file, so the stack keeps a dedicated secret and the key is that secret's value as it is: 32 bytes,
// written as 64 hex digits or 44 base64 characters (SecretString, as the local master key is written), or
// the 32 raw bytes (SecretBinary). Anything else is refused, naming the secret's ARN and what was wrong —
// never the value.
//
// Read once per Lambda container (GetSecretValue by ARN, the current version) and cached by ARN for the
// container's life, so a warm invocation makes no call; a failed read is not cached, the next one tries
// again. A rotated key reaches new containers; links signed with the old key stop verifying then.
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseMasterKey } from '../local/vault.js';

const KEY_BYTES = 32;

/** Key reads in this container, by secret ARN. */
const cache = new Map<string, Promise<Uint8Array>>();

/**
 * The approval-link signing key held by the secret `arn` (see the header); cached per container. Throws
 * an Error naming the ARN when the secret cannot be read or is not a 32-byte key.
 */
export function approvalLinkKey(client: SecretsManagerClient, arn: string): Promise<Uint8Array> {
  const cached = cache.get(arn);
  if (cached !== undefined) return cached;
  const read = readKey(client, arn);
  cache.set(arn, read);
  read.catch(() => cache.delete(arn));
  return read;
}

/** Forgets the keys read (tests; a container that must see a rotated key). */
export function forgetPlatformSecrets(): void {
  cache.clear();
}

async function readKey(client: SecretsManagerClient, arn: string): Promise<Uint8Array> {
  const what = `the approval-link key secret ${arn}`;
  let answer: { SecretString?: string; SecretBinary?: Uint8Array };
  try {
    answer = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  } catch (error) {
    const name = (error as { name?: unknown })?.name;
    throw new Error(`${what} could not be read (${typeof name === 'string' ? name : 'error'})`);
  }
  if (answer.SecretString !== undefined) return new Uint8Array(parseMasterKey(answer.SecretString, what));
  if (answer.SecretBinary !== undefined) {
    if (answer.SecretBinary.byteLength === KEY_BYTES) return new Uint8Array(answer.SecretBinary);
    throw new Error(`${what} holds ${answer.SecretBinary.byteLength} binary bytes; the key is ${KEY_BYTES}`);
  }
  throw new Error(`${what} has no value`);
}
