// The credential vault on AWS: each secret an item of the DynamoDB table (adapters/aws/table.ts: pk
// `VAULT#<scope>`, sk `SECRET#<name>`), its value sealed with AES-256-GCM (adapters/local/sealed.ts) and
// bound to its scope and name as associated data, exactly as the SQLite vault does.
//
// The AES key is a KMS data key: on first use the vault reads the table's one data-key item (pk `VAULT-KEY`),
// which holds only the key encrypted by KMS, and asks KMS to decrypt it; when there is none it asks KMS for
// a new one (GenerateDataKey, AES_256) and writes its encrypted form with a conditional put, so concurrent
// first uses from many Lambdas agree on one key (the loser reads the winner's). The plaintext key lives only
// in this process's memory. The cascade, the checks and the errors are the SQLite vault's
// (adapters/local/vault.ts); errors name the scope and name, never a value or ciphertext.

import { createSecretKey, type KeyObject } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ResolvedSecrets, SecretEntry, Vault, VaultScope } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import { resolveCascade } from '../../functions/core/vault-cascade.js';
import { packSealed, seal, unpackSealed, unseal } from '../local/sealed.js';
import { checkSecretName, parseScope, secretAad, VaultError } from '../local/vault.js';
import { conditionFailed, type Table } from './table.js';

const PREFIX = 'VAULT#';
const SECRET = 'SECRET#';
/** The key of the item holding the KMS-encrypted data key. */
export const DATA_KEY_ITEM = { pk: 'VAULT-KEY', sk: 'VAULT-KEY' } as const;
/** Bound to the data key by KMS: a blob encrypted for another purpose does not decrypt as this one. */
const ENCRYPTION_CONTEXT = { purpose: 'stepgate-vault-data-key' };
/** BatchGetItem's limit of keys per request. */
const BATCH = 100;

export interface DynamoVaultOptions {
  /** The clock for `updatedAt` (ms since epoch). */
  now?: () => number;
}

interface SecretItem {
  scope: string;
  name: string;
  sealed: Uint8Array;
}

export class DynamoVault implements Vault {
  private readonly now: () => number;
  private key: Promise<KeyObject> | undefined;

  /** `keyId`: the KMS key (id, ARN or alias) the data key is generated under and decrypted with. */
  constructor(
    private readonly table: Table,
    private readonly kms: KMSClient,
    private readonly keyId: string,
    options: DynamoVaultOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async set(scope: VaultScope, name: string, value: string): Promise<void> {
    const checkedScope = parseScope(scope);
    checkSecretName(name);
    if (value.length === 0)
      throw new VaultError(`refusing to store an empty value for ${name} in ${checkedScope}`);
    const sealed = packSealed(seal(await this.dataKey(), value, secretAad(checkedScope, name)));
    await this.table.client.send(
      new PutCommand({
        TableName: this.table.name,
        Item: { ...secretKey(checkedScope, name), scope: checkedScope, name, sealed, updatedAt: this.now() },
      }),
    );
  }

  async delete(scope: VaultScope, name: string): Promise<boolean> {
    const { Attributes } = await this.table.client.send(
      new DeleteCommand({
        TableName: this.table.name,
        Key: secretKey(parseScope(scope), name),
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async list(scope?: VaultScope): Promise<SecretEntry[]> {
    const entries: SecretEntry[] = [];
    const checkedScope = scope === undefined ? undefined : parseScope(scope);
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.client.send(
        checkedScope === undefined
          ? new ScanCommand({
              TableName: this.table.name,
              FilterExpression: 'begins_with(pk, :prefix) AND begins_with(sk, :secret)',
              ExpressionAttributeValues: { ':prefix': PREFIX, ':secret': SECRET },
              ProjectionExpression: '#scope, #name, updatedAt',
              ExpressionAttributeNames: { '#scope': 'scope', '#name': 'name' },
              ConsistentRead: true,
              ExclusiveStartKey: start,
            })
          : new QueryCommand({
              TableName: this.table.name,
              KeyConditionExpression: 'pk = :pk AND begins_with(sk, :secret)',
              ExpressionAttributeValues: { ':pk': `${PREFIX}${checkedScope}`, ':secret': SECRET },
              ProjectionExpression: '#scope, #name, updatedAt',
              ExpressionAttributeNames: { '#scope': 'scope', '#name': 'name' },
              ConsistentRead: true,
              ExclusiveStartKey: start,
            }),
      );
      for (const item of page.Items ?? [])
        entries.push({ scope: item.scope, name: item.name, updatedAt: item.updatedAt });
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return entries.sort((a, b) => compare(a.scope, b.scope) || compare(a.name, b.name));
  }

  async resolve(identity: Pick<Identity, 'email' | 'groups'>, names: string[]): Promise<ResolvedSecrets> {
    return resolveCascade(
      identity,
      names,
      (scopes, wanted) =>
        this.getAll(scopes.flatMap((scope) => wanted.map((name) => secretKey(scope, name)))),
      (item) => this.decrypt(item),
    );
  }

  /** The items of `keys` that exist, read consistently, in batches, retrying what DynamoDB left out. */
  private async getAll(keys: Record<string, string>[]): Promise<SecretItem[]> {
    const items: SecretItem[] = [];
    for (let i = 0; i < keys.length; i += BATCH) {
      let pending: Record<string, string>[] = keys.slice(i, i + BATCH);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 25 * 2 ** attempt)));
        if (attempt > 10) throw new VaultError('DynamoDB kept leaving secrets unread; try again');
        const answer = await this.table.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.table.name]: {
                Keys: pending,
                ConsistentRead: true,
                ProjectionExpression: '#scope, #name, sealed',
                ExpressionAttributeNames: { '#scope': 'scope', '#name': 'name' },
              },
            },
          }),
        );
        items.push(...((answer.Responses?.[this.table.name] ?? []) as SecretItem[]));
        pending = (answer.UnprocessedKeys?.[this.table.name]?.Keys ?? []) as Record<string, string>[];
      }
    }
    return items;
  }

  private async decrypt(item: SecretItem): Promise<string> {
    const key = await this.dataKey();
    try {
      return unseal(key, unpackSealed(Buffer.from(item.sealed)), secretAad(item.scope, item.name));
    } catch {
      throw new VaultError(
        `cannot decrypt secret ${item.name} in scope ${item.scope}: the data key is not the one it was stored with, or the item was altered or moved`,
      );
    }
  }

  /** The plaintext data key, fetched (or created) once per process; a failure is retried on the next use. */
  private dataKey(): Promise<KeyObject> {
    this.key ??= this.loadDataKey().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }

  private async loadDataKey(): Promise<KeyObject> {
    const stored = await this.readDataKeyItem();
    if (stored !== undefined) return this.decryptDataKey(stored);
    const generated = await this.kms.send(
      new GenerateDataKeyCommand({
        KeyId: this.keyId,
        KeySpec: 'AES_256',
        EncryptionContext: ENCRYPTION_CONTEXT,
      }),
    );
    if (generated.Plaintext === undefined || generated.CiphertextBlob === undefined)
      throw new VaultError(`KMS returned no data key for ${this.keyId}`);
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            ...DATA_KEY_ITEM,
            encryptedKey: generated.CiphertextBlob,
            kmsKeyId: generated.KeyId ?? this.keyId,
            createdAt: this.now(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      generated.Plaintext.fill(0);
      if (!conditionFailed(error)) throw error;
      // Another process stored its data key first: use that one.
      const winner = await this.readDataKeyItem();
      if (winner === undefined) throw new VaultError('the vault data key vanished while it was created');
      return this.decryptDataKey(winner);
    }
    return toKey(generated.Plaintext);
  }

  private async readDataKeyItem(): Promise<Uint8Array | undefined> {
    const { Item } = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: DATA_KEY_ITEM, ConsistentRead: true }),
    );
    const blob = Item?.encryptedKey;
    if (Item !== undefined && !(blob instanceof Uint8Array))
      throw new VaultError('the vault data-key item holds no encrypted key');
    return blob;
  }

  private async decryptDataKey(blob: Uint8Array): Promise<KeyObject> {
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({ CiphertextBlob: blob, KeyId: this.keyId, EncryptionContext: ENCRYPTION_CONTEXT }),
    );
    if (Plaintext === undefined)
      throw new VaultError(`KMS did not decrypt the vault data key (${this.keyId})`);
    return toKey(Plaintext);
  }
}

function secretKey(scope: string, name: string): { pk: string; sk: string } {
  return { pk: `${PREFIX}${scope}`, sk: `${SECRET}${name}` };
}

/** A KeyObject of the 32 bytes, which are then wiped (the KeyObject holds its own copy). */
function toKey(bytes: Uint8Array): KeyObject {
  if (bytes.length !== 32) throw new VaultError(`the vault data key must be 32 bytes, got ${bytes.length}`);
  const key = createSecretKey(bytes);
  bytes.fill(0);
  return key;
}

/** Code-unit order, as SQLite's BINARY collation orders the local vault's listing. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
