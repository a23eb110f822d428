// The validator: definition text in, diagnostics and (when there is no error) the IR out. Every stage
// reports problems as diagnostics with a line and column; nothing here throws on bad input.
import type { WorkflowDefinition } from './definition.js';
import { type Diagnostic, hasErrors, type PendingDiagnostic } from './diagnostics.js';
import { checkGraph } from './graph.js';
import type { IrWorkflow } from './ir.js';
import { lowerToIr } from './lower.js';
import { parseSource, type SourceOptions } from './source.js';
import { checkStructure } from './structure.js';

export type SourceFormat = 'yaml' | 'json';

export interface ValidationResult {
  valid: boolean;
  diagnostics: Diagnostic[];
  definition?: WorkflowDefinition;
  /** Present only when there are no errors. */
  ir?: IrWorkflow;
}

export function formatOf(file: string): SourceFormat {
  return file.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
}

export function validateWorkflow(
  text: string,
  format: SourceFormat = 'yaml',
  options: SourceOptions = {},
): ValidationResult {
  const source = parseSource(text, format, options);
  if (source.syntaxErrors.length > 0) return finish(source.syntaxErrors);
  const place = (problems: PendingDiagnostic[]): Diagnostic[] => problems.map((p) => source.place(p));
  try {
    const structure = checkStructure(source.value);
    if (!structure.ok) return finish(place(structure.problems));
    const lowered = lowerToIr(structure.definition);
    const graphProblems = checkGraph(lowered.ir);
    const diagnostics = place([...lowered.problems, ...graphProblems]);
    const valid = !hasErrors(diagnostics);
    return { ...finish(diagnostics), definition: structure.definition, ...(valid ? { ir: lowered.ir } : {}) };
  } catch (error) {
    // A bug in a check must still leave the user a diagnostic, not a stack trace.
    const message = `internal error while validating: ${(error as Error).message}`;
    return finish(place([{ severity: 'error', code: 'internal-error', message, path: [] }]));
  }
}

function finish(diagnostics: Diagnostic[]): ValidationResult {
  const sorted = [...diagnostics].sort(
    (a, b) => a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
  return { valid: !hasErrors(sorted), diagnostics: sorted };
}
