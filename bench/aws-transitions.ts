// Step Functions cost: for each template and scenario case, the state transitions (states entered,
// parallel branches included) of the compiled ASL run by aws-local-stepfunctions, beside the steps the
// case enters (pass-through states show up as the difference) and the Lambda invocations it makes
// (handler calls, retries included), with what 1,000 runs of that path cost at the list prices below.
// Run: npx tsx bench/aws-transitions.ts
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runCaseAwsDetailed } from '../testing/run-aws.js';
import { parseScenario } from '../testing/scenario.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';

/**
 * us-east-1 list prices (USD) as published on the AWS pricing pages: Step Functions Standard workflows per
 * state transition; Lambda per request and per GB-second on arm64. The Lambda duration is an assumption,
 * not a measurement (nothing here runs on AWS): each invocation billed 100 ms at the stack's 512 MB.
 */
const PRICE = { transition: 0.025 / 1000, request: 0.2 / 1e6, gbSecondArm: 0.0000133334 };
const ASSUMED = { seconds: 0.1, gb: 0.5 };

/** Step Functions and Lambda, in USD, for 1,000 runs of a path with these counts. */
function perThousandRuns(transitions: number, invocations: number): number {
  const lambda = invocations * (PRICE.request + ASSUMED.seconds * ASSUMED.gb * PRICE.gbSecondArm);
  return 1000 * (transitions * PRICE.transition + lambda);
}

const templates = join(import.meta.dirname, '..', 'templates');
let total = 0;
let steps = 0;
for (const file of readdirSync(templates).filter((f) => f.endsWith('.test.yaml'))) {
  const path = join(templates, file);
  const scenario = parseScenario(readFileSync(path, 'utf8')).scenario;
  if (scenario === undefined) throw new Error(`${file}: invalid scenario file`);
  const workflowFile = resolve(dirname(path), scenario.workflow);
  const ir = validateWorkflow(readFileSync(workflowFile, 'utf8'), formatOf(workflowFile)).ir;
  if (ir === undefined) throw new Error(`${scenario.workflow}: invalid workflow`);
  console.log(`\n${ir.id}`);
  console.log('transitions  steps  lambda  $/1k runs  status     case');
  for (const c of scenario.cases) {
    const { observation, transitions, invocations } = await runCaseAwsDetailed(ir, scenario, c);
    total += transitions;
    steps += observation.path.length;
    const cost = perThousandRuns(transitions, invocations).toFixed(3);
    console.log(
      `${String(transitions).padStart(11)}  ${String(observation.path.length).padStart(5)}  ${String(invocations).padStart(6)}  ${cost.padStart(9)}  ${observation.status.padEnd(9)}  ${c.name}`,
    );
  }
}
console.log(`\ntotal: ${total} transitions for ${steps} steps entered`);
console.log(
  `prices: $${PRICE.transition * 1000} per 1,000 transitions, $${PRICE.request * 1e6} per 1M Lambda requests, ` +
    `$${PRICE.gbSecondArm}/GB-s arm64 at an assumed ${ASSUMED.seconds * 1000} ms × ${ASSUMED.gb * 1024} MB per invocation`,
);
