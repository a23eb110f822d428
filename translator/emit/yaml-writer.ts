// A small YAML writer for the documents the compilers build (plain objects, arrays, strings, finite numbers,
// booleans, null): its output is byte-identical to `stringify(doc, { lineWidth: 0, aliasDuplicateObjects:
// false })` of the `yaml` package, at a fraction of the cost (a 1,000-step GCP workflow spent ~85% of its
// compile time in that call). Block style with two-space indents and `- ` items indented under their key,
// `{}`/`[]` for empty collections, and scalars plain or quoted by yaml's own rules (its plainString and
// quotedString: indicators, `: `, ` #`, trailing spaces, and strings that its core schema would read as
// null, a boolean or a number — tested with the schema's own tag patterns). What it is not sure of it hands
// to `yaml` itself: a value string with a newline, a control character, a lone surrogate or a document
// marker (`%`, `---`, `...` at a line start) is rendered by `yaml` in a wrapper placing it at the same
// indent; anything else unusual (such a key, an empty or over-long key, undefined in an array, a
// non-plain object) makes the whole document go through `yaml.stringify`.
// test/translator-yaml-writer.test.ts checks the identity.
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
      const writer = new Writer(stats);
      writer.node(value, '');
      return `${writer.out}\n`;
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

/** Strings up to this length have their rendering remembered (step names and expressions repeat). */
const CACHED_LENGTH = 256;

/** Appends to one string; each method writes a value as yaml does with `ctx.indent === indent`. */
class Writer {
  out = '';
  private readonly rendered = new Map<string, string>();
  constructor(private readonly stats: YamlWriterStats | undefined) {}

  node(value: unknown, indent: string): void {
    if (typeof value === 'string') this.out += this.string(value, indent);
    else if (Array.isArray(value)) this.seq(value, indent);
    else if (isPlainObject(value)) this.map(value, indent);
    else this.out += scalar(value);
  }

  private map(obj: Record<string, unknown>, indent: string): void {
    const inner = `${indent}  `;
    let first = true;
    for (const key of Object.keys(obj)) {
      const value = obj[key];
      if (value === undefined) continue; // yaml leaves undefined values out of a map
      if (!first) this.out += `\n${indent}`;
      first = false;
      this.out += `${this.key(key)}:${isCollection(value) ? `\n${inner}` : ' '}`;
      this.node(value, inner);
    }
    if (first) this.out += '{}';
  }

  private seq(items: unknown[], indent: string): void {
    if (items.length === 0) {
      this.out += '[]';
      return;
    }
    const inner = `${indent}  `;
    for (let i = 0; i < items.length; i++) {
      if (!(i in items) || items[i] === undefined) throw new Unsure();
      this.out += i === 0 ? '- ' : `\n${indent}- `;
      this.node(items[i], inner);
    }
  }

  private key(key: string): string {
    const known = this.rendered.get(key);
    if (known !== undefined) return known;
    if (key === '' || UNSURE_CHAR.test(key) || startsWithMarker(key)) throw new Unsure();
    const text = plainOrQuoted(key);
    if (text.length > 1024) throw new Unsure(); // yaml writes such a key as an explicit `? key`
    if (key.length <= CACHED_LENGTH) this.rendered.set(key, text);
    return text;
  }

  private string(value: string, indent: string): string {
    const short = value.length <= CACHED_LENGTH;
    if (short) {
      const known = this.rendered.get(value);
      if (known !== undefined) return known;
    }
    if (UNSURE_CHAR.test(value) || startsWithMarker(value)) return this.delegated(value, indent);
    const text = plainOrQuoted(value);
    if (short) this.rendered.set(value, text);
    return text;
  }

  /** yaml's own rendering of a value string at this indent: `{k: value}` nested so the value sits there. */
  private delegated(value: string, indent: string): string {
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
    if (this.stats !== undefined) this.stats.delegatedScalars++;
    return text.slice(prefix.length, -1);
  }
}

/** yaml's containsDocumentMarker for a single-line string (one with a newline is delegated already). */
function startsWithMarker(value: string): boolean {
  const first = value.charCodeAt(0);
  if (first === 37) return true; // %
  if (first === 45) return value.startsWith('---');
  return first === 46 && value.startsWith('...');
}

/** A non-empty collection goes on the lines below its key; an empty one is `{}`/`[]` after it. */
function isCollection(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (!isPlainObject(value)) return false;
  for (const key in value) if (value[key] !== undefined) return true;
  return false;
}

/** null, a boolean or a number (strings and collections are the Writer's). */
function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return number(value);
  throw new Unsure();
}

function number(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value < 0 ? '-.inf' : '.inf';
  return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

/** A single-line string of printable characters: plain unless yaml's rules or its schema forbid it. */
function plainOrQuoted(value: string): string {
  if (!PLAIN_BAD.test(value) && !OTHER_TAGS.some((test) => test.test(value))) return value;
  // quotedString with the default `singleQuote: null`: single quotes only for a `"` without a `'`.
  if (value.includes('"') && !value.includes("'")) return `'${value}'`;
  return JSON.stringify(value);
}
