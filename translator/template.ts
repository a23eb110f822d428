// `{{ path }}` interpolation in step inputs: parses strings, objects and arrays into a Template once at
// translate time, and resolves it against run-time variables without ever touching a prototype.

import { FORBIDDEN_SEGMENTS, lookupPath, parsePath } from './path.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; path: string[]; start: number; end: number };
export type Template =
  | { kind: 'const'; value: JsonValue }
  | { kind: 'ref'; path: string[]; start: number; end: number }
  | { kind: 'concat'; parts: TemplatePart[] }
  | { kind: 'object'; entries: Array<[string, Template]> }
  | { kind: 'array'; items: Template[] };
/** `atKey`: the problem is the key at `pointer`, not its value. */
export type TemplateIssue = { message: string; offset: number; pointer: string; atKey?: boolean };
export type TemplateRef = { path: string[]; start: number; end: number; pointer: string };

// Definitions are written by hand, so deeper nesting is almost certainly a generated or hostile value;
// the limit keeps the recursive walks far from the stack limit.
export const MAX_TEMPLATE_DEPTH = 64;
// Run-time values come from step outputs and can legitimately be deeper than a definition.
const MAX_VALUE_DEPTH = 256;

const OPEN = '{{';
const CLOSE = '}}';

// Any `{{` makes a string a template (or a template error), so callers can tell which strings need parsing.
export function hasTemplate(text: string): boolean {
  return text.includes(OPEN);
}

export function parseTemplateString(
  text: string,
): { ok: true; template: Template } | { ok: false; issue: TemplateIssue } {
  const parts: TemplatePart[] = [];
  let pos = 0;
  for (let open = text.indexOf(OPEN); open !== -1; open = text.indexOf(OPEN, pos)) {
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close === -1) {
      return { ok: false, issue: { message: "unclosed '{{': expected '}}'", offset: open, pointer: '' } };
    }
    const inner = text.slice(open + OPEN.length, close);
    const name = inner.trim();
    const start = open + OPEN.length + (inner.length - inner.trimStart().length);
    const parsed = parsePath(name);
    if (!parsed.ok)
      return { ok: false, issue: { message: parsed.message, offset: start + parsed.offset, pointer: '' } };
    if (open > pos) parts.push({ kind: 'text', text: text.slice(pos, open) });
    parts.push({ kind: 'ref', path: parsed.path, start, end: start + name.length });
    pos = close + CLOSE.length;
  }
  if (parts.length === 0) return { ok: true, template: { kind: 'const', value: text } };
  if (pos < text.length) parts.push({ kind: 'text', text: text.slice(pos) });
  const [only] = parts;
  if (parts.length === 1 && only?.kind === 'ref') return { ok: true, template: only };
  return { ok: true, template: { kind: 'concat', parts } };
}

function childPointer(pointer: string, key: string | number): string {
  return `${pointer}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

// defineProperty creates an own data property even for a key like '__proto__', where plain assignment
// would replace the object's prototype.
function setOwn(target: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type Property = { found: true; value: unknown } | { found: false };

// Descriptors rather than reads, so a getter in the input is reported instead of run.
function ownProperty(container: object, key: string): Property {
  const descriptor = Object.getOwnPropertyDescriptor(container, key);
  return descriptor !== undefined && 'value' in descriptor
    ? { found: true, value: descriptor.value }
    : { found: false };
}

class TemplateWalker {
  readonly issues: TemplateIssue[] = [];
  private readonly ancestors = new Set<object>();

  walk(value: unknown, pointer: string): Template {
    switch (typeof value) {
      case 'string': {
        const result = parseTemplateString(value);
        if (result.ok) return result.template;
        this.issues.push({ ...result.issue, pointer });
        return { kind: 'const', value };
      }
      case 'number':
        return Number.isFinite(value)
          ? { kind: 'const', value }
          : this.fail(`${value} is not a JSON number`, pointer);
      case 'boolean':
        return { kind: 'const', value };
      case 'object':
        if (value === null) return { kind: 'const', value };
        return this.walkContainer(value, pointer);
      default:
        return this.fail(
          `${value === undefined ? 'undefined' : `a ${typeof value}`} is not a JSON value`,
          pointer,
        );
    }
  }

  private fail(message: string, pointer: string, atKey = false): Template {
    this.issues.push(atKey ? { message, offset: 0, pointer, atKey } : { message, offset: 0, pointer });
    return { kind: 'const', value: null };
  }

  private walkContainer(value: object, pointer: string): Template {
    if (this.ancestors.has(value)) return this.fail('value contains itself', pointer);
    if (this.ancestors.size >= MAX_TEMPLATE_DEPTH) {
      return this.fail(`value is nested more than ${MAX_TEMPLATE_DEPTH} levels deep`, pointer);
    }
    if (!Array.isArray(value) && !isPlainObject(value)) {
      return this.fail('only plain objects and arrays are JSON values', pointer);
    }
    this.ancestors.add(value);
    const template = Array.isArray(value) ? this.walkArray(value, pointer) : this.walkObject(value, pointer);
    this.ancestors.delete(value);
    return template;
  }

  private walkArray(value: unknown[], pointer: string): Template {
    const items: Template[] = [];
    for (let index = 0; index < value.length; index++) {
      const item = ownProperty(value, String(index));
      const itemPointer = childPointer(pointer, index);
      items.push(
        item.found ? this.walk(item.value, itemPointer) : this.fail('missing array item', itemPointer),
      );
    }
    const values = constValues(items);
    return values === undefined ? { kind: 'array', items } : { kind: 'const', value: values };
  }

  private walkObject(value: object, pointer: string): Template {
    const entries: Array<[string, Template]> = [];
    for (const key of Object.keys(value)) {
      const keyPointer = childPointer(pointer, key);
      if (FORBIDDEN_SEGMENTS.has(key)) {
        this.fail(`key '${key}' is not allowed`, keyPointer, true);
        continue;
      }
      const property = ownProperty(value, key);
      entries.push([
        key,
        property.found
          ? this.walk(property.value, keyPointer)
          : this.fail('a getter is not a JSON value', keyPointer),
      ]);
    }
    const values = constValues(entries.map(([, template]) => template));
    if (values === undefined) return { kind: 'object', entries };
    const object: { [key: string]: JsonValue } = {};
    entries.forEach(([key], index) => {
      setOwn(object, key, values[index] ?? null);
    });
    return { kind: 'const', value: object };
  }
}

// The values of the templates when all of them are constant, so a subtree without references
// collapses into one const and costs nothing at run time.
function constValues(templates: Template[]): JsonValue[] | undefined {
  const values: JsonValue[] = [];
  for (const template of templates) {
    if (template.kind !== 'const') return undefined;
    values.push(template.value);
  }
  return values;
}

export function parseTemplate(value: unknown): { template: Template; issues: TemplateIssue[] } {
  const walker = new TemplateWalker();
  const template = walker.walk(value, '');
  return { template, issues: walker.issues };
}

export function templateRefs(t: Template): TemplateRef[] {
  const refs: TemplateRef[] = [];
  const visit = (template: Template, pointer: string): void => {
    switch (template.kind) {
      case 'const':
        return;
      case 'ref':
        refs.push({ path: template.path, start: template.start, end: template.end, pointer });
        return;
      case 'concat':
        for (const part of template.parts) {
          if (part.kind === 'ref') refs.push({ path: part.path, start: part.start, end: part.end, pointer });
        }
        return;
      case 'object':
        for (const [key, child] of template.entries) visit(child, childPointer(pointer, key));
        return;
      case 'array':
        template.items.forEach((child, index) => {
          visit(child, childPointer(pointer, index));
        });
        return;
    }
  };
  visit(t, '');
  return refs;
}

// Copies a run-time value into fresh JSON: what JSON.stringify would keep, with cycles, getters and
// over-deep branches replaced by null, so resolution can neither throw nor hand out shared objects.
function toJson(value: unknown, ancestors: Set<object>): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'object' || ancestors.has(value) || ancestors.size >= MAX_VALUE_DEPTH) return null;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      return Array.from({ length: value.length }, (_, index) => {
        const item = ownProperty(value, String(index));
        return item.found ? toJson(item.value, ancestors) : null;
      });
    }
    const object: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      const property = ownProperty(value, key);
      // JSON.stringify drops these keys too, rather than writing null.
      if (property.found && !['undefined', 'function', 'symbol'].includes(typeof property.value)) {
        setOwn(object, key, toJson(property.value, ancestors));
      }
    }
    return object;
  } catch {
    // Only a hostile Proxy among the variables can throw here; it resolves like a missing value.
    return null;
  } finally {
    ancestors.delete(value);
  }
}

function render(value: JsonValue): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function resolveTemplate(t: Template, vars: unknown): JsonValue {
  switch (t.kind) {
    case 'const':
      return toJson(t.value, new Set());
    case 'ref':
      return toJson(lookupPath(vars, t.path), new Set());
    case 'concat':
      return t.parts
        .map((part) =>
          part.kind === 'text' ? part.text : render(toJson(lookupPath(vars, part.path), new Set())),
        )
        .join('');
    case 'object': {
      const object: { [key: string]: JsonValue } = {};
      for (const [key, child] of t.entries) setOwn(object, key, resolveTemplate(child, vars));
      return object;
    }
    case 'array':
      return t.items.map((child) => resolveTemplate(child, vars));
  }
}
