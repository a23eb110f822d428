// How the text fields of a step become what its handler sends: recipients and approvers as lists of
// strings, subjects and messages as text. One definition, used by the orchestrator and by every
// target's handlers, so that all targets render alike.
import type { IrApprover } from '../../translator/ir.js';
import { type JsonValue, resolveTemplate, type Template } from '../../translator/template.js';
import { assertNever } from '../../translator/util.js';

/** A list of recipients: strings as they are, lists flattened, null and '' dropped, anything else as JSON. */
export function renderList(template: Template, vars: unknown): string[] {
  return strings(resolveTemplate(template, vars));
}

/** A subject or message: null renders as '', non-strings as JSON. */
export function renderText(template: Template, vars: unknown): string {
  const value = resolveTemplate(template, vars);
  if (value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** An approver entry as the approval-request handler receives it: an email, role:NAME or group:NAME. */
export function approverSpecs(approver: IrApprover, vars: unknown): string[] {
  switch (approver.kind) {
    case 'user':
      return [approver.email];
    case 'role':
      return [`role:${approver.role}`];
    case 'group':
      return [`group:${approver.group}`];
    case 'template':
      return renderList(approver.template, vars);
    default:
      return assertNever(approver, 'approver');
  }
}

function strings(value: JsonValue): string[] {
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value === null || value === '') return [];
  return [typeof value === 'string' ? value : JSON.stringify(value)];
}
