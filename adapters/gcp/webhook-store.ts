// Accepted webhook deliveries in Firestore (`webhookDeliveries/<workflowId>:<deliveryId>`: workflowId,
// deliveryId, runId, claimedAt, expireAt), as DynamoWebhookDeliveryStore keeps them on DynamoDB. A claim is a
// `create()`: of concurrent claims of one delivery, from any function instance, exactly one writes; the
// others read the winner's run.
//
// A claim expires `ttlMs` (a day by default) after it was made: its TTL policy deletes it some time later
// (within about a day), and until then the adapter treats it as gone, so a redelivery after the expiry
// starts a run whether or not Firestore has deleted the claim yet. Replacing an expired claim is conditioned
// on the update time it was read at, so of concurrent claimers exactly one replaces it. `prune` forgets
// claims on demand, each deletion conditioned the same way (never a claim made again since it was read).
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { Clock, WebhookClaim, WebhookDeliveryStore } from '../../functions/core/ports.js';
import { COLLECTIONS } from './collections.js';
import { alreadyExists, deleteAsRead, docId, expireAt, retryRaces } from './documents.js';

export interface FirestoreWebhookDeliveryStoreOptions {
  /** How long a claim is kept (default a day). */
  ttlMs?: number;
}

interface ClaimDocument {
  workflowId: string;
  deliveryId: string;
  runId: string;
  claimedAt: number;
}

export class FirestoreWebhookDeliveryStore implements WebhookDeliveryStore {
  private readonly ttlMs: number;

  constructor(
    private readonly db: Firestore,
    private readonly clock: Pick<Clock, 'now'>,
    options: FirestoreWebhookDeliveryStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 24 * 3_600_000;
  }

  async claim(workflowId: string, deliveryId: string, runId: string): Promise<WebhookClaim> {
    const ref = this.ref(workflowId, deliveryId);
    return retryRaces(`claiming webhook delivery ${deliveryId} of ${workflowId}`, async () => {
      const claimedAt = this.clock.now();
      const claim = { workflowId, deliveryId, runId, claimedAt, expireAt: expireAt(claimedAt + this.ttlMs) };
      try {
        await ref.create(claim);
        return { runId, existing: false };
      } catch (error) {
        if (!alreadyExists(error)) throw error;
      }
      const first = await ref.get();
      const found = first.data() as ClaimDocument | undefined;
      // Pruned between the create and the read: created again (a racer creating it first makes this lose).
      if (found === undefined) {
        await ref.create(claim);
        return { runId, existing: false };
      }
      if (found.claimedAt + this.ttlMs > claimedAt) return { runId: found.runId, existing: true };
      await ref.update(claim, { lastUpdateTime: first.updateTime });
      return { runId, existing: false };
    });
  }

  /** Deletes the claims made before `before` (each only while it is still that claim); how many. */
  async prune(before: number): Promise<number> {
    const old = await this.db
      .collection(COLLECTIONS.webhookDeliveries.name)
      .where('claimedAt', '<', before)
      .get();
    let deleted = 0;
    for (const claim of old.docs) if (await deleteAsRead(claim)) deleted++;
    return deleted;
  }

  private ref(workflowId: string, deliveryId: string): DocumentReference {
    return this.db
      .collection(COLLECTIONS.webhookDeliveries.name)
      .doc(`${docId(workflowId)}:${docId(deliveryId)}`);
  }
}
