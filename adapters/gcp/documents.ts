// What the Firestore adapters share: turning any key (an email, a rate-limit key, a webhook's delivery id, a
// run's step and visit) into a document id Firestore accepts, telling a lost race from a failure, retrying a write made on a read
// that another writer overtook, deleting a document only as it was read, and the Timestamps TTL policies
// expire documents by.
//
// A document id may not contain `/`, be `.` or `..`, match `__.*__`, or exceed 1,500 bytes: ids are the
// shared percent-encoded keys (adapters/storage-keys.ts), and a long one is `#` and its SHA-256 (`#` itself
// is encoded).
import { type DocumentSnapshot, Timestamp } from '@google-cloud/firestore';
import { encodedKey, retryRacesWith } from '../storage-keys.js';

/** A document id standing for the key `parts`, one to one (see the header). */
export function docId(...parts: Array<string | number>): string {
  return encodedKey('#', parts);
}

/** The gRPC status codes the adapters react to. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;

const codeOf = (error: unknown): unknown =>
  typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;

/** `create()` found the document there already. */
export function alreadyExists(error: unknown): boolean {
  return codeOf(error) === ALREADY_EXISTS;
}

/** An `update()` of a document that does not exist. */
export function notFound(error: unknown): boolean {
  return codeOf(error) === NOT_FOUND;
}

/**
 * How many times a contended transaction is tried (the client's default is 5): racers on one document
 * abort each other and retry with backoff, and a contract lets a dozen of them race.
 */
export const TRANSACTION_ATTEMPTS = 30;

/**
 * A write conditioned on what was read lost to another writer: the document was created meanwhile
 * (ALREADY_EXISTS), changed or deleted meanwhile (FAILED_PRECONDITION on `lastUpdateTime`, NOT_FOUND for an
 * update), or met a transaction holding it (ABORTED).
 */
export function lostRace(error: unknown): boolean {
  const code = codeOf(error);
  return code === ALREADY_EXISTS || code === FAILED_PRECONDITION || code === NOT_FOUND || code === ABORTED;
}

/** Runs `attempt` (read, decide, write conditioned on the read) until it does not lose a race. */
export function retryRaces<T>(what: string, attempt: () => Promise<T>): Promise<T> {
  return retryRacesWith(lostRace, what, attempt);
}

/** Deletes a document only while it is as it was read; false when it changed or went since (or never was). */
export async function deleteAsRead(snapshot: DocumentSnapshot): Promise<boolean> {
  if (snapshot.updateTime === undefined) return false;
  try {
    await snapshot.ref.delete({ lastUpdateTime: snapshot.updateTime });
    return true;
  } catch (error) {
    const code = codeOf(error);
    // Changed or deleted since the read; an ABORTED delete deleted nothing and is an error here.
    if (code === FAILED_PRECONDITION || code === NOT_FOUND) return false;
    throw error;
  }
}

/** The Timestamp a TTL policy expires a document by, from ms since epoch. */
export function expireAt(ms: number): Timestamp {
  return Timestamp.fromMillis(ms);
}
