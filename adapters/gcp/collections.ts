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

/** An index per non-empty combination of `fields` (equalities), each followed by createdAt descending. */
function newestFirstBy(fields: string[]): NonNullable<CollectionSpec['indexes']> {
  const subsets: string[][] = [[]];
  for (const field of fields) subsets.push(...subsets.map((subset) => [...subset, field]));
  return subsets
    .filter((subset) => subset.length > 0)
    .map((subset) => [
      ...subset.map((field) => ({ field, order: 'ASCENDING' as const })),
      { field: 'createdAt', order: 'DESCENDING' as const },
    ]);
}

/** Filled in by the adapters (one entry per collection they use), read by infra/gcp. */
export const COLLECTIONS = {
  // Runs and their trails (run-store.ts, audit.ts). A listing filters by equality on any of status,
  // workflowId and triggeredBy, ranges over createdAt and orders by it, newest first: one index per
  // combination of the equality fields (a range beside several equalities is beyond index merging).
  runs: { name: 'runs', indexes: newestFirstBy(['status', 'workflowId', 'triggeredBy']) },
  runTrails: { name: 'runTrails' },
  trailEntries: { name: 'trailEntries' },
  // The vault (vault.ts): sealed secrets, and the one document holding the KMS-wrapped data key.
  vaultSecrets: { name: 'vaultSecrets' },
  vaultKeys: { name: 'vaultKeys' },
} as const satisfies Record<string, CollectionSpec>;

export type CollectionKey = keyof typeof COLLECTIONS;
