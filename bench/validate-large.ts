// Benchmark: validate and lower a generated 1,000-step definition (`npm run bench`). Prints the median
// and spread over repeated runs; the first runs warm the JIT and are not counted. With
// BENCH_BASE=<another checkout's work tree> it also times that checkout's validator in the same process,
// run by run alternately, and prints the ratio of the medians (how to compare on a shared machine).
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type ValidationResult, validateWorkflow } from '../translator/validate.js';
import { generateYaml } from './generate.js';

type Validate = (text: string, format: 'yaml') => ValidationResult;

const STEPS = Number(process.env.BENCH_STEPS ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const BASE = process.env.BENCH_BASE;
const WARMUP = 3;

const text = generateYaml(STEPS);
const contenders: Array<{ name: string; validate: Validate; times: number[] }> = [
  { name: 'this checkout', validate: validateWorkflow, times: [] },
];
if (BASE !== undefined) {
  const url = pathToFileURL(resolve(BASE, 'translator/validate.ts')).href;
  const base = (await import(url)) as { validateWorkflow: Validate };
  contenders.push({ name: `base (${BASE})`, validate: base.validateWorkflow, times: [] });
}
let stepCountInIr = 0;
for (let run = 0; run < WARMUP + RUNS; run++) {
  for (const contender of contenders) {
    const start = performance.now();
    const result = contender.validate(text, 'yaml');
    const elapsed = performance.now() - start;
    if (!result.valid || !result.ir) {
      console.error(result.diagnostics.slice(0, 5));
      throw new Error('the generated definition must be valid');
    }
    stepCountInIr = result.ir.graph.nodes.length;
    if (run >= WARMUP) contender.times.push(elapsed);
  }
}
const pick = (times: number[], q: number): number =>
  times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
for (const { name, times } of contenders) {
  times.sort((a, b) => a - b);
  console.log(
    `${name}: validate+lower ${STEPS}-step definition (${(text.length / 1024).toFixed(0)} KiB YAML, ${stepCountInIr} top-level IR nodes): ` +
      `median ${pick(times, 0.5).toFixed(1)} ms, min ${pick(times, 0).toFixed(1)} ms, p90 ${pick(times, 0.9).toFixed(1)} ms over ${RUNS} runs ` +
      `(${((pick(times, 0.5) / STEPS) * 1000).toFixed(1)} µs per step)`,
  );
}
const [own, base] = contenders;
if (own !== undefined && base !== undefined) {
  const ratio = pick(own.times, 0.5) / pick(base.times, 0.5);
  console.log(`ratio of the medians, this checkout / base: ${ratio.toFixed(2)}`);
}
