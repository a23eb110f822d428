#!/usr/bin/env node
// The `stepgate` command line: validate definitions, compile them for a cloud, run their scenario tests
// (start joins with the server). Exit code 0 only on success; problems print as file:line:col: severity: message.
import { Command, CommanderError } from 'commander';
import { runCompile } from './compile-command.js';
import { runTest } from './test-command.js';
import { runValidate } from './validate-command.js';
import { readStdin, registerVaultCommand } from './vault-command.js';

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
  .option(
    '--config <file>',
    'the Stepgate config whose MCP servers must offer the tools (default stepgate.config.yaml)',
  )
  .option('--no-tools', 'do not ask the configured MCP servers whether they offer the tools')
  .action(
    async (files: string[], options: { json?: boolean; ir?: boolean; config?: string; tools?: boolean }) => {
      process.exitCode = await runValidate(files, options, io);
    },
  );

program
  .command('compile')
  .description('compile a workflow definition for a cloud target')
  .argument('<file>', 'definition file')
  .requiredOption('--target <target>', 'aws, gcp or azure')
  .option('-o, --out <dir>', 'write the files there instead of printing them')
  .action(async (file: string, options: { target: string; out?: string }) => {
    process.exitCode = await runCompile(file, options, io);
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

registerVaultCommand(program, { io, readStdin, env: process.env });

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
