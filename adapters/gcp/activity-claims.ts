// The ActivityClaims port (functions/core/activity-claims.ts) on Firestore: one document per claimed attempt
// in `activityClaims`, its id the SHA-256 of the key (a key holds ':' and '#', and a document id must not
// hold '/'). A claim is a transaction — read, then create, take over or leave — so Firestore's optimistic
// concurrency makes exactly one of racing claims win: the losers' transactions are retried on the changed
// document and see it held. The answer is kept as JSON text, since a Firestore array cannot hold an array
// and a tool's result may. Claims expire after CLAIM_TTL_MS through the collection's TTL policy
// (`expireAt`); a redelivery later than that (Cloud Tasks gives up far sooner) would find no claim.
import { createHash } from 'node:crypto';
import { type Firestore, Timestamp } from '@google-cloud/firestore';
import type { ActivityClaim, ActivityClaims } from '../../functions/core/activity-claims.js';
import type { JsonValue } from '../../translator/template.js';
import { COLLECTIONS } from './collections.js';

/** How long a claim is kept: a month, longer than any queue retries a delivery. */
export const CLAIM_TTL_MS = 30 * 24 * 3_600_000;

interface ClaimDoc {
  key: string;
  status: 'held' | 'done';
  leaseUntil: number;
  answer?: string;
  delivered?: boolean;
  expireAt: Timestamp;
}

export class FirestoreActivityClaims implements ActivityClaims {
  constructor(private readonly db: Firestore) {}

  private doc(key: string) {
    const id = createHash('sha256').update(key).digest('hex');
    return this.db.collection(COLLECTIONS.activityClaims.name).doc(id);
  }

  claim(key: string, now: number, leaseMs: number): Promise<ActivityClaim> {
    const ref = this.doc(key);
    const until = now + leaseMs;
    return this.db.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      const found = snapshot.data() as ClaimDoc | undefined;
      if (found?.status === 'done')
        return {
          status: 'done',
          answer: JSON.parse(found.answer ?? 'null') as JsonValue,
          delivered: found.delivered === true,
        };
      if (found !== undefined && found.leaseUntil > now) return { status: 'held', until: found.leaseUntil };
      const doc: ClaimDoc = {
        key,
        status: 'held',
        leaseUntil: until,
        expireAt: Timestamp.fromMillis(now + CLAIM_TTL_MS),
      };
      if (found === undefined) tx.create(ref, doc);
      else tx.update(ref, { leaseUntil: until });
      return { status: 'claimed', takenOver: found !== undefined, until };
    });
  }

  finish(key: string, answer: JsonValue): Promise<JsonValue> {
    const ref = this.doc(key);
    return this.db.runTransaction(async (tx) => {
      const found = (await tx.get(ref)).data() as ClaimDoc | undefined;
      if (found === undefined) throw new Error(`activity claim ${key}: finished without being claimed`);
      if (found.status === 'done') return JSON.parse(found.answer ?? 'null') as JsonValue;
      tx.update(ref, { status: 'done', answer: JSON.stringify(answer), delivered: false });
      return answer;
    });
  }

  async delivered(key: string): Promise<void> {
    await this.doc(key).update({ delivered: true });
  }
}
