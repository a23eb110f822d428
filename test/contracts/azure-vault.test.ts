// The Azure vault (adapters/azure/vault.ts) on Azurite's Table Storage, its data key wrapped by a Key Vault
// RSA key played by the recording fake (test/support/key-vault-fake.ts: https at a vault.azure.net host,
// the bearer challenge, real RSA-OAEP-256 with a node:crypto key pair). Beside the Vault contract: the exact
// requests the Key Vault client sends (the challenge, the key's GET, wrapkey and unwrapkey with their
// bodies), what the table holds (no secret, no plaintext key), one unwrap per process, one data key when
// many instances start at once, a rotated key, and Key Vault's refusal becoming an error that names the key
// and leaks nothing.
import { constants, privateDecrypt } from 'node:crypto';
import { inspect } from 'node:util';
import { KeyClient } from '@azure/keyvault-keys';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureTables } from '../../adapters/azure/tables.js';
import { DATA_KEY_ENTITY, KeyVaultVault, WRAP_ALGORITHM } from '../../adapters/azure/vault.js';
import { type Azurite, startAzurite } from '../support/azurite.js';
import {
  KEY_VAULT_RESOURCE,
  KEY_VAULT_TENANT,
  KEY_VAULT_TOKEN,
  type KeyVaultFake,
  type KeyVaultRequest,
  startKeyVaultFake,
} from '../support/key-vault-fake.js';
import { type Contenders, fresh, race } from './contenders.js';
import { describeVaultContract } from './vault.contract.js';

const KEY = 'stepgate-vault';
const API_VERSION = '2025-07-01';
const ALICE = { email: 'a@example.com', groups: [] };

let azurite: Azurite | undefined;
let kv: KeyVaultFake | undefined;
let version = '';

beforeAll(async () => {
  [azurite, kv] = await Promise.all([startAzurite(), startKeyVaultFake()]);
  version = kv.createKey(KEY);
}, 60_000);
afterAll(async () => {
  await kv?.close();
  await azurite?.stop();
});
beforeEach(() => kv?.refuse(undefined));

interface Member {
  vault: KeyVaultVault;
  tables: AzureTables;
}

function fake(): KeyVaultFake {
  if (kv === undefined) throw new Error('the Key Vault fake is not running');
  return kv;
}

/** Fresh tables; vaults over them, each with its own table and Key Vault clients (as instances would). */
async function vaults(n = 2): Promise<Contenders<Member>> {
  if (azurite === undefined) throw new Error('Azurite is not running');
  const shared = await azurite.freshTables();
  return {
    connections: Array.from({ length: n }, () => {
      const tables = new AzureTables(shared.options);
      const keys = new KeyClient(fake().vaultUrl, fake().credential, fake().clientOptions());
      return { tables, vault: new KeyVaultVault(tables, keys, KEY, { now: () => 1_000 }) };
    }),
    close: () => undefined,
  };
}

/** The Key Vault requests from `from` on. */
const requestsFrom = (from: number): KeyVaultRequest[] => fake().requests.slice(from);
const route = (r: KeyVaultRequest) => [r.method, r.path, r.query['api-version'], r.headers.authorization];

async function entities(tables: AzureTables): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  for await (const entity of tables.client('vault').listEntities()) all.push(entity);
  return all;
}

/** Every form a key could take in a stored text or an error. */
const forms = (key: Buffer) => [key.toString('base64'), key.toString('base64url'), key.toString('hex')];

describeVaultContract('Azure Table Storage + Key Vault', async () => {
  const made = await vaults();
  return { connections: made.connections.map((m) => m.vault), close: made.close };
});

describe('the Azure vault under Key Vault', () => {
  it('wraps a locally made data key with the current key version (RSA-OAEP-256), after the bearer challenge', async () => {
    const seen = fake().requests.length;
    const asked = fake().credential.asked.length;
    const [{ vault, tables }] = await fresh(vaults);
    await vault.set('org', 'STRIPE', 'sk_live_PLAINTEXT_SECRET_VALUE');
    const sent = requestsFrom(seen);
    const bearer = `Bearer ${KEY_VAULT_TOKEN}`;
    expect(sent.map(route)).toEqual([
      ['GET', `/keys/${KEY}/`, API_VERSION, undefined],
      ['GET', `/keys/${KEY}/`, API_VERSION, bearer],
      ['GET', `/keys/${KEY}/${version}`, API_VERSION, bearer],
      ['POST', `/keys/${KEY}/${version}/wrapkey`, API_VERSION, bearer],
    ]);
    expect(sent.every((r) => r.headers.host === 'stepgate-test.vault.azure.net')).toBe(true);
    expect(fake().credential.asked.slice(asked)).toEqual([
      { scopes: [`${KEY_VAULT_RESOURCE}/.default`], tenantId: KEY_VAULT_TENANT },
    ]);
    const body = sent[3]?.body as { alg: string; value: string };
    expect(Object.keys(body).sort()).toEqual(['alg', 'value']);
    expect(body.alg).toBe(WRAP_ALGORITHM);
    expect(sent[3]?.headers['content-type']).toBe('application/json');
    // What was sent is the 32-byte data key (only Key Vault sees it); what the table holds is what Key Vault
    // made of it: its private key unwraps the stored key to exactly those bytes.
    const dataKey = Buffer.from(body.value, 'base64url');
    expect(dataKey).toHaveLength(32);
    const stored = await entities(tables);
    const keyEntity = stored.find((e) => e.partitionKey === DATA_KEY_ENTITY.partitionKey);
    expect(keyEntity).toMatchObject({
      ...DATA_KEY_ENTITY,
      keyId: `${fake().vaultUrl}/keys/${KEY}/${version}`,
      algorithm: 'RSA-OAEP-256',
      createdAt: 1_000,
    });
    const unwrapped = privateDecrypt(
      { key: fake().privateKey(KEY, version), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from(keyEntity?.wrappedKey as Uint8Array),
    );
    expect(unwrapped.equals(dataKey)).toBe(true);
    // The raw key is nowhere in the table, in any encoding: only Key Vault's ciphertext.
    for (const entity of stored)
      for (const field of Object.values(entity)) {
        const bytes = field instanceof Uint8Array ? Buffer.from(field) : Buffer.from(String(field));
        expect(bytes.includes(dataKey)).toBe(false);
        for (const form of forms(dataKey)) expect(bytes.includes(form)).toBe(false);
      }
  });

  it('stores only sealed values; no secret is in the table or in any request to Key Vault', async () => {
    const seen = fake().requests.length;
    const [{ vault, tables }, { vault: other }] = await fresh(vaults);
    const value = 'sk_live_PLAINTEXT_SECRET_VALUE';
    await vault.set('org', 'STRIPE', value);
    await other.set('group:ops/eu', 'STRIPE', value);
    expect((await other.resolve({ email: 'a@example.com', groups: ['ops/eu'] }, ['STRIPE'])).values).toEqual({
      STRIPE: value,
    });
    const stored = await entities(tables);
    const secrets = stored.filter((e) => e.partitionKey !== DATA_KEY_ENTITY.partitionKey);
    expect(secrets.map((e) => [e.partitionKey, e.rowKey]).sort()).toEqual([
      ['group%3Aops%2Feu', 'STRIPE'],
      ['org', 'STRIPE'],
    ]);
    for (const entity of secrets) {
      expect(Object.keys(entity).sort()).toEqual([
        'etag',
        'name',
        'partitionKey',
        'rowKey',
        'scope',
        'sealed',
        'timestamp',
        'updatedAt',
      ]);
      expect(entity.sealed).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(entity.sealed as Uint8Array).toString('latin1')).not.toContain('PLAINTEXT');
    }
    expect(JSON.stringify(stored)).not.toContain('PLAINTEXT');
    for (const request of requestsFrom(seen))
      expect(request.raw.toString('latin1')).not.toContain('PLAINTEXT');
    // A secret moved to another name no longer opens, and the error shows no value.
    const org = secrets.find((e) => e.scope === 'org') as Record<string, unknown>;
    await tables.client('vault').createEntity({
      partitionKey: 'org',
      rowKey: 'MOVED',
      scope: 'org',
      name: 'MOVED',
      sealed: org.sealed,
      updatedAt: 1,
    });
    const moved = await vault.resolve(ALICE, ['MOVED']).catch((error: unknown) => error);
    expect(String(moved)).toMatch(/cannot decrypt secret MOVED in scope org/);
    expect(inspect(moved)).not.toContain('PLAINTEXT');
  });

  it('unwraps the stored data key with the version that wrapped it, once per process', async () => {
    const [{ vault, tables }, { vault: other }] = await fresh(vaults);
    await vault.set('org', 'A', 'a-value');
    const seen = fake().requests.length;
    for (let i = 0; i < 3; i++) {
      await other.set('org', `B${i}`, `b-${i}`);
      expect((await other.resolve(ALICE, ['A', `B${i}`])).values).toEqual({
        A: 'a-value',
        [`B${i}`]: `b-${i}`,
      });
    }
    const sent = requestsFrom(seen);
    const bearer = `Bearer ${KEY_VAULT_TOKEN}`;
    expect(sent.map(route)).toEqual([
      ['GET', `/keys/${KEY}/${version}`, API_VERSION, undefined],
      ['GET', `/keys/${KEY}/${version}`, API_VERSION, bearer],
      ['POST', `/keys/${KEY}/${version}/unwrapkey`, API_VERSION, bearer],
    ]);
    const keyEntity = (await entities(tables)).find((e) => e.partitionKey === DATA_KEY_ENTITY.partitionKey);
    expect(sent[2]?.body).toEqual({
      alg: 'RSA-OAEP-256',
      value: Buffer.from(keyEntity?.wrappedKey as Uint8Array).toString('base64url'),
    });
  });

  it('agrees on one data key when many instances use empty tables at once', async () => {
    const members = await fresh(() => vaults(6));
    const outcomes = await race(members.length, (i) => members[i]?.vault.set('org', `K${i}`, `value-${i}`));
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    const names = members.map((_, i) => `K${i}`);
    for (const { vault } of members)
      expect((await vault.resolve(ALICE, names)).values).toEqual(
        Object.fromEntries(names.map((n, i) => [n, `value-${i}`])),
      );
    const keys = (await entities(members[0].tables)).filter(
      (e) => e.partitionKey === DATA_KEY_ENTITY.partitionKey,
    );
    expect(keys).toHaveLength(1);
  }, 60_000);

  it('still unwraps with the old version after the Key Vault key is rotated, and wraps anew with the new one', async () => {
    const [{ vault }, { vault: other }] = await fresh(vaults);
    await vault.set('org', 'A', 'a-value');
    const rotated = fake().createKey(KEY);
    const seen = fake().requests.length;
    expect((await other.resolve(ALICE, ['A'])).values).toEqual({ A: 'a-value' });
    expect(requestsFrom(seen).map((r) => r.path)).toContain(`/keys/${KEY}/${version}/unwrapkey`);
    const [{ vault: fresher }] = await fresh(vaults);
    const before = fake().requests.length;
    await fresher.set('org', 'B', 'b-value');
    expect(requestsFrom(before).map((r) => r.path)).toContain(`/keys/${KEY}/${rotated}/wrapkey`);
    version = rotated;
  });

  it('turns Key Vault’s refusal into an error naming the key, storing nothing and leaking nothing', async () => {
    const [{ vault, tables }, { vault: other }] = await fresh(vaults);
    fake().refuse(403, /\/wrapkey$/);
    const seen = fake().requests.length;
    const refused = await vault.set('org', 'A', 'a-value').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe(
      `the vault data key could not be wrapped with Key Vault key ${KEY} (Key Vault answered 403 Forbidden)`,
    );
    // The data key was sent (and refused): it is in neither the error nor anything it carries.
    const wrapRequest = requestsFrom(seen).find((r) => r.path.endsWith('/wrapkey') && r.body !== undefined);
    if (wrapRequest === undefined) throw new Error('the data key was never sent to be wrapped');
    const sentKey = Buffer.from((wrapRequest.body as { value: string }).value, 'base64url');
    const shown = `${inspect(refused, { depth: 20, showHidden: true })}${JSON.stringify(refused)}`;
    for (const form of [sentKey.toString('base64url'), ...forms(sentKey)]) expect(shown).not.toContain(form);
    expect(shown).not.toContain('Caller is not authorized');
    expect(await entities(tables)).toEqual([]);
    // Refused unwrapping names the version too; allowed again, both work.
    fake().refuse(undefined);
    await vault.set('org', 'A', 'a-value');
    fake().refuse(403, /\/unwrapkey$/);
    await expect(other.resolve(ALICE, ['A'])).rejects.toThrow(
      `the vault data key could not be unwrapped with Key Vault key ${KEY} (version ${version}) (Key Vault answered 403 Forbidden)`,
    );
    fake().refuse(undefined);
    expect((await other.resolve(ALICE, ['A'])).values).toEqual({ A: 'a-value' });
  });

  it('names the key when it may not wrap, and when Key Vault cannot unwrap what the table holds', async () => {
    const [{ tables }] = await fresh(vaults);
    const encryptOnly = 'encrypt-only';
    const only = fake().createKey(encryptOnly, ['encrypt', 'decrypt']);
    const keys = new KeyClient(fake().vaultUrl, fake().credential, fake().clientOptions());
    await expect(new KeyVaultVault(tables, keys, encryptOnly).set('org', 'A', 'a')).rejects.toThrow(
      `the vault data key could not be wrapped with Key Vault key ${encryptOnly} (Operation wrapKey is not supported on key ${fake().vaultUrl}/keys/${encryptOnly}/${only})`,
    );
    expect(await entities(tables)).toEqual([]);
    await tables.client('vault').createEntity({
      ...DATA_KEY_ENTITY,
      wrappedKey: new Uint8Array(256).fill(7),
      keyId: `${fake().vaultUrl}/keys/${KEY}/${version}`,
      algorithm: 'RSA-OAEP-256',
      createdAt: 1,
    });
    await expect(new KeyVaultVault(tables, keys, KEY).set('org', 'A', 'a')).rejects.toThrow(
      `the vault data key could not be unwrapped with Key Vault key ${KEY} (version ${version}) (Key Vault answered 400 BadParameter)`,
    );
  });

  it('never sends the wrapped key to a key id the table names outside this vault’s key', async () => {
    const [{ vault, tables }] = await fresh(vaults);
    await tables.client('vault').createEntity({
      ...DATA_KEY_ENTITY,
      wrappedKey: new Uint8Array(256).fill(7),
      keyId: `https://elsewhere.vault.azure.net/keys/${KEY}/${version}`,
      algorithm: 'RSA-OAEP-256',
      createdAt: 1,
    });
    const seen = fake().requests.length;
    await expect(vault.set('org', 'A', 'a-value')).rejects.toThrow(
      `the vault data key was wrapped by https://elsewhere.vault.azure.net/keys/${KEY}/${version}, not a version of Key Vault key ${KEY} in ${fake().vaultUrl}; refusing to send it there`,
    );
    expect(requestsFrom(seen)).toEqual([]);
  });

  it('refuses a key name that is not a Key Vault name, naming the field', async () => {
    const [{ tables }] = await fresh(vaults);
    const keys = new KeyClient(fake().vaultUrl, fake().credential, fake().clientOptions());
    expect(() => new KeyVaultVault(tables, keys, 'keys/vault')).toThrow(
      "keyName must be a Key Vault key name (letters, digits, -), got 'keys/vault'",
    );
  });
});
