// What an approver is shown beside a request's message: the step's `details`, the run's inputs and the
// latest step results. Rendered once, from the run's variables, when a level is requested (by the
// orchestrator and by every target's approval-request handler), and kept on the approval record (and, on
// the orchestrator's hosts, in the `approval.requested` audit entry the run view reads), so the link page,
// the dashboard card, the email and the run page show the same thing, and an approver who may not read the
// run still sees what they decide on. Values under secret-looking keys are redacted as the run view
// redacts them — an input or output variable of such a name, and a detail reading one, whole — and each
// value is bounded, so a large tool result neither bloats the record nor the email.
import type { IrApprovalContext } from '../../translator/ir.js';
import { type JsonValue, resolveTemplate, type Template, templateRefs } from '../../translator/template.js';
import type { ApprovalContext } from './protocol.js';
import { isSecretKey, REDACTED, redact } from './redaction.js';

/** How many step results a request shows: the latest ones. */
export const MAX_CONTEXT_RESULTS = 5;
/** A value whose JSON is longer is cut to this many characters (as text, ending in `…`). */
export const MAX_CONTEXT_VALUE_CHARS = 1_000;

/** The context of a request, rendered against the run's variables; undefined when the IR carries none. */
export function renderApprovalContext(
  spec: IrApprovalContext | undefined,
  vars: Record<string, unknown>,
): ApprovalContext | undefined {
  if (spec === undefined) return undefined;
  const has = (name: string) => Object.hasOwn(vars, name) && vars[name] !== undefined;
  return {
    details: spec.details.map((d) => ({
      label: d.label,
      value: readsSecret(d.value) ? REDACTED : bounded(detailValue(d.value, vars)),
    })),
    inputs: spec.inputs.filter(has).map((name) => ({ label: name, value: boundedUnder(name, vars[name]) })),
    results: spec.results
      .filter((r) => has(r.output))
      .slice(-MAX_CONTEXT_RESULTS)
      .map((r) => ({ label: r.step, value: boundedUnder(r.output, vars[r.output]) })),
  };
}

/** The wire form of the context (JSON text of the IrApprovalContext), as the compiled payloads carry it. */
export function parseApprovalContext(text: string | undefined): IrApprovalContext | undefined {
  return text === undefined ? undefined : (JSON.parse(text) as IrApprovalContext);
}

/** A value as one line of text: strings as they are, lists joined with `; `, anything else as JSON. */
export function contextValueText(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null))
    return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('; ');
  return JSON.stringify(value);
}

/** The sections of a context, titled, in the order every view shows them; empty ones left out. */
export function contextSections(
  context: ApprovalContext | undefined,
): Array<{ title: string; entries: ApprovalContext['details'] }> {
  if (context === undefined) return [];
  return [
    { title: 'Details', entries: context.details },
    { title: 'Inputs', entries: context.inputs },
    { title: 'Latest step results', entries: context.results },
  ].filter((section) => section.entries.length > 0);
}

/** The context as plain text, for the approval email: a titled block per section, a line per entry. */
export function contextText(context: ApprovalContext | undefined): string {
  return contextSections(context)
    .map(
      (section) =>
        `${section.title}:\n${section.entries.map((e) => `  ${e.label}: ${contextValueText(e.value)}`).join('\n')}`,
    )
    .join('\n\n');
}

/** A detail whose template names a variable the run does not have shows as null, never failing the request. */
function detailValue(template: Template, vars: Record<string, unknown>): unknown {
  try {
    return resolveTemplate(template, vars);
  } catch {
    return null;
  }
}

/** A value held under `name` (an input, a step's output variable): hidden whole when the name looks secret. */
function boundedUnder(name: string, value: unknown): JsonValue {
  return isSecretKey(name) && value !== null ? REDACTED : bounded(value);
}

/** A detail whose template reads a secret-looking name anywhere in a path (`{{vault.apiKey}}`) is hidden. */
function readsSecret(template: Template): boolean {
  return templateRefs(template).some((ref) => ref.path.some(isSecretKey));
}

function bounded(value: unknown): JsonValue {
  const redacted = (redact(value) ?? null) as JsonValue;
  const json = JSON.stringify(redacted) ?? 'null';
  if (json.length <= MAX_CONTEXT_VALUE_CHARS) return redacted;
  const text = typeof redacted === 'string' ? redacted : json;
  return `${text.slice(0, MAX_CONTEXT_VALUE_CHARS)}…`;
}
