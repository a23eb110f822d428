// Benchmark: validate and lower a generated 1,000-step definition (`npm run bench`). Prints the median
// and spread over repeated runs; the first runs warm the JIT and are not counted.
import { performance } from 'node:perf_hooks';
import { validateWorkflow } from '../translator/validate.js';
import { generateYaml } from './generate.js';

const STEPS = Number(process.env.BENCH_STEPS ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;

const text = generateYaml(STEPS);
const times: number[] = [];
let stepCountInIr = 0;
for (let run = 0; run < WARMUP + RUNS; run++) {
  const start = performance.now();
  const result = validateWorkflow(text, 'yaml');
  const elapsed = performance.now() - start;
  if (!result.valid || !result.ir) {
    console.error(result.diagnostics.slice(0, 5));
    throw new Error('the generated definition must be valid');
  }
  stepCountInIr = result.ir.graph.nodes.length;
  if (run >= WARMUP) times.push(elapsed);
}
times.sort((a, b) => a - b);
const pick = (q: number): number =>
  times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
console.log(
  `validate+lower ${STEPS}-step definition (${(text.length / 1024).toFixed(0)} KiB YAML, ${stepCountInIr} top-level IR nodes): ` +
    `median ${pick(0.5).toFixed(1)} ms, min ${pick(0).toFixed(1)} ms, p90 ${pick(0.9).toFixed(1)} ms over ${RUNS} runs ` +
    `(${((pick(0.5) / STEPS) * 1000).toFixed(1)} µs per step)`,
);
