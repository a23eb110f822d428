// What the cloud adapters share about keys and races: turning any key (an email, a rate-limit key, a
// webhook's delivery id, a run's step and visit) into an identifier a document or entity store accepts, one
// to one, and retrying a write made on a read that another writer overtook.
//
// Keys are percent-encoded (everything but letters, digits, `@` and `-`), which keeps them readable in a
// console and distinct (two texts never share a key); a key of several parts encodes each and joins them
// with `|` (which the encoding never leaves bare), so no two keys collide either. A key whose encoding is
// longer than MAX_ENCODED becomes a mark and the SHA-256 of its parts; the mark is a character the encoding
// never leaves bare, so a hashed key never equals an encoded one.
import { createHash } from 'node:crypto';

/** The longest percent-encoded key kept as it is (bytes); longer texts are hashed. */
const MAX_ENCODED = 1_000;

/** A key standing for `parts`, one to one; `hashMark` starts the hashed form of a long one. */
export function encodedKey(hashMark: string, parts: ReadonlyArray<string | number>): string {
  const encoded = parts.map((part) => encodePart(String(part))).join('|');
  return encoded.length <= MAX_ENCODED
    ? encoded
    : `${hashMark}${createHash('sha256')
        .update(JSON.stringify(parts.map(String)))
        .digest('hex')}`;
}

function encodePart(text: string): string {
  const encoded = [...new TextEncoder().encode(text)]
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9@-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return encoded.length === 0 ? '%' : encoded;
}

/** How many times `retryRaces` reads and decides again before it gives up. */
const ATTEMPTS = 50;

/**
 * Runs `attempt` (read, decide, write conditioned on the read) until it does not lose a race (`lost` says
 * which errors are a lost race in that store), backing off a little between tries (jittered, so the losers
 * spread out); throws naming `what` after ATTEMPTS tries.
 */
export async function retryRacesWith<T>(
  lost: (error: unknown) => boolean,
  what: string,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let tries = 1; tries <= ATTEMPTS; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!lost(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * tries));
    }
  }
  throw new Error(`${what} stayed contended through ${ATTEMPTS} attempts; try again`);
}
