// The Firestore collections the GCP adapters keep, named once: each adapter uses only its own, and the
// Terraform (infra/gcp) declares the TTL policies and composite indexes from this list, so a field that
// Firestore must expire or an index a query needs cannot be missed at deploy time.
//
// Documents that may be forgotten carry a Timestamp field (`expireAt`) that a Firestore TTL policy deletes
// some time after (within about a day): adapters never rely on the deletion, they check expiry themselves.

export interface CollectionSpec {
  /** The collection id (a collection group: a subcollection of that id anywhere is the same group). */
  name: string;
  /** The Timestamp field a TTL policy expires documents by, or none. */
  ttlField?: string;
  /**
   * Composite indexes the adapter's queries need (single-field indexes are automatic): fields in order,
   * each ascending or descending; `array-contains` for an array field the query filters on.
   */
  indexes?: Array<Array<{ field: string; order: 'ASCENDING' | 'DESCENDING' | 'CONTAINS' }>>;
}

/** Filled in by the adapters (one entry per collection they use), read by infra/gcp. */
export const COLLECTIONS = {
  // adapters/gcp/approval-store.ts: openFor, pendingFor and undelivered, in that order.
  approvals: {
    name: 'approvals',
    indexes: [
      [
        { field: 'runId', order: 'ASCENDING' },
        { field: 'stepId', order: 'ASCENDING' },
        { field: 'listing', order: 'ASCENDING' },
        { field: 'visit', order: 'DESCENDING' },
        { field: 'level', order: 'DESCENDING' },
      ],
      [
        { field: 'approvers', order: 'CONTAINS' },
        { field: 'listing', order: 'ASCENDING' },
        { field: 'createdAt', order: 'ASCENDING' },
      ],
      [
        { field: 'listing', order: 'ASCENDING' },
        { field: 'createdAt', order: 'ASCENDING' },
      ],
    ],
  },
  // adapters/gcp/approval-link-store.ts: prune is one range on expiresAt (a single-field index).
  approvalLinks: { name: 'approvalLinks', ttlField: 'expireAt' },
  // adapters/gcp/step-tallies.ts: read by id only.
  stepVisitCounts: { name: 'stepVisitCounts' },
  stepVisitEntries: { name: 'stepVisitEntries' },
  quorumTallies: { name: 'quorumTallies' },
  // adapters/gcp/schedule-store.ts: list filters by equality only (single-field indexes merge).
  schedules: { name: 'schedules' },
  // adapters/gcp/schedule-store.ts: fires (newest first) and unfinishedFires.
  scheduleFires: {
    name: 'scheduleFires',
    indexes: [
      [
        { field: 'scheduleId', order: 'ASCENDING' },
        { field: 'scheduledTime', order: 'DESCENDING' },
      ],
      [
        { field: 'status', order: 'ASCENDING' },
        { field: 'scheduledTime', order: 'ASCENDING' },
      ],
    ],
  },
} as const satisfies Record<string, CollectionSpec>;

export type CollectionKey = keyof typeof COLLECTIONS;
