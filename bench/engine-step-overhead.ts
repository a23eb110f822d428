// Benchmark: per-step overhead of a 40-step sequential flow of no-op tools on the embedded durable engine
// (file database, system clock; every step is committed before the next starts). Runs one after another,
// for each durability setting; per-step time = run wall time / steps. Also measures, for scale, the raw
// cost of one SQLite commit (one single-row INSERT transaction) with the same settings, and the same flow
// on ':memory:' (no I/O at all). Goal: median <= 0.5 ms per step.
//   npx tsx bench/engine-step-overhead.ts       (BENCH_RUNS, BENCH_STEPS, BENCH_DURABILITY=normal,full)
import { openDatabase } from '../adapters/local/database.js';
import type { ToolCallRequest } from '../functions/core/protocol.js';
import {
  closeEngine,
  durabilities,
  envNumber,
  fmt,
  instrumentCommits,
  load,
  noopTool,
  nowMs,
  openEngine,
  profilePhase,
  type Summary,
  sequentialToolsIr,
  summarize,
  TRIGGER,
  tempDb,
  verdict,
} from './engine-common.js';

const STEPS = envNumber('BENCH_STEPS', 40);
const RUNS = envNumber('BENCH_RUNS', 60);
const WARMUP = envNumber('BENCH_WARMUP', 5);
const COMMITS = envNumber('BENCH_COMMITS', 2_000);
const GOAL_MS = 0.5;

const ir = sequentialToolsIr(STEPS);

/** Raw cost of one commit: a transaction holding one small INSERT, repeated. */
function commitCost(durability: 'normal' | 'full'): Summary {
  const db = tempDb('commit');
  const sqlite = openDatabase(db.file, durability);
  sqlite.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  const insert = sqlite.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const commit = sqlite.transaction((k: number) => insert.run(k, 'x'.repeat(100)));
  const times = timeCommits((i) => commit(i));
  sqlite.close();
  db.remove();
  return times;
}

/**
 * Raw cost of a step-shaped commit on the engine's schema, without the engine: the rows one tool step
 * writes (2 history rows, the finished work row deleted and the next inserted, 4 audit entries), 40 steps
 * per run id, in one transaction per step. The gap between this and the engine's per-step time is the
 * engine's own work (orchestrator, JSON, promises, event loop).
 */
function stepShapedCommitCost(durability: 'normal' | 'full'): Summary {
  const db = tempDb('commit-step');
  const sqlite = openDatabase(db.file, durability);
  const history = sqlite.prepare(
    'INSERT INTO history (run_id, seq, type, task_id, name, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const work = sqlite.prepare('INSERT INTO work (run_id, task_id, name, input) VALUES (?, ?, ?, ?)');
  const done = sqlite.prepare('DELETE FROM work WHERE run_id = ? AND task_id = ?');
  const audit = sqlite.prepare(
    'INSERT INTO audit (run_id, seq, at, type, step, data) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const input = JSON.stringify({
    workflowId: 'bench',
    runId: 'x'.repeat(36),
    stepId: 's1',
    args: {},
    pad: 'y'.repeat(200),
  });
  const data = JSON.stringify({ attempt: 1, idempotencyKey: 'k'.repeat(60), tool: 'noop', args: {} });
  const step = sqlite.transaction((i: number) => {
    const runId = `run-${Math.floor(i / STEPS)}-${'r'.repeat(28)}`;
    const n = i % STEPS;
    const at = Date.now();
    history.run(runId, 2 * n + 1, 'TaskCompleted', n, null, '{"ok":true}', at);
    done.run(runId, n);
    history.run(runId, 2 * n + 2, 'TaskScheduled', n + 1, 'tool.call', null, at);
    work.run(runId, n + 1, 'tool.call', input);
    for (let a = 0; a < 4; a++) audit.run(runId, 4 * n + a + 1, at, 'step.entered', `s${n}`, data);
  });
  const times = timeCommits((i) => step(i));
  sqlite.close();
  db.remove();
  return times;
}

function timeCommits(commit: (i: number) => void): Summary {
  const times: number[] = [];
  for (let i = 0; i < COMMITS + 100; i++) {
    const start = nowMs();
    commit(i);
    if (i >= 100) times.push(nowMs() - start);
  }
  return summarize(times);
}

interface FlowResult {
  perStep: Summary;
  gap: Summary;
  /** Per step, over the measured runs: inside the host's transactions, and their BEGIN + COMMIT. */
  bodyMs: number;
  commitMs: number;
}

/** Sequential runs of the flow; per run: wall time / STEPS, and the gaps between consecutive tool calls. */
async function flow(file: string, durability: 'normal' | 'full'): Promise<FlowResult> {
  let last = 0;
  let inRun = false;
  const gaps: number[] = [];
  const engine = openEngine({
    file,
    durability,
    tools: (request: ToolCallRequest) => {
      const now = nowMs();
      if (inRun && request.stepId !== 's0') gaps.push(now - last);
      last = now;
      return noopTool(request);
    },
  });
  const perStep: number[] = [];
  const commits = instrumentCommits(engine.db);
  let body0 = 0;
  let total0 = 0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    inRun = i >= WARMUP;
    if (i === WARMUP) {
      body0 = commits.bodyMs;
      total0 = commits.totalMs;
    }
    const start = nowMs();
    const runId = await engine.host.startRun({ workflowId: ir.id, ir, input: {}, trigger: TRIGGER });
    const status = await engine.host.waitForRun(runId);
    const elapsed = nowMs() - start;
    if (status !== 'completed') throw new Error(`run ${runId} ended ${status}`);
    if (i >= WARMUP) perStep.push(elapsed / STEPS);
  }
  await closeEngine(engine);
  const steps = RUNS * STEPS;
  return {
    perStep: summarize(perStep),
    gap: summarize(gaps),
    bodyMs: (commits.bodyMs - body0) / steps,
    commitMs: (commits.totalMs - total0 - (commits.bodyMs - body0)) / steps,
  };
}

console.log(
  `engine-step-overhead: ${STEPS}-step sequential no-op flow, ${RUNS} runs after ${WARMUP} warm-up, ${load()}`,
);
const memory = await flow(':memory:', 'normal');
console.log(
  `  reference ':memory:' (no I/O): median ${fmt(memory.perStep.median)} ms/step, p90 ${fmt(memory.perStep.p90)}; ` +
    `tool-to-tool gap median ${fmt(memory.gap.median)} ms`,
);
const results: string[] = [];
for (const durability of durabilities()) {
  const raw = commitCost(durability);
  const shaped = stepShapedCommitCost(durability);
  const db = tempDb(`steps-${durability}`);
  const result = await profilePhase(`step-overhead-${durability}`, () => flow(db.file, durability));
  db.remove();
  console.log(
    `  ${durability.padEnd(6)} raw SQLite commit (1-row INSERT txn): median ${fmt(raw.median)} ms, p90 ${fmt(raw.p90)}, p99 ${fmt(raw.p99)} over ${raw.n}`,
  );
  console.log(
    `  ${durability.padEnd(6)} raw step-shaped commit (the rows of one step, no engine): median ${fmt(shaped.median)} ms, p90 ${fmt(shaped.p90)}, p99 ${fmt(shaped.p99)}, mean ${fmt(shaped.mean)}`,
  );
  console.log(
    `  ${durability.padEnd(6)} engine per step: in host transactions ${fmt(result.bodyMs)} ms + their BEGIN/COMMIT ${fmt(result.commitMs)} ms ` +
      `+ outside them ${fmt(result.perStep.mean - result.bodyMs - result.commitMs)} ms (mean ${fmt(result.perStep.mean)} ms)`,
  );
  console.log(
    `  ${durability.padEnd(6)} per step: median ${fmt(result.perStep.median)} ms, p90 ${fmt(result.perStep.p90)}, ` +
      `min ${fmt(result.perStep.min)}, max ${fmt(result.perStep.max)}; tool-to-tool gap median ${fmt(result.gap.median)} ms, ` +
      `p90 ${fmt(result.gap.p90)}, p99 ${fmt(result.gap.p99)}; ${fmt(result.perStep.median / raw.median, 1)}x a raw commit`,
  );
  results.push(
    `${durability} median ${fmt(result.perStep.median)} ms/step p90 ${fmt(result.perStep.p90)} (commit ${fmt(raw.median)} ms) ${verdict(result.perStep.median <= GOAL_MS)}`,
  );
}
console.log(`RESULT step overhead (goal <= ${GOAL_MS} ms/step): ${results.join('; ')} [${load()}]`);
