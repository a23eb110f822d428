// GCP cost per path: for each template and scenario case, the billable Workflows steps of the compiled YAML
// as the oracle executes it (testing/run-gcp.ts runCaseGcpDetailed: every step executed, branches and
// retries included), the Cloud Run function invocations and the Cloud Tasks it makes, with what 1,000 runs
// of that path cost at the list prices below. Billable steps as Workflows counts them: each assignment of an
// `assign` is one, each `events.await_callback` is an external step, every other step (a call to a
// function on *.run.app or to googleapis.com, a switch, a return, a raise) one internal step. The
// deployer's wrapper around the compiled `main` (call it, post run-end, return) is not in the oracle: its
// 3 internal steps and 1 invocation are added per run. Firestore is not counted here (the oracle's
// functions keep their state in SQLite): the README gives an estimate beside these figures.
// Run: npx tsx bench/gcp-costs.ts
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { runCaseGcpDetailed } from '../testing/run-gcp.js';
import { parseScenario } from '../testing/scenario.js';
import { emitGcpWorkflows } from '../translator/emit/gcp-workflows.js';
import type { IrWorkflow } from '../translator/ir.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';

/**
 * List prices (USD, Tier 1 regions) as published on the Google Cloud pricing pages: Workflows per internal
 * and external step; Cloud Run functions (Cloud Run request-based billing) per request, vCPU-second and
 * GiB-second; Cloud Tasks per operation. The duration and size of an invocation are assumptions, not
 * measurements (nothing here ran on GCP): 200 ms at the stack's 512 MiB and its ⅓ vCPU.
 */
const PRICE = {
  internalStep: 0.01 / 1000,
  externalStep: 0.025 / 1000,
  request: 0.4 / 1e6,
  vcpuSecond: 0.000024,
  gibSecond: 0.0000025,
  task: 0.4 / 1e6,
};
const ASSUMED = { seconds: 0.2, vcpu: 1 / 3, gib: 0.5 };
/** The deployer's wrapper, per run (see the header). */
const WRAPPER = { internalSteps: 3, invocations: 1 };

interface Counts {
  internal: number;
  external: number;
  invocations: number;
  tasks: number;
}

function perThousandRuns(c: Counts): number {
  const invocation =
    PRICE.request + ASSUMED.seconds * (ASSUMED.vcpu * PRICE.vcpuSecond + ASSUMED.gib * PRICE.gibSecond);
  return (
    1000 *
    (c.internal * PRICE.internalStep +
      c.external * PRICE.externalStep +
      c.invocations * invocation +
      c.tasks * PRICE.task)
  );
}

type Step = Record<string, unknown>;

/** Every named step of the document (nested ones included), by name: what a step's billing depends on. */
function stepsByName(doc: Record<string, { steps: Step[] }>): Map<string, Step> {
  const byName = new Map<string, Step>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value))
      for (const entry of value) {
        if (entry !== null && typeof entry === 'object' && Object.keys(entry).length === 1) {
          const [name, body] = Object.entries(entry as Step)[0] as [string, Step];
          if (!byName.has(name) && body !== null && typeof body === 'object') byName.set(name, body);
        }
        walk(entry);
      }
    else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) walk(item);
  };
  walk(doc);
  return byName;
}

/** Billable internal and external steps of the executed step names. */
function billable(ir: IrWorkflow, executed: string[]): Pick<Counts, 'internal' | 'external'> {
  const byName = stepsByName(parse(emitGcpWorkflows(ir)));
  let internal = WRAPPER.internalSteps;
  let external = 0;
  for (const name of executed) {
    const step = byName.get(name);
    if (step?.call === 'events.await_callback') external++;
    else if (Array.isArray(step?.assign)) internal += step.assign.length;
    else internal++;
  }
  return { internal, external };
}

const templates = join(import.meta.dirname, '..', 'templates');
const totals: Counts = { internal: 0, external: 0, invocations: 0, tasks: 0 };
for (const file of readdirSync(templates).filter((f) => f.endsWith('.test.yaml'))) {
  const path = join(templates, file);
  const scenario = parseScenario(readFileSync(path, 'utf8')).scenario;
  if (scenario === undefined) throw new Error(`${file}: invalid scenario file`);
  const workflowFile = resolve(dirname(path), scenario.workflow);
  const ir = validateWorkflow(readFileSync(workflowFile, 'utf8'), formatOf(workflowFile)).ir;
  if (ir === undefined) throw new Error(`${scenario.workflow}: invalid workflow`);
  console.log(`\n${ir.id}`);
  console.log('internal  external  invocations  tasks  $/1k runs  status     case');
  for (const c of scenario.cases) {
    const detail = await runCaseGcpDetailed(ir, scenario, c);
    const invocations = Object.values(detail.calls).reduce((a, b) => a + b, 0) + WRAPPER.invocations;
    // The worker runs each task: one more invocation per task.
    const counts: Counts = {
      ...billable(ir, detail.steps),
      invocations: invocations + detail.tasks,
      tasks: detail.tasks,
    };
    for (const key of Object.keys(totals) as (keyof Counts)[]) totals[key] += counts[key];
    const cost = perThousandRuns(counts).toFixed(3);
    console.log(
      `${String(counts.internal).padStart(8)}  ${String(counts.external).padStart(8)}  ${String(counts.invocations).padStart(11)}  ${String(counts.tasks).padStart(5)}  ${cost.padStart(9)}  ${detail.observation.status.padEnd(9)}  ${c.name}`,
    );
  }
}
console.log(`\ntotal: ${JSON.stringify(totals)}`);
console.log(
  `prices: $${PRICE.internalStep * 1000} per 1,000 internal steps, $${PRICE.externalStep * 1000} per 1,000 external steps, ` +
    `$${PRICE.request * 1e6} per 1M requests, $${PRICE.vcpuSecond}/vCPU-s and $${PRICE.gibSecond}/GiB-s at an assumed ` +
    `${ASSUMED.seconds * 1000} ms × ${ASSUMED.gib * 1024} MiB × ${ASSUMED.vcpu.toFixed(2)} vCPU per invocation, $${PRICE.task * 1e6} per 1M tasks`,
);
