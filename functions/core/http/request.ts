// Request helpers every route module shares: the caller's rank, a JSON object body, a trigger input (wrapped
// in `input` for a start by hand, the whole body for a webhook — each says so when it is sent the other
// way), and a 404 that suggests the closest id among those the caller may list.
import type { Context } from 'hono';
import type { Role } from '../../../translator/definition.js';
import { didYouMean } from '../../../translator/diagnostics.js';
import type { IrWorkflow } from '../../../translator/ir.js';
import { jsonTooDeep, MAX_NESTING, nestingMessage } from '../../../translator/nesting.js';
import type { JsonValue } from '../../../translator/template.js';
import { hasScope, roleAtLeast } from '../auth.js';
import { HttpError } from '../http-error.js';
import { checkInput } from '../inputs.js';
import type { Identity } from '../protocol.js';
import type { Env } from './types.js';

/** Whether `role` ranks at least `minimum` (viewer < member < lead < manager < director < admin). */
export function atLeast(role: string, minimum: Role): boolean {
  return roleAtLeast({ role }, minimum);
}

/** The lowest role that may start `ir` by hand: the manual trigger's minRole (member without one). */
function starterRole(ir: IrWorkflow): Role {
  const manual = ir.triggers.find((t) => t.type === 'manual');
  return manual?.type === 'manual' ? manual.minRole : 'member';
}

/** Whether `identity` may start `ir` by hand (the rule requireStarter enforces, for lists and suggestions). */
export function mayStart(ir: IrWorkflow, identity: Pick<Identity, 'role'>): boolean {
  return atLeast(identity.role, starterRole(ir));
}

/** 403 unless `identity` may start `ir` by hand: the manual trigger's minRole (member without one). */
export function requireStarter(ir: IrWorkflow, identity: Pick<Identity, 'role'>): void {
  if (!mayStart(ir, identity))
    throw new HttpError(403, 'Forbidden', `starting '${ir.id}' needs the role ${starterRole(ir)} or above`);
}

/** Sets the deepest nesting `jsonBody` accepts for this request (the config's `limits.jsonDepth`). */
export function setJsonDepth(c: Context, depth: number): void {
  c.set('jsonDepth', depth);
}

/**
 * A JSON object body (never an array or a prototype-bearing key), or a 4xx problem: nesting deeper than
 * the request's limit (setJsonDepth; MAX_NESTING by default) is a 422 before anything parses it.
 */
export async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  if (!/json/i.test(c.req.header('content-type') ?? ''))
    throw new HttpError(415, 'Unsupported media type', 'send application/json');
  const maxDepth: number = c.get('jsonDepth') ?? MAX_NESTING;
  if (jsonTooDeep(text, maxDepth) !== undefined)
    throw new HttpError(422, 'Too deeply nested', nestingMessage(maxDepth), { field: 'body' });
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype')
        throw new HttpError(400, 'Bad request', `the key '${key}' is not allowed`, { field: key });
      return v;
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, 'Bad request', 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'Bad request', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** A trigger input checked against a workflow's `inputs` (defaults filled), or a 422 naming the field. */
export function checkedInput(
  schema: Record<string, unknown> | null,
  input: unknown,
): Record<string, JsonValue> {
  const checked = checkInput(schema, input);
  if (checked.ok) return checked.input;
  const first = checked.problems[0];
  throw new HttpError(
    422,
    'Invalid input',
    checked.problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '),
    { field: first?.field ? `input.${first.field}` : 'input' },
  );
}

/**
 * The `input` of a body that wraps it (`{"input": {...}}`, a start by hand or a schedule). A body with other
 * keys is a 422 saying where they belong: without `input` they are most likely the inputs themselves.
 */
export function wrappedInput(body: Record<string, unknown>): unknown {
  const others = Object.keys(body).filter((key) => key !== 'input');
  const first = others[0];
  if (first === undefined) return body.input ?? {};
  if (body.input === undefined)
    throw new HttpError(
      422,
      'Invalid input',
      `the body has ${others.map((k) => `'${k}'`).join(', ')} but no 'input': send the inputs as {"input": {${others.map((k) => `"${k}": …`).join(', ')}}}`,
      { field: 'input' },
    );
  throw new HttpError(
    422,
    'Invalid input',
    `unknown field '${first}': the body has only 'input' (put '${first}' inside it if it is an input)`,
    { field: first },
  );
}

/**
 * A webhook body checked as the input (its whole body is the input), or a 422 naming the field; a body
 * that wraps the input in `input` as a start by hand does (and a schema without such a property) is told
 * so.
 */
export function checkedWebhookBody(
  schema: Record<string, unknown> | null,
  body: unknown,
): Record<string, JsonValue> {
  try {
    return checkedInput(schema, body);
  } catch (error) {
    const properties = (schema?.properties ?? {}) as Record<string, unknown>;
    const keys = body !== null && typeof body === 'object' ? Object.keys(body) : [];
    const wrapped = keys.length === 1 && keys[0] === 'input' && !('input' in properties);
    if (!(error instanceof HttpError) || !wrapped) throw error;
    throw new HttpError(
      422,
      'Invalid input',
      `${error.detail} (a webhook's body is the input itself: send the fields without the {"input": …} wrapper)`,
      { field: error.field },
    );
  }
}

/** A 404 for `what` '`id`' suggesting the closest of `listable` (only ids the caller may list). */
export function notFound(what: string, id: string, listable: Iterable<string> = []): HttpError {
  return new HttpError(404, 'Not found', `no ${what} '${id}'${didYouMean(id, listable)}`);
}

/** The workflow ids the caller may list (GET /api/workflows: scope workflows:read), else none. */
export async function listableWorkflowIds(
  c: Context<Env>,
  workflows: { list(): Promise<ReadonlyArray<{ id: string }>> },
): Promise<string[]> {
  const principal = c.get('principal');
  if (principal == null || !hasScope(principal, 'workflows:read')) return [];
  return (await workflows.list()).map((w) => w.id);
}

/** The caller of a route, as the authorization middleware set it (access.ts). */
export function caller(c: Context<Env>): Identity {
  return c.get('principal').identity;
}

/** The value, or a 404 naming what was not found. */
export function found<T>(value: T | undefined, what: string, id: string): T {
  if (value === undefined) throw new HttpError(404, 'Not found', `no ${what} '${id}'`);
  return value;
}
