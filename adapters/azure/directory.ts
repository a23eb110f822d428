// The user directory in Azure Table Storage (or Cosmos DB for Table), answering as SqliteDirectory does
// (adapters/local/sqlite-directory.ts: the same checks, the same scrypt hashes, disabled users invisible) and
// as DynamoDirectory and FirestoreDirectory do. Table `identity` (adapters/azure/tables.ts), one partition
// for the whole directory, so that a user and the directory's state change in one entity-group transaction:
//
// | entity | PartitionKey | RowKey | properties |
// | --- | --- | --- | --- |
// | user | `users` | `user|<email>` | email, name?, role, groups (JSON text, packed), manager?, disabled, service, passwordHash?, position |
// | directory state | `users` | `state` | admins (JSON text: the enabled admins), lastPosition |
//
// (`<email>` is entityKey(email), lower-cased.) Listings and approver specs read the partition's users (one
// RowKey range) and order them by the position they were first added at.
//
// The last-admin rule: every write of a user reads the user and the state, refuses (LastAdminError,
// writing nothing) to leave no enabled admin, and commits the user's change and the new state in ONE
// transaction, the state replaced only if its ETag is still the one read (the user created, or replaced
// with its own ETag). Every write replaces the state, so of two admins demoting each other at once the
// second transaction fails (412), reads again, and finds itself the last admin. A password hash is computed
// outside (scrypt is slow, an attempt may run again) and merged into the user conditioned on the user's
// ETag: never on a service account, nor on a user deleted or changed since it was read.
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
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
  type CheckedUser,
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
import { entitiesWithPrefix } from './prefix-query.js';
import { type AzureTables, entityKey, packText, readEntity, retryRaces, unpackText } from './tables.js';

const PARTITION = 'users';
const STATE = 'state';

interface User {
  email: string;
  name: string | null;
  role: string;
  groups: string[];
  manager: string | null;
  disabled: boolean;
  service: boolean;
  passwordHash?: string;
  position: number;
}

interface State {
  admins: string[];
  lastPosition: number;
}

const userKey = (email: string) => `user|${entityKey(email.toLowerCase())}`;

/** The user an entity holds. */
function fromEntity(entity: Record<string, unknown>): User {
  const user: User = {
    email: String(entity.email),
    name: typeof entity.name === 'string' ? entity.name : null,
    role: String(entity.role),
    groups: JSON.parse(unpackText(entity, 'groups') ?? '[]') as string[],
    manager: typeof entity.manager === 'string' ? entity.manager : null,
    disabled: entity.disabled === true,
    service: entity.service === true,
    position: Number(entity.position),
  };
  if (typeof entity.passwordHash === 'string') user.passwordHash = entity.passwordHash;
  return user;
}

/** The entity holding `user` (absent properties for nulls: Table Storage stores no null). */
function toEntity(user: User) {
  const { name, manager, passwordHash, groups, ...rest } = user;
  return {
    partitionKey: PARTITION,
    rowKey: userKey(user.email),
    ...rest,
    ...packText('groups', JSON.stringify(groups)),
    ...(name === null ? {} : { name }),
    ...(manager === null ? {} : { manager }),
    ...(passwordHash === undefined ? {} : { passwordHash }),
  };
}

function identity(user: User): Identity {
  const found: Identity = { email: user.email, role: user.role, groups: user.groups, manager: user.manager };
  if (user.name !== null) found.name = user.name;
  if (user.service) found.service = true;
  return found;
}

function record(user: User): AdminUserRecord {
  return { ...identity(user), disabled: user.disabled, hasPassword: user.passwordHash !== undefined };
}

const isEnabledAdmin = (user: User | undefined): boolean =>
  user !== undefined && user.role === 'admin' && !user.disabled;

/** The user `checked` makes of what is stored (`current`), at `position`. */
function afterUpsert(checked: CheckedUser, current: User | undefined, position: number): User {
  const service = checked.service === null ? (current?.service ?? false) : checked.service === 1;
  const after: User = {
    email: checked.email,
    name: checked.name,
    role: checked.role,
    groups: checked.groups,
    manager: checked.manager,
    disabled: checked.disabled === null ? (current?.disabled ?? false) : checked.disabled === 1,
    service,
    position,
  };
  if (!service && current?.passwordHash !== undefined) after.passwordHash = current.passwordHash;
  return after;
}

/** What a write read: the user (with its ETag) and the state (with its ETag, when there is one). */
interface Read {
  current: { user: User; etag: string } | undefined;
  state: State;
  stateEtag: string | undefined;
}

export class AzureDirectory implements Directory, AdminDirectory {
  private readonly client: TableClient;

  constructor(tables: AzureTables) {
    this.client = tables.client('identity');
  }

  async user(email: string): Promise<Identity | undefined> {
    const found = typeof email === 'string' && email.length > 0 ? await this.read(email) : undefined;
    return found === undefined || found.user.disabled ? undefined : identity(found.user);
  }

  async resolve(spec: string): Promise<string[]> {
    if (spec.startsWith('role:') || spec.startsWith('group:')) {
      const role = spec.startsWith('role:') ? spec.slice('role:'.length) : undefined;
      const group = spec.startsWith('group:') ? spec.slice('group:'.length) : undefined;
      return (await this.all())
        .filter((u) => !u.disabled && (role === undefined ? u.groups.includes(group ?? '') : u.role === role))
        .map((u) => u.email);
    }
    return spec.includes('@') ? [normalizeEmail(spec)] : [];
  }

  async getUser(email: string): Promise<AdminUserRecord | undefined> {
    const found = typeof email === 'string' && email.length > 0 ? await this.read(email) : undefined;
    return found === undefined ? undefined : record(found.user);
  }

  /** Every user, in the order they were first added. */
  async listUsers(): Promise<AdminUserRecord[]> {
    return (await this.all()).map(record);
  }

  /** Creates or replaces a user (its groups replaced whole); the password and position are kept. */
  async upsertUser(input: AdminUserInput): Promise<AdminUserRecord> {
    const checked = checkUser(input);
    return retryRaces(`writing user ${checked.email}`, async () => {
      const read = await this.readForWrite(checked.email);
      const position = read.current?.user.position ?? read.state.lastPosition + 1;
      const after = afterUpsert(checked, read.current?.user, position);
      await this.commit(checked.email, read, after, Math.max(position, read.state.lastPosition));
      return record(after);
    });
  }

  /** False when there was no such user. */
  async deleteUser(email: string): Promise<boolean> {
    const key = typeof email === 'string' ? email.toLowerCase() : '';
    if (key.length === 0) return false;
    return retryRaces(`deleting user ${key}`, async () => {
      const read = await this.readForWrite(key);
      if (read.current === undefined) return false;
      await this.commit(key, read, undefined, read.state.lastPosition);
      return true;
    });
  }

  async setPassword(email: string, password: string): Promise<void> {
    const key = checkEmail(email, 'email');
    const checked = checkPassword(password);
    const current = await this.read(key);
    if (current === undefined) throw new DirectoryError('email', `no user ${key}`);
    if (current.user.service)
      throw new DirectoryError('password', `${key} is a service account: nobody logs in as it`);
    if (!(await this.storeHash(key, await hashPassword(checked))))
      throw new DirectoryError('email', `no user ${key} who can have a password`);
  }

  /** The identity of an enabled user whose password this is; null for anything else, after the same work. */
  async verifyPassword(email: string, password: string): Promise<Identity | null> {
    const found = typeof email === 'string' && email.length > 0 ? (await this.read(email))?.user : undefined;
    const usable = typeof password === 'string' && password.length <= MAX_PASSWORD;
    const stored = found?.passwordHash ?? null;
    const ok = await checkPasswordHash(usable ? password : '', stored ?? DUMMY_HASH);
    if (!ok || !usable || found === undefined || stored === null || found.disabled || found.service)
      return null;
    if (needsRehash(stored)) await this.storeHash(found.email, await hashPassword(password));
    return identity(found);
  }

  /** Stores a password hash on the user as read: never on a service account, nor on a user deleted since. */
  private storeHash(email: string, hash: string): Promise<boolean> {
    return retryRaces(`storing the password of ${email}`, async () => {
      const found = await this.read(email);
      if (found === undefined || found.user.service) return false;
      const merged = { partitionKey: PARTITION, rowKey: userKey(email), passwordHash: hash };
      await this.client.updateEntity(merged, 'Merge', { etag: found.etag });
      return true;
    });
  }

  /** The user as stored and the directory's state, each with its ETag. */
  private async readForWrite(email: string): Promise<Read> {
    const [current, state] = await Promise.all([this.read(email), readEntity(this.client, PARTITION, STATE)]);
    return {
      current,
      state: {
        admins: JSON.parse(typeof state?.admins === 'string' ? state.admins : '[]') as string[],
        lastPosition: Number(state?.lastPosition ?? 0),
      },
      stateEtag: state?.etag,
    };
  }

  /**
   * Writes the user's new entity `after` (or deletes the user, without it) and the state with the admins
   * changed to match, in one transaction conditioned on what was read; throws LastAdminError, writing
   * nothing, when the change would leave no enabled admin.
   */
  private async commit(email: string, read: Read, after: User | undefined, lastPosition: number) {
    const others = read.state.admins.filter((admin) => admin !== email);
    if (isEnabledAdmin(read.current?.user) && !isEnabledAdmin(after) && others.length === 0)
      throw new LastAdminError(email);
    const admins = isEnabledAdmin(after) ? [...others, email] : others;
    const state = { partitionKey: PARTITION, rowKey: STATE, admins: JSON.stringify(admins), lastPosition };
    const actions: TransactionAction[] = [
      read.stateEtag === undefined
        ? ['create', state]
        : ['update', state, 'Replace', { etag: read.stateEtag }],
    ];
    if (after === undefined) actions.push(['delete', { partitionKey: PARTITION, rowKey: userKey(email) }]);
    else if (read.current === undefined) actions.push(['create', toEntity(after)]);
    else actions.push(['update', toEntity(after), 'Replace', { etag: read.current.etag }]);
    await this.client.submitTransaction(actions);
  }

  /** Every user, in the order they were first added. */
  private async all(): Promise<User[]> {
    const users = await entitiesWithPrefix(this.client, PARTITION, 'user|');
    return users.map(fromEntity).sort((a, b) => a.position - b.position);
  }

  private async read(email: string): Promise<{ user: User; etag: string } | undefined> {
    const found: TableEntityResult<Record<string, unknown>> | undefined = await readEntity(
      this.client,
      PARTITION,
      userKey(email),
    );
    return found === undefined ? undefined : { user: fromEntity(found), etag: found.etag };
  }
}
