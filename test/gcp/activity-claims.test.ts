// The Cloud Tasks worker's claims on Firestore (adapters/gcp/activity-claims.ts), on the gcloud emulator:
// racing claims of one attempt from separate connections, as two worker instances would make them, leave
// exactly one holder; a held claim makes the others wait; a lapsed lease is taken over once; the first
// answer recorded is the one every redelivery gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreActivityClaims } from '../../adapters/gcp/activity-claims.js';
import { race } from '../contracts/contenders.js';
import { type FirestoreEmulator, startFirestoreEmulator } from '../support/firestore-emulator.js';

let emulator: FirestoreEmulator;

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = 'none';
  emulator = await startFirestoreEmulator();
}, 90_000);
afterAll(async () => {
  await emulator?.stop();
});

/** Claims over one fresh database, each through a connection of its own. */
function connections(n: number): FirestoreActivityClaims[] {
  const project = emulator.freshProject();
  return Array.from({ length: n }, () => new FirestoreActivityClaims(emulator.client(project)));
}

const KEY = 'run-1:lookup:1';
const NOW = Date.UTC(2026, 0, 5, 9);
const LEASE = 60_000;

describe('activity claims on Firestore', () => {
  it('gives a new attempt to its first claim and makes a second one wait', async () => {
    const [claims] = connections(1) as [FirestoreActivityClaims];
    expect(await claims.claim(KEY, NOW, LEASE)).toEqual({
      status: 'claimed',
      takenOver: false,
      until: NOW + LEASE,
    });
    expect(await claims.claim(KEY, NOW + 1_000, LEASE)).toEqual({ status: 'held', until: NOW + LEASE });
  });

  it('lets exactly one of racing claims from separate connections hold the attempt', async () => {
    const all = connections(4);
    const outcomes = await race(8, (i) =>
      (all[i % all.length] as FirestoreActivityClaims).claim(KEY, NOW, LEASE),
    );
    const statuses = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.status : String(o.reason)));
    expect(statuses.filter((s) => s === 'claimed')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'held')).toHaveLength(7);
  });

  it('hands a lapsed lease to exactly one later claim, marked as taken over', async () => {
    const all = connections(3);
    await (all[0] as FirestoreActivityClaims).claim(KEY, NOW, LEASE);
    const later = NOW + LEASE + 1;
    const outcomes = await race(6, (i) =>
      (all[i % all.length] as FirestoreActivityClaims).claim(KEY, later, LEASE),
    );
    const claimed = outcomes.flatMap((o) =>
      o.status === 'fulfilled' && o.value.status === 'claimed' ? [o.value] : [],
    );
    expect(claimed).toEqual([{ status: 'claimed', takenOver: true, until: later + LEASE }]);
  });

  it('answers every later claim with the first answer recorded, and whether it was delivered', async () => {
    const [claims, other] = connections(2) as [FirestoreActivityClaims, FirestoreActivityClaims];
    await claims.claim(KEY, NOW, LEASE);
    const answer = { ok: true, result: { rows: [[1, 2], [3]] } };
    expect(await claims.finish(KEY, answer)).toEqual(answer);
    expect(await other.finish(KEY, { ok: false })).toEqual(answer);
    expect(await other.claim(KEY, NOW + 5, LEASE)).toEqual({ status: 'done', answer, delivered: false });
    await claims.delivered(KEY);
    expect(await other.claim(KEY, NOW + LEASE * 10, LEASE)).toEqual({
      status: 'done',
      answer,
      delivered: true,
    });
  });

  it('refuses to finish an attempt nobody claimed', async () => {
    const [claims] = connections(1) as [FirestoreActivityClaims];
    await expect(claims.finish('run-2:other:1', null)).rejects.toThrow(
      /run-2:other:1: finished without being claimed/,
    );
  });
});
