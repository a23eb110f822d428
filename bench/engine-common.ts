// Shared helpers for the embedded-engine benchmarks (bench/engine-*.ts): generated workflows, an engine on a
// file database in a fresh temp dir with the system clock, percentiles and the machine load. Not a benchmark.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../adapters/local/clock.js';
import type { Db, Durability } from '../adapters/local/database.js';
import { InMemoryDirectory } from '../adapters/local/directory.js';
import { createEmbeddedEngine, type EmbeddedEngine } from '../adapters/local/engine.js';
import type { ToolInvoker } from '../functions/core/ports.js';
import type { Identity, ToolCallRequest } from '../functions/core/protocol.js';
import type { IrWorkflow } from '../translator/ir.js';
import { validateWorkflow } from '../translator/validate.js';

export const USER: Identity = {
  email: 'alice@example.com',
  role: 'member',
  groups: ['eng'],
  manager: 'bob@example.com',
};
export const APPROVER = 'bob@example.com';
export const TRIGGER = { type: 'manual' as const, user: USER };

function irOf(yaml: string): IrWorkflow {
  const result = validateWorkflow(yaml);
  if (!result.valid || result.ir === undefined) {
    console.error(result.diagnostics.slice(0, 5));
    throw new Error('the generated benchmark workflow must be valid');
  }
  return result.ir;
}

/** `steps` sequential no-op tool steps (no timeout, no retry: one activity and one commit per step). */
export function sequentialToolsIr(steps: number): IrWorkflow {
  const lines = ['version: 1', `id: bench-seq-${steps}`, `name: Sequential ${steps} no-op tools`, 'steps:'];
  for (let i = 0; i < steps; i++) lines.push(`  - id: s${i}`, '    type: tool', '    tool: noop');
  return irOf(lines.join('\n'));
}

/** A tool, an approval by one user (no timeout), then the tool `next` (whose invocation marks the decision as processed). */
export function approvalIr(): IrWorkflow {
  return irOf(
    [
      'version: 1',
      'id: bench-approval',
      'name: Approval latency',
      'steps:',
      '  - id: before',
      '    type: tool',
      '    tool: noop',
      '  - id: gate',
      '    type: approval',
      `    approvers: [${APPROVER}]`,
      '    message: "Approve run {{run.id}}?"',
      '  - id: after',
      '    type: tool',
      '    tool: next',
    ].join('\n'),
  );
}

export interface BenchDb {
  dir: string;
  file: string;
  remove(): void;
}

/** A database file in a fresh directory under the OS temp dir (a real disk here, so fsync costs what it costs). */
export function tempDb(label: string): BenchDb {
  const dir = mkdtempSync(join(tmpdir(), `stepgate-bench-${label}-`));
  return { dir, file: join(dir, 'engine.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Extra pragmas applied to every benchmark engine, for experiments: BENCH_PRAGMAS='cache_size=-65536;wal_autocheckpoint=0'. */
export const EXTRA_PRAGMAS = (process.env.BENCH_PRAGMAS ?? '')
  .split(';')
  .map((p) => p.trim())
  .filter((p) => p !== '');

export function openEngine(options: {
  file: string;
  durability: Durability;
  tools: ToolInvoker['call'];
  cacheSize?: number;
}): EmbeddedEngine {
  const engine = createEmbeddedEngine({
    file: options.file,
    durability: options.durability,
    clock: new SystemClock(),
    directory: new InMemoryDirectory([
      USER,
      { email: APPROVER, role: 'manager', groups: ['eng'], manager: null },
    ]),
    tools: { call: options.tools },
    notifier: { send: async () => ({}) },
    approvalNotifier: { requested: async () => {} },
    cacheSize: options.cacheSize,
  });
  for (const pragma of EXTRA_PRAGMAS) engine.db.pragma(pragma);
  return engine;
}

export interface CommitStats {
  /** Host batch transactions (one per flush). */
  count: number;
  /** Time inside the transaction bodies (applying events, running orchestrators, INSERTs). */
  bodyMs: number;
  /** Whole transaction calls: body plus BEGIN and COMMIT (WAL write, fsync, checkpoint). */
  totalMs: number;
}

/**
 * Wraps db.transaction so every transaction the host runs afterwards is counted and timed: total - body
 * is the cost of BEGIN + COMMIT. Autocommit statements outside the host's transactions are not included.
 */
export function instrumentCommits(db: Db): CommitStats {
  const stats: CommitStats = { count: 0, bodyMs: 0, totalMs: 0 };
  const original = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const wrapped = original((...args: unknown[]) => {
      const start = nowMs();
      try {
        return fn(...args);
      } finally {
        stats.bodyMs += nowMs() - start;
      }
    });
    return Object.assign((...args: unknown[]) => {
      const start = nowMs();
      stats.count++;
      try {
        return wrapped(...args);
      } finally {
        stats.totalMs += nowMs() - start;
      }
    }, wrapped);
  }) as typeof db.transaction;
  return stats;
}

export async function closeEngine(engine: EmbeddedEngine): Promise<void> {
  await engine.host.close();
  engine.db.close();
}

export const noopTool = async (_request: ToolCallRequest): Promise<unknown> => ({ ok: true });

/** Durability settings to measure: BENCH_DURABILITY=normal|full|normal,full (default both). */
export function durabilities(): Durability[] {
  const raw = process.env.BENCH_DURABILITY ?? 'normal,full';
  const list = raw.split(',').map((s) => s.trim());
  for (const d of list) if (d !== 'normal' && d !== 'full') throw new Error(`unknown durability ${d}`);
  return list as Durability[];
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : Number(raw);
}

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: pick(0.5),
    p90: pick(0.9),
    p99: pick(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
  };
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}

export function fmt(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : String(value);
}

/** The 1/5/15-minute load averages and the core count, to print next to every figure. */
export function load(): string {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  const extra = EXTRA_PRAGMAS.length ? `, extra pragmas ${EXTRA_PRAGMAS.join('; ')}` : '';
  return `load ${one.toFixed(2)}/${five.toFixed(2)}/${fifteen.toFixed(2)} on ${cpus().length} cores${extra}`;
}

export function verdict(ok: boolean): string {
  return ok ? 'MET' : 'MISSED';
}

/** Wall-clock nanoseconds as a number of milliseconds (process.hrtime.bigint based). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Runs `fn`; when BENCH_PROFILE names a directory, records a V8 CPU profile of just that phase to
 * `<dir>/<name>.cpuprofile` (summarise it with bench/engine-profile-summary.ts). Whole-process profiles
 * (`node --cpu-prof`) also work but mix in start-up, warm-up and the other phases.
 */
export async function profilePhase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROFILE;
  if (dir === undefined || dir === '') return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}
