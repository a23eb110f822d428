// The credential vault on Azure: each secret an entity of the `vault` table (adapters/azure/tables.ts:
// PartitionKey the scope, RowKey the name, both through entityKey), its value sealed with AES-256-GCM
// (adapters/local/sealed.ts) and bound to its scope and name as associated data, exactly as the SQLite,
// DynamoDB and Firestore vaults do.
//
// The AES key is a data key wrapped by a Key Vault RSA key. The vault makes the 32 bytes itself
// (crypto.randomBytes) and has Key Vault `wrapkey` them with RSA-OAEP-256; the one entity (`data-key`,
// `data-key`: no scope encodes to that) holds only the wrapped key, the algorithm and the key's full id
// with its version, so a rotated Key Vault key still unwraps the data key with the version that wrapped it.
// The wrap goes through @azure/keyvault-keys' CryptographyClient, which GETs the key (its operations and
// dates checked) and would wrap locally with the public key for RSA-OAEP or RSA1_5 — but not for
// RSA-OAEP-256, so Key Vault wraps: the vault first reads the current version (`getKey`) and wraps with that
// version, so the id stored is exactly the one that wrapped. Unwrapping is Key Vault's alone (the private
// key never leaves it). A stored key id is used only when it names this vault's URL and this key: an altered
// entity cannot send the wrapped key, or the app's token, anywhere else.
//
// On first use a process reads the data-key entity and unwraps it, once; when there is none it creates its
// own (a create fails with 409 when the entity exists), so concurrent first uses from many instances agree
// on one key (the losers read the winner's). The plaintext key lives only in this process's memory. The
// cascade, the checks and the errors are the SQLite vault's (adapters/local/vault.ts); errors name the
// scope and name, or the Key Vault key and the status Key Vault answered, never a value, the key or a
// ciphertext — and never carry the client's error, whose request holds the key being wrapped.
import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { type KeyClient, parseKeyVaultKeyIdentifier } from '@azure/keyvault-keys';
import type { ResolvedSecrets, SecretEntry, Vault, VaultScope } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { resolveCascade } from '../../functions/core/vault-cascade.js';
import { packSealed, seal, unpackSealed, unseal } from '../local/sealed.js';
import { checkSecretName, parseScope, secretAad, VaultError } from '../local/vault.js';
import { keyVaultFailure } from './key-vault-errors.js';
import { type AzureTables, alreadyExists, entityKey, notFound, readEntity } from './tables.js';

/** The entity holding the wrapped data key. */
export const DATA_KEY_ENTITY = { partitionKey: 'data-key', rowKey: 'data-key' } as const;
/** How Key Vault wraps the data key. */
export const WRAP_ALGORITHM = 'RSA-OAEP-256';
const KEY_BYTES = 32;
/** A Key Vault key name: 1-127 letters, digits and dashes. */
const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** The most bytes a binary property holds (64 KiB). */
const MAX_SEALED = 65_536;

export interface KeyVaultVaultOptions {
  /** The clock for `updatedAt` (ms since epoch). */
  now?: () => number;
}

interface SecretEntity {
  scope: string;
  name: string;
  sealed: Uint8Array;
}

export class KeyVaultVault implements Vault {
  private readonly now: () => number;
  private readonly table: TableClient;
  private key: Promise<KeyObject> | undefined;

  /** `keys`: a KeyClient of the Key Vault holding `keyName`, the RSA key that wraps the data key. */
  constructor(
    tables: AzureTables,
    private readonly keys: KeyClient,
    private readonly keyName: string,
    options: KeyVaultVaultOptions = {},
  ) {
    if (!KEY_NAME.test(keyName))
      throw new VaultError(`keyName must be a Key Vault key name (letters, digits, -), got '${keyName}'`);
    this.table = tables.client('vault');
    this.now = options.now ?? Date.now;
  }

  async set(scope: VaultScope, name: string, value: string): Promise<void> {
    const checkedScope = parseScope(scope);
    checkSecretName(name);
    if (value.length === 0)
      throw new VaultError(`refusing to store an empty value for ${name} in ${checkedScope}`);
    const sealed = packSealed(seal(await this.dataKey(), value, secretAad(checkedScope, name)));
    if (sealed.length > MAX_SEALED)
      throw new VaultError(
        `the value of ${name} in ${checkedScope} is too long: sealed it is ${sealed.length} bytes, the Azure vault holds at most ${MAX_SEALED}`,
      );
    await this.table.upsertEntity(
      { ...secretKey(checkedScope, name), scope: checkedScope, name, sealed, updatedAt: this.now() },
      'Replace',
    );
  }

  async delete(scope: VaultScope, name: string): Promise<boolean> {
    const { partitionKey, rowKey } = secretKey(parseScope(scope), name);
    try {
      await this.table.deleteEntity(partitionKey, rowKey);
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  async list(scope?: VaultScope): Promise<SecretEntry[]> {
    const filter =
      scope === undefined
        ? `PartitionKey ne '${DATA_KEY_ENTITY.partitionKey}'`
        : `PartitionKey eq '${entityKey(parseScope(scope)).replaceAll("'", "''")}'`;
    const entries: SecretEntry[] = [];
    const pages = this.table.listEntities<{ scope: VaultScope; name: string; updatedAt: number }>({
      queryOptions: { filter, select: ['scope', 'name', 'updatedAt'] },
    });
    for await (const entity of pages)
      entries.push({ scope: entity.scope, name: entity.name, updatedAt: entity.updatedAt });
    return entries.sort((a, b) => compare(a.scope, b.scope) || compare(a.name, b.name));
  }

  async resolve(identity: Pick<Identity, 'email' | 'groups'>, names: string[]): Promise<ResolvedSecrets> {
    return resolveCascade(
      identity,
      names,
      async (scopes, wanted) => {
        const reads = scopes.flatMap((scope) =>
          wanted.map((name) => {
            const { partitionKey, rowKey } = secretKey(scope, name);
            return readEntity<SecretEntity>(this.table, partitionKey, rowKey);
          }),
        );
        return (await Promise.all(reads)).flatMap((entity) => (entity === undefined ? [] : [entity]));
      },
      (found) => this.open(found),
    );
  }

  private async open(found: SecretEntity): Promise<string> {
    const key = await this.dataKey();
    try {
      return unseal(key, unpackSealed(Buffer.from(found.sealed)), secretAad(found.scope, found.name));
    } catch {
      throw new VaultError(
        `cannot decrypt secret ${found.name} in scope ${found.scope}: the data key is not the one it was stored with, or the entity was altered or moved`,
      );
    }
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
    const { partitionKey, rowKey } = DATA_KEY_ENTITY;
    const stored = await readEntity(this.table, partitionKey, rowKey);
    if (stored !== undefined) return this.unwrap(stored);
    const plaintext = randomBytes(KEY_BYTES);
    try {
      const wrapped = await this.wrap(plaintext);
      await this.table.createEntity({ ...DATA_KEY_ENTITY, ...wrapped, createdAt: this.now() });
      return toKey(plaintext);
    } catch (error) {
      plaintext.fill(0);
      if (!alreadyExists(error)) throw error;
      // Another instance stored its data key first: use that one.
      const winner = await readEntity(this.table, partitionKey, rowKey);
      if (winner === undefined) throw new VaultError('the vault data key vanished while it was created');
      return this.unwrap(winner);
    }
  }

  /** The data key wrapped by the current version of the Key Vault key (see the header). */
  private async wrap(
    plaintext: Buffer,
  ): Promise<{ wrappedKey: Uint8Array; keyId: string; algorithm: string }> {
    const what = `the vault data key could not be wrapped with Key Vault key ${this.keyName}`;
    const current = await this.keyVault(what, () => this.keys.getKey(this.keyName));
    const version = current.properties.version;
    if (version === undefined || version === '') throw new VaultError(`${what}: Key Vault named no version`);
    const crypto = this.keys.getCryptographyClient(this.keyName, { keyVersion: version });
    const wrapped = await this.keyVault(what, () => crypto.wrapKey(WRAP_ALGORITHM, plaintext));
    if (wrapped.result.length === 0) throw new VaultError(`${what}: Key Vault returned no wrapped key`);
    return {
      wrappedKey: wrapped.result,
      keyId: current.id ?? this.keyId(version),
      algorithm: WRAP_ALGORITHM,
    };
  }

  private async unwrap(entity: Record<string, unknown>): Promise<KeyObject> {
    const { wrappedKey, keyId, algorithm } = entity;
    if (!(wrappedKey instanceof Uint8Array) || typeof keyId !== 'string' || algorithm !== WRAP_ALGORITHM)
      throw new VaultError('the vault data-key entity holds no wrapped key, key id or known algorithm');
    const version = this.ownVersion(keyId);
    const what = `the vault data key could not be unwrapped with Key Vault key ${this.keyName} (version ${version})`;
    const crypto = this.keys.getCryptographyClient(this.keyName, { keyVersion: version });
    const unwrapped = await this.keyVault(what, () => crypto.unwrapKey(WRAP_ALGORITHM, wrappedKey));
    return toKey(unwrapped.result);
  }

  /** The version in `keyId`, which must name this vault's key (else the entity was altered). */
  private ownVersion(keyId: string): string {
    let parsed: { vaultUrl: string; name: string; version?: string } | undefined;
    try {
      parsed = parseKeyVaultKeyIdentifier(keyId);
    } catch {
      parsed = undefined;
    }
    const version = parsed?.version;
    if (
      parsed === undefined ||
      version === undefined ||
      version === '' ||
      sameVault(parsed.vaultUrl, this.keys.vaultUrl) === false ||
      parsed.name !== this.keyName
    )
      throw new VaultError(
        `the vault data key was wrapped by ${keyId}, not a version of Key Vault key ${this.keyName} in ${this.keys.vaultUrl}; refusing to send it there`,
      );
    return version;
  }

  private keyId(version: string): string {
    return `${this.keys.vaultUrl.replace(/\/+$/, '')}/keys/${this.keyName}/${version}`;
  }

  /** Runs a Key Vault call; a failure becomes a VaultError saying `what` and Key Vault's status only. */
  private async keyVault<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new VaultError(`${what} (${keyVaultFailure(error)})`);
    }
  }
}

/** Two vault URLs name the same vault: the same origin, whatever the trailing slash or case. */
function sameVault(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function secretKey(scope: string, name: string): { partitionKey: string; rowKey: string } {
  return { partitionKey: entityKey(scope), rowKey: entityKey(name) };
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
