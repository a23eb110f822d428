// The credential vault on Google Cloud: each secret a Firestore document (`vaultSecrets/<scope>|<name>`,
// the scope percent-encoded), its value sealed with AES-256-GCM (adapters/local/sealed.ts) and bound to its
// scope and name as associated data, exactly as the SQLite and DynamoDB vaults do.
//
// The AES key is a data key wrapped by a Cloud KMS key. Cloud KMS has no GenerateDataKey, so the vault makes
// the 32 bytes itself (crypto.randomBytes) and asks KMS to `encrypt` them; the one document
// `vaultKeys/data-key` holds only the wrapped key (and the key version KMS used). Both calls pass
// associated data naming the purpose, so a ciphertext KMS made for anything else does not unwrap as this
// key, and the CRC32C checksums KMS offers for integrity: the request's (KMS says it verified them) and the
// answer's (checked here), so a key damaged on the way is never stored or used. On first use a process
// reads that document and asks KMS to `decrypt` it, once; when there is none it writes its own with
// `create` (which fails when the document exists), so concurrent first uses from many instances agree on
// one key (the losers read the winner's). The plaintext key lives only in this process's
// memory. The cascade, the checks and the errors are the SQLite vault's (adapters/local/vault.ts); errors
// name the scope and name, never a value or ciphertext.
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { ResolvedSecrets, SecretEntry, Vault, VaultScope } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { resolveCascade } from '../../functions/core/vault-cascade.js';
import { packSealed, seal, unpackSealed, unseal } from '../local/sealed.js';
import { checkSecretName, parseScope, secretAad, VaultError } from '../local/vault.js';
import { COLLECTIONS } from './collections.js';
import { crc32c } from './crc32c.js';

/** The id of the document (in `vaultKeys`) holding the KMS-wrapped data key. */
export const DATA_KEY_DOC = 'data-key';
/** Bound to the wrapped data key by KMS (additionalAuthenticatedData). */
const KEY_AAD = Buffer.from('stepgate-vault-data-key');
const KEY_NAME = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const KEY_BYTES = 32;
/** Firestore's status for a `create` over an existing document, and for a precondition on a missing one. */
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

export interface KmsVaultOptions {
  /** The clock for `updatedAt` (ms since epoch). */
  now?: () => number;
}

interface SecretDoc {
  scope: string;
  name: string;
  sealed: Buffer;
}

export class KmsVault implements Vault {
  private readonly now: () => number;
  private key: Promise<KeyObject> | undefined;

  /** `keyName`: the Cloud KMS key that wraps the data key, `projects/…/locations/…/keyRings/…/cryptoKeys/…`. */
  constructor(
    private readonly db: Firestore,
    private readonly kms: KeyManagementServiceClient,
    private readonly keyName: string,
    options: KmsVaultOptions = {},
  ) {
    if (!KEY_NAME.test(keyName))
      throw new VaultError(
        `keyName must be projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>, got '${keyName}'`,
      );
    this.now = options.now ?? Date.now;
  }

  async set(scope: VaultScope, name: string, value: string): Promise<void> {
    const checkedScope = parseScope(scope);
    checkSecretName(name);
    if (value.length === 0)
      throw new VaultError(`refusing to store an empty value for ${name} in ${checkedScope}`);
    const sealed = packSealed(seal(await this.dataKey(), value, secretAad(checkedScope, name)));
    await this.secretRef(checkedScope, name).set({
      scope: checkedScope,
      name,
      sealed,
      updatedAt: this.now(),
    });
  }

  async delete(scope: VaultScope, name: string): Promise<boolean> {
    try {
      await this.secretRef(parseScope(scope), name).delete({ exists: true });
      return true;
    } catch (error) {
      if (statusOf(error) === NOT_FOUND) return false;
      throw error;
    }
  }

  async list(scope?: VaultScope): Promise<SecretEntry[]> {
    const secrets = this.db.collection(COLLECTIONS.vaultSecrets.name);
    const query = scope === undefined ? secrets : secrets.where('scope', '==', parseScope(scope));
    const found = await query.select('scope', 'name', 'updatedAt').get();
    return found.docs
      .map((doc) => ({ scope: doc.get('scope'), name: doc.get('name'), updatedAt: doc.get('updatedAt') }))
      .sort((a, b) => compare(a.scope, b.scope) || compare(a.name, b.name));
  }

  async resolve(identity: Pick<Identity, 'email' | 'groups'>, names: string[]): Promise<ResolvedSecrets> {
    return resolveCascade(
      identity,
      names,
      async (scopes, wanted) => {
        const refs = scopes.flatMap((scope) => wanted.map((name) => this.secretRef(scope, name)));
        const found = await this.db.getAll(...refs);
        return found.flatMap((doc) => (doc.exists ? [doc.data() as SecretDoc] : []));
      },
      (found) => this.open(found),
    );
  }

  private async open(found: SecretDoc): Promise<string> {
    const key = await this.dataKey();
    try {
      return unseal(key, unpackSealed(Buffer.from(found.sealed)), secretAad(found.scope, found.name));
    } catch {
      throw new VaultError(
        `cannot decrypt secret ${found.name} in scope ${found.scope}: the data key is not the one it was stored with, or the document was altered or moved`,
      );
    }
  }

  private secretRef(scope: string, name: string): DocumentReference {
    return this.db.collection(COLLECTIONS.vaultSecrets.name).doc(`${encodeURIComponent(scope)}|${name}`);
  }

  /** The plaintext data key, read (or created) once per process; a failure is retried on the next use. */
  private dataKey(): Promise<KeyObject> {
    this.key ??= this.loadDataKey().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }

  private async loadDataKey(): Promise<KeyObject> {
    const ref = this.db.collection(COLLECTIONS.vaultKeys.name).doc(DATA_KEY_DOC);
    const stored = await ref.get();
    if (stored.exists) return this.unwrap(stored.get('wrappedKey'));
    const plaintext = randomBytes(KEY_BYTES);
    try {
      const wrapped = await this.wrap(plaintext);
      await ref.create({ ...wrapped, createdAt: this.now() });
      return toKey(plaintext);
    } catch (error) {
      plaintext.fill(0);
      if (statusOf(error) !== ALREADY_EXISTS) throw error;
      // Another instance stored its data key first: use that one.
      return this.unwrap((await ref.get()).get('wrappedKey'));
    }
  }

  /** The data key wrapped by KMS, the request's and the answer's checksums verified (see the header). */
  private async wrap(plaintext: Buffer): Promise<{ wrappedKey: Buffer; kmsKeyVersion: string }> {
    const [answer] = await this.kms.encrypt({
      name: this.keyName,
      plaintext,
      plaintextCrc32c: { value: crc32c(plaintext) },
      additionalAuthenticatedData: KEY_AAD,
      additionalAuthenticatedDataCrc32c: { value: crc32c(KEY_AAD) },
    });
    if (answer.verifiedPlaintextCrc32c !== true || answer.verifiedAdditionalAuthenticatedDataCrc32c !== true)
      throw new VaultError(
        `the vault data key reached Cloud KMS damaged (${this.keyName}); nothing was stored`,
      );
    const ciphertext = answer.ciphertext;
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length === 0)
      throw new VaultError(`Cloud KMS returned no ciphertext for the vault data key (${this.keyName})`);
    if (!checksumMatches(ciphertext, answer.ciphertextCrc32c))
      throw new VaultError(`the wrapped vault data key arrived from Cloud KMS damaged (${this.keyName})`);
    return { wrappedKey: Buffer.from(ciphertext), kmsKeyVersion: answer.name ?? this.keyName };
  }

  private async unwrap(wrappedKey: unknown): Promise<KeyObject> {
    if (!(wrappedKey instanceof Uint8Array))
      throw new VaultError('the vault data-key document holds no wrapped key');
    const [answer] = await this.kms.decrypt({
      name: this.keyName,
      ciphertext: wrappedKey,
      ciphertextCrc32c: { value: crc32c(wrappedKey) },
      additionalAuthenticatedData: KEY_AAD,
      additionalAuthenticatedDataCrc32c: { value: crc32c(KEY_AAD) },
    });
    if (!(answer.plaintext instanceof Uint8Array))
      throw new VaultError(`Cloud KMS did not unwrap the vault data key (${this.keyName})`);
    if (!checksumMatches(answer.plaintext, answer.plaintextCrc32c)) {
      answer.plaintext.fill(0);
      throw new VaultError(`the vault data key arrived from Cloud KMS damaged (${this.keyName})`);
    }
    return toKey(answer.plaintext);
  }
}

/** True when `sent` (an Int64Value KMS answered, its value a number, string or Long) is the CRC32C of `bytes`. */
function checksumMatches(bytes: Uint8Array, sent: { value?: unknown } | null | undefined): boolean {
  const value = sent?.value;
  return value !== undefined && value !== null && Number(String(value)) === crc32c(bytes);
}

function statusOf(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** A KeyObject of the 32 bytes, which are then wiped (the KeyObject holds its own copy). */
function toKey(bytes: Uint8Array): KeyObject {
  if (bytes.length !== KEY_BYTES)
    throw new VaultError(`the vault data key must be ${KEY_BYTES} bytes, got ${bytes.length}`);
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}

/** Code-unit order, as SQLite's BINARY collation orders the local vault's listing. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
