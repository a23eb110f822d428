// The StepVisits and QuorumTallies contracts (functions/core/ports.ts), written once and run against every
// adapter: visits numbered from 1 per run and step, distinct under concurrent enters, one per entered
// time; a branch's finish
// recorded once, and of finishes recorded at once only the last sees them all.
import { describe, expect, it } from 'vitest';
import type { BranchFinish, QuorumTallies, StepVisits } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

function settled<T>(outcomes: PromiseSettledResult<T>[]): T[] {
  return outcomes.map((o) => {
    if (o.status === 'rejected') throw o.reason;
    return o.value;
  });
}

/** The contract of `StepVisits`; `make` gives adapters over one fresh store. */
export function describeStepVisitsContract(
  name: string,
  make: () => Contenders<StepVisits> | Promise<Contenders<StepVisits>>,
): void {
  describe(`StepVisits contract: ${name}`, () => {
    it('numbers entered times per run and step: a time seen before keeps its visit', async () => {
      const [visits, other] = await fresh(make);
      expect(await visits.visitAt('r1', 'call', '2026-01-01T00:00:00Z')).toBe(1);
      expect(await other.visitAt('r1', 'call', '2026-01-01T00:00:00Z')).toBe(1);
      expect(await other.visitAt('r1', 'call', '2026-01-01T00:01:00Z')).toBe(2);
      expect(await visits.visitAt('r1', 'call', '2026-01-01T00:00:00Z')).toBe(1);
      expect(await visits.visitAt('r1', 'other', '2026-01-01T00:01:00Z')).toBe(1);
      expect(await visits.visitAt('r2', 'call', '2026-01-01T00:01:00Z')).toBe(1);
      expect(await other.latest('r1', 'call')).toBe(2);
      expect(await other.latest('r1', 'other')).toBe(1);
      expect(await visits.latest('r1', 'none')).toBe(0);
      expect(await visits.latest('r3', 'call')).toBe(0);
    });

    it('gives N concurrent distinct entered times the visits 1..N, and one time one visit', async () => {
      const visits = await fresh(make);
      const at = (i: number): string => `2026-01-01T00:00:0${i}Z`;
      const distinct = settled(await race(8, (i) => connectionFor(visits, i).visitAt('r1', 'call', at(i))));
      expect([...distinct].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const same = settled(await race(8, (i) => connectionFor(visits, i).visitAt('r1', 'other', at(0))));
      expect(same).toEqual(Array(8).fill(1));
      expect(await visits[0].latest('r1', 'call')).toBe(8);
    });
  });
}

const succeeded = (branch: number): BranchFinish => ({
  branch,
  outcome: 'succeeded',
  written: { [`b${branch}`]: branch },
});

/** The contract of `QuorumTallies`; `make` gives adapters over one fresh store. */
export function describeQuorumTalliesContract(
  name: string,
  make: () => Contenders<QuorumTallies> | Promise<Contenders<QuorumTallies>>,
): void {
  describe(`QuorumTallies contract: ${name}`, () => {
    it('answers the finishes recorded so far, in order, per run and step', async () => {
      const [tallies, other] = await fresh(make);
      const failed: BranchFinish = { branch: 0, outcome: 'failed', error: { Error: 'E', Cause: '{}' } };
      expect(await tallies.add('r1', 'fan', failed)).toEqual([failed]);
      expect(await other.add('r1', 'fan', succeeded(2))).toEqual([failed, succeeded(2)]);
      expect(await tallies.add('r1', 'other', succeeded(1))).toEqual([succeeded(1)]);
      expect(await tallies.add('r2', 'fan', succeeded(1))).toEqual([succeeded(1)]);
    });

    it('keeps a branch first finish: a repeated one changes nothing and sees only what came before it', async () => {
      const [tallies, other] = await fresh(make);
      await tallies.add('r1', 'fan', succeeded(0));
      await tallies.add('r1', 'fan', succeeded(1));
      const again: BranchFinish = { branch: 0, outcome: 'failed', error: { Error: 'E', Cause: '{}' } };
      expect(await other.add('r1', 'fan', again)).toEqual([succeeded(0)]);
      expect(await other.add('r1', 'fan', succeeded(2))).toEqual([succeeded(0), succeeded(1), succeeded(2)]);
    });

    it('lets exactly one of N concurrent finishes see all N', async () => {
      const tallies = await fresh(make);
      const seen = settled(await race(8, (i) => connectionFor(tallies, i).add('r1', 'fan', succeeded(i))));
      expect(seen.filter((finishes) => finishes.length === 8)).toHaveLength(1);
      expect(seen.map((finishes) => finishes.length).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });
  });
}
