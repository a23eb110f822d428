// The quorum handler of a `require: N` parallel on a state machine: each finished branch reports here, and
// the parallel is decided once N branches succeeded (Stepgate.QuorumReached, carrying the merged results of
// the branches that completed, in branch order) or so many failed that N no longer can (the first failure
// goes on; a failed parallel commits nothing). The finishes are counted on the QuorumTallies port.
import { ERROR_CODE } from '../../../translator/error-codes.js';
import type { JsonValue } from '../../../translator/template.js';
import type { BranchFinish, QuorumTallies } from '../ports.js';
import type { AslQuorumPayload, WireVars } from '../wire.js';

/** The parallel is still open (null), or decided: the error that ends it and its cause. */
export type QuorumAnswer = null | { error: string; cause: Record<string, JsonValue> };

/** The decision over the finishes recorded so far, the last of which is `latest`. */
export function countQuorum(
  finishes: readonly BranchFinish[],
  latest: BranchFinish,
  shape: { branches: number; require: number },
): QuorumAnswer {
  const succeeded = finishes.filter((f) => f.outcome === 'succeeded');
  if (latest.outcome === 'succeeded') {
    if (succeeded.length < shape.require) return null;
    const byBranch = [...succeeded].sort((a, b) => a.branch - b.branch);
    const merged: WireVars = Object.assign({}, ...byBranch.map((f) => f.written ?? {}));
    return { error: ERROR_CODE.quorumReached, cause: merged };
  }
  const failed = finishes.filter((f) => f.outcome === 'failed');
  if (failed.length <= shape.branches - shape.require) return null;
  const first = failed[0]?.error ?? { Error: ERROR_CODE.unknown, Cause: '{}' };
  return { error: first.Error, cause: parseCause(first.Cause) };
}

/** Records the branch's finish and answers whether it decides its parallel. */
export async function countAslQuorum(
  tallies: QuorumTallies,
  payload: AslQuorumPayload,
): Promise<QuorumAnswer> {
  const finish: BranchFinish =
    payload.outcome === 'succeeded'
      ? { branch: payload.branch, outcome: 'succeeded', written: payload.written }
      : {
          branch: payload.branch,
          outcome: 'failed',
          error: payload.error ?? { Error: ERROR_CODE.unknown, Cause: '{}' },
        };
  const finishes = await tallies.add(payload.ctx.runId, payload.stepId, finish);
  return countQuorum(finishes, finish, payload);
}

function parseCause(cause: string): Record<string, JsonValue> {
  try {
    const parsed = JSON.parse(cause) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, JsonValue>)
      : {};
  } catch {
    return {};
  }
}
