// The GCP vault (adapters/gcp/vault.ts) on the gcloud Firestore emulator, its data key wrapped by Cloud KMS
// played by the recording fake (test/support/google-fake.ts: the KMS client's own REST requests). The fake
// wraps with a reversible scheme this test controls (the key XORed, tagged with the associated data it was
// given) and refuses to unwrap under other associated data, as KMS does. Beside the Vault contract: the
// exact requests the client sends, what Firestore holds (no secret, no plaintext key), one unwrap per
// process, one data key when many instances start at once, and the errors.
import type { Firestore } from '@google-cloud/firestore';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTIONS } from '../../adapters/gcp/collections.js';
import { crc32c } from '../../adapters/gcp/crc32c.js';
import { DATA_KEY_DOC, KmsVault } from '../../adapters/gcp/vault.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';
import { FAKE_TOKEN, type FakeRequest, type GoogleFake, startGoogleFake } from '../support/google-fake.js';
import { type Contenders, fresh, race } from './contenders.js';
import { describeVaultContract } from './vault.contract.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const KEY = 'projects/acme/locations/europe-west1/keyRings/stepgate/cryptoKeys/vault';
const KEY_VERSION = `${KEY}/cryptoKeyVersions/3`;
const AAD = Buffer.from('stepgate-vault-data-key').toString('base64');
const WRAP_TAG = 'fake-kms:';

/** The fake's wrapping: the bytes XORed with 0x5a, after a tag and the associated data. */
function wrap(plaintext: Buffer, aad: string): Buffer {
  return Buffer.concat([Buffer.from(`${WRAP_TAG}${aad}:`), plaintext.map((b) => b ^ 0x5a)]);
}
function unwrap(ciphertext: Buffer, aad: string): Buffer | undefined {
  const prefix = Buffer.from(`${WRAP_TAG}${aad}:`);
  if (!ciphertext.subarray(0, prefix.length).equals(prefix)) return undefined;
  return Buffer.from(ciphertext.subarray(prefix.length).map((b) => b ^ 0x5a));
}

let emulator: FirestoreEmulator | undefined;
let fake: GoogleFake | undefined;
/** When set, the fake answers every KMS call with this status (a KMS outage or a missing permission). */
let failWith: number | undefined;
/** When set, the fake damages the bytes of its next answer (after computing their checksum). */
let damage = false;
/** When set, the fake's encrypt answers that it did not verify the request's checksums. */
let unverified = false;

/** KMS's refusal of a request whose checksum does not match its data. */
const checksumRefusal = (field: string) => ({
  status: 400,
  body: {
    error: { code: 400, message: `The checksum in field ${field} did not match`, status: 'INVALID_ARGUMENT' },
  },
});
/** The field's checksum matches its (base64) data; absent, there is nothing to verify. */
const checksumHolds = (data: string | undefined, sent: unknown) =>
  sent === undefined || Number(sent) === crc32c(Buffer.from(data ?? '', 'base64'));
/** The answer's bytes as sent: damaged (a byte flipped) when the test asks for it, once. */
function sent(bytes: Buffer): Buffer {
  if (!damage) return bytes;
  damage = false;
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = (copy.at(-1) ?? 0) ^ 1;
  return copy;
}

beforeAll(async () => {
  emulator = await startFirestoreEmulator();
  fake = await startGoogleFake(
    [
      `POST /v1/${KEY}:encrypt`,
      ({ body }) => {
        if (failWith !== undefined)
          return { status: failWith, body: { error: { code: failWith, message: 'denied' } } };
        const request = body as Record<string, string | undefined>;
        const aad = request.additionalAuthenticatedData;
        if (!checksumHolds(request.plaintext, request.plaintextCrc32c))
          return checksumRefusal('plaintext_crc32c');
        if (!checksumHolds(aad, request.additionalAuthenticatedDataCrc32c))
          return checksumRefusal('additional_authenticated_data_crc32c');
        const ciphertext = wrap(Buffer.from(request.plaintext ?? '', 'base64'), aad ?? '');
        return {
          body: {
            name: KEY_VERSION,
            ciphertext: sent(ciphertext).toString('base64'),
            ciphertextCrc32c: String(crc32c(ciphertext)),
            verifiedPlaintextCrc32c: !unverified && request.plaintextCrc32c !== undefined,
            verifiedAdditionalAuthenticatedDataCrc32c:
              !unverified && request.additionalAuthenticatedDataCrc32c !== undefined,
          },
        };
      },
    ],
    [
      `POST /v1/${KEY}:decrypt`,
      ({ body }) => {
        if (failWith !== undefined)
          return { status: failWith, body: { error: { code: failWith, message: 'denied' } } };
        const request = body as Record<string, string | undefined>;
        if (!checksumHolds(request.ciphertext, request.ciphertextCrc32c))
          return checksumRefusal('ciphertext_crc32c');
        const plaintext = unwrap(
          Buffer.from(request.ciphertext ?? '', 'base64'),
          request.additionalAuthenticatedData ?? '',
        );
        if (plaintext === undefined)
          return {
            status: 400,
            body: { error: { code: 400, message: 'Decryption failed', status: 'INVALID_ARGUMENT' } },
          };
        return {
          body: { plaintext: sent(plaintext).toString('base64'), plaintextCrc32c: String(crc32c(plaintext)) },
        };
      },
    ],
  );
}, 90_000);
afterAll(async () => {
  await fake?.close();
  await emulator?.stop();
});
beforeEach(() => {
  failWith = undefined;
  damage = false;
  unverified = false;
});

interface Member {
  vault: KmsVault;
  db: Firestore;
}

/** A fresh project; vaults over it, each with its own Firestore and KMS clients. */
function vaults(n = 2): Contenders<Member> {
  if (emulator === undefined || fake === undefined)
    throw new Error('the emulator or the fake is not running');
  const project = emulator.freshProject();
  const kms = Array.from({ length: n }, () => kmsClient());
  return {
    connections: kms.map((client) => {
      const db = (emulator as FirestoreEmulator).client(project);
      return { db, vault: new KmsVault(db, client, KEY, { now: () => 1_000 }) };
    }),
    close: () => Promise.all(kms.map((client) => client.close())).then(() => undefined),
  };
}

/**
 * A KMS client of the fake. The client library bundles its own google-auth-library, whose types differ
 * from the fake's auth client only by name: at run time it is what the library expects.
 */
function kmsClient(): KeyManagementServiceClient {
  const options = (fake as GoogleFake).gaxOptions();
  return new KeyManagementServiceClient(
    options as unknown as ConstructorParameters<typeof KeyManagementServiceClient>[0],
  );
}

/** The KMS requests the fake received from `from` on. */
function kmsRequests(from: number): FakeRequest[] {
  return (fake as GoogleFake).requests.slice(from);
}

async function everything(db: Firestore): Promise<Record<string, unknown>[]> {
  const [secrets, keys] = await Promise.all([
    db.collection(COLLECTIONS.vaultSecrets.name).get(),
    db.collection(COLLECTIONS.vaultKeys.name).get(),
  ]);
  return [...secrets.docs, ...keys.docs].map((doc) => ({ id: doc.id, ...doc.data() }));
}

describeVaultContract('Firestore + Cloud KMS', () => {
  const made = vaults();
  return { connections: made.connections.map((m) => m.vault), close: made.close };
});

describe('the Firestore vault under Cloud KMS', () => {
  it('wraps a locally made data key with KMS, sending exactly the key and its associated data', async () => {
    const seen = (fake as GoogleFake).requests.length;
    const [{ vault, db }] = await fresh(vaults);
    await vault.set('org', 'STRIPE', 'sk_live_PLAINTEXT_SECRET_VALUE');
    const sent = kmsRequests(seen);
    expect(sent.map((r) => [r.method, r.path])).toEqual([['POST', `/v1/${KEY}:encrypt`]]);
    const body = sent[0]?.body as Record<string, string>;
    const dataKey = Buffer.from(body.plaintext ?? '', 'base64');
    expect(dataKey).toHaveLength(32);
    // The key, its associated data, and their CRC32Cs for KMS to verify (REST writes an Int64Value as a string).
    expect(body).toEqual({
      plaintext: dataKey.toString('base64'),
      plaintextCrc32c: String(crc32c(dataKey)),
      additionalAuthenticatedData: AAD,
      additionalAuthenticatedDataCrc32c: String(crc32c(Buffer.from(AAD, 'base64'))),
    });
    expect(sent[0]?.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
    const keyDoc = (await db.collection(COLLECTIONS.vaultKeys.name).doc(DATA_KEY_DOC).get()).data();
    expect(keyDoc).toEqual({
      wrappedKey: wrap(dataKey, AAD),
      kmsKeyVersion: KEY_VERSION,
      createdAt: 1_000,
    });
    // The raw key is nowhere in Firestore: only KMS's ciphertext.
    for (const doc of await everything(db))
      for (const field of Object.values(doc)) {
        const bytes = Buffer.isBuffer(field) ? field : Buffer.from(String(field));
        expect(bytes.includes(dataKey)).toBe(false);
        expect(bytes.includes(dataKey.toString('base64'))).toBe(false);
      }
  });

  it('stores only sealed values; no secret is in Firestore or in any request to KMS', async () => {
    const seen = (fake as GoogleFake).requests.length;
    const [{ vault, db }, { vault: other }] = await fresh(vaults);
    const value = 'sk_live_PLAINTEXT_SECRET_VALUE';
    await vault.set('org', 'STRIPE', value);
    await other.set('group:ops/eu', 'STRIPE', value);
    expect((await other.resolve({ email: 'a@example.com', groups: ['ops/eu'] }, ['STRIPE'])).values).toEqual({
      STRIPE: value,
    });
    const docs = await everything(db);
    const secrets = docs.filter((d) => d.id !== DATA_KEY_DOC);
    expect(secrets.map((d) => d.id).sort()).toEqual(['group%3Aops%2Feu|STRIPE', 'org|STRIPE']);
    for (const doc of secrets) {
      expect(Object.keys(doc).sort()).toEqual(['id', 'name', 'scope', 'sealed', 'updatedAt']);
      expect(doc.sealed).toBeInstanceOf(Buffer);
      expect((doc.sealed as Buffer).toString('latin1')).not.toContain('PLAINTEXT');
    }
    expect(JSON.stringify(docs)).not.toContain('PLAINTEXT');
    for (const request of kmsRequests(seen)) {
      expect(request.raw.toString('latin1')).not.toContain('PLAINTEXT');
      expect(
        Buffer.from(String((request.body as Record<string, string>).plaintext ?? ''), 'base64').toString(
          'latin1',
        ),
      ).not.toContain('PLAINTEXT');
    }
    // A secret moved to another name no longer opens, and the error shows no value.
    const { id: _, ...org } = secrets.find((d) => d.scope === 'org') as Record<string, unknown>;
    await db
      .collection(COLLECTIONS.vaultSecrets.name)
      .doc('org|MOVED')
      .set({ ...org, name: 'MOVED' });
    const moved = vault.resolve({ email: 'a@example.com', groups: [] }, ['MOVED']);
    await expect(moved).rejects.toThrow(/cannot decrypt secret MOVED in scope org/);
    await expect(vault.resolve({ email: 'a@example.com', groups: [] }, ['MOVED'])).rejects.not.toThrow(
      /PLAINTEXT/,
    );
  });

  it('unwraps the stored data key with KMS once per process, whatever it then reads or writes', async () => {
    const [{ vault, db }, { vault: other }] = await fresh(vaults);
    await vault.set('org', 'A', 'a-value');
    const seen = (fake as GoogleFake).requests.length;
    for (let i = 0; i < 3; i++) {
      await other.set('org', `B${i}`, `b-${i}`);
      expect((await other.resolve({ email: 'a@example.com', groups: [] }, ['A', `B${i}`])).values).toEqual({
        A: 'a-value',
        [`B${i}`]: `b-${i}`,
      });
    }
    const sent = kmsRequests(seen);
    expect(sent.map((r) => [r.method, r.path])).toEqual([['POST', `/v1/${KEY}:decrypt`]]);
    // The wrapped key as Firestore holds it, under the vault's associated data.
    const wrapped = (await db.collection(COLLECTIONS.vaultKeys.name).doc(DATA_KEY_DOC).get()).get(
      'wrappedKey',
    );
    expect(sent[0]?.body).toEqual({
      ciphertext: wrapped.toString('base64'),
      ciphertextCrc32c: String(crc32c(wrapped)),
      additionalAuthenticatedData: AAD,
      additionalAuthenticatedDataCrc32c: String(crc32c(Buffer.from(AAD, 'base64'))),
    });
  });

  it('agrees on one data key when many instances use an empty database at once', async () => {
    const members = await fresh(() => vaults(6));
    const outcomes = await race(members.length, (i) => members[i]?.vault.set('org', `K${i}`, `value-${i}`));
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    const names = members.map((_, i) => `K${i}`);
    for (const { vault } of members)
      expect((await vault.resolve({ email: 'a@example.com', groups: [] }, names)).values).toEqual(
        Object.fromEntries(names.map((n, i) => [n, `value-${i}`])),
      );
    const keys = await members[0].db.collection(COLLECTIONS.vaultKeys.name).get();
    expect(keys.docs.map((d) => d.id)).toEqual([DATA_KEY_DOC]);
  }, 60_000);

  it('fails when KMS refuses, storing nothing, and tries KMS again on the next use', async () => {
    const [{ vault, db }] = await fresh(vaults);
    failWith = 403;
    await expect(vault.set('org', 'A', 'a-value')).rejects.toThrow(/denied/);
    expect(await everything(db)).toEqual([]);
    failWith = undefined;
    await vault.set('org', 'A', 'a-value');
    expect((await vault.resolve({ email: 'a@example.com', groups: [] }, ['A'])).values).toEqual({
      A: 'a-value',
    });
  });

  it('refuses a wrapped key damaged on its way from KMS, storing nothing, and wraps anew next time', async () => {
    const [{ vault, db }] = await fresh(vaults);
    damage = true;
    await expect(vault.set('org', 'A', 'a-value')).rejects.toThrow(
      `the wrapped vault data key arrived from Cloud KMS damaged (${KEY})`,
    );
    expect(await everything(db)).toEqual([]);
    await vault.set('org', 'A', 'a-value');
    expect((await vault.resolve({ email: 'a@example.com', groups: [] }, ['A'])).values).toEqual({
      A: 'a-value',
    });
  });

  it('refuses a wrapped key when KMS did not verify the checksums of what it was sent, storing nothing', async () => {
    const [{ vault, db }] = await fresh(vaults);
    unverified = true;
    await expect(vault.set('org', 'A', 'a-value')).rejects.toThrow(
      `the vault data key reached Cloud KMS damaged (${KEY}); nothing was stored`,
    );
    expect(await everything(db)).toEqual([]);
  });

  it('refuses an unwrapped key damaged on its way from KMS, and unwraps again next time', async () => {
    const [{ vault }, { vault: other }] = await fresh(vaults);
    await vault.set('org', 'A', 'a-value');
    damage = true;
    const read = () => other.resolve({ email: 'a@example.com', groups: [] }, ['A']);
    await expect(read()).rejects.toThrow(`the vault data key arrived from Cloud KMS damaged (${KEY})`);
    expect((await read()).values).toEqual({ A: 'a-value' });
  });

  it('refuses a data key KMS will not unwrap under the vault’s associated data', async () => {
    const [{ vault, db }] = await fresh(vaults);
    await db
      .collection(COLLECTIONS.vaultKeys.name)
      .doc(DATA_KEY_DOC)
      .create({
        wrappedKey: wrap(Buffer.alloc(32, 1), 'other-purpose'),
        kmsKeyVersion: KEY_VERSION,
        createdAt: 1,
      });
    await expect(vault.set('org', 'A', 'a-value')).rejects.toThrow(/Decryption failed/);
    expect((await everything(db)).map((d) => d.id)).toEqual([DATA_KEY_DOC]);
  });

  it('refuses a key name that is not a Cloud KMS crypto key, naming the field', async () => {
    const [{ db }] = await fresh(vaults);
    const kms = kmsClient();
    expect(() => new KmsVault(db, kms, 'projects/acme/secrets/vault')).toThrow(
      /keyName must be projects\/<project>\/locations\/<location>\/keyRings\/<ring>\/cryptoKeys\/<key>/,
    );
    expect(() => new KmsVault(db, kms, `${KEY}/cryptoKeyVersions/1`)).toThrow(/keyName/);
    return kms.close();
  });
});
