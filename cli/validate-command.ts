// `stepgate validate <file...>`: check definitions (and scenario files, `*.test.yaml`) and print each
// problem as file:line:col, or the IR.
import { readFile } from 'node:fs/promises';
import { parseScenario } from '../testing/scenario.js';
import { type Diagnostic, formatDiagnostic, hasErrors } from '../translator/diagnostics.js';
import { MAX_SOURCE_BYTES } from '../translator/source.js';
import { formatOf, type ValidationResult, validateWorkflow } from '../translator/validate.js';

export interface ValidateOptions {
  json?: boolean;
  ir?: boolean;
}

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

interface FileResult {
  file: string;
  result: ValidationResult;
}

/** Returns the process exit code: 0 when every file is valid (warnings allowed), 1 otherwise. */
export async function runValidate(files: string[], options: ValidateOptions, io: CommandIo): Promise<number> {
  const results: FileResult[] = [];
  for (const file of files) results.push({ file, result: await validateFile(file) });
  const failed = results.filter((r) => !r.result.valid).length;

  if (options.json) {
    const report = results.map(({ file, result }) => ({
      file,
      valid: result.valid,
      diagnostics: result.diagnostics,
      ...(options.ir && result.ir ? { ir: result.ir } : {}),
    }));
    io.out(JSON.stringify(report, null, 2));
    return failed === 0 ? 0 : 1;
  }
  for (const { file, result } of results) {
    for (const d of result.diagnostics) io.err(formatDiagnostic(file, d));
  }
  if (options.ir) {
    const irs = results.filter((r) => r.result.ir).map((r) => [r.file, r.result.ir] as const);
    if (irs.length > 0)
      io.out(JSON.stringify(irs.length === 1 ? irs[0]?.[1] : Object.fromEntries(irs), null, 2));
  } else {
    const summary =
      failed === 0
        ? `${results.length} ${results.length === 1 ? 'definition' : 'definitions'} valid`
        : `${failed} of ${results.length} ${results.length === 1 ? 'definition' : 'definitions'} invalid`;
    (failed === 0 ? io.out : io.err)(summary);
  }
  return failed === 0 ? 0 : 1;
}

async function validateFile(file: string): Promise<ValidationResult> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_SOURCE_BYTES)
      return fileProblem('too-large', `file is larger than ${MAX_SOURCE_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    return fileProblem('unreadable', `cannot read file: ${reason}`);
  }
  if (isScenarioFile(file)) {
    const { diagnostics } = parseScenario(text);
    return { valid: !hasErrors(diagnostics), diagnostics };
  }
  return validateWorkflow(text, formatOf(file));
}

/** Scenario files (`*.test.yaml`) sit beside workflows, so a glob over a folder validates both kinds. */
function isScenarioFile(file: string): boolean {
  return /\.test\.ya?ml$/i.test(file);
}

function fileProblem(code: string, message: string): ValidationResult {
  const diagnostic: Diagnostic = { severity: 'error', code, message, pointer: '', line: 1, col: 1 };
  return { valid: false, diagnostics: [diagnostic] };
}
