// Spent approval-link nonces in Firestore: one document per nonce in `approvalLinks` (id from
// adapters/gcp/documents.ts). Only the token's random nonce is kept, never the token. A claim is a
// `create()`, which fails when the document exists: of concurrent uses of one link, from any instance,
// exactly one writes. `expireAt` is the token's own expiry as a Timestamp, for the collection's TTL
// policy; `prune` forgets the same documents on demand. A nonce stays spent until it is forgotten: an
// expired token is refused as expired before its nonce is looked at, so nothing depends on the deletion.
import { type Firestore, Timestamp } from '@google-cloud/firestore';
import type { ApprovalLinkStore, UsedLink } from '../../functions/core/approval-links.js';
import { COLLECTIONS } from './collections.js';
import { alreadyExists, docId } from './documents.js';

const APPROVAL_LINKS = COLLECTIONS.approvalLinks.name;
/** Deletes per batch when pruning (Firestore's limit for one batch is 500 writes). */
const PRUNE_BATCH = 400;

export class FirestoreApprovalLinkStore implements ApprovalLinkStore {
  constructor(private readonly db: Firestore) {}

  async claim(used: UsedLink): Promise<boolean> {
    try {
      await this.ref(used.nonce).create({
        nonce: used.nonce,
        runId: used.runId,
        stepId: used.stepId,
        level: used.level,
        approver: used.approver,
        usedAt: used.usedAt,
        expiresAt: used.expiresAt,
        expireAt: Timestamp.fromMillis(used.expiresAt),
      });
      return true;
    } catch (error) {
      if (alreadyExists(error)) return false;
      throw error;
    }
  }

  async isUsed(nonce: string): Promise<boolean> {
    return (await this.ref(nonce).get()).exists;
  }

  /** Forgets spent nonces whose tokens expired before `before`; how many. */
  async prune(before: number): Promise<number> {
    let pruned = 0;
    for (;;) {
      const expired = await this.db
        .collection(APPROVAL_LINKS)
        .where('expiresAt', '<', before)
        .limit(PRUNE_BATCH)
        .get();
      if (expired.empty) return pruned;
      const batch = this.db.batch();
      for (const doc of expired.docs) batch.delete(doc.ref);
      await batch.commit();
      pruned += expired.size;
    }
  }

  private ref(nonce: string) {
    return this.db.collection(APPROVAL_LINKS).doc(docId(nonce));
  }
}
