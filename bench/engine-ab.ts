// Benchmark: this checkout's embedded engine against another checkout's (an older commit), in ONE process,
// interleaved, so that the shared machine's noise falls on both alike. Separate processes run minutes apart
// differ by more than the changes being judged (two runs of one commit's approval-latency benchmark differed
// by 30% on these machines); interleaved, the ratio is what is compared.
// - throughput: rounds of 1,000 concurrent 10-step no-op runs (as engine-throughput.ts), base and this
//   checkout alternately, the first of each a warm-up; steps/s and steps per CPU-second, medians;
// - approval latency: N runs parked on an approval per side, then decided one at a time, alternating sides
//   decision by decision (which side goes first alternates too); decide() to the next tool's invocation,
//   median, p25/p75, p90;
// - restart: 5,000 runs parked, the engine closed and reopened (recover()), all decided at once; ms from
//   the restart to the last next-step invocation, sides alternately, median of 4 after a warm-up.
// Each side loads its own modules (its bench/engine-common.ts and everything under it); better-sqlite3 and
// the rest of node_modules are this checkout's. Needs the base checkout's working tree, e.g.
//   git worktree add --detach /tmp/stepgate-base <commit> && ln -s "$PWD/node_modules" /tmp/stepgate-base/
//   BENCH_BASE=/tmp/stepgate-base npx tsx bench/engine-ab.ts   (BENCH_DURABILITY, BENCH_ROUNDS=6, BENCH_RUNS=1000,
//   BENCH_DECISIONS=1000, BENCH_PARKED=5000, BENCH_RESTARTS=4)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { durabilities, envNumber, fmt, load, median, summarize } from './engine-common.js';

const BASE = process.env.BENCH_BASE;
if (BASE === undefined || !existsSync(join(BASE, 'bench', 'engine-common.ts'))) {
  console.error(
    'BENCH_BASE must name a checkout of the commit to compare with (with bench/engine-common.ts)',
  );
  process.exit(2);
}
const ROUNDS = envNumber('BENCH_ROUNDS', 6);
const RUNS = envNumber('BENCH_RUNS', 1_000);
const STEPS = 10;
const DECISIONS = envNumber('BENCH_DECISIONS', 1_000);
const WARMUP = 50;
const PARKED = envNumber('BENCH_PARKED', 5_000);
const RESTARTS = envNumber('BENCH_RESTARTS', 4);

/** What both checkouts' bench/engine-common.ts export and this benchmark uses. */
interface Common {
  openEngine(options: { file: string; durability: string; tools: (request: never) => unknown }): Engine;
  closeEngine(engine: Engine): Promise<void>;
  tempDb(name: string): { file: string; remove(): void };
  noopTool(request: never): unknown;
  nowMs(): number;
  sequentialToolsIr(steps: number): { id: string };
  approvalIr(): { id: string };
  TRIGGER: unknown;
  APPROVER: string;
}
interface Engine {
  host: {
    recover(): unknown;
    startRun(start: Record<string, unknown>): Promise<string>;
    waitForRun(id: string): Promise<string>;
    idle(): Promise<void>;
  };
  approvals: {
    decide(input: Record<string, unknown>): Promise<{ accepted: boolean }>;
  };
}
interface Side {
  name: string;
  common: Common;
}

async function side(name: string, root: string): Promise<Side> {
  return { name, common: (await import(join(resolve(root), 'bench', 'engine-common.ts'))) as Common };
}

/** One throughput round on a fresh database: steps per wall second and per CPU second. */
async function throughputRound(s: Side, durability: string): Promise<{ wall: number; cpu: number }> {
  const c = s.common;
  const ir = c.sequentialToolsIr(STEPS);
  const db = c.tempDb(`ab-throughput-${s.name}`);
  const engine = c.openEngine({ file: db.file, durability, tools: c.noopTool });
  const cpu0 = process.cpuUsage();
  const start = c.nowMs();
  const ids = await Promise.all(
    Array.from({ length: RUNS }, (_, i) =>
      engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: c.TRIGGER }),
    ),
  );
  const statuses = await Promise.all(ids.map((id) => engine.host.waitForRun(id)));
  const seconds = (c.nowMs() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (statuses.some((status) => status !== 'completed')) throw new Error(`${s.name}: a run did not complete`);
  await c.closeEngine(engine);
  db.remove();
  return { wall: (RUNS * STEPS) / seconds, cpu: (RUNS * STEPS) / ((cpu.user + cpu.system) / 1e6) };
}

async function throughput(sides: Side[], durability: string): Promise<string[]> {
  const rounds = new Map(sides.map((s) => [s.name, [] as { wall: number; cpu: number }[]]));
  for (let r = 0; r <= ROUNDS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const result = await throughputRound(s, durability);
      if (r > 0) rounds.get(s.name)?.push(result);
    }
  }
  return sides.map((s) => {
    const own = rounds.get(s.name) ?? [];
    return `${s.name} ${fmt(median(own.map((x) => x.wall)), 0)} steps/s (${fmt(median(own.map((x) => x.cpu)), 0)} per CPU-s)`;
  });
}

/** A side's engine with DECISIONS + WARMUP runs parked on an approval, and a way to decide one and time it. */
async function parked(s: Side, durability: string) {
  const c = s.common;
  const ir = c.approvalIr();
  const db = c.tempDb(`ab-approval-${s.name}`);
  const invoked = new Map<string, number>();
  const waiting = new Map<string, () => void>();
  const tools = (request: { stepId: string; runId: string }) => {
    if (request.stepId === 'after') {
      invoked.set(request.runId, c.nowMs());
      waiting.get(request.runId)?.();
    }
    return c.noopTool(request as never);
  };
  const engine = c.openEngine({ file: db.file, durability, tools: tools as (request: never) => unknown });
  const ids = await Promise.all(
    Array.from({ length: DECISIONS + WARMUP }, (_, i) =>
      engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: c.TRIGGER }),
    ),
  );
  await engine.host.idle();
  const latencies: number[] = [];
  return {
    latencies,
    async decideNext(i: number): Promise<void> {
      const runId = ids[i] ?? '';
      const next = new Promise<void>((done) => waiting.set(runId, done));
      const start = c.nowMs();
      const result = await engine.approvals.decide({
        runId,
        stepId: 'gate',
        by: c.APPROVER,
        decision: 'approve',
        channel: 'bench',
      });
      if (!result.accepted) throw new Error(`${s.name}: decision on ${runId} refused`);
      await next;
      if (i >= WARMUP) latencies.push((invoked.get(runId) ?? Number.NaN) - start);
      await engine.host.idle();
    },
    close: async () => {
      await c.closeEngine(engine);
      db.remove();
    },
  };
}

async function approvals(sides: Side[], durability: string): Promise<string[]> {
  const engines = await Promise.all(sides.map((s) => parked(s, durability)));
  for (let i = 0; i < DECISIONS + WARMUP; i++) {
    const order = i % 2 === 0 ? engines : [...engines].reverse();
    for (const e of order) await e.decideNext(i);
  }
  await Promise.all(engines.map((e) => e.close()));
  return sides.map((s, k) => {
    const sorted = [...(engines[k]?.latencies ?? [])].sort((a, b) => a - b);
    const at = (q: number) => fmt(sorted[Math.floor(q * (sorted.length - 1))] ?? Number.NaN);
    const { median: mid, p90 } = summarize(sorted);
    return `${s.name} median ${fmt(mid)} ms (p25 ${at(0.25)}, p75 ${at(0.75)}, p90 ${fmt(p90)})`;
  });
}

/**
 * Restart with runs parked: a side parks PARKED runs on an approval, closes its engine, opens a new one on
 * the file, recovers, and decides them all at once; ms from the restart until every next tool was invoked.
 */
async function restartRound(s: Side, durability: string): Promise<number> {
  const c = s.common;
  const ir = c.approvalIr();
  const db = c.tempDb(`ab-restart-${s.name}`);
  let remaining = PARKED;
  let allInvoked = () => {};
  const tools = (request: { stepId: string }) => {
    if (request.stepId === 'after' && --remaining === 0) allInvoked();
    return c.noopTool(request as never);
  };
  const open = () => c.openEngine({ file: db.file, durability, tools: tools as (request: never) => unknown });
  let engine = open();
  const ids = await Promise.all(
    Array.from({ length: PARKED }, (_, i) =>
      engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: c.TRIGGER }),
    ),
  );
  await engine.host.idle();
  await c.closeEngine(engine);
  const done = new Promise<void>((resolve) => {
    allInvoked = resolve;
  });
  const start = c.nowMs();
  engine = open();
  engine.host.recover();
  const decided = await Promise.all(
    ids.map((runId) =>
      engine.approvals.decide({
        runId,
        stepId: 'gate',
        by: c.APPROVER,
        decision: 'approve',
        channel: 'bench',
      }),
    ),
  );
  if (decided.some((d) => !d.accepted)) throw new Error(`${s.name}: a decision was refused`);
  await done;
  const ms = c.nowMs() - start;
  await engine.host.idle();
  await c.closeEngine(engine);
  db.remove();
  return ms;
}

async function restarts(sides: Side[], durability: string): Promise<string[]> {
  const times = new Map(sides.map((s) => [s.name, [] as number[]]));
  for (let r = 0; r <= RESTARTS; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const ms = await restartRound(s, durability);
      if (r > 0) times.get(s.name)?.push(ms);
    }
  }
  return sides.map((s) => `${s.name} ${fmt(median(times.get(s.name) ?? []), 0)} ms`);
}

const sides = [await side('base', BASE), await side('this', '.')];
console.log(
  `engine-ab: base ${resolve(BASE)} against this checkout, interleaved in one process: throughput ${ROUNDS} rounds of ${RUNS} ${STEPS}-step runs each after a warm-up; ${DECISIONS} approval decisions each after ${WARMUP} warm-up; ${load()}`,
);
const results: string[] = [];
for (const durability of durabilities()) {
  const t = await throughput(sides, durability);
  console.log(`  ${durability.padEnd(6)} throughput: ${t.join(' | ')} [${load()}]`);
  const a = await approvals(sides, durability);
  console.log(`  ${durability.padEnd(6)} approval latency: ${a.join(' | ')} [${load()}]`);
  const r = await restarts(sides, durability);
  console.log(
    `  ${durability.padEnd(6)} restart, ${PARKED} parked decided at once: ${r.join(' | ')} [${load()}]`,
  );
  results.push(
    `${durability}: throughput ${t.join(', ')}; approval latency ${a.join(', ')}; restart with ${PARKED} parked ${r.join(', ')}`,
  );
}
console.log(`RESULT engine A/B: ${results.join('; ')} [${load()}]`);
