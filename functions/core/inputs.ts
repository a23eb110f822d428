// Trigger input checked against a workflow's `inputs` JSON Schema (draft 2020-12), with its defaults filled.
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../../translator/ajv.js';
import type { JsonValue } from '../../translator/template.js';

export type InputCheck =
  | { ok: true; input: Record<string, JsonValue> }
  | { ok: false; problems: Array<{ field: string; message: string }> };

const ajv = createAjv({ allErrors: true, useDefaults: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

/** Validates (a copy of) `input`; the copy gets the schema's defaults. Without a schema any object passes. */
export function checkInput(schema: Record<string, unknown> | null, input: unknown): InputCheck {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, problems: [{ field: '', message: 'the input must be a JSON object' }] };
  }
  const copy = JSON.parse(JSON.stringify(input)) as Record<string, JsonValue>;
  if (schema === null) return { ok: true, input: copy };
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(copy)) return { ok: true, input: copy };
  return { ok: false, problems: (validate.errors ?? []).map(describe) };
}

function describe(error: ErrorObject): { field: string; message: string } {
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  const field = [error.instancePath.slice(1).replaceAll('/', '.'), missing].filter(Boolean).join('.');
  return {
    field,
    message: missing ? `'${field}' is required` : `'${field || 'input'}' ${error.message ?? 'is invalid'}`,
  };
}
