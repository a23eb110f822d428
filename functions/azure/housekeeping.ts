// The housekeeping timer: Table Storage (and Cosmos DB for Table) has no TTL, where DynamoDB and Firestore
// forget expired items by themselves (the AWS and GCP stores carry `ttl` / `expireAt`), so a timer trigger
// asks each store that keeps expiring entities to delete them, as the local server's hourly housekeeping
// does (functions/local/server.ts):
//
//   deliveries  webhook delivery claims older than a day (the claim's TTL; a redelivery after it starts a run)
//   limiter     rate-limit buckets whose last hit is older than two days or the longest configured window
//   links       spent approval-link nonces whose link has expired
//   sessions    expired login sessions, every user's: a user who never logs in again leaves theirs
//
// Each store deletes at most PRUNE_LIMIT entities a tick (adapters/azure/prune.ts), so a tick stays short
// however much accumulated (a first run after months, a burst of webhooks): the rest goes on the next ticks
// (every ten minutes: up to 144,000 entities a day per store). A store that fails is logged by name and the
// others are still pruned; the next tick tries it again. Every deletion is conditioned on the entity as
// listed, so overlapping ticks (a slow tick, a second instance) delete each entity once.
//
// Schedule fires are history (`GET /api/schedules/:id/fires`), kept as on every host. Activity claims
// (adapters/azure/activity-claims.ts) are not used by the Azure app: Durable Functions runs its activities.
import { errorMessage } from '../../translator/util.js';
import { rateHitTtl } from '../core/limits.js';
import type { Clock } from '../core/ports.js';
import type { AzureConfig } from './config.js';
import type { AzureDeps, HousekeepingStores } from './deps.js';

/** The timer's NCRONTAB schedule: every ten minutes, at second 30 (off the schedules' timer's second 0). */
export const HOUSEKEEPING_TIMER = '30 */10 * * * *';

/** The most entities one store deletes per tick. */
export const PRUNE_LIMIT = 1000;

/** How long a webhook delivery claim is kept: a day (AzureWebhookDeliveryStore's default `ttlMs`). */
export const WEBHOOK_CLAIM_TTL_MS = 24 * 3_600_000;

export type HousekeepingStore = keyof HousekeepingStores;

export interface HousekeepingOptions {
  /** The deployment's limits: the rate-limit buckets are kept for the longest window. */
  limits: Parameters<typeof rateHitTtl>[0];
  /** At most this many deletions per store (default PRUNE_LIMIT). */
  limit?: number;
  /** How long a webhook delivery claim is kept (default WEBHOOK_CLAIM_TTL_MS; the store's own `ttlMs`). */
  webhookClaimTtlMs?: number;
  /** Where a store's failure is told (by the store's name). */
  log?: (message: string) => void;
}

/** Per store pruned: how many entities it deleted, or `failed` (logged). */
export type HousekeepingResult = Partial<Record<HousekeepingStore, number | 'failed'>>;

/** One tick: each store given deletes what expired by `now`, at most `limit` entities (see the top). */
export async function housekeep(
  stores: HousekeepingStores,
  now: number,
  options: HousekeepingOptions,
): Promise<HousekeepingResult> {
  const { limit = PRUNE_LIMIT, webhookClaimTtlMs = WEBHOOK_CLAIM_TTL_MS } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const before: Record<HousekeepingStore, number> = {
    deliveries: now - webhookClaimTtlMs,
    limiter: now - rateHitTtl(options.limits),
    links: now,
    sessions: now,
  };
  const result: HousekeepingResult = {};
  for (const name of Object.keys(before) as HousekeepingStore[]) {
    const store = stores[name];
    if (store === undefined) continue;
    try {
      result[name] = await store.prune(before[name], limit);
    } catch (error) {
      log(`housekeeping: pruning the ${name} failed: ${errorMessage(error)}`);
      result[name] = 'failed';
    }
  }
  return result;
}

/** What the timer uses of the deps. */
export type HousekeepingDeps = Pick<AzureDeps, 'housekeeping'> & {
  config: Pick<AzureConfig, 'limits'>;
  clock: Pick<Clock, 'now'>;
};

/** The timer's tick over the deps: their stores pruned as of the deps' clock, with their limits. */
export function housekeepDeps(
  deps: HousekeepingDeps,
  log?: (message: string) => void,
): Promise<HousekeepingResult> {
  return housekeep(deps.housekeeping(), deps.clock.now(), { limits: deps.config.limits, log });
}
