// The validator: definition text in, diagnostics and (when there is no error) the IR out. Every stage
// reports problems as diagnostics with a line and column; nothing here throws on bad input. Structural
// errors do not hide the rest: the sound parts of a broken definition go through the other checks too, so
// one validation reports everything it can.
import type { WorkflowDefinition } from './definition.js';
import { type Diagnostic, hasErrors, type PathSegment, type PendingDiagnostic } from './diagnostics.js';
import { checkGraph } from './graph.js';
import type { IrWorkflow } from './ir.js';
import { lowerToIr } from './lower.js';
import { salvageDefinition } from './salvage.js';
import { parseSource, type SourceOptions } from './source.js';
import { checkStructure } from './structure.js';

/** Checks across a step's fields: after one of its fields was set aside they could be its consequence. */
const ACROSS_FIELDS: ReadonlySet<string> = new Set([
  'timeout-path-without-timeout',
  'escalation-without-timeout',
  'require-too-large',
  'delay-needs-one',
  'invalid-recipient',
  'output-shadows-input',
]);

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
    if (!structure.ok)
      return finish(place([...structure.problems, ...safely(() => beyondStructure(source.value))]));
    const lowered = lowerToIr(structure.definition);
    const graphProblems = checkGraph(lowered.ir);
    const diagnostics = place([...lowered.problems, ...graphProblems]);
    const valid = !hasErrors(diagnostics);
    return { ...finish(diagnostics), definition: structure.definition, ...(valid ? { ir: lowered.ir } : {}) };
  } catch (error) {
    return finish(place([internalError(error)]));
  }
}

/** A bug in a check must still leave the user a diagnostic, not a stack trace. */
function internalError(error: unknown): PendingDiagnostic {
  const message = `internal error while validating: ${(error as Error).message}`;
  return { severity: 'error', code: 'internal-error', message, path: [] };
}

/** The second pass's findings; should it fail, the structural ones found before it are still reported. */
function safely(check: () => PendingDiagnostic[]): PendingDiagnostic[] {
  try {
    return check();
  } catch (error) {
    return [internalError(error)];
  }
}

/** The other checks, on what of a structurally broken definition is sound; nothing about what is not. */
function beyondStructure(value: unknown): PendingDiagnostic[] {
  const salvage = salvageDefinition(value);
  if (salvage === undefined) return [];
  const lowered = lowerToIr(salvage.definition);
  const options = { flowKnown: salvage.flowKnown, variablesKnown: salvage.variablesKnown };
  const problems = [...lowered.problems, ...checkGraph(lowered.ir, options)];
  return problems.filter(
    (p) =>
      (salvage.idsKnown || p.code !== 'unknown-target') &&
      !salvage.skipped.some((skipped) => startsWith(p.path, skipped)) &&
      !(ACROSS_FIELDS.has(p.code) && salvage.repairedSteps.some((step) => startsWith(p.path, step))),
  );
}

function startsWith(path: readonly PathSegment[], prefix: readonly PathSegment[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

/** Sorted by place, each finding once (a check may meet the same problem twice). */
function finish(diagnostics: Diagnostic[]): ValidationResult {
  const seen = new Set<string>();
  const unique = diagnostics.filter((d) => {
    const key = `${d.line}:${d.col}|${d.severity}|${d.code}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const sorted = unique.sort(
    (a, b) => a.line - b.line || a.col - b.col || a.message.localeCompare(b.message),
  );
  return { valid: !hasErrors(sorted), diagnostics: sorted };
}
