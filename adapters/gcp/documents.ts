// What the Firestore adapters of approvals, schedules and tallies share: document ids made from a key's
// parts, and the gRPC status codes they turn into domain answers (a `create` of an existing document is
// "already there", an `update` of a missing one is "no such thing"). Ids are percent-encoded part by part
// and joined with `|` (which the encoding never leaves bare), so no key, whatever its characters, can
// collide with another, contain `/`, be `.`/`..`, or look like Firestore's reserved `__name__` ids.

/** gRPC status codes Firestore answers with (google.rpc.Code). */
const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

/** One document id for the key `parts`, injective: different keys never share an id. */
export function docId(...parts: Array<string | number>): string {
  return parts.map((part) => encodePart(String(part))).join('|');
}

function encodePart(part: string): string {
  return encodeURIComponent(part).replace(
    /[!'()*._~]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The error a `create()` of a document that exists fails with. */
export function alreadyExists(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === ALREADY_EXISTS;
}

/** The error an `update()` of a document that does not exist fails with. */
export function notFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === NOT_FOUND;
}

/**
 * How many times a contended transaction is tried (the client's default is 5): racers on one document
 * abort each other and retry with backoff, and a contract lets a dozen of them race.
 */
export const TRANSACTION_ATTEMPTS = 30;
