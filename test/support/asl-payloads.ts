// The payloads a compiled state machine hands its Lambdas, made from the real definition: a Task's
// Parameters (the Payload, for a waitForTaskToken Task) with their `.$` paths resolved against a state
// document and the context object, as Step Functions resolves them. Plain paths only (`$.a.b`, `$$.x.y`);
// an intrinsic function is refused by name, so a test never passes a payload resolved wrongly.
import { emitAsl } from '../../translator/emit/aws-asl.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The context object's fields the Stepgate Tasks read. */
export interface AslContext {
  State: { RetryCount: number; EnteredTime: string };
  Task?: { Token: string };
}

export function compileWorkflow(yaml: string): { ir: IrWorkflow; definition: Record<string, unknown> } {
  const { ir, diagnostics } = validateWorkflow(yaml, 'yaml');
  if (ir === undefined) throw new Error(`invalid workflow: ${JSON.stringify(diagnostics)}`);
  return { ir, definition: emitAsl(ir) };
}

/** The Task state `name`, anywhere in the definition (branches included). */
function findTask(
  states: Record<string, Record<string, unknown>>,
  name: string,
): Record<string, unknown> | undefined {
  for (const [key, state] of Object.entries(states)) {
    if (key === name && state.Type === 'Task') return state;
    for (const branch of (state.Branches ?? []) as Array<{
      States: Record<string, Record<string, unknown>>;
    }>) {
      const found = findTask(branch.States, name);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function readPath(path: string, doc: Json, context: AslContext): Json {
  if (!/^\$\$?(\.[A-Za-z0-9_]+)*$/.test(path))
    throw new Error(`the test resolver takes plain paths only: ${path}`);
  const [root, ...keys] = path.split('.');
  let value = (root === '$$' ? context : doc) as unknown;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !(key in value)) throw new Error(`${path}: no ${key}`);
    value = (value as Record<string, unknown>)[key];
  }
  return value as Json;
}

function resolve(template: Json, doc: Json, context: AslContext): Json {
  if (Array.isArray(template)) return template.map((t) => resolve(t, doc, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = readPath(String(value), doc, context);
    else out[key] = resolve(value, doc, context);
  }
  return out;
}

/** What the Lambda of Task `state` receives: its Parameters (or their Payload) resolved. */
export function taskPayload<T>(
  definition: Record<string, unknown>,
  state: string,
  doc: Json,
  context: AslContext,
): T {
  const task = findTask(definition.States as Record<string, Record<string, unknown>>, state);
  if (task === undefined) throw new Error(`no Task state ${state}`);
  const parameters = task.Parameters as { Payload?: Json } & Record<string, Json>;
  return resolve(parameters.Payload ?? parameters, doc, context) as T;
}
