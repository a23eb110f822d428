// The shared quorum handler of a `require: N` parallel: finishes counted on the QuorumTallies port, the
// parallel decided when N branches succeeded (their results merged in branch order) or N can no longer be
// reached (the first failure goes on), and a branch reporting twice counted once.
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../adapters/local/database.js';
import { SqliteQuorumTallies } from '../../adapters/local/step-tallies.js';
import { countAslQuorum } from '../../functions/core/handlers/index.js';
import type { AslQuorumPayload } from '../../functions/core/wire.js';
import { ctx } from './support.js';

const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function tallies(): SqliteQuorumTallies {
  const db = openDatabase(':memory:');
  dbs.push(db);
  return new SqliteQuorumTallies(db);
}

const finish = (branch: number, outcome: 'succeeded' | 'failed', cause = '{}'): AslQuorumPayload => ({
  activity: 'quorum',
  ctx,
  stepId: 'fan',
  branch,
  branches: 3,
  require: 2,
  outcome,
  written: outcome === 'succeeded' ? { [`r${branch}`]: branch, last: branch } : {},
  ...(outcome === 'failed' ? { error: { Error: `E${branch}`, Cause: cause } } : {}),
});

describe('quorum', () => {
  it('decides on the Nth success with the results merged in branch order', async () => {
    const store = tallies();
    await expect(countAslQuorum(store, finish(2, 'succeeded'))).resolves.toBeNull();
    await expect(countAslQuorum(store, finish(0, 'succeeded'))).resolves.toEqual({
      error: 'Stepgate.QuorumReached',
      cause: { r0: 0, r2: 2, last: 2 },
    });
  });

  it('fails once the quorum cannot be reached, with the first failure', async () => {
    const store = tallies();
    const cause = JSON.stringify({ error: { code: 'Tool.Down', message: 'down', step: 'call' } });
    await expect(countAslQuorum(store, finish(1, 'failed', cause))).resolves.toBeNull();
    await expect(countAslQuorum(store, finish(0, 'succeeded'))).resolves.toBeNull();
    await expect(countAslQuorum(store, finish(2, 'failed', 'not json'))).resolves.toEqual({
      error: 'E1',
      cause: { error: { code: 'Tool.Down', message: 'down', step: 'call' } },
    });
  });

  it('counts a branch that reports twice once', async () => {
    const store = tallies();
    await expect(countAslQuorum(store, finish(1, 'succeeded'))).resolves.toBeNull();
    await expect(countAslQuorum(store, finish(1, 'succeeded'))).resolves.toBeNull();
  });

  it('keeps the quorums of different runs and steps apart', async () => {
    const store = tallies();
    await countAslQuorum(store, finish(0, 'succeeded'));
    const elsewhere = { ...finish(1, 'succeeded'), stepId: 'other' };
    await expect(countAslQuorum(store, elsewhere)).resolves.toBeNull();
    const otherRun = { ...finish(1, 'succeeded'), ctx: { ...ctx, runId: 'run-2' } };
    await expect(countAslQuorum(store, otherRun)).resolves.toBeNull();
  });
});
