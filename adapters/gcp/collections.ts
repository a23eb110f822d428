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
  /** Claimed activity attempts of the Cloud Tasks worker (activity-claims.ts). */
  activityClaims: { name: 'activityClaims', ttlField: 'expireAt' },
} as const satisfies Record<string, CollectionSpec>;

export type CollectionKey = keyof typeof COLLECTIONS;
