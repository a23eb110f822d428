// Reads a definition's text (YAML or JSON) into a value while keeping where every node stands, so that
// each diagnostic can name the line and column a person has to fix.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, Scalar } from 'yaml';
import type { Diagnostic, PathSegment, PendingDiagnostic } from './diagnostics.js';
import { toPointer } from './diagnostics.js';

export const MAX_SOURCE_BYTES = 5 * 1024 * 1024;

export interface SourceDocument {
  /** The parsed value; undefined when the text has syntax errors. */
  value: unknown;
  syntaxErrors: Diagnostic[];
  /** Places a pending diagnostic on a line and column of the text. */
  place(pending: PendingDiagnostic): Diagnostic;
}

export function parseSource(text: string, format: 'yaml' | 'json'): SourceDocument {
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
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxErrors: Diagnostic[] = doc.errors.map((error) =>
    place(
      { severity: 'error', code: 'syntax', message: syntaxMessage(error.code, error.message), path: [] },
      error.pos[0],
    ),
  );
  if (format === 'json' && syntaxErrors.length === 0) syntaxErrors.push(...jsonSyntaxErrors(text, place));
  let value: unknown;
  if (syntaxErrors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      syntaxErrors.push(
        place({ severity: 'error', code: 'syntax', message: (error as Error).message, path: [] }),
      );
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

function syntaxMessage(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  return code === 'DUPLICATE_KEY'
    ? 'duplicate key: map keys must be unique'
    : `syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

/** YAML accepts more than JSON (comments, unquoted keys); a .json file must be JSON. */
function jsonSyntaxErrors(
  text: string,
  place: (p: PendingDiagnostic, offset?: number) => Diagnostic,
): Diagnostic[] {
  try {
    JSON.parse(text);
    return [];
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    return [
      place(
        {
          severity: 'error',
          code: 'syntax',
          message: `syntax error: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
          path: [],
        },
        position ? Number(position[1]) : 0,
      ),
    ];
  }
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
