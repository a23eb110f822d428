// The user directory in Firestore, answering as SqliteDirectory does (adapters/local/sqlite-directory.ts:
// the same checks, the same scrypt hashes, disabled users invisible) and as DynamoDirectory does on AWS.
// Users are documents `users/<email>` (name, role, groups, manager, disabled, service, passwordHash?, and
// the position they were first added at); approver specs are queries (role, or group membership, of the
// enabled users, by position), each with its composite index in adapters/gcp/collections.ts.
//
// The last-admin rule is kept by one more document, `userDirectory/state`: the enabled admins and the last
// position handed out. Every write of a user is a transaction that reads the user and that document,
// refuses (LastAdminError) to leave the set empty, and writes both: of two admins demoting each other at
// once, the transactions conflict on the state document and the one retried sees itself the last admin.
// A password hash is computed outside any transaction (scrypt is slow, a transaction may run again) and
// stored by one that checks the user is still there and still not a service account.
import type { DocumentReference, Firestore, Query, Transaction } from '@google-cloud/firestore';
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
import { COLLECTIONS } from './collections.js';
import { docId } from './documents.js';

/** How many times a transaction that met another is run again before giving up. */
const ATTEMPTS = 20;

interface UserDocument {
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

interface DirectoryState {
  admins: string[];
  lastPosition: number;
}

function identity(user: UserDocument): Identity {
  const found: Identity = { email: user.email, role: user.role, groups: user.groups, manager: user.manager };
  if (user.name !== null) found.name = user.name;
  if (user.service) found.service = true;
  return found;
}

function record(user: UserDocument): AdminUserRecord {
  return { ...identity(user), disabled: user.disabled, hasPassword: user.passwordHash !== undefined };
}

const isEnabledAdmin = (user: UserDocument | undefined): boolean =>
  user !== undefined && user.role === 'admin' && !user.disabled;

/** The user document `checked` makes of what is stored (`current`), at `position`. */
function afterUpsert(
  checked: CheckedUser,
  current: UserDocument | undefined,
  position: number,
): UserDocument {
  const service = checked.service === null ? (current?.service ?? false) : checked.service === 1;
  const after: UserDocument = {
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

export class FirestoreDirectory implements Directory, AdminDirectory {
  constructor(private readonly db: Firestore) {}

  async user(email: string): Promise<Identity | undefined> {
    const found = typeof email === 'string' && email.length > 0 ? await this.read(email) : undefined;
    return found === undefined || found.disabled ? undefined : identity(found);
  }

  async resolve(spec: string): Promise<string[]> {
    const users = this.db.collection(COLLECTIONS.users.name);
    if (spec.startsWith('role:')) return this.emails(users.where('role', '==', spec.slice('role:'.length)));
    if (spec.startsWith('group:'))
      return this.emails(users.where('groups', 'array-contains', spec.slice('group:'.length)));
    return spec.includes('@') ? [normalizeEmail(spec)] : [];
  }

  async getUser(email: string): Promise<AdminUserRecord | undefined> {
    const found = await this.read(email);
    return found === undefined ? undefined : record(found);
  }

  /** Every user, in the order they were first added. */
  async listUsers(): Promise<AdminUserRecord[]> {
    const users = await this.db.collection(COLLECTIONS.users.name).orderBy('position').get();
    return users.docs.map((doc) => record(doc.data() as UserDocument));
  }

  /** Creates or replaces a user (its groups replaced whole); the password and position are kept. */
  async upsertUser(input: AdminUserInput): Promise<AdminUserRecord> {
    const checked = checkUser(input);
    return this.db.runTransaction(
      async (tx) => {
        const { current, state } = await this.readForWrite(tx, checked.email);
        const position = current?.position ?? state.lastPosition + 1;
        const after = afterUpsert(checked, current, position);
        this.write(tx, checked.email, current, after, {
          ...state,
          lastPosition: Math.max(position, state.lastPosition),
        });
        return record(after);
      },
      { maxAttempts: ATTEMPTS },
    );
  }

  /** False when there was no such user. */
  async deleteUser(email: string): Promise<boolean> {
    const key = typeof email === 'string' ? email.toLowerCase() : '';
    return this.db.runTransaction(
      async (tx) => {
        const { current, state } = await this.readForWrite(tx, key);
        if (current === undefined) return false;
        this.write(tx, key, current, undefined, state);
        return true;
      },
      { maxAttempts: ATTEMPTS },
    );
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
    const found = typeof email === 'string' && email.length > 0 ? await this.read(email) : undefined;
    const usable = typeof password === 'string' && password.length <= MAX_PASSWORD;
    const stored = found?.passwordHash ?? null;
    const ok = await checkPasswordHash(usable ? password : '', stored ?? DUMMY_HASH);
    if (!ok || !usable || found === undefined || stored === null || found.disabled || found.service)
      return null;
    if (needsRehash(stored)) await this.storeHash(found.email, await hashPassword(password));
    return identity(found);
  }

  /** Stores a password hash, in a transaction: never on a service account, nor on a user deleted since. */
  private async storeHash(email: string, hash: string): Promise<boolean> {
    return this.db.runTransaction(
      async (tx) => {
        const found = await tx.get(this.userRef(email));
        const current = found.data() as UserDocument | undefined;
        if (current === undefined || current.service) return false;
        tx.update(this.userRef(email), { passwordHash: hash });
        return true;
      },
      { maxAttempts: ATTEMPTS },
    );
  }

  /** Inside a write's transaction: the user as stored and the directory's state. */
  private async readForWrite(
    tx: Transaction,
    email: string,
  ): Promise<{ current: UserDocument | undefined; state: DirectoryState }> {
    const [user, state] = await tx.getAll(this.userRef(email), this.stateRef());
    return {
      current: user?.data() as UserDocument | undefined,
      state: (state?.data() as DirectoryState | undefined) ?? { admins: [], lastPosition: 0 },
    };
  }

  /**
   * Inside a write's transaction: writes the user's new document `after` (or deletes the user, without it)
   * and the state with the admins set changed to match; throws LastAdminError, writing nothing, when the
   * change would leave no enabled admin.
   */
  private write(
    tx: Transaction,
    email: string,
    current: UserDocument | undefined,
    after: UserDocument | undefined,
    state: DirectoryState,
  ): void {
    const others = state.admins.filter((admin) => admin !== email);
    if (isEnabledAdmin(current) && !isEnabledAdmin(after) && others.length === 0)
      throw new LastAdminError(email);
    const admins = isEnabledAdmin(after) ? [...others, email] : others;
    if (after === undefined) tx.delete(this.userRef(email));
    else tx.set(this.userRef(email), after);
    tx.set(this.stateRef(), { admins, lastPosition: state.lastPosition });
  }

  /** The emails of the enabled users `query` selects, in the order they were first added. */
  private async emails(query: Query): Promise<string[]> {
    const found = await query.where('disabled', '==', false).orderBy('position').get();
    return found.docs.map((doc) => String(doc.get('email')));
  }

  private async read(email: string): Promise<UserDocument | undefined> {
    return (await this.userRef(email).get()).data() as UserDocument | undefined;
  }

  private userRef(email: string): DocumentReference {
    return this.db.collection(COLLECTIONS.users.name).doc(docId(email.toLowerCase()));
  }

  private stateRef(): DocumentReference {
    return this.db.collection(COLLECTIONS.userDirectory.name).doc('state');
  }
}
