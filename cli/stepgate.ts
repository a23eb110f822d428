#!/usr/bin/env node
// The `stepgate` command line: validate definitions (compile, test and start join as the engine and
// compilers land). Exit code 0 only on success; problems print as file:line:col: severity: message.
import { Command, CommanderError } from 'commander';
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
