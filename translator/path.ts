// Variable paths (`trigger.user.email`, `items.0`) shared by condition expressions and templates:
// parsing with precise error offsets, and a prototype-safe lookup into run-time variables.

export type VarPath = readonly string[];

// Segments that could reach Object.prototype or a constructor if a path were ever used for access
// outside this module; they are rejected at parse time so no target ever sees them.
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type PathResult = { ok: true; path: string[] } | { ok: false; message: string; offset: number };

const NAME_CHAR = /[A-Za-z0-9_]/;

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function describeChar(text: string, index: number): string {
  const codePoint = text.codePointAt(index) ?? 0;
  if (/\s/.test(String.fromCodePoint(codePoint))) return 'whitespace';
  return `character '${String.fromCodePoint(codePoint)}'`;
}

type SegmentProblem = { message: string; at: number } | undefined;

function checkSegment(text: string, start: number, end: number, first: boolean): SegmentProblem {
  if (start === end) {
    return { message: first ? 'expected a variable name' : "expected a name or index after '.'", at: start };
  }
  for (let i = start; i < end; i++) {
    if (!NAME_CHAR.test(text.charAt(i))) {
      return { message: `unexpected ${describeChar(text, i)} in variable path`, at: i };
    }
  }
  const segment = text.slice(start, end);
  if (isDigit(text.charAt(start))) {
    if (!/^[0-9]+$/.test(segment)) return { message: `'${segment}' is not a valid name or index`, at: start };
    if (first) return { message: `a variable path must start with a name, not '${segment}'`, at: start };
    // '01' would be index 1 in JSONPath but a missing key here; refusing it keeps every target in agreement.
    if (segment.length > 1 && segment.startsWith('0')) {
      return { message: `array index '${segment}' must not have leading zeros`, at: start };
    }
  }
  if (FORBIDDEN_SEGMENTS.has(segment)) {
    return { message: `'${segment}' is not allowed in a variable path`, at: start };
  }
  return undefined;
}

export function parsePath(text: string): PathResult {
  const path: string[] = [];
  let start = 0;
  for (;;) {
    const dot = text.indexOf('.', start);
    const end = dot === -1 ? text.length : dot;
    const problem = checkSegment(text, start, end, path.length === 0);
    if (problem !== undefined) return { ok: false, message: problem.message, offset: problem.at };
    path.push(text.slice(start, end));
    if (dot === -1) return { ok: true, path };
    start = dot + 1;
  }
}

function ownDataValue(container: object, key: string): unknown {
  // Reading the descriptor rather than the property never runs a getter supplied in the variables.
  const descriptor = Object.getOwnPropertyDescriptor(container, key);
  return descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined;
}

export function lookupPath(vars: unknown, path: VarPath): unknown {
  try {
    let current: unknown = vars;
    for (const segment of path) {
      if (FORBIDDEN_SEGMENTS.has(segment) || typeof current !== 'object' || current === null)
        return undefined;
      if (Array.isArray(current) && !/^(0|[1-9][0-9]*)$/.test(segment)) return undefined;
      current = ownDataValue(current, segment);
    }
    return current;
  } catch {
    // Only a hostile Proxy in the variables can throw here; treat it as missing rather than fail a run.
    return undefined;
  }
}

export function formatPath(path: VarPath): string {
  return path.join('.');
}
