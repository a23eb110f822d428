// Benchmark: compile a generated 1,000-step definition to every target (`npm run bench:compile`). The
// definition is validated and lowered once (timed on its own, as `npm run bench` does); then each target's
// compiler (the one `stepgate compile` calls) runs on the same IR. Prints median and p90 ms per target over
// repeated runs and the bytes emitted; the first runs warm the JIT and are not counted.
import { performance } from 'node:perf_hooks';
import { COMPILERS, type CompileTarget, type EmittedFile } from '../translator/emit/index.js';
import type { IrWorkflow } from '../translator/ir.js';
import { validateWorkflow } from '../translator/validate.js';
import { envNumber, fmt, load, summarize } from './engine-common.js';
import { generateYaml } from './generate.js';

const STEPS = envNumber('BENCH_STEPS', 1_000);
const RUNS = envNumber('BENCH_RUNS', 20);
const WARMUP = 3;

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

const text = generateYaml(STEPS);
const validateTimes: number[] = [];
let ir: IrWorkflow | undefined;
for (let run = 0; run < WARMUP + RUNS; run++) {
  const { value: result, ms } = timed(() => validateWorkflow(text, 'yaml'));
  if (!result.valid || result.ir === undefined) {
    console.error(result.diagnostics.slice(0, 5));
    throw new Error('the generated definition must be valid');
  }
  ir = result.ir;
  if (run >= WARMUP) validateTimes.push(ms);
}
if (ir === undefined) throw new Error('no IR');
const validation = summarize(validateTimes);
console.log(
  `validate+lower ${STEPS}-step definition (${(text.length / 1024).toFixed(0)} KiB YAML): ` +
    `median ${fmt(validation.median, 1)} ms, p90 ${fmt(validation.p90, 1)} ms over ${RUNS} runs (not included below)`,
);

const results: string[] = [];
for (const target of Object.keys(COMPILERS).sort() as CompileTarget[]) {
  const compile = COMPILERS[target];
  if (compile === undefined) continue;
  const times: number[] = [];
  let files: EmittedFile[] = [];
  // A TranslateError here is a failure of the benchmark: the generated definition must suit every target.
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const { value, ms } = timed(() => compile(ir));
    files = value;
    if (run >= WARMUP) times.push(ms);
  }
  const bytes = files.reduce((sum, f) => sum + Buffer.byteLength(f.content, 'utf8'), 0);
  const s = summarize(times);
  console.log(
    `compile ${target}: median ${fmt(s.median, 1)} ms, p90 ${fmt(s.p90, 1)} ms, min ${fmt(s.min, 1)} ms over ${RUNS} runs; ` +
      `${bytes.toLocaleString('en-US')} bytes in ${files.map((f) => f.name).join(', ')}`,
  );
  results.push(
    `${target} median ${fmt(s.median, 1)} ms p90 ${fmt(s.p90, 1)} ms ${(bytes / 1024).toFixed(0)} KiB`,
  );
}
console.log(
  `RESULT compile ${STEPS}-step definition: ${results.join('; ')} ` +
    `(validate+lower median ${fmt(validation.median, 1)} ms) [${load()}]`,
);
