// Benchmark: sustained throughput of the embedded durable engine with 1,000 concurrent 10-step runs of
// no-op tools (file database, system clock). All runs are started at once; the wall time runs from the
// first startRun call until every run has completed; steps/s = runs x steps / seconds. Repeated per
// durability setting (a fresh database each round, the first round of each setting is a warm-up), and
// the commits (flush transactions) per round are counted to show how much group commit batched.
// Goal: >= 20,000 steps/s.
//   npx tsx bench/engine-throughput.ts       (BENCH_RUNS=1000, BENCH_STEPS=10, BENCH_ROUNDS=5, BENCH_DURABILITY)
import type { Durability } from '../adapters/local/database.js';
import {
  closeEngine,
  durabilities,
  envNumber,
  fmt,
  instrumentCommits,
  load,
  median,
  noopTool,
  nowMs,
  openEngine,
  profilePhase,
  sequentialToolsIr,
  TRIGGER,
  tempDb,
  verdict,
} from './engine-common.js';

const RUNS = envNumber('BENCH_RUNS', 1_000);
const STEPS = envNumber('BENCH_STEPS', 10);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const GOAL = 20_000;

const ir = sequentialToolsIr(STEPS);

function pct(ms: number, seconds: number): string {
  return `${fmt(ms, 0)} ms = ${fmt((ms / (seconds * 1000)) * 100, 0)}%`;
}

interface Round {
  seconds: number;
  stepsPerSecond: number;
  /** Process CPU time (user + system, all threads) during the round; less sensitive to other load than wall time. */
  cpuSeconds: number;
  stepsPerCpuSecond: number;
  commits: number;
  bodyMs: number;
  commitMs: number;
}

async function round(durability: Durability): Promise<Round> {
  const db = tempDb(`throughput-${durability}`);
  const engine = openEngine({ file: db.file, durability, tools: noopTool });
  const commits = instrumentCommits(engine.db);
  const cpu0 = process.cpuUsage();
  const start = nowMs();
  const starts: Promise<string>[] = [];
  for (let i = 0; i < RUNS; i++)
    starts.push(engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: TRIGGER }));
  const ids = await Promise.all(starts);
  const statuses = await Promise.all(ids.map((id) => engine.host.waitForRun(id)));
  const seconds = (nowMs() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const failed = statuses.filter((s) => s !== 'completed').length;
  if (failed > 0) throw new Error(`${failed} runs did not complete`);
  await closeEngine(engine);
  db.remove();
  return {
    seconds,
    stepsPerSecond: (RUNS * STEPS) / seconds,
    cpuSeconds,
    stepsPerCpuSecond: (RUNS * STEPS) / cpuSeconds,
    commits: commits.count,
    bodyMs: commits.bodyMs,
    commitMs: commits.totalMs - commits.bodyMs,
  };
}

console.log(
  `engine-throughput: ${RUNS} concurrent ${STEPS}-step runs, ${ROUNDS} rounds after 1 warm-up per setting, ${load()}`,
);
const results: string[] = [];
for (const durability of durabilities()) {
  await round(durability);
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await profilePhase(`throughput-${durability}-${i + 1}`, () => round(durability));
    rounds.push(r);
    console.log(
      `  ${durability.padEnd(6)} round ${i + 1}: ${fmt(r.seconds, 3)} s, ${Math.round(r.stepsPerSecond)} steps/s, ` +
        `CPU ${fmt(r.cpuSeconds, 3)} s (${Math.round(r.stepsPerCpuSecond)} steps per CPU-second), ` +
        `${r.commits} commits (${fmt((RUNS * STEPS) / r.commits, 0)} steps/commit); of the wall time: ` +
        `batch bodies ${pct(r.bodyMs, r.seconds)} (orchestrators + INSERTs), BEGIN/COMMIT ${pct(r.commitMs, r.seconds)}, ` +
        `rest ${pct(r.seconds * 1000 - r.bodyMs - r.commitMs, r.seconds)} (activities, promises, event loop, GC outside batches) [${load()}]`,
    );
  }
  const rate = median(rounds.map((r) => r.stepsPerSecond));
  const perCpu = median(rounds.map((r) => r.stepsPerCpuSecond));
  results.push(
    `${durability} median ${Math.round(rate)} steps/s (${fmt(median(rounds.map((r) => r.seconds)), 3)} s; ` +
      `${Math.round(perCpu)} steps per CPU-s) ${verdict(rate >= GOAL)}`,
  );
}
console.log(`RESULT throughput (goal >= ${GOAL} steps/s): ${results.join('; ')} [${load()}]`);
