// The platform's own secrets on Azure, in Key Vault secrets: the one 32-byte platform secret that the
// approval-link signing key, the callback-sealing key and chat's confirmation key are derived from
// (functions/core/platform-keys.ts, as the AWS and GCP deployments derive them from their secret stores and
// the local server from its master key), and the other platform values kept as text (the first admin's
// password, the SMTP relay's URL, which holds its password). A secret is named by its Key Vault name (the
// app settings in functions/azure/config.ts) and read at its current version (SecretClient.getSecret with
// no version: `GET /secrets/<name>/`), so a new version reaches new instances.
//
// Key Vault secrets are text: the key is written as 64 hex digits or 44 base64 characters (as the local
// master key is written); anything else is refused, naming the secret and what was wrong — never the value.
// Each value is read once per instance and cached by vault and name, so a warm request makes no call; a
// failed read is not cached, the next one tries again. A failed read says what adapters/azure/
// key-vault-errors.ts lets through (403 Forbidden: the identity lacks the Key Vault Secrets User role; 404
// SecretNotFound), never the client's error.
import type { SecretClient } from '@azure/keyvault-secrets';
import { type ApprovalKeys, approvalKeys, chatConfirmKey } from '../../functions/core/platform-keys.js';
import { parseMasterKey } from '../local/vault.js';
import { keyVaultFailure } from './key-vault-errors.js';

/** A Key Vault secret name: 1-127 letters, digits and dashes. */
const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

/** The keys the platform secret derives: the approval keys and chat's confirmation key. */
export type AzurePlatformKeys = ApprovalKeys & { chatKey: Uint8Array };

/** Values read in this instance, by vault URL and secret name. */
const cache = new Map<string, Promise<string>>();

/**
 * The platform secret held by the Key Vault secret `name` (see the header), cached per instance. Throws an
 * Error naming the secret when it cannot be read or is not a 32-byte key.
 */
export async function platformSecret(client: SecretClient, name: string): Promise<Uint8Array> {
  const what = `the platform key secret ${name} in ${client.vaultUrl}`;
  return new Uint8Array(parseMasterKey(await readValue(client, name, what), what));
}

/** The approval keys and chat's key, derived from the platform secret `name` (read once per instance). */
export async function platformKeys(client: SecretClient, name: string): Promise<AzurePlatformKeys> {
  const key = await platformSecret(client, name);
  return { ...approvalKeys(key), chatKey: chatConfirmKey(key) };
}

/**
 * A platform value kept as text in the Key Vault secret `name` (the first admin's password, the SMTP
 * relay's URL), without the trailing newline a file-made value often has; `what` names it in errors.
 * Cached per instance; an empty value is refused.
 */
export async function platformSecretText(client: SecretClient, name: string, what: string): Promise<string> {
  const described = `${what} (secret ${name} in ${client.vaultUrl})`;
  const text = (await readValue(client, name, described)).replace(/\r?\n$/, '');
  if (text.trim().length === 0) throw new Error(`${described} is empty`);
  return text;
}

/**
 * The current value of the Key Vault secret `name`, read now (never cached: the first admin's password is
 * read once by the setup, and a setup that failed on a wrong value must see the corrected one).
 */
export function currentSecretText(client: SecretClient, name: string, what: string): Promise<string> {
  if (!SECRET_NAME.test(name))
    return Promise.reject(new Error(`${what}: a Key Vault secret name is 1-127 letters, digits and -`));
  return readCurrent(client, name, `${what} (secret ${name} in ${client.vaultUrl})`);
}

/** Forgets the values read (tests; an instance that must see a rotated secret). */
export function forgetPlatformSecrets(): void {
  cache.clear();
}

function readValue(client: SecretClient, name: string, what: string): Promise<string> {
  if (!SECRET_NAME.test(name))
    return Promise.reject(new Error(`${what}: a Key Vault secret name is 1-127 letters, digits and -`));
  const cacheKey = `${client.vaultUrl.replace(/\/+$/, '')}|${name}`;
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  const read = readCurrent(client, name, what);
  cache.set(cacheKey, read);
  read.catch(() => cache.delete(cacheKey));
  return read;
}

async function readCurrent(client: SecretClient, name: string, what: string): Promise<string> {
  let value: string | undefined;
  try {
    ({ value } = await client.getSecret(name));
  } catch (error) {
    throw new Error(`${what} could not be read (${keyVaultFailure(error)})`);
  }
  if (value === undefined || value.length === 0) throw new Error(`${what} has no value`);
  return value;
}
