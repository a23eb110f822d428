// Reads a definition's text (YAML or JSON) into a value while keeping where every node stands, so that
// each diagnostic can name the line and column a person has to fix.
import { type ParseError, parse as parseJson, printParseErrorCode } from 'jsonc-parser';
import {
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  Scalar,
  visit,
} from 'yaml';
import type { Diagnostic, PathSegment, PendingDiagnostic } from './diagnostics.js';
import { toPointer } from './diagnostics.js';
import { jsonTooDeep, MAX_NESTING, nestingMessage, yamlTooDeep } from './nesting.js';

export const MAX_SOURCE_BYTES = 5 * 1024 * 1024;

export interface SourceDocument {
  /** The parsed value; undefined when the text has syntax errors. */
  value: unknown;
  syntaxErrors: Diagnostic[];
  /** Places a pending diagnostic on a line and column of the text. */
  place(pending: PendingDiagnostic): Diagnostic;
}

/** How a source is read: `maxDepth`, the deepest nesting accepted (MAX_NESTING by default). */
export interface SourceOptions {
  maxDepth?: number;
}

export function parseSource(
  text: string,
  format: 'yaml' | 'json',
  options: SourceOptions = {},
): SourceDocument {
  const lineCounter = new LineCounter();
  const place = (pending: PendingDiagnostic, offset?: number): Diagnostic => {
    const position = lineCounter.linePos(offset ?? 0);
    return {
      severity: pending.severity,
      code: pending.code,
      message: pending.message,
      pointer: toPointer(pending.path),
      line: position.line,
      col: position.col,
    };
  };
  if (text.length > MAX_SOURCE_BYTES) {
    const d = place({
      severity: 'error',
      code: 'too-large',
      message: `definition is larger than ${MAX_SOURCE_BYTES} bytes`,
      path: [],
    });
    return { value: undefined, syntaxErrors: [d], place: (p) => place(p) };
  }
  const syntax = (message: string, offset: number): Diagnostic =>
    place({ severity: 'error', code: 'syntax', message, path: [] }, offset);
  // Checked before any parser runs: they recurse per level.
  const maxDepth = options.maxDepth ?? MAX_NESTING;
  const deep = format === 'json' ? jsonTooDeep(text, maxDepth) : yamlTooDeep(text, maxDepth);
  if (deep !== undefined) {
    const d = tooDeep(text, deep, maxDepth);
    return { value: undefined, syntaxErrors: [d], place: () => d };
  }
  if (format === 'json') {
    const jsonError = firstJsonError(text);
    if (jsonError !== undefined) {
      lineCounter.addNewLine(0);
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
      return {
        value: undefined,
        syntaxErrors: [syntax(jsonError.message, jsonError.offset)],
        place: (p) => place(p),
      };
    }
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The YAML parser recurses per nesting level; thousands of levels exhaust the stack.
    if (!(error instanceof RangeError)) throw error;
    const d: Diagnostic = {
      severity: 'error',
      code: 'syntax',
      message: 'syntax error: the definition is nested too deeply',
      pointer: '',
      line: 1,
      col: 1,
    };
    return { value: undefined, syntaxErrors: [d], place: () => d };
  }
  const syntaxErrors: Diagnostic[] = doc.errors.map((error) =>
    syntax(syntaxMessage(error.code, error.message), unclosedStart(doc, error.pos[0]) ?? error.pos[0]),
  );
  let value: unknown;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      const message =
        error instanceof RangeError ? 'the definition is nested too deeply' : (error as Error).message;
      syntaxErrors.push(syntax(`syntax error: ${message}`, 0));
    }
  }
  const placeAtNode = (pending: PendingDiagnostic): Diagnostic => {
    const found = locate(doc.contents, pending.path, pending.atKey === true);
    if (found === undefined) return place(pending);
    let offset = found.offset;
    if (pending.offset !== undefined && found.scalar) {
      offset += pending.offset + (isQuoted(found.scalar) ? 1 : 0);
    }
    return place(pending, offset);
  };
  return { value, syntaxErrors, place: placeAtNode };
}

/** The diagnostic of a document nesting deeper than `max`, at the place it does. */
function tooDeep(text: string, offset: number, max: number): Diagnostic {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return {
    severity: 'error',
    code: 'too-deep',
    message: nestingMessage(max),
    pointer: '',
    line,
    col: offset - lineStart + 1,
  };
}

function syntaxMessage(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  return code === 'DUPLICATE_KEY'
    ? 'duplicate key: map keys must be unique'
    : `syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

/**
 * The YAML parser notices an unclosed quote or bracket only where the text runs out; a person needs the
 * place it was opened: the innermost quoted scalar or flow collection that ends at the error.
 */
function unclosedStart(doc: ReturnType<typeof parseDocument>, offset: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Node(_key, node) {
      const range = node.range;
      if (!range || range[0] >= offset || range[1] !== offset) return;
      const opens = (isScalar(node) && isQuoted(node)) || (isCollection(node) && node.flow === true);
      if (opens && (start === undefined || range[0] > start)) start = range[0];
    },
  });
  return start;
}

const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the document',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** YAML accepts more than JSON (comments, single quotes, trailing commas); a .json file must be JSON. */
function firstJsonError(text: string): { message: string; offset: number } | undefined {
  const errors: ParseError[] = [];
  parseJson(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return undefined;
  const name = printParseErrorCode(first.error);
  const before = text.slice(0, first.offset).trimEnd();
  if (name === 'ValueExpected' && before.endsWith(',') && /^[\]}]/.test(text.slice(first.offset))) {
    return { message: 'syntax error: trailing comma is not allowed in JSON', offset: before.length - 1 };
  }
  const char = text[first.offset];
  const detail = name === 'InvalidSymbol' && char === "'" ? ': JSON strings use double quotes' : '';
  return { message: `syntax error: ${JSON_ERRORS[name] ?? name}${detail}`, offset: first.offset };
}

function isQuoted(scalar: Scalar): boolean {
  return scalar.type === Scalar.QUOTE_DOUBLE || scalar.type === Scalar.QUOTE_SINGLE;
}

/** Offset of the node at `path` (or of its key), falling back to the deepest ancestor that exists. */
function locate(
  root: Node | null,
  path: readonly PathSegment[],
  atKey: boolean,
): { offset: number; scalar?: Scalar } | undefined {
  let node: unknown = root;
  let found: { offset: number; scalar?: Scalar } | undefined = rangeOf(node);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return found;
      if (last && atKey) return rangeOf(pair.key);
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    } else {
      return found;
    }
    if (next === undefined || next === null) return found;
    node = next;
    found = rangeOf(node) ?? found;
  }
  return found;
}

function rangeOf(node: unknown): { offset: number; scalar?: Scalar } | undefined {
  if (node === null || typeof node !== 'object' || !('range' in node)) return undefined;
  const range = (node as { range?: [number, number, number] }).range;
  if (!range) return undefined;
  return isScalar(node) ? { offset: range[0], scalar: node } : { offset: range[0] };
}
