// Trigger input checked against a workflow's `inputs` JSON Schema (draft 2020-12), with its defaults filled.
// The problems are worded for the person who sent the input, not in Ajv's terms: a pattern is said with the
// property's title or description and in words when it is a simple one ("3 capital letters"), the raw
// pattern only as a last resort; a format is shown by example; a missing property that was sent under a
// near name says so ("did you mean 'amount' for 'ammount'?").
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv } from '../../translator/ajv.js';
import { closestMatch } from '../../translator/diagnostics.js';
import type { JsonValue } from '../../translator/template.js';

export type InputCheck =
  | { ok: true; input: Record<string, JsonValue> }
  | { ok: false; problems: Array<{ field: string; message: string }> };

// `verbose`: each error carries the schema of the property (its title, description, pattern).
const ajv = createAjv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
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
  if (missing !== undefined) return { field, message: `'${field}' is required${nearName(error, missing)}` };
  return { field, message: `'${field || 'input'}' ${reason(error)}` };
}

/** " (the input has 'ammount': did you mean 'amount'?)" when the object has an undeclared key close to `missing`. */
export function nearName(error: ErrorObject, missing: string, holder = 'the input has'): string {
  const data = error.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return '';
  const declared =
    (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const undeclared = Object.keys(data).filter((key) => !Object.hasOwn(declared, key));
  const near = closestMatch(missing, undeclared);
  return near === undefined ? '' : ` (${holder} '${near}': did you mean '${missing}'?)`;
}

/**
 * What is wrong with the value, in words (the property's schema is `parentSchema`: Ajv's `verbose`); the
 * tool pipeline says tool arguments' problems with it too.
 */
export function reason(error: ErrorObject): string {
  const schema = (error.parentSchema ?? {}) as { title?: unknown; description?: unknown };
  const label = typeof schema.title === 'string' ? schema.title : schema.description;
  const about = typeof label === 'string' && label.trim() !== '' ? ` (${label.trim()})` : '';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'pattern': {
      const pattern = String(params.pattern);
      const words = patternInWords(pattern);
      if (words !== undefined) return `must be ${words}${about}`;
      if (about !== '') return `is not in the expected form${about}`;
      return `must match the pattern ${pattern}`;
    }
    case 'format':
      return `must be ${FORMATS[String(params.format)] ?? `in the format '${String(params.format)}'`}${about}`;
    case 'type':
      return `must be ${typeWords(String(params.type))}, not ${jsonType(error.data)}`;
    case 'enum':
      return `must be one of: ${((params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters long`;
    case 'maxLength':
      return `must be at most ${params.limit} characters long`;
    default:
      return error.message ?? 'is invalid';
  }
}

const FORMATS: Record<string, string> = {
  date: 'a date such as 2026-03-14',
  'date-time': 'a date and time such as 2026-03-14T09:30:00Z',
  time: 'a time such as 09:30:00Z',
  email: 'an email address such as ada@example.com',
  uri: 'a URL such as https://example.com/page',
  url: 'a URL such as https://example.com/page',
  uuid: 'a UUID such as 123e4567-e89b-12d3-a456-426614174000',
  duration: 'an ISO 8601 duration such as P1DT2H',
};

function typeWords(type: string): string {
  const words: Record<string, string> = {
    string: 'text',
    number: 'a number',
    integer: 'a whole number',
    boolean: 'true or false',
    object: 'an object',
    array: 'a list',
    null: 'null',
  };
  return type
    .split(',')
    .map((t) => words[t] ?? t)
    .join(' or ');
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `text (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
      return Number.isInteger(value) ? 'a whole number' : 'a number';
    case 'boolean':
      return String(value);
    default:
      return 'an object';
  }
}

/** The characters of a class, in words (singular, plural). */
const CLASSES: Record<string, [string, string]> = {
  'A-Z': ['capital letter', 'capital letters'],
  'a-z': ['lowercase letter', 'lowercase letters'],
  '0-9': ['digit', 'digits'],
  '\\d': ['digit', 'digits'],
  'A-Za-z': ['letter', 'letters'],
  'a-zA-Z': ['letter', 'letters'],
  'A-Z0-9': ['capital letter or digit', 'capital letters or digits'],
  'a-z0-9': ['lowercase letter or digit', 'lowercase letters or digits'],
  'A-Za-z0-9': ['letter or digit', 'letters or digits'],
  'a-zA-Z0-9': ['letter or digit', 'letters or digits'],
};

/**
 * A simple anchored pattern in words: `^[A-Z]{3}$` is "3 capital letters", `^[A-Z]{2}-\d{4}$` is
 * "2 capital letters, then '-', then 4 digits"; undefined for anything else (alternatives, groups, …).
 */
export function patternInWords(pattern: string): string | undefined {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) return undefined;
  const body = pattern.slice(1, -1);
  const atom = /\[([^\]^]+)\]|\\d|\\(.)|([^\\[\](){}|.*+?^$])/y;
  const quantifier = /\{(\d+)(,(\d*))?\}|([+*?])/y;
  const parts: string[] = [];
  let text = ''; // consecutive literal characters, said together: 'EMP-'
  const flush = () => {
    if (text !== '') parts.push(`'${text}'`);
    text = '';
  };
  let at = 0;
  while (at < body.length) {
    atom.lastIndex = at;
    const a = atom.exec(body);
    if (a === null) return undefined;
    at = atom.lastIndex;
    const klass = a[0] === '\\d' ? CLASSES['\\d'] : a[1] !== undefined ? CLASSES[a[1]] : undefined;
    const literal = a[2] ?? a[3];
    if (klass === undefined && literal === undefined) return undefined;
    if (literal !== undefined && /\w/.test(literal) && a[2] !== undefined) return undefined; // \w, \s…
    quantifier.lastIndex = at;
    const q = quantifier.exec(body);
    if (q !== null) at = quantifier.lastIndex;
    const count = countWords(q);
    if (count === undefined) return undefined;
    if (literal !== undefined && q === null) text += literal;
    else if (literal !== undefined) return undefined;
    else if (klass !== undefined) {
      flush();
      parts.push(`${count.n} ${count.one ? klass[0] : klass[1]}`);
    }
  }
  flush();
  return parts.length === 0 ? undefined : parts.join(', then ');
}

function countWords(q: RegExpExecArray | null): { n: string; one: boolean } | undefined {
  if (q === null) return { n: '1', one: true };
  if (q[4] === '+') return { n: 'one or more', one: false };
  if (q[4] === '*') return { n: 'any number of', one: false };
  if (q[4] === '?') return { n: 'an optional', one: true };
  const min = q[1] ?? '';
  if (q[2] === undefined) return { n: min, one: min === '1' };
  if (q[3] === '') return { n: `at least ${min}`, one: min === '1' };
  return { n: `${min} to ${q[3]}`, one: false };
}
