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
  /**
   * Fields exempt from Firestore's automatic single-field indexes: large text and long arrays no query
   * filters on (an array is indexed once per element, and a document has at most 40,000 index entries).
   */
  unindexed?: string[];
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
  /** adapters/gcp/workflow-store.ts: one head per workflow (its latest version, whether deleted). */
  workflows: { name: 'workflows' },
  /** adapters/gcp/workflow-store.ts: every version, a subcollection of its workflow's head. */
  workflowVersions: { name: 'workflowVersions', unindexed: ['source', 'ir'] },
  /** adapters/gcp/session-store.ts: login sessions by the SHA-256 of their token; ended by user. */
  sessions: { name: 'sessions', ttlField: 'expireAt' },
  /** adapters/gcp/session-store.ts: API tokens by id, listed by owner in the order made. */
  apiTokens: {
    name: 'apiTokens',
    indexes: [
      [
        { field: 'email', order: 'ASCENDING' },
        { field: 'createdAt', order: 'ASCENDING' },
      ],
    ],
  },
  /** adapters/gcp/directory.ts: users by email, listed in the order first added. */
  users: {
    name: 'users',
    indexes: [
      [
        { field: 'role', order: 'ASCENDING' },
        { field: 'disabled', order: 'ASCENDING' },
        { field: 'position', order: 'ASCENDING' },
      ],
      [
        { field: 'groups', order: 'CONTAINS' },
        { field: 'disabled', order: 'ASCENDING' },
        { field: 'position', order: 'ASCENDING' },
      ],
    ],
    unindexed: ['passwordHash'],
  },
  /** adapters/gcp/directory.ts: one document, the enabled admins and the last position handed out. */
  userDirectory: { name: 'userDirectory' },
  /** adapters/gcp/webhook-store.ts: accepted deliveries by workflow and delivery id. */
  webhookDeliveries: { name: 'webhookDeliveries', ttlField: 'expireAt' },
  /** adapters/gcp/rate-limiter.ts: one document per bucket, the times of its calls in the window. */
  rateBuckets: { name: 'rateBuckets', ttlField: 'expireAt', unindexed: ['hits'] },
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
  /**
   * adapters/gcp/workflows-deployer.ts: per (workflow id, Stepgate version) the GCP workflow and revision
   * its runs start on; the latest version of a workflow is a query by id, newest version first.
   */
  workflowRevisions: {
    name: 'workflowRevisions',
    indexes: [
      [
        { field: 'workflowId', order: 'ASCENDING' },
        { field: 'version', order: 'DESCENDING' },
      ],
    ],
  },
  // Runs and their trails (run-store.ts, audit.ts). A listing filters by equality on any of status,
  // workflowId and triggeredBy, ranges over createdAt and orders by it, newest first: one index per
  // combination of the equality fields (a range beside several equalities is beyond index merging).
  runs: { name: 'runs', indexes: newestFirstBy(['status', 'workflowId', 'triggeredBy']) },
  runTrails: { name: 'runTrails' },
  trailEntries: { name: 'trailEntries' },
  // The vault (vault.ts): sealed secrets, and the one document holding the KMS-wrapped data key.
  vaultSecrets: { name: 'vaultSecrets' },
  vaultKeys: { name: 'vaultKeys' },
  /** Claimed activity attempts of the Cloud Tasks worker (activity-claims.ts). */
  activityClaims: { name: 'activityClaims', ttlField: 'expireAt' },
} as const satisfies Record<string, CollectionSpec>;

export type CollectionKey = keyof typeof COLLECTIONS;
