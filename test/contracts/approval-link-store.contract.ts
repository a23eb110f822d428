// The ApprovalLinkStore contract (functions/core/approval-links.ts), written once and run against every
// adapter: a link's nonce is spent once, however many use it at the same time. Races are stated for
// asynchronous adapters; a synchronous adapter runs them interleaved over separate connections.
import { describe, expect, it } from 'vitest';
import type { ApprovalLinkStore, UsedLink } from '../../functions/core/approval-links.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const used = (nonce: string, expiresAt = 10_000): UsedLink => ({
  nonce,
  runId: 'r1',
  stepId: 'ask',
  level: 1,
  approver: 'bob@example.com',
  usedAt: 1_000,
  expiresAt,
});

/** The contract of `ApprovalLinkStore`; `make` gives adapters over one fresh store. */
export function describeApprovalLinkStoreContract(
  name: string,
  make: () => Contenders<ApprovalLinkStore> | Promise<Contenders<ApprovalLinkStore>>,
): void {
  describe(`ApprovalLinkStore contract: ${name}`, () => {
    it('spends a nonce once: the first claim wins, every later one (any connection) is refused', async () => {
      const [store, other] = await fresh(make);
      expect(await store.isUsed('n1')).toBe(false);
      expect(await store.claim(used('n1'))).toBe(true);
      expect(await other.isUsed('n1')).toBe(true);
      expect(await other.claim(used('n1'))).toBe(false);
      expect(await store.claim(used('n2'))).toBe(true);
    });

    it('lets exactly one of many concurrent uses of one nonce win', async () => {
      const stores = await fresh(make);
      const outcomes = await race(12, (i) => connectionFor(stores, i).claim(used('n1')));
      expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
      expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === true)).toHaveLength(1);
    });

    it('forgets only nonces that expired before the cut', async () => {
      const [store] = await fresh(make);
      await store.claim(used('expired', 2_000));
      await store.claim(used('live', 9_000));
      expect(await store.prune(5_000)).toBe(1);
      expect(await store.isUsed('expired')).toBe(false);
      expect(await store.isUsed('live')).toBe(true);
    });
  });
}
