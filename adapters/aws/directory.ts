// The user directory in the DynamoDB table (adapters/aws/table.ts), answering as SqliteDirectory does
// (adapters/local/sqlite-directory.ts: the same checks, the same scrypt hashes, disabled users invisible).
// Users are items of one partition (`USERS`, sk `USER#<email>`), read whole for listings and approver specs;
// each carries a `version` so a write made on a stale read is refused and retried.
//
// The last-admin rule is kept by one more item, `ADMINS`, holding the set of enabled admins: every write of
// a user changes it in the same transaction, removing the user only on condition that someone else stays
// in it. Of two admins demoting each other at once, the second transaction's condition fails.
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { normalizeEmail } from '../../functions/core/identity.js';
import {
  type AdminDirectory,
  type AdminUserInput,
  type AdminUserRecord,
  type Directory,
  LastAdminError,
} from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';
import {
  checkEmail,
  checkPassword,
  checkPasswordHash,
  checkUser,
  DirectoryError,
  DUMMY_HASH,
  hashPassword,
  MAX_PASSWORD,
  needsRehash,
} from '../local/sqlite-directory.js';
import { conditionFailed, queryAll, type Table, type TransactItem, transactionCancelled } from './table.js';

const USERS = 'USERS';
const ADMINS_KEY = { pk: 'ADMINS', sk: 'ADMINS' };
const SEQ_KEY = { pk: 'USER-SEQ', sk: 'USER-SEQ' };
/** How often a write made on a stale read is tried again before giving up. */
const ATTEMPTS = 20;

interface UserItem {
  email: string;
  name: string | null;
  role: string;
  groups: string[];
  manager: string | null;
  disabled: boolean;
  service: boolean;
  passwordHash?: string;
  position: number;
  version: number;
}

const userKey = (email: string) => ({ pk: USERS, sk: `USER#${email}` });

function identity(item: UserItem): Identity {
  const found: Identity = { email: item.email, role: item.role, groups: item.groups, manager: item.manager };
  if (item.name !== null) found.name = item.name;
  if (item.service) found.service = true;
  return found;
}

function record(item: UserItem): AdminUserRecord {
  return { ...identity(item), disabled: item.disabled, hasPassword: item.passwordHash !== undefined };
}

export class DynamoDirectory implements Directory, AdminDirectory {
  constructor(private readonly table: Table) {}

  private async read(email: string): Promise<UserItem | undefined> {
    const { Item } = await this.table.client.send(
      new GetCommand({ TableName: this.table.name, Key: userKey(email), ConsistentRead: true }),
    );
    return Item as UserItem | undefined;
  }

  /** Every user, in the order they were first added. */
  private async all(): Promise<UserItem[]> {
    const users = (await queryAll(this.table, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': USERS },
      ConsistentRead: true,
    })) as unknown as UserItem[];
    return users.sort((a, b) => a.position - b.position);
  }

  /**
   * Writes the user's new item `after` (or deletes the user, without it) with the admins set's change, on
   * condition that the user item is still `current`; true when written, false when the user changed since
   * it was read. Throws LastAdminError when the change would empty the admins set.
   */
  private async commit(
    email: string,
    current: UserItem | undefined,
    after: UserItem | undefined,
  ): Promise<boolean> {
    const userCondition =
      current === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: 'version = :v',
            ExpressionAttributeValues: { ':v': current.version },
          };
    const write: TransactItem =
      after === undefined
        ? { Delete: { TableName: this.table.name, Key: userKey(email), ...userCondition } }
        : { Put: { TableName: this.table.name, Item: { ...userKey(email), ...after }, ...userCondition } };
    const admins: TransactItem =
      after !== undefined && after.role === 'admin' && !after.disabled
        ? {
            Update: {
              TableName: this.table.name,
              Key: ADMINS_KEY,
              UpdateExpression: 'ADD admins :me',
              ExpressionAttributeValues: { ':me': new Set([email]) },
            },
          }
        : {
            Update: {
              TableName: this.table.name,
              Key: ADMINS_KEY,
              UpdateExpression: 'DELETE admins :me',
              ConditionExpression:
                'attribute_not_exists(admins) OR NOT contains(admins, :email) OR size(admins) > :one',
              ExpressionAttributeValues: { ':me': new Set([email]), ':email': email, ':one': 1 },
            },
          };
    try {
      await this.table.client.send(new TransactWriteCommand({ TransactItems: [write, admins] }));
      return true;
    } catch (error) {
      const reasons = transactionCancelled(error);
      if (reasons === undefined) throw error;
      if (reasons[0] === 'None' && reasons[1] === 'ConditionalCheckFailed') throw new LastAdminError(email);
      return false;
    }
  }

  private async nextPosition(): Promise<number> {
    const { Attributes } = await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.name,
        Key: SEQ_KEY,
        UpdateExpression: 'ADD seq :one',
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(Attributes?.seq);
  }

  async user(email: string): Promise<Identity | undefined> {
    const item =
      typeof email === 'string' && email.length > 0 ? await this.read(email.toLowerCase()) : undefined;
    return item === undefined || item.disabled ? undefined : identity(item);
  }

  async resolve(spec: string): Promise<string[]> {
    const enabled = async () => (await this.all()).filter((u) => !u.disabled);
    if (spec.startsWith('role:')) {
      const role = spec.slice('role:'.length);
      return (await enabled()).filter((u) => u.role === role).map((u) => u.email);
    }
    if (spec.startsWith('group:')) {
      const group = spec.slice('group:'.length);
      return (await enabled()).filter((u) => u.groups.includes(group)).map((u) => u.email);
    }
    return spec.includes('@') ? [normalizeEmail(spec)] : [];
  }

  async getUser(email: string): Promise<AdminUserRecord | undefined> {
    const item = await this.read(email.toLowerCase());
    return item === undefined ? undefined : record(item);
  }

  async listUsers(): Promise<AdminUserRecord[]> {
    return (await this.all()).map(record);
  }

  /** Creates or replaces a user (its groups replaced whole); the password and position are kept. */
  async upsertUser(input: AdminUserInput): Promise<AdminUserRecord> {
    const user = checkUser(input);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.read(user.email);
      const service = user.service === null ? (current?.service ?? false) : user.service === 1;
      const after: UserItem = {
        email: user.email,
        name: user.name,
        role: user.role,
        groups: user.groups,
        manager: user.manager,
        disabled: user.disabled === null ? (current?.disabled ?? false) : user.disabled === 1,
        service,
        position: current?.position ?? (await this.nextPosition()),
        version: (current?.version ?? 0) + 1,
      };
      if (!service && current?.passwordHash !== undefined) after.passwordHash = current.passwordHash;
      if (await this.commit(user.email, current, after)) return record(after);
    }
    throw new Error(`${user.email} kept changing while it was being written; try again`);
  }

  /** False when there was no such user. */
  async deleteUser(email: string): Promise<boolean> {
    const key = email.toLowerCase();
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await this.read(key);
      if (current === undefined) return false;
      if (await this.commit(key, current, undefined)) return true;
    }
    throw new Error(`${key} kept changing while it was being deleted; try again`);
  }

  async setPassword(email: string, password: string): Promise<void> {
    const key = checkEmail(email, 'email');
    const checked = checkPassword(password);
    const current = await this.read(key);
    if (current === undefined) throw new DirectoryError('email', `no user ${key}`);
    if (current.service)
      throw new DirectoryError('password', `${key} is a service account: nobody logs in as it`);
    if (!(await this.storeHash(key, await hashPassword(checked))))
      throw new DirectoryError('email', `no user ${key} who can have a password`);
  }

  /** The identity of an enabled user whose password this is; null for anything else, after the same work. */
  async verifyPassword(email: string, password: string): Promise<Identity | null> {
    const item =
      typeof email === 'string' && email.length > 0 ? await this.read(email.toLowerCase()) : undefined;
    const usable = typeof password === 'string' && password.length <= MAX_PASSWORD;
    const stored = item?.passwordHash ?? null;
    const ok = await checkPasswordHash(usable ? password : '', stored ?? DUMMY_HASH);
    if (!ok || !usable || item === undefined || stored === null || item.disabled || item.service) return null;
    if (needsRehash(stored)) await this.storeHash(item.email, await hashPassword(password));
    return identity(item);
  }

  /** Stores a password hash, never on a service account; bumps the version so no stale upsert drops it. */
  private async storeHash(email: string, hash: string): Promise<boolean> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: userKey(email),
          UpdateExpression: 'SET passwordHash = :hash, version = version + :one',
          ConditionExpression: 'attribute_exists(pk) AND service = :no',
          ExpressionAttributeValues: { ':hash': hash, ':one': 1, ':no': false },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }
}
