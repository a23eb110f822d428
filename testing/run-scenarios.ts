// Loads scenario files, checks the workflow each one names, and runs every case on a target.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Diagnostic, formatDiagnostic } from '../translator/diagnostics.js';
import type { IrWorkflow } from '../translator/ir.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';
import { compare, type Observation } from './observation.js';
import { runCaseAws } from './run-aws.js';
import { runCaseAzure } from './run-azure.js';
import { runCaseGcp } from './run-gcp.js';
import { runCaseLocal, ScenarioSetupError } from './run-local.js';
import { parseScenario, type Scenario, type ScenarioCase } from './scenario.js';

export const TARGETS = ['local', 'azure', 'aws', 'gcp'] as const;
export type Target = (typeof TARGETS)[number];

export interface CaseReport extends Observation {
  name: string;
  pass: boolean;
  failures: string[];
}

export interface FileReport {
  file: string;
  workflow: string | null;
  /** Problems with the scenario file or its workflow; when present no case ran. */
  problems: string[];
  cases: CaseReport[];
}

/** Runs one case on a target (a target's runCase, or a bench's, as the GCP functions' one). */
export type Runner = (ir: IrWorkflow, scenario: Scenario, c: ScenarioCase) => Promise<Observation>;
const RUNNERS: Record<Target, Runner> = {
  local: runCaseLocal,
  azure: runCaseAzure,
  aws: runCaseAws,
  gcp: runCaseGcp,
};

export function runScenarioFile(file: string, target: Target): Promise<FileReport> {
  return runScenarioFileWith(file, RUNNERS[target]);
}

/** runScenarioFile with the runner given: a target that needs servers started first (gcp-functions). */
export async function runScenarioFileWith(file: string, runner: Runner): Promise<FileReport> {
  const report: FileReport = { file, workflow: null, problems: [], cases: [] };
  const text = await readText(file);
  if (text === undefined) return { ...report, problems: [`${file}:1:1: error: cannot read file`] };
  const parsed = parseScenario(text);
  const errors = (file_: string, diagnostics: Diagnostic[]): string[] =>
    diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(file_, d));
  if (parsed.scenario === undefined) return { ...report, problems: errors(file, parsed.diagnostics) };
  const scenario = parsed.scenario;
  const workflowFile = resolve(dirname(file), scenario.workflow);
  report.workflow = workflowFile;
  const workflowText = await readText(workflowFile);
  if (workflowText === undefined)
    return { ...report, problems: [`${file}: error: cannot read workflow '${scenario.workflow}'`] };
  const validated = validateWorkflow(workflowText, formatOf(workflowFile));
  if (validated.ir === undefined) return { ...report, problems: errors(workflowFile, validated.diagnostics) };
  for (const c of scenario.cases) report.cases.push(await runCase(runner, validated.ir, scenario, c));
  return report;
}

async function runCase(
  runner: Runner,
  ir: IrWorkflow,
  scenario: Scenario,
  c: ScenarioCase,
): Promise<CaseReport> {
  try {
    const seen = await runner(ir, scenario, c);
    const failures = compare(c.expect, seen, ir);
    return { name: c.name, pass: failures.length === 0, failures, ...seen };
  } catch (error) {
    if (!(error instanceof ScenarioSetupError)) throw error;
    const empty: Observation = {
      status: 'not started',
      path: [],
      toolCalls: {},
      approvals: {},
      notifications: [],
      vars: {},
      error: null,
    };
    return { name: c.name, pass: false, failures: [error.message], ...empty };
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}
