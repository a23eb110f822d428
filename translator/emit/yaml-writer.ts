// A small YAML writer for the documents the compilers build (plain objects, arrays, strings, finite numbers,
// booleans, null): its output is byte-identical to `stringify(doc, { lineWidth: 0, aliasDuplicateObjects:
// false })` of the `yaml` package, at a fraction of the cost (a 1,000-step GCP workflow spent ~85% of its
// compile time in that call). Block style with two-space indents and `- ` items indented under their key,
// `{}`/`[]` for empty collections, and scalars plain or quoted by yaml's own rules (its plainString and
// quotedString: indicators, `: `, ` #`, trailing spaces, and strings that its core schema would read as
// null, a boolean or a number — tested with the schema's own tag patterns). What it is not sure of it hands
// to `yaml` itself: a value string with a newline, a control character, a lone surrogate or a document
// marker is rendered by `yaml` in a wrapper placing it at the same indent; anything else unusual (a key
// needing quotes of that kind, an empty or over-long key, undefined in an array, a non-plain object) makes
// the whole document go through `yaml.stringify`. test/translator-yaml-writer.test.ts checks the identity.
import { Document, stringify } from 'yaml';

const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const;
const STR_TAG = 'tag:yaml.org,2002:str';

/** The core schema's patterns that would read a plain scalar as something other than a string. */
const OTHER_TAGS: RegExp[] = new Document().schema.tags.flatMap((tag) =>
  tag.default === true && tag.tag !== STR_TAG && 'test' in tag && tag.test instanceof RegExp
    ? [tag.test]
    : [],
);
/** yaml's plainString: what a plain scalar cannot start with, contain or end with. */
const PLAIN_BAD = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** Characters outside the single-line printable set this writer renders itself. */
const UNSURE_CHAR = /[^\x20-\x7e\xa0-\ud7ff\ue000-\uffff]/;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** Counts what the writer did not render itself (for tests: a writer that always delegates proves nothing). */
export interface YamlWriterStats {
  /** Value strings rendered by `yaml` in a wrapper. */
  delegatedScalars: number;
  /** Whether the whole document went through `yaml.stringify`. */
  wholeDocument: boolean;
}

class Unsure extends Error {}

/** `stringify(value, { lineWidth: 0, aliasDuplicateObjects: false })`, byte for byte. */
export function writeYaml(value: unknown, stats?: YamlWriterStats): string {
  if (isPlainObject(value) || Array.isArray(value)) {
    try {
      return `${node(value, '', stats)}\n`;
    } catch (error) {
      if (!(error instanceof Unsure)) throw error;
    }
  }
  if (stats !== undefined) stats.wholeDocument = true;
  return stringify(value, OPTIONS) ?? '';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value as yaml writes it with `ctx.indent === indent`: lines after the first start with the indent. */
function node(value: unknown, indent: string, stats: YamlWriterStats | undefined): string {
  if (Array.isArray(value)) return seq(value, indent, stats);
  if (isPlainObject(value)) return map(value, indent, stats);
  return scalar(value, indent, stats);
}

function map(obj: Record<string, unknown>, indent: string, stats: YamlWriterStats | undefined): string {
  const inner = `${indent}  `;
  let out = '';
  let first = true;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue; // yaml leaves undefined values out of a map
    out += first ? '' : `\n${indent}`;
    first = false;
    out += `${keyScalar(key)}:`;
    if (isCollection(value)) out += `\n${inner}${node(value, inner, stats)}`;
    else out += ` ${node(value, inner, stats)}`;
  }
  return first ? '{}' : out;
}

function seq(items: unknown[], indent: string, stats: YamlWriterStats | undefined): string {
  if (items.length === 0) return '[]';
  const inner = `${indent}  `;
  let out = '';
  for (let i = 0; i < items.length; i++) {
    if (!(i in items) || items[i] === undefined) throw new Unsure();
    out += `${i === 0 ? '' : `\n${indent}`}- ${node(items[i], inner, stats)}`;
  }
  return out;
}

/** A non-empty collection goes on the lines below its key; an empty one is `{}`/`[]` after it. */
function isCollection(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (!isPlainObject(value)) return false;
  for (const key in value) if (value[key] !== undefined) return true;
  return false;
}

function scalar(value: unknown, indent: string, stats: YamlWriterStats | undefined): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return number(value);
    case 'string':
      return UNSURE_CHAR.test(value) || DOCUMENT_MARKER.test(value)
        ? delegated(value, indent, stats)
        : plainOrQuoted(value);
    default:
      throw new Unsure();
  }
}

function number(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value < 0 ? '-.inf' : '.inf';
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

function keyScalar(key: string): string {
  if (key === '' || UNSURE_CHAR.test(key) || DOCUMENT_MARKER.test(key)) throw new Unsure();
  const text = plainOrQuoted(key);
  if (text.length > 1024) throw new Unsure(); // yaml writes such a key as an explicit `? key`
  return text;
}

/** A single-line string of printable characters: plain unless yaml's rules or its schema forbid it. */
function plainOrQuoted(value: string): string {
  if (!PLAIN_BAD.test(value) && !OTHER_TAGS.some((test) => test.test(value))) return value;
  // quotedString with the default `singleQuote: null`: single quotes only for a `"` without a `'`.
  if (value.includes('"') && !value.includes("'")) return `'${value}'`;
  return JSON.stringify(value);
}

/** yaml's own rendering of a value string at this indent: `{k: value}` nested so the value sits there. */
function delegated(value: string, indent: string, stats: YamlWriterStats | undefined): string {
  const depth = indent.length / 2 - 1;
  if (!Number.isInteger(depth) || depth < 0) throw new Unsure();
  let wrapper: Record<string, unknown> = { k: value };
  let prefix = `${'  '.repeat(depth)}k: `;
  for (let level = depth - 1; level >= 0; level--) {
    wrapper = { a: wrapper };
    prefix = `${'  '.repeat(level)}a:\n${prefix}`;
  }
  const text = stringify(wrapper, OPTIONS);
  if (!text.startsWith(prefix) || !text.endsWith('\n')) throw new Unsure();
  if (stats !== undefined) stats.delegatedScalars++;
  return text.slice(prefix.length, -1);
}
