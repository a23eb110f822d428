// Azure cost per path: for each template and scenario case, the run on the Durable Functions target
// (testing/run-azure.ts runCaseAzure through testing/run-scenarios.ts: durable-functions' own orchestrator
// replayed with the real activities), counting what the Functions host would bill — orchestrator episodes
// (each one a replay over the whole history, billed as one execution on Flex Consumption), activity
// executions, and the HTTP requests that start the run and raise its events (approval decisions, cancels) —
// and the Azure Storage transactions the Durable Functions task hub makes for them, with what 1,000 runs of
// that path cost at the prices below. Nothing here ran on Azure: counts are exact for the harness, durations
// and transactions per unit are assumptions, each stated.
//
// Prices (USD, pay-as-you-go, East US) and their sources:
// - Flex Consumption on demand: $0.000026 per GB-second of execution (Azure Functions pricing page, as quoted
//   by modal.com's "Azure Functions pricing" guide, May 2025) and $0.40 per million executions (the same
//   page; assumed — the copy read here was cut before that figure). The monthly free grants (on demand GB-s
//   and executions per subscription) are left out: this is the marginal cost.
// - Storage transactions: $0.004 per 10,000, one price for the task hub's queue and table operations — an
//   assumption (the pricing page was not readable here; GPv2 LRS queue and table operations are listed in
//   that order of magnitude): check it before quoting the storage column.
// Assumptions (no measurement): an episode runs 100 ms, an activity or an HTTP request 200 ms, on the
// template's default 2,048 MB instances, each billed alone (Flex bills an instance's memory while it
// executes, so concurrent executions on one instance cost less than this). Transactions per unit, from the
// Durable Functions Azure Storage provider's design (learn.microsoft.com/azure/azure-functions/durable/
// durable-functions-azure-storage-provider): an episode reads its control-queue message and deletes it,
// reads the history (one partition query), writes the new history rows (one batch) and the instance row: 5;
// an activity is enqueued, dequeued, deleted, and its result enqueued on the control queue: 4; an event is
// enqueued and the instance row read: 2. Not counted: Stepgate's own table reads and writes (run record,
// audit, approvals), large results in Blob Storage, Cosmos DB request units, Key Vault operations, and the
// idle polling of the task hub's queues (a fixed monthly cost, not per run; see the README).
// Run: npx tsx bench/azure-costs.ts
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DfReplayHost } from '../testing/azure-replay.js';
import { runCaseAzure } from '../testing/run-azure.js';
import { runScenarioFileWith } from '../testing/run-scenarios.js';

const PRICE = { gbSecond: 0.000026, execution: 0.4 / 1e6, storageTransaction: 0.004 / 10_000 };
const ASSUMED = { episodeSeconds: 0.1, activitySeconds: 0.2, requestSeconds: 0.2, gb: 2 };
const TRANSACTIONS = { episode: 5, activity: 4, event: 2, start: 2 };

interface Counts {
  episodes: number;
  activities: number;
  /** HTTP requests: the start, and each event raised. */
  requests: number;
  events: number;
}

const zero = (): Counts => ({ episodes: 0, activities: 0, requests: 0, events: 0 });

function transactions(c: Counts): number {
  return (
    c.episodes * TRANSACTIONS.episode +
    c.activities * TRANSACTIONS.activity +
    c.events * TRANSACTIONS.event +
    TRANSACTIONS.start
  );
}

/** Dollars per 1,000 runs: compute (executions and GB-s) and storage transactions apart. */
function perThousandRuns(c: Counts): { compute: number; storage: number } {
  const executions = c.episodes + c.activities + c.requests;
  const seconds =
    c.episodes * ASSUMED.episodeSeconds +
    c.activities * ASSUMED.activitySeconds +
    c.requests * ASSUMED.requestSeconds;
  return {
    compute: 1000 * (executions * PRICE.execution + seconds * ASSUMED.gb * PRICE.gbSecond),
    storage: 1000 * transactions(c) * PRICE.storageTransaction,
  };
}

const counts = zero();
const stop = DfReplayHost.count({
  episode: () => void counts.episodes++,
  activity: () => void counts.activities++,
  event: () => {
    counts.events++;
    counts.requests++;
  },
});

const templates = join(import.meta.dirname, '..', 'templates');
const totals = zero();
let cases = 0;
const pad = (value: string | number, width: number) => String(value).padStart(width);
for (const file of readdirSync(templates).filter((f) => f.endsWith('.test.yaml'))) {
  const perCase = new Map<string, Counts>();
  const report = await runScenarioFileWith(join(templates, file), async (ir, scenario, c) => {
    Object.assign(counts, zero(), { requests: 1 });
    const seen = await runCaseAzure(ir, scenario, c);
    perCase.set(c.name, { ...counts });
    return seen;
  });
  if (report.problems.length > 0) throw new Error(report.problems.join('\n'));
  console.log(`\n${file.replace('.test.yaml', '')}`);
  console.log(
    'episodes  activities  requests  transactions  compute $/1k  storage $/1k  pass   status     case',
  );
  for (const c of report.cases) {
    const n = perCase.get(c.name) ?? zero();
    for (const key of Object.keys(totals) as (keyof Counts)[]) totals[key] += n[key];
    cases++;
    const cost = perThousandRuns(n);
    console.log(
      `${pad(n.episodes, 8)}  ${pad(n.activities, 10)}  ${pad(n.requests, 8)}  ${pad(transactions(n), 12)}  ${pad(cost.compute.toFixed(4), 12)}  ${pad(cost.storage.toFixed(4), 12)}  ${String(c.pass).padEnd(5)}  ${c.status.padEnd(9)}  ${c.name}`,
    );
  }
}
stop();
console.log(`\ntotal over ${cases} cases: ${JSON.stringify(totals)}`);
const mean = perThousandRuns({
  episodes: totals.episodes / cases,
  activities: totals.activities / cases,
  requests: totals.requests / cases,
  events: totals.events / cases,
});
console.log(
  `mean per 1,000 runs: compute $${mean.compute.toFixed(4)}, storage transactions $${mean.storage.toFixed(4)}, total $${(mean.compute + mean.storage).toFixed(4)}`,
);
console.log(
  `prices: $${PRICE.execution * 1e6} per 1M executions, $${PRICE.gbSecond}/GB-s at an assumed ` +
    `${ASSUMED.episodeSeconds * 1000} ms per episode and ${ASSUMED.activitySeconds * 1000} ms per activity or request × ${ASSUMED.gb} GB, ` +
    `$${PRICE.storageTransaction * 10_000} per 10,000 storage transactions (assumed; see the header)`,
);
