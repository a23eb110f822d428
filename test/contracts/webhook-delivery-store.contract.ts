// The WebhookDeliveryStore contract (functions/core/ports.ts), written once and run against every adapter: a
// delivery is claimed once per workflow, every later claim finds the first claim's run, and pruning
// forgets old deliveries. Races are stated for asynchronous adapters; a synchronous adapter runs them
// interleaved over separate connections to one store.
import { describe, expect, it } from 'vitest';
import type { WebhookDeliveryStore } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

/** The store's clock, which the suite moves (`at` ms since epoch). */
export interface SettableTime {
  at: number;
}

/** The contract of `WebhookDeliveryStore`; `make` gives adapters over one fresh store reading `time`. */
export function describeWebhookDeliveryStoreContract(
  name: string,
  make: (time: SettableTime) => Contenders<WebhookDeliveryStore> | Promise<Contenders<WebhookDeliveryStore>>,
): void {
  describe(`WebhookDeliveryStore contract: ${name}`, () => {
    it('claims a new delivery for the run that claims it', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      expect(await store.claim('w', 'd1', 'run-1')).toEqual({ runId: 'run-1', existing: false });
    });

    it('maps a redelivery to the first claim’s run, from any connection', async () => {
      const [store, other] = await fresh(() => make({ at: 1_000 }));
      await store.claim('w', 'd1', 'run-1');
      expect(await other.claim('w', 'd1', 'run-2')).toEqual({ runId: 'run-1', existing: true });
      expect(await store.claim('w', 'd1', 'run-3')).toEqual({ runId: 'run-1', existing: true });
    });

    it('keeps deliveries of different workflows apart', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      await store.claim('w', 'd1', 'run-1');
      expect(await store.claim('v', 'd1', 'run-2')).toEqual({ runId: 'run-2', existing: false });
      expect(await store.claim('w', 'd2', 'run-3')).toEqual({ runId: 'run-3', existing: false });
    });

    it('lets exactly one of many concurrent claims of a delivery win; the others see its run', async () => {
      const stores = await fresh(() => make({ at: 1_000 }));
      const outcomes = await race(12, (i) => connectionFor(stores, i).claim('w', 'd1', `run-${i}`));
      const claims = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      const winners = claims.filter((c) => !c.existing);
      expect(winners).toHaveLength(1);
      expect(new Set(claims.map((c) => c.runId))).toEqual(new Set([winners[0]?.runId]));
    });

    it('forgets only deliveries claimed before the cut, which can then be claimed anew', async () => {
      const time = { at: 1_000 };
      const [store] = await fresh(() => make(time));
      await store.claim('w', 'old', 'run-1');
      time.at = 5_000;
      await store.claim('w', 'new', 'run-2');
      expect(await store.prune(3_000)).toBe(1);
      expect(await store.claim('w', 'old', 'run-3')).toEqual({ runId: 'run-3', existing: false });
      expect(await store.claim('w', 'new', 'run-4')).toEqual({ runId: 'run-2', existing: true });
    });
  });
}
