#!/usr/bin/env node
// The `stepgate` command line: validate definitions and run their scenario tests (compile and start
// join as the compilers and the server land). Exit code 0 only on success; problems print as file:line:col: severity: message.
import { Command, CommanderError } from 'commander';
import { runTest } from './test-command.js';
import { runValidate } from './validate-command.js';

const io = {
  out: (text: string) => process.stdout.write(`${text}\n`),
  err: (text: string) => process.stderr.write(`${text}\n`),
};

const program = new Command()
  .name('stepgate')
  .description('Multi-step, identity-aware workflows with approval gates')
  .exitOverride()
  .showHelpAfterError();

program
  .command('validate')
  .description('check workflow definitions (YAML or JSON) and print every problem with its line and column')
  .argument('<files...>', 'definition files')
  .option('--json', 'print the result as JSON')
  .option('--ir', 'print the lowered IR of valid definitions')
  .action(async (files: string[], options: { json?: boolean; ir?: boolean }) => {
    process.exitCode = await runValidate(files, options, io);
  });

program
  .command('test')
  .description('run workflow scenario files (*.test.yaml) and report each case')
  .argument('<files...>', 'scenario files')
  .option('--target <target>', 'where to run: local (the embedded engine)', 'local')
  .option('--json', 'print the results as JSON')
  .action(async (files: string[], options: { target?: string; json?: boolean }) => {
    process.exitCode = await runTest(files, options, io);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    io.err(`stepgate: ${(error as Error).message}`);
    process.exitCode = 2;
  }
}
