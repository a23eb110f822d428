// `stepgate compile <file> --target aws|gcp|azure [-o dir]`: validates a definition and writes what the
// target's cloud runs; compile errors print as file:line:col like validation errors.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDiagnostic } from '../translator/diagnostics.js';
import { COMPILERS, type CompileTarget, TranslateError } from '../translator/emit/index.js';
import { formatOf, validateWorkflow } from '../translator/validate.js';
import type { CommandIo } from './validate-command.js';

export interface CompileOptions {
  target: string;
  out?: string;
}

export async function runCompile(file: string, options: CompileOptions, io: CommandIo): Promise<number> {
  const compile = COMPILERS[options.target as CompileTarget];
  if (compile === undefined) {
    io.err(
      `stepgate compile: unknown target '${options.target}'; available: ${Object.keys(COMPILERS).join(', ')}`,
    );
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    io.err(`${file}:1:1: error: cannot read file`);
    return 1;
  }
  const result = validateWorkflow(text, formatOf(file));
  for (const d of result.diagnostics) io.err(formatDiagnostic(file, d));
  if (result.ir === undefined) return 1;
  let files: ReturnType<typeof compile>;
  try {
    files = compile(result.ir);
  } catch (error) {
    if (!(error instanceof TranslateError)) throw error;
    io.err(`${file}: error: ${error.target}: ${error.message} (${error.code} at ${error.path || '/'})`);
    return 1;
  }
  if (options.out === undefined) {
    for (const f of files)
      io.out(files.length === 1 ? f.content.trimEnd() : `// ${f.name}\n${f.content.trimEnd()}`);
    return 0;
  }
  await mkdir(options.out, { recursive: true });
  for (const f of files) {
    await writeFile(join(options.out, f.name), f.content);
    io.out(join(options.out, f.name));
  }
  return 0;
}
