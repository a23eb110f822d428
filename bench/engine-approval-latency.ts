// Benchmark: approval-decision-to-next-step latency on the embedded durable engine (file database, system
// clock). Parks N runs on an approval (tool -> approval -> tool), then decides them one at a time: the
// latency is from calling approvals.decide(...) to the moment the next step's tool activity is invoked
// (the tool mock stamps process.hrtime). The engine is let idle between decisions, so each one is
// measured alone. A second pass decides another N parked runs all at once (a burst) and reports the same
// latency under load. Per durability setting. Goal: median <= 2 ms (one at a time).
//   npx tsx bench/engine-approval-latency.ts       (BENCH_RUNS=500, BENCH_DURABILITY=normal,full)
import type { Durability } from '../adapters/local/database.js';
import type { EmbeddedEngine } from '../adapters/local/engine.js';
import type { ToolCallRequest } from '../functions/core/protocol.js';
import {
  APPROVER,
  approvalIr,
  closeEngine,
  durabilities,
  envNumber,
  fmt,
  load,
  noopTool,
  nowMs,
  openEngine,
  profilePhase,
  type Summary,
  summarize,
  TRIGGER,
  tempDb,
  verdict,
} from './engine-common.js';

const RUNS = envNumber('BENCH_RUNS', 500);
const WARMUP = envNumber('BENCH_WARMUP', 20);
const GOAL_MS = 2;

const ir = approvalIr();

async function park(engine: EmbeddedEngine, count: number): Promise<string[]> {
  const ids = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: TRIGGER }),
    ),
  );
  await engine.host.idle();
  const open = engine.db
    .prepare<[], { n: number }>("SELECT count(*) AS n FROM approvals WHERE status = 'open'")
    .get();
  if ((open?.n ?? 0) < count) throw new Error(`only ${open?.n} approvals are open`);
  return ids;
}

function decide(engine: EmbeddedEngine, runId: string): Promise<unknown> {
  return engine.approvals
    .decide({ runId, stepId: 'gate', by: APPROVER, decision: 'approve', channel: 'bench' })
    .then((result) => {
      if (!result.accepted) throw new Error(`decision on ${runId} refused: ${result.reason}`);
    });
}

interface Measured {
  sequential: Summary;
  decideReturned: Summary;
  burst: Summary;
  burstWallMs: number;
}

async function measure(durability: Durability): Promise<Measured> {
  const db = tempDb(`approval-${durability}`);
  const invoked = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const engine = openEngine({
    file: db.file,
    durability,
    tools: (request: ToolCallRequest) => {
      if (request.stepId === 'after') {
        invoked.set(request.runId, nowMs());
        waiting.get(request.runId)?.();
      }
      return noopTool(request);
    },
  });
  const ids = await park(engine, WARMUP + RUNS);
  const latencies: number[] = [];
  const returned: number[] = [];
  await profilePhase(`approval-sequential-${durability}`, async () => {
    for (const [i, runId] of ids.entries()) {
      const next = new Promise<void>((resolve) => waiting.set(runId, resolve));
      const start = nowMs();
      await decide(engine, runId);
      const back = nowMs();
      await next;
      if (i >= WARMUP) {
        latencies.push((invoked.get(runId) ?? Number.NaN) - start);
        returned.push(back - start);
      }
      await engine.host.idle();
    }
  });
  // Burst: RUNS more parked runs, all decided in the same tick.
  const burstIds = await park(engine, RUNS);
  const starts = new Map<string, number>();
  const all = burstIds.map((runId) => new Promise<void>((resolve) => waiting.set(runId, resolve)));
  const burstStart = nowMs();
  await profilePhase(`approval-burst-${durability}`, () => {
    const decisions = burstIds.map((runId) => {
      starts.set(runId, nowMs());
      return decide(engine, runId);
    });
    return Promise.all([...decisions, ...all]);
  });
  const burstWallMs = nowMs() - burstStart;
  const burst = burstIds.map((runId) => (invoked.get(runId) ?? Number.NaN) - (starts.get(runId) ?? 0));
  await engine.host.idle();
  await closeEngine(engine);
  db.remove();
  return {
    sequential: summarize(latencies),
    decideReturned: summarize(returned),
    burst: summarize(burst),
    burstWallMs,
  };
}

console.log(
  `engine-approval-latency: ${RUNS} parked runs decided one at a time (after ${WARMUP} warm-up), then ${RUNS} at once, ${load()}`,
);
const results: string[] = [];
for (const durability of durabilities()) {
  const m = await measure(durability);
  const s = m.sequential;
  console.log(
    `  ${durability.padEnd(6)} decide -> next tool invoked: median ${fmt(s.median)} ms, p90 ${fmt(s.p90)}, p99 ${fmt(s.p99)}, max ${fmt(s.max)} ` +
      `(decide() itself returns after median ${fmt(m.decideReturned.median)} ms)`,
  );
  console.log(
    `  ${durability.padEnd(6)} burst of ${RUNS}: latency median ${fmt(m.burst.median)} ms, p90 ${fmt(m.burst.p90)}, p99 ${fmt(m.burst.p99)}; ` +
      `all next steps invoked after ${fmt(m.burstWallMs, 1)} ms [${load()}]`,
  );
  results.push(
    `${durability} median ${fmt(s.median)} ms p90 ${fmt(s.p90)} p99 ${fmt(s.p99)} ${verdict(s.median <= GOAL_MS)}`,
  );
}
console.log(`RESULT approval latency (goal median <= ${GOAL_MS} ms): ${results.join('; ')} [${load()}]`);
