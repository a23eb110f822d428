// The platform secrets from Key Vault (adapters/azure/platform-secrets.ts), Key Vault played by the
// recording fake (test/support/key-vault-fake.ts) answering the SecretClient's own request, `GET
// /secrets/<name>/` (the current version) after the bearer challenge. The key read as hex or base64 text;
// anything else, or a secret that cannot be read, refused naming the secret and never showing its value;
// read once per instance (cached by vault and name), a failed read not cached.
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  forgetPlatformSecrets,
  platformKeys,
  platformSecret,
  platformSecretText,
} from '../../adapters/azure/platform-secrets.js';
import { approvalKeys, chatConfirmKey } from '../../functions/core/platform-keys.js';
import { KEY_VAULT_TOKEN, type KeyVaultFake, startKeyVaultFake } from '../support/key-vault-fake.js';

let kv: KeyVaultFake;
let client: SecretClient;

beforeAll(async () => {
  kv = await startKeyVaultFake();
  client = new SecretClient(kv.vaultUrl, kv.credential, kv.clientOptions());
});
afterAll(() => kv?.close());
afterEach(() => {
  forgetPlatformSecrets();
  kv.refuse(undefined);
});

/** The requests from `from` on, as method, path, api-version and authorization. */
const sentFrom = (from: number) =>
  kv.requests.slice(from).map((r) => [r.method, r.path, r.query['api-version'], r.headers.authorization]);

describe('the Azure platform secrets', () => {
  it('reads the platform key with exactly one GET of the current version, then from the cache', async () => {
    const key = randomBytes(32);
    kv.setSecret('platform-key', key.toString('base64'));
    const seen = kv.requests.length;
    expect(Buffer.from(await platformSecret(client, 'platform-key')).equals(key)).toBe(true);
    expect(sentFrom(seen)).toEqual([
      ['GET', '/secrets/platform-key/', '2025-07-01', undefined],
      ['GET', '/secrets/platform-key/', '2025-07-01', `Bearer ${KEY_VAULT_TOKEN}`],
    ]);
    expect(kv.requests.at(-1)?.raw).toHaveLength(0);
    const after = kv.requests.length;
    const keys = await platformKeys(client, 'platform-key');
    expect(keys).toEqual({ ...approvalKeys(key), chatKey: chatConfirmKey(key) });
    expect(kv.requests.length).toBe(after);
  });

  it('reads the key written as 64 hex digits, and reads a new version after forgetting', async () => {
    const key = randomBytes(32);
    kv.setSecret('hex-key', key.toString('hex'));
    expect(Buffer.from(await platformSecret(client, 'hex-key')).equals(key)).toBe(true);
    const next = randomBytes(32);
    kv.setSecret('hex-key', next.toString('hex'));
    expect(Buffer.from(await platformSecret(client, 'hex-key')).equals(key)).toBe(true);
    forgetPlatformSecrets();
    expect(Buffer.from(await platformSecret(client, 'hex-key')).equals(next)).toBe(true);
  });

  it('refuses a value that is not a 32-byte key, naming the secret and never showing the value', async () => {
    kv.setSecret('short-key', 'NOT-A-KEY-VALUE-sk_live_123');
    const refused = await platformSecret(client, 'short-key').catch((error: unknown) => error);
    expect(String(refused)).toContain(`the platform key secret short-key in ${kv.vaultUrl}`);
    expect(inspect(refused)).not.toContain('NOT-A-KEY-VALUE');
  });

  it('reads a text value without its trailing newline, cached; an empty one is refused', async () => {
    kv.setSecret('smtp-relay', 'smtp://user:pa55@relay.example.com:587\n');
    const seen = kv.requests.length;
    expect(await platformSecretText(client, 'smtp-relay', 'the SMTP relay URL')).toBe(
      'smtp://user:pa55@relay.example.com:587',
    );
    expect(await platformSecretText(client, 'smtp-relay', 'the SMTP relay URL')).toBe(
      'smtp://user:pa55@relay.example.com:587',
    );
    expect(sentFrom(seen).filter((r) => r[3] !== undefined)).toHaveLength(1);
    kv.setSecret('blank', ' \n');
    await expect(platformSecretText(client, 'blank', 'the first admin’s password')).rejects.toThrow(
      `the first admin’s password (secret blank in ${kv.vaultUrl}) is empty`,
    );
  });

  it('names a missing secret with Key Vault’s answer, and does not cache the failure', async () => {
    await expect(platformSecretText(client, 'admin-password', 'the first admin’s password')).rejects.toThrow(
      `the first admin’s password (secret admin-password in ${kv.vaultUrl}) could not be read (Key Vault answered 404 SecretNotFound)`,
    );
    kv.setSecret('admin-password', 'correct horse battery staple');
    expect(await platformSecretText(client, 'admin-password', 'the first admin’s password')).toBe(
      'correct horse battery staple',
    );
  });

  it('turns a refusal into its status only, leaking neither the service’s message nor a value', async () => {
    kv.setSecret('guarded', randomBytes(32).toString('hex'));
    kv.refuse(403);
    const refused = await platformSecret(client, 'guarded').catch((error: unknown) => error);
    expect((refused as Error).message).toBe(
      `the platform key secret guarded in ${kv.vaultUrl} could not be read (Key Vault answered 403 Forbidden)`,
    );
    expect(inspect(refused, { depth: 20, showHidden: true })).not.toContain('Caller is not authorized');
  });

  it('refuses a name Key Vault would not accept, before any request', async () => {
    const seen = kv.requests.length;
    await expect(platformSecret(client, 'platform/key')).rejects.toThrow(
      `the platform key secret platform/key in ${kv.vaultUrl}: a Key Vault secret name is 1-127 letters, digits and -`,
    );
    expect(kv.requests.length).toBe(seen);
  });
});
