// The condition-expression language of `if` fields: a hand-written lexer and recursive-descent
// parser, the reference evaluator whose semantics every cloud target must reproduce, and helpers.

import { formatPath, lookupPath, parsePath } from './path.js';

export type Literal = string | number | boolean | null;
export type Operand =
  | { kind: 'literal'; value: Literal }
  | { kind: 'path'; path: string[]; start: number; end: number };
export type PathOperand = Operand & { kind: 'path' };
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type Expr =
  | Operand
  | { kind: 'not'; operand: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | { kind: 'in'; value: Operand; list: Literal[] }
  | { kind: 'contains' | 'startsWith'; value: PathOperand; pattern: string };

export class ExpressionSyntaxError extends Error {
  override name = 'ExpressionSyntaxError';
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

// Parens and `!` recurse in the parser; the limit turns hostile nesting into a syntax error
// instead of a stack overflow.
export const MAX_NESTING = 64;

const KEYWORDS: ReadonlySet<string> = new Set(['true', 'false', 'null', 'in', 'contains', 'startsWith']);

type Punct = CompareOp | '&&' | '||' | '!' | '(' | ')' | '[' | ']' | ',';
type Token =
  | { type: 'number'; value: number; start: number; end: number }
  | { type: 'string'; value: string; start: number; end: number }
  | { type: 'word'; text: string; start: number; end: number }
  | { type: 'punct'; text: Punct; start: number; end: number }
  | { type: 'eof'; start: number; end: number };

const PUNCTS: ReadonlyMap<string, Punct> = new Map(
  (['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ','] as const).map((p) => [p, p]),
);

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\\', '\\'],
  ["'", "'"],
  ['"', '"'],
  ['n', '\n'],
  ['t', '\t'],
]);

const WHITESPACE = /\s*/y;
const WORD = /[A-Za-z_][A-Za-z0-9_.]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const NUMBER_JUNK = /[-+A-Za-z0-9_.]*/y;
const WORD_CHAR = /[A-Za-z0-9_.]/;
const HEX4 = /^[0-9A-Fa-f]{4}$/;

function matchAt(pattern: RegExp, text: string, index: number): string {
  pattern.lastIndex = index;
  return pattern.exec(text)?.[0] ?? '';
}

function quoteForMessage(text: string): string {
  return `'${text.length > 24 ? `${text.slice(0, 24)}…` : text}'`;
}

class Lexer {
  private pos = 0;

  constructor(private readonly source: string) {}

  next(): Token {
    const source = this.source;
    this.pos += matchAt(WHITESPACE, source, this.pos).length;
    const start = this.pos;
    if (start >= source.length) return { type: 'eof', start, end: start };
    const ch = source.charAt(start);
    const following = source.charAt(start + 1);
    if (ch === "'" || ch === '"') return this.string(ch);
    if ((ch >= '0' && ch <= '9') || (ch === '-' && following >= '0' && following <= '9'))
      return this.number();
    const word = matchAt(WORD, source, start);
    if (word !== '') {
      this.pos += word.length;
      return { type: 'word', text: word, start, end: this.pos };
    }
    return this.punct(ch, following);
  }

  private number(): Token {
    const start = this.pos;
    const text = matchAt(NUMBER, this.source, start);
    const end = start + text.length;
    if (WORD_CHAR.test(this.source.charAt(end))) {
      throw new ExpressionSyntaxError(
        `invalid number ${quoteForMessage(matchAt(NUMBER_JUNK, this.source, start))}`,
        start,
      );
    }
    const value = Number(text);
    if (!Number.isFinite(value))
      throw new ExpressionSyntaxError(`number ${quoteForMessage(text)} is too large`, start);
    this.pos = end;
    // Normalising -0 keeps the AST deterministic: -0 and 0 are the same value under `==`.
    return { type: 'number', value: value === 0 ? 0 : value, start, end };
  }

  private string(quote: string): Token {
    const source = this.source;
    const start = this.pos;
    let value = '';
    let i = start + 1;
    let chunkStart = i;
    for (;;) {
      if (i >= source.length) throw new ExpressionSyntaxError('unterminated string', start);
      const ch = source.charAt(i);
      if (ch === quote) break;
      if (ch !== '\\') {
        i++;
        continue;
      }
      value += source.slice(chunkStart, i);
      const escaped = source.charAt(i + 1);
      if (escaped === 'u') {
        const hex = source.slice(i + 2, i + 6);
        if (!HEX4.test(hex)) {
          throw new ExpressionSyntaxError('invalid \\u escape: expected four hexadecimal digits', i);
        }
        value += String.fromCharCode(Number.parseInt(hex, 16));
        i += 6;
      } else {
        const decoded = ESCAPES.get(escaped);
        if (decoded === undefined) {
          if (i + 1 >= source.length) throw new ExpressionSyntaxError('unterminated string', start);
          throw new ExpressionSyntaxError(`invalid escape '\\${escaped}' in string`, i);
        }
        value += decoded;
        i += 2;
      }
      chunkStart = i;
    }
    value += source.slice(chunkStart, i);
    this.pos = i + 1;
    return { type: 'string', value, start, end: this.pos };
  }

  private punct(ch: string, following: string): Token {
    const start = this.pos;
    const three = this.source.slice(start, start + 3);
    if (three === '===' || three === '!==') {
      throw new ExpressionSyntaxError(`unknown operator '${three}'; use '${three.slice(0, 2)}'`, start);
    }
    const text = PUNCTS.get(ch + following) ?? PUNCTS.get(ch);
    if (text === undefined) {
      if (ch === '=') {
        const operator = following === '>' ? '=>' : '=';
        throw new ExpressionSyntaxError(`unknown operator '${operator}'; use '==' to compare`, start);
      }
      if (ch === '&' || ch === '|') {
        throw new ExpressionSyntaxError(`unknown operator '${ch}'; use '${ch}${ch}'`, start);
      }
      const codePoint = String.fromCodePoint(this.source.codePointAt(start) ?? 0);
      throw new ExpressionSyntaxError(`unexpected character '${codePoint}'`, start);
    }
    this.pos = start + text.length;
    return { type: 'punct', text, start, end: this.pos };
  }
}

function isCompareOp(text: Punct): text is CompareOp {
  return text === '==' || text === '!=' || text === '<' || text === '<=' || text === '>' || text === '>=';
}

function isPunct(token: Token, text: Punct): boolean {
  return token.type === 'punct' && token.text === text;
}

class Parser {
  private readonly lexer: Lexer;
  private token: Token;
  private previous: Token | undefined;
  private depth = 0;

  constructor(private readonly source: string) {
    this.lexer = new Lexer(source);
    this.token = this.lexer.next();
  }

  parse(): Expr {
    if (this.atEnd()) throw this.error('unexpected end of expression: expected a condition');
    const expr = this.parseOr();
    if (!this.atEnd()) {
      if (isPunct(this.token, ')')) throw this.error("unmatched ')'");
      throw this.error(
        `expected '&&', '||' or the end of the expression ${this.afterPrevious()}, found ${this.found()}`,
      );
    }
    return expr;
  }

  private atEnd(): boolean {
    return this.token.type === 'eof';
  }

  private advance(): void {
    this.previous = this.token;
    this.token = this.lexer.next();
  }

  private error(message: string): ExpressionSyntaxError {
    return new ExpressionSyntaxError(message, this.token.start);
  }

  // A string token is shown as written, quotes included; other tokens are quoted for the message.
  private describe(token: Token): string {
    const text = this.source.slice(token.start, token.end);
    return token.type === 'string' && text.length <= 26 ? text : quoteForMessage(text);
  }

  private found(): string {
    return this.token.type === 'eof' ? 'the end of the expression' : this.describe(this.token);
  }

  private afterPrevious(): string {
    return this.previous === undefined ? '' : `after ${this.describe(this.previous)}`;
  }

  private enterNesting(): void {
    this.depth++;
    if (this.depth > MAX_NESTING)
      throw this.error(`expression is nested more than ${MAX_NESTING} levels deep`);
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (isPunct(this.token, '||')) {
      this.advance();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseUnary();
    while (isPunct(this.token, '&&')) {
      this.advance();
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): Expr {
    if (!isPunct(this.token, '!')) return this.parsePrimary();
    this.enterNesting();
    this.advance();
    const operand = this.parseUnary();
    this.depth--;
    return { kind: 'not', operand };
  }

  private parsePrimary(): Expr {
    if (!isPunct(this.token, '(')) return this.parseComparison();
    const open = this.token.start;
    this.enterNesting();
    this.advance();
    const expr = this.parseOr();
    if (!isPunct(this.token, ')')) {
      throw this.error(`expected ')' to close the '(' at offset ${open}, found ${this.found()}`);
    }
    this.advance();
    this.depth--;
    return expr;
  }

  private parseComparison(): Expr {
    const leftStart = this.token.start;
    const left = this.parseOperand();
    const token = this.token;
    if (token.type === 'punct' && isCompareOp(token.text)) {
      this.advance();
      const right = this.parseOperand();
      if (left.kind === 'literal' && right.kind === 'literal') {
        throw new ExpressionSyntaxError(
          'cannot compare two values; compare a variable with a value',
          leftStart,
        );
      }
      return { kind: 'compare', op: token.text, left, right };
    }
    if (token.type === 'word' && token.text === 'in') {
      if (left.kind === 'literal') {
        throw new ExpressionSyntaxError(
          "'in' needs a variable on its left; compare a variable with a value",
          leftStart,
        );
      }
      this.advance();
      return { kind: 'in', value: left, list: this.parseList() };
    }
    if (token.type === 'word' && (token.text === 'contains' || token.text === 'startsWith')) {
      if (left.kind !== 'path') {
        throw new ExpressionSyntaxError(
          `'${token.text}' needs a variable on its left, found a value`,
          leftStart,
        );
      }
      this.advance();
      const pattern = this.token;
      if (pattern.type !== 'string') {
        throw this.error(`expected a string after '${token.text}', found ${this.found()}`);
      }
      this.advance();
      return { kind: token.text, value: left, pattern: pattern.value };
    }
    if (token.type === 'eof' || isPunct(token, '&&') || isPunct(token, '||') || isPunct(token, ')'))
      return left;
    throw this.error(`expected an operator ${this.afterPrevious()}, found ${this.found()}`);
  }

  private parseList(): Literal[] {
    if (!isPunct(this.token, '[')) throw this.error(`expected '[' after 'in', found ${this.found()}`);
    this.advance();
    const list: Literal[] = [];
    if (isPunct(this.token, ']')) {
      this.advance();
      return list;
    }
    for (;;) {
      const item = this.parseLiteral();
      if (item === undefined) throw this.error(`expected a value in the list, found ${this.found()}`);
      list.push(item.value);
      if (isPunct(this.token, ']')) {
        this.advance();
        return list;
      }
      if (!isPunct(this.token, ','))
        throw this.error(`expected ',' or ']' in the list, found ${this.found()}`);
      this.advance();
    }
  }

  private parseLiteral(): { value: Literal } | undefined {
    const token = this.token;
    let value: Literal;
    if (token.type === 'number' || token.type === 'string') value = token.value;
    else if (token.type === 'word' && token.text === 'true') value = true;
    else if (token.type === 'word' && token.text === 'false') value = false;
    else if (token.type === 'word' && token.text === 'null') value = null;
    else return undefined;
    this.advance();
    return { value };
  }

  private parseOperand(): Operand {
    const literal = this.parseLiteral();
    if (literal !== undefined) return { kind: 'literal', value: literal.value };
    const token = this.token;
    if (token.type === 'eof') {
      const after = this.previous === undefined ? '' : ` ${this.afterPrevious()}`;
      throw this.error(`unexpected end of expression: expected a value or variable${after}`);
    }
    if (token.type !== 'word') {
      const after = this.previous === undefined ? '' : ` ${this.afterPrevious()}`;
      throw this.error(`expected a value or variable${after}, found ${this.found()}`);
    }
    const first = token.text.split('.', 1)[0] ?? '';
    if (KEYWORDS.has(first)) {
      throw this.error(`'${first}' is a keyword and cannot be used as a variable name`);
    }
    const parsed = parsePath(token.text);
    if (!parsed.ok) throw new ExpressionSyntaxError(parsed.message, token.start + parsed.offset);
    this.advance();
    return { kind: 'path', path: parsed.path, start: token.start, end: token.end };
  }
}

export function parseExpression(source: string): Expr {
  return new Parser(source).parse();
}

export function tryParseExpression(
  source: string,
): { ok: true; expr: Expr } | { ok: false; message: string; offset: number } {
  try {
    return { ok: true, expr: parseExpression(source) };
  } catch (error) {
    if (error instanceof ExpressionSyntaxError)
      return { ok: false, message: error.message, offset: error.offset };
    throw error;
  }
}

// `a && b && c` parses as a left-leaning chain as long as the source; walking it in a loop keeps
// long (but shallowly nested) conditions from exhausting the stack.
function chainOperands(expr: Expr & { kind: 'and' | 'or' }): Expr[] {
  const operands: Expr[] = [];
  let node: Expr = expr;
  while ((node.kind === 'and' || node.kind === 'or') && node.kind === expr.kind) {
    operands.push(node.right);
    node = node.left;
  }
  operands.push(node);
  return operands.reverse();
}

function isLiteral(value: unknown): value is Literal {
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

function operandValue(operand: Operand, vars: unknown): unknown {
  if (operand.kind === 'literal') return operand.value;
  return lookupPath(vars, operand.path) ?? null;
}

function strictEquals(a: unknown, b: unknown): boolean {
  return isLiteral(a) && isLiteral(b) && a === b;
}

function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  if (op === '==') return strictEquals(a, b);
  if (op === '!=') return !strictEquals(a, b);
  if (typeof a === 'number' && typeof b === 'number') return ordered(op, a, b);
  if (typeof a === 'string' && typeof b === 'string') return ordered(op, a, b);
  return false;
}

function ordered<T extends number | string>(op: '<' | '<=' | '>' | '>=', x: T, y: T): boolean {
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}

function isTrue(expr: Expr, vars: unknown): boolean {
  switch (expr.kind) {
    case 'literal':
    case 'path':
      return operandValue(expr, vars) === true;
    case 'not':
      return !isTrue(expr.operand, vars);
    case 'and':
      return chainOperands(expr).every((operand) => isTrue(operand, vars));
    case 'or':
      return chainOperands(expr).some((operand) => isTrue(operand, vars));
    case 'compare':
      return compare(expr.op, operandValue(expr.left, vars), operandValue(expr.right, vars));
    case 'in': {
      const value = operandValue(expr.value, vars);
      return expr.list.some((item) => strictEquals(value, item));
    }
    case 'contains':
    case 'startsWith': {
      const value = operandValue(expr.value, vars);
      if (typeof value !== 'string') return false;
      return expr.kind === 'contains' ? value.includes(expr.pattern) : value.startsWith(expr.pattern);
    }
  }
}

export function evaluateExpression(expr: Expr, vars: unknown): boolean {
  return isTrue(expr, vars) === true;
}

export function expressionPaths(expr: Expr): PathOperand[] {
  const paths: PathOperand[] = [];
  const stack: Expr[] = [expr];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    switch (node.kind) {
      case 'path':
        paths.push(node);
        break;
      case 'literal':
        break;
      case 'not':
        stack.push(node.operand);
        break;
      case 'and':
      case 'or':
      case 'compare':
        // Pushed right first so the left side is visited first: source order.
        stack.push(node.right, node.left);
        break;
      case 'in':
      case 'contains':
      case 'startsWith':
        stack.push(node.value);
        break;
    }
  }
  return paths;
}

function formatString(value: string): string {
  let out = "'";
  for (const ch of value) {
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\u007f') out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

function formatLiteral(value: Literal): string {
  return typeof value === 'string' ? formatString(value) : String(value);
}

function formatOperand(operand: Operand): string {
  return operand.kind === 'literal' ? formatLiteral(operand.value) : formatPath(operand.path);
}

function parenthesise(expr: Expr, needed: boolean): string {
  return needed ? `(${formatExpression(expr)})` : formatExpression(expr);
}

// Parentheses are added only where the grammar needs them, so the output never nests deeper than
// the source it came from and always re-parses within MAX_NESTING.
export function formatExpression(expr: Expr): string {
  switch (expr.kind) {
    case 'literal':
    case 'path':
      return formatOperand(expr);
    case 'not':
      return `!${parenthesise(expr.operand, expr.operand.kind === 'and' || expr.operand.kind === 'or')}`;
    case 'and':
    case 'or': {
      // The chain's own kind only appears as a right-hand operand here (a parenthesised group), and an `or`
      // inside an `and` always needs parens; `and` inside `or` never does.
      const isAnd = expr.kind === 'and';
      return chainOperands(expr)
        .map((operand) => parenthesise(operand, operand.kind === 'or' || (isAnd && operand.kind === 'and')))
        .join(isAnd ? ' && ' : ' || ');
    }
    case 'compare':
      return `${formatOperand(expr.left)} ${expr.op} ${formatOperand(expr.right)}`;
    case 'in':
      return `${formatOperand(expr.value)} in [${expr.list.map(formatLiteral).join(', ')}]`;
    case 'contains':
    case 'startsWith':
      return `${formatPath(expr.value.path)} ${expr.kind} ${formatString(expr.pattern)}`;
  }
}
