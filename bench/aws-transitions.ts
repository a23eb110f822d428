// Step Functions cost: for each template and scenario case, the state transitions (states entered,
// parallel branches included) of the compiled ASL run by aws-local-stepfunctions, beside the steps the
// case enters, so pass-through states show up as the difference. Run: npx tsx bench/aws-transitions.ts
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { runCaseAwsDetailed } from '../testing/run-aws.js';
import { parseScenario } from '../testing/scenario.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';

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
  console.log('transitions  steps  status     case');
  for (const c of scenario.cases) {
    const { observation, transitions } = await runCaseAwsDetailed(ir, scenario, c);
    total += transitions;
    steps += observation.path.length;
    console.log(
      `${String(transitions).padStart(11)}  ${String(observation.path.length).padStart(5)}  ${observation.status.padEnd(9)}  ${c.name}`,
    );
  }
}
console.log(`\ntotal: ${total} transitions for ${steps} steps entered`);
