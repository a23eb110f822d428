// `stepgate test <files...>`: runs scenario files and prints a pass/fail line per case with what differed.
import { relative } from 'node:path';
import { type FileReport, runScenarioFile, TARGETS, type Target } from '../testing/run-scenarios.js';
import type { CommandIo } from './validate-command.js';

export interface TestOptions {
  target?: string;
  json?: boolean;
}

export async function runTest(files: string[], options: TestOptions, io: CommandIo): Promise<number> {
  const target = options.target ?? 'local';
  if (!(TARGETS as readonly string[]).includes(target)) {
    io.err(`stepgate test: unknown target '${target}'; available: ${TARGETS.join(', ')}`);
    return 2;
  }
  const reports: FileReport[] = [];
  for (const file of files) reports.push(await runScenarioFile(file, target as Target));
  const cases = reports.flatMap((r) => r.cases);
  const failed = cases.filter((c) => !c.pass).length + reports.filter((r) => r.problems.length > 0).length;

  if (options.json) {
    io.out(
      JSON.stringify(
        reports.map((r) => ({
          file: r.file,
          problems: r.problems,
          cases: r.cases.map(
            ({ name, pass, status, path, toolCalls, approvals, notifications, vars, error, failures }) => ({
              name,
              pass,
              status,
              path,
              toolCalls,
              approvals,
              notifications,
              vars,
              error,
              failures,
            }),
          ),
        })),
        null,
        2,
      ),
    );
    return failed === 0 ? 0 : 1;
  }
  for (const report of reports) {
    io.out(relative(process.cwd(), report.file) || report.file);
    for (const problem of report.problems) io.out(`  ✗ ${problem}`);
    for (const c of report.cases) {
      io.out(`  ${c.pass ? '✓' : '✗'} ${c.name}`);
      for (const failure of c.failures) io.out(`      ${failure}`);
    }
  }
  const passed = cases.filter((c) => c.pass).length;
  const broken = reports.filter((r) => r.problems.length > 0).length;
  io.out(
    `${passed} passed, ${cases.length - passed} failed${broken > 0 ? `, ${broken} file${broken === 1 ? '' : 's'} not run` : ''}`,
  );
  return failed === 0 ? 0 : 1;
}
