// Benchmark: 10,000 runs parked on approvals (tool -> approval -> tool) on the embedded durable engine
// (file database, system clock). Measures memory with all runs parked (RSS and heap after a full GC), then
// restart recovery: close, open a new engine on the same file, host.recover(), and time until the first
// decision on a parked run is processed (its next tool invoked), then the time to decide all the others
// (decided all at once) until every next step has been invoked and every run has completed.
// Each durability setting runs in its own child process so memory figures do not mix.
// Goals: memory < 300 MB RSS; restart to first processed decision < 3 s (all 10,000 decided also shown).
//   node --expose-gc --import tsx bench/engine-parked.ts   (BENCH_RUNS=10000, BENCH_CACHE, BENCH_DURABILITY)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
  mb,
  noopTool,
  nowMs,
  openEngine,
  profilePhase,
  TRIGGER,
  tempDb,
  verdict,
} from './engine-common.js';

const RUNS = envNumber('BENCH_RUNS', 10_000);
const CACHE = process.env.BENCH_CACHE === undefined ? undefined : Number(process.env.BENCH_CACHE);
const MEMORY_GOAL_MB = 300;
const RECOVERY_GOAL_MS = 3_000;

const ir = approvalIr();

function memory(): { rss: number; heapUsed: number; heapTotal: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc --import tsx bench/engine-parked.ts');
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external + m.arrayBuffers };
}

function show(label: string, m: ReturnType<typeof memory>, engine?: EmbeddedEngine): string {
  const live = engine === undefined ? '' : `, ${engine.host.liveCount} live orchestrators`;
  return `${label}: RSS ${mb(m.rss)}, heap used ${mb(m.heapUsed)} of ${mb(m.heapTotal)}, external ${mb(m.external)}${live}`;
}

async function child(durability: Durability): Promise<void> {
  const db = tempDb(`parked-${durability}`);
  const invoked = new Map<string, number>();
  let onInvoked: ((runId: string) => void) | undefined;
  const tools = (request: ToolCallRequest): Promise<unknown> => {
    if (request.stepId === 'after') {
      invoked.set(request.runId, nowMs());
      onInvoked?.(request.runId);
    }
    return noopTool(request);
  };
  const base = memory();
  console.log(`  ${durability.padEnd(6)} ${show('baseline before the engine', base)}`);

  let engine = openEngine({ file: db.file, durability, tools, cacheSize: CACHE });
  const parkStart = nowMs();
  const ids = await profilePhase(`parked-park-${durability}`, async () => {
    const started = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        engine.host.startRun({ workflowId: ir.id, ir, input: { i }, trigger: TRIGGER }),
      ),
    );
    await engine.host.idle();
    return started;
  });
  const parkMs = nowMs() - parkStart;
  const open =
    engine.db.prepare<[], { n: number }>("SELECT count(*) AS n FROM approvals WHERE status = 'open'").get()
      ?.n ?? 0;
  if (open !== RUNS) throw new Error(`${open} approvals open, expected ${RUNS}`);
  const parked = memory();
  console.log(
    `  ${durability.padEnd(6)} parked ${RUNS} runs in ${fmt(parkMs, 0)} ms; ${show('memory', parked, engine)} ` +
      `(+${mb(parked.rss - base.rss)} RSS, +${mb(parked.heapUsed - base.heapUsed)} heap over baseline)`,
  );
  const pages = Number(engine.db.pragma('page_count', { simple: true }));
  const pageSize = Number(engine.db.pragma('page_size', { simple: true }));
  await closeEngine(engine);

  // Restart: a new engine on the same file.
  const restartStart = nowMs();
  engine = openEngine({ file: db.file, durability, tools, cacheSize: CACHE });
  const opened = nowMs();
  const recovered = engine.host.recover();
  const recoverMs = nowMs() - opened;
  const [first, ...rest] = ids;
  if (first === undefined) throw new Error('no runs');
  const firstDone = new Promise<void>((resolve) => {
    onInvoked = (runId) => runId === first && resolve();
  });
  const decideStart = nowMs();
  const accepted = await engine.approvals.decide({
    runId: first,
    stepId: 'gate',
    by: APPROVER,
    decision: 'approve',
    channel: 'bench',
  });
  if (!accepted.accepted) throw new Error(`first decision refused: ${accepted.reason}`);
  await firstDone;
  const firstMs = nowMs() - restartStart;
  const firstDecisionMs = nowMs() - decideStart;
  await engine.host.idle();
  console.log(
    `  ${durability.padEnd(6)} restart: open ${fmt(opened - restartStart, 1)} ms, recover() ${fmt(recoverMs, 1)} ms ` +
      `(${recovered.work} work, ${recovered.timers} timers re-armed), first decision processed ${fmt(firstDecisionMs, 1)} ms ` +
      `after decide(); restart -> first decision processed ${fmt(firstMs, 1)} ms; database ${mb(pages * pageSize)}`,
  );
  const afterRestart = memory();
  console.log(`  ${durability.padEnd(6)} ${show('memory after restart + 1 decision', afterRestart, engine)}`);

  // Decide all the others at once.
  let remaining = rest.length;
  const allInvoked = new Promise<void>((resolve) => {
    onInvoked = () => {
      if (--remaining === 0) resolve();
    };
  });
  const allStart = nowMs();
  let acceptedMs = 0;
  await profilePhase(`parked-decide-all-${durability}`, async () => {
    const results = await Promise.all(
      rest.map((runId) =>
        engine.approvals.decide({
          runId,
          stepId: 'gate',
          by: APPROVER,
          decision: 'approve',
          channel: 'bench',
        }),
      ),
    );
    acceptedMs = nowMs() - allStart;
    if (results.some((r) => !r.accepted)) throw new Error('a decision was refused');
    await allInvoked;
  });
  const invokedMs = nowMs() - allStart;
  const statuses = await Promise.all(ids.map((id) => engine.host.waitForRun(id)));
  const completedMs = nowMs() - allStart;
  if (statuses.some((s) => s !== 'completed')) throw new Error('a run did not complete');
  const end = memory();
  console.log(
    `  ${durability.padEnd(6)} decided the other ${rest.length} at once: all decide() resolved ${fmt(acceptedMs, 0)} ms, ` +
      `all next steps invoked ${fmt(invokedMs, 0)} ms, all runs completed ${fmt(completedMs, 0)} ms ` +
      `(${fmt((rest.length / invokedMs) * 1000, 0)} decisions/s); ${show('memory after', end, engine)}`,
  );
  await closeEngine(engine);
  db.remove();
  const total = firstMs + invokedMs;
  console.log(
    `CHILD ${durability} parked RSS ${mb(parked.rss)} heap ${mb(parked.heapUsed)} ${verdict(parked.rss < MEMORY_GOAL_MB * 1024 * 1024)}; ` +
      `restart->first decision ${fmt(firstMs, 0)} ms ${verdict(firstMs < RECOVERY_GOAL_MS)}; ` +
      `restart->all ${RUNS} decided ${fmt(total, 0)} ms ${verdict(total < RECOVERY_GOAL_MS)}`,
  );
}

const only = process.env.BENCH_CHILD;
if (only === 'normal' || only === 'full') {
  await child(only);
} else {
  console.log(
    `engine-parked: ${RUNS} runs parked on approvals, cacheSize ${CACHE ?? 'default (5000)'}, one child process per durability, ${load()}`,
  );
  const results: string[] = [];
  for (const durability of durabilities()) {
    const out = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_CHILD: durability },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = out.stdout.trimEnd().split('\n');
    for (const line of lines) if (!line.startsWith('CHILD ')) console.log(line);
    const summary = lines.find((l) => l.startsWith('CHILD '));
    if (out.status !== 0 || summary === undefined) throw new Error(`the ${durability} child failed`);
    results.push(summary.slice('CHILD '.length));
  }
  console.log(
    `RESULT parked runs (goals < ${MEMORY_GOAL_MB} MB, < ${RECOVERY_GOAL_MS / 1000} s): ${results.join('; ')} [${load()}]`,
  );
}
