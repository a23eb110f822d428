// How deep a JSON or YAML text nests, found by one cheap pass over the characters before any parser sees
// it: the parsers recurse per level (jsonc-parser, the yaml package's composer), so 100,000 levels exhaust
// the stack or, for YAML's compact `- - - …` sequences, the heap. Each scan answers the offset of the first
// place deeper than the limit, or undefined.
//
// JSON is exact (brackets outside strings). YAML is an estimate within a level or two of the truth: flow
// collections count their brackets (outside quotes and comments), block collections count indentation
// steps plus compact `- ` / `? ` entries and `key:` maps; block scalars (`|`, `>`) are skipped.

/** The deepest nesting a body or a definition may have by default (the config's `limits.jsonDepth`). */
export const MAX_NESTING = 64;

/** What a document too deep is told: the same words wherever the limit is enforced. */
export function nestingMessage(max: number): string {
  return `the document nests deeper than ${max} levels`;
}

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const HASH = 0x23;

/** The offset of the first bracket of a JSON text that opens level `max + 1`, or undefined. */
export function jsonTooDeep(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === BACKSLASH) i++;
      else if (ch === DOUBLE_QUOTE) inString = false;
    } else if (ch === DOUBLE_QUOTE) inString = true;
    else if (ch === OPEN_BRACKET || ch === OPEN_BRACE) {
      if (++depth > max) return i;
    } else if (ch === CLOSE_BRACKET || ch === CLOSE_BRACE) depth--;
  }
  return undefined;
}

// A line's mapping key (plain or quoted) followed by `:` and a space or the line's end.
const KEY = /^(?:"(?:[^"\\]|\\.)*"[ \t]*|'(?:[^']|'')*'[ \t]*|[^\s#'"[\]{},][^#]*?):(?=[ \t]|$)/;
const BLOCK_SCALAR = /^[|>][-+0-9]*[ \t]*(?:#.*)?$/;
// Anchors and tags before a value (`&base [`, `!!seq [`).
const PROPERTY = /^(?:[&!][^ \t]*[ \t]+)+/;

/** The offset of the first place a YAML text nests deeper than `max`, or undefined (see the header). */
export function yamlTooDeep(text: string, max: number): number | undefined {
  const scan = new YamlScan(text, max);
  let start = 0;
  while (start <= text.length) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const found = scan.line(start, text.charCodeAt(end - 1) === 0x0d ? end - 1 : end);
    if (found !== undefined) return found;
    start = end + 1;
  }
  return undefined;
}

/** Whether a block entry marker (`-` or `?` followed by a space or the line's end) stands at `i`. */
function isMarker(text: string, i: number, end: number): boolean {
  const ch = text.charCodeAt(i);
  if (i >= end || (ch !== 0x2d && ch !== 0x3f)) return false;
  const next = text.charCodeAt(i + 1);
  return i + 1 === end || next === 0x20 || next === 0x09;
}

/** The state carried from line to line: open block levels, an open flow collection, quote or block scalar. */
class YamlScan {
  /** Indentation and depth of the block lines still open, innermost last. */
  private readonly open: { indent: number; depth: number; awaitsValue: boolean }[] = [];
  private flowDepth = 0;
  /** The depth a flow collection open across lines started from. */
  private flowBase = 0;
  private quote: number | undefined;
  private blockScalarIndent: number | undefined;

  constructor(
    private readonly text: string,
    private readonly max: number,
  ) {}

  line(start: number, end: number): number | undefined {
    const text = this.text;
    if (this.quote !== undefined || this.flowDepth > 0) return this.flow(start, end, this.flowBase);
    let i = start;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    const indent = i - start;
    if (i === end || text.charCodeAt(i) === HASH || text.charCodeAt(i) === 0x0d) return undefined;
    if (this.blockScalarIndent !== undefined) {
      if (indent > this.blockScalarIndent) return undefined;
      this.blockScalarIndent = undefined;
    }
    if (indent === 0 && /^(?:---|\.\.\.|%)/.test(text.slice(i, i + 3))) return undefined;
    const startsWithMarker = isMarker(text, i, end);
    for (let top = this.open.at(-1); top !== undefined; top = this.open.at(-1)) {
      // A block sequence may stand at its key's own indentation: it is still that key's value.
      const keepsSequence = top.indent === indent && top.awaitsValue && startsWithMarker;
      if (top.indent < indent || keepsSequence) break;
      this.open.pop();
    }
    let depth = this.open.at(-1)?.depth ?? 0;
    // Compact entries: every `- ` (or `? `) on the line opens a level of its own.
    while (isMarker(text, i, end)) {
      if (++depth > this.max) return i;
      this.open.push({ indent: i - start, depth, awaitsValue: false });
      i += 1;
      while (i < end && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    }
    let rest = text.slice(i, end);
    const key = KEY.exec(rest);
    if (key !== null) {
      if (++depth > this.max) return i;
      rest = rest.slice(key[0].length).trimStart();
      this.open.push({ indent: i - start, depth, awaitsValue: rest === '' || rest.startsWith('#') });
      i = end - rest.length;
    } else this.open.push({ indent: i - start, depth, awaitsValue: false });
    const property = PROPERTY.exec(rest);
    if (property !== null) {
      i += property[0].length;
      rest = rest.slice(property[0].length);
    }
    if (BLOCK_SCALAR.test(rest)) {
      this.blockScalarIndent = indent;
      return undefined;
    }
    const first = text.charCodeAt(i);
    if (first === OPEN_BRACKET || first === OPEN_BRACE || first === DOUBLE_QUOTE || first === SINGLE_QUOTE) {
      this.flowBase = depth;
      return this.flow(i, end, depth);
    }
    return undefined;
  }

  /** Scans flow text (brackets, quotes, comments) from `i` to `end`; a quote or bracket may stay open. */
  private flow(i: number, end: number, base: number): number | undefined {
    const text = this.text;
    for (; i < end; i++) {
      const ch = text.charCodeAt(i);
      if (this.quote === DOUBLE_QUOTE) {
        if (ch === BACKSLASH) i++;
        else if (ch === DOUBLE_QUOTE) this.quote = undefined;
      } else if (this.quote === SINGLE_QUOTE) {
        if (ch === SINGLE_QUOTE) {
          if (text.charCodeAt(i + 1) === SINGLE_QUOTE) i++;
          else this.quote = undefined;
        }
      } else if (ch === DOUBLE_QUOTE || ch === SINGLE_QUOTE) this.quote = ch;
      else if (ch === OPEN_BRACKET || ch === OPEN_BRACE) {
        if (base + ++this.flowDepth > this.max) return i;
      } else if (ch === CLOSE_BRACKET || ch === CLOSE_BRACE) this.flowDepth = Math.max(0, this.flowDepth - 1);
      else if (ch === HASH && (i === 0 || /\s/.test(text[i - 1] ?? ''))) return undefined;
      if (this.flowDepth === 0 && this.quote === undefined) return undefined;
    }
    return undefined;
  }
}
