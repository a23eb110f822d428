// The GCP Workflows expression language (`${...}`) for the test oracle: the subset the GCP compiler emits
// — literals, variables with `.key` and `[index]` access, list and map literals, `and or not`, comparisons,
// `in`, `+ - * /`, and the functions default, if, get_type, len, keys, string, int, json.encode_to_string,
// map.get, map.delete, text.find_substring. Errors are raised as GCP does: maps with `message` and `tags`.

export type GcpValue = null | boolean | number | string | GcpValue[] | { [key: string]: GcpValue };

/** An exception inside the workflow: what `raise` raised, or a runtime error map with `tags`. */
export class GcpRaise extends Error {
  constructor(readonly value: GcpValue) {
    super(typeof value === 'string' ? value : JSON.stringify(value));
  }
}

export function runtimeError(tag: string, message: string): GcpRaise {
  return new GcpRaise({ message, tags: [tag] });
}

type Token =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'eof' };

const OPS = [
  '==',
  '!=',
  '<=',
  '>=',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  ':',
];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      while (j < src.length && src.charAt(j) !== '"') j += src.charAt(j) === '\\' ? 2 : 1;
      out.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
      continue;
    }
    const num = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i));
    if (num !== null) {
      out.push({ t: 'num', v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id !== null) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw runtimeError('SyntaxError', `unexpected '${ch}' in expression ${src}`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'eof' });
  return out;
}

export function typeOf(value: GcpValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'double';
  if (typeof value === 'object') return 'map';
  return typeof value;
}

function isMap(value: GcpValue): value is { [key: string]: GcpValue } {
  return typeOf(value) === 'map';
}

function equal(a: GcpValue, b: GcpValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  if (typeOf(a) !== typeOf(b)) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function member(container: GcpValue, key: GcpValue): GcpValue {
  if (Array.isArray(container)) {
    if (typeof key !== 'number' || !Number.isInteger(key))
      throw runtimeError('TypeError', 'list index must be an integer');
    if (key < 0 || key >= container.length)
      throw runtimeError('IndexError', `list index ${key} out of range`);
    return container[key] ?? null;
  }
  if (isMap(container)) {
    if (typeof key !== 'string') throw runtimeError('TypeError', 'map key must be a string');
    if (!Object.hasOwn(container, key)) throw runtimeError('KeyError', `key not found: ${key}`);
    return container[key] ?? null;
  }
  throw runtimeError('TypeError', `cannot read ${JSON.stringify(key)} of ${typeOf(container)}`);
}

const FUNCTIONS: Record<string, (args: GcpValue[]) => GcpValue> = {
  default: ([a, b]) => (a === null || a === undefined ? (b ?? null) : a),
  if: ([c, a, b]) => {
    if (typeof c !== 'boolean') throw runtimeError('TypeError', 'if() needs a boolean condition');
    return c ? (a ?? null) : (b ?? null);
  },
  get_type: ([a]) => typeOf(a ?? null),
  len: ([a]) => {
    if (typeof a === 'string') return [...a].length;
    if (Array.isArray(a)) return a.length;
    if (a !== undefined && isMap(a)) return Object.keys(a).length;
    throw runtimeError('TypeError', 'len() of a non-collection');
  },
  keys: ([a]) => {
    if (a === undefined || !isMap(a)) throw runtimeError('TypeError', 'keys() of a non-map');
    return Object.keys(a);
  },
  string: ([a]) => {
    if (typeof a === 'string') return a;
    if (typeof a === 'number' || typeof a === 'boolean') return String(a);
    throw runtimeError('TypeError', 'string() of a non-scalar');
  },
  int: ([a]) => {
    if (typeof a === 'number') return Math.trunc(a);
    if (typeof a === 'string' && /^-?[0-9]+$/.test(a)) return Number(a);
    throw runtimeError('ValueError', 'int() of a non-number');
  },
  'json.encode_to_string': ([a]) => JSON.stringify(a ?? null),
  'map.get': ([m, k]) => {
    if (m === undefined || !isMap(m)) throw runtimeError('TypeError', 'map.get() of a non-map');
    const keys = Array.isArray(k) ? k : [k ?? null];
    let current: GcpValue = m;
    for (const key of keys) {
      if (typeof key !== 'string') throw runtimeError('TypeError', 'map.get() key must be a string');
      if (!isMap(current)) throw runtimeError('TypeError', 'map.get() through a non-map');
      if (!Object.hasOwn(current, key)) return null;
      current = current[key] ?? null;
    }
    return current;
  },
  'map.delete': ([m, k]) => {
    if (m === undefined || !isMap(m) || typeof k !== 'string')
      throw runtimeError('TypeError', 'map.delete()');
    const { [k]: _removed, ...rest } = m;
    return rest;
  },
  'text.find_substring': ([s, sub]) => {
    if (typeof s !== 'string' || typeof sub !== 'string')
      throw runtimeError('TypeError', 'text.find_substring()');
    const index = s.indexOf(sub);
    return index === -1 ? -1 : [...s.slice(0, index)].length;
  },
};

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly lookup: (name: string) => GcpValue,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos] ?? { t: 'eof' };
  }

  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }

  private isWord(v: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v === v;
  }

  private expect(v: string): void {
    if (!this.isOp(v)) throw runtimeError('SyntaxError', `expected '${v}'`);
    this.pos++;
  }

  parse(): GcpValue {
    const value = this.or();
    if (this.peek().t !== 'eof') throw runtimeError('SyntaxError', 'trailing tokens in expression');
    return value;
  }

  // Evaluated as it parses: `and`/`or` evaluate both sides (no short-circuit is assumed by the compiler).
  private or(): GcpValue {
    let left = this.and();
    while (this.isWord('or')) {
      this.pos++;
      const right = this.and();
      left = bool(left) || bool(right);
    }
    return left;
  }

  private and(): GcpValue {
    let left = this.not();
    while (this.isWord('and')) {
      this.pos++;
      const right = this.not();
      left = bool(left) && bool(right);
    }
    return left;
  }

  private not(): GcpValue {
    if (this.isWord('not')) {
      this.pos++;
      return !bool(this.not());
    }
    return this.comparison();
  }

  private comparison(): GcpValue {
    const left = this.additive();
    const t = this.peek();
    if (t.t === 'id' && t.v === 'in') {
      this.pos++;
      const right = this.additive();
      if (Array.isArray(right)) return right.some((item) => equal(item, left));
      if (isMap(right) && typeof left === 'string') return Object.hasOwn(right, left);
      throw runtimeError('TypeError', "'in' needs a list or a map");
    }
    if (t.t !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.v)) return left;
    this.pos++;
    const right = this.additive();
    if (t.v === '==') return equal(left, right);
    if (t.v === '!=') return !equal(left, right);
    const numbers = typeof left === 'number' && typeof right === 'number';
    const strings = typeof left === 'string' && typeof right === 'string';
    if (!numbers && !strings)
      throw runtimeError('TypeError', `cannot compare ${typeOf(left)} with ${typeOf(right)}`);
    const a = left as number | string;
    const b = right as number | string;
    if (t.v === '<') return a < b;
    if (t.v === '<=') return a <= b;
    if (t.v === '>') return a > b;
    return a >= b;
  }

  private additive(): GcpValue {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.tokens[this.pos++] as { v: string }).v;
      const right = this.multiplicative();
      if (op === '+' && typeof left === 'string' && typeof right === 'string') left = left + right;
      else if (typeof left === 'number' && typeof right === 'number')
        left = op === '+' ? left + right : left - right;
      else throw runtimeError('TypeError', `cannot apply '${op}' to ${typeOf(left)} and ${typeOf(right)}`);
    }
    return left;
  }

  private multiplicative(): GcpValue {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = (this.tokens[this.pos++] as { v: string }).v;
      const right = this.unary();
      if (typeof left !== 'number' || typeof right !== 'number')
        throw runtimeError('TypeError', `cannot apply '${op}' to non-numbers`);
      if (op === '/' && right === 0) throw runtimeError('ZeroDivisionError', 'division by zero');
      left = op === '*' ? left * right : left / right;
    }
    return left;
  }

  private unary(): GcpValue {
    if (this.isOp('-')) {
      this.pos++;
      const value = this.unary();
      if (typeof value !== 'number') throw runtimeError('TypeError', 'negation of a non-number');
      return -value;
    }
    return this.postfix(this.primary());
  }

  private postfix(value: GcpValue): GcpValue {
    let current = value;
    for (;;) {
      if (this.isOp('[')) {
        this.pos++;
        const key = this.or();
        this.expect(']');
        current = member(current, key);
      } else if (this.isOp('.')) {
        this.pos++;
        const t = this.peek();
        if (t.t !== 'id') throw runtimeError('SyntaxError', 'expected a key after .');
        this.pos++;
        current = member(current, t.v);
      } else return current;
    }
  }

  private primary(): GcpValue {
    const t = this.peek();
    this.pos++;
    if (t.t === 'num' || t.t === 'str') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const value = this.or();
      this.expect(')');
      return value;
    }
    if (t.t === 'op' && t.v === '[') {
      const items: GcpValue[] = [];
      while (!this.isOp(']')) {
        items.push(this.or());
        if (!this.isOp(']')) this.expect(',');
      }
      this.pos++;
      return items;
    }
    if (t.t === 'op' && t.v === '{') {
      const map: { [key: string]: GcpValue } = {};
      while (!this.isOp('}')) {
        const key = this.peek();
        if (key.t !== 'str') throw runtimeError('SyntaxError', 'map keys must be strings');
        this.pos++;
        this.expect(':');
        Object.defineProperty(map, key.v, {
          value: this.or(),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        if (!this.isOp('}')) this.expect(',');
      }
      this.pos++;
      return map;
    }
    if (t.t !== 'id') throw runtimeError('SyntaxError', 'unexpected token');
    if (t.v === 'true') return true;
    if (t.v === 'false') return false;
    if (t.v === 'null') return null;
    // A dotted function name (map.get) or a variable.
    let name = t.v;
    const save = this.pos;
    while (this.isOp('.') && this.tokens[this.pos + 1]?.t === 'id') {
      const next = this.tokens[this.pos + 1] as { v: string };
      if (
        FUNCTIONS[`${name}.${next.v}`] === undefined &&
        !Object.keys(FUNCTIONS).some((f) => f.startsWith(`${name}.${next.v}.`))
      )
        break;
      name = `${name}.${next.v}`;
      this.pos += 2;
    }
    if (this.isOp('(')) {
      const fn = FUNCTIONS[name];
      if (fn === undefined) throw runtimeError('SyntaxError', `unknown function ${name}`);
      this.pos++;
      const args: GcpValue[] = [];
      while (!this.isOp(')')) {
        args.push(this.or());
        if (!this.isOp(')')) this.expect(',');
      }
      this.pos++;
      return fn(args);
    }
    this.pos = save;
    return this.lookup(t.v);
  }
}

function bool(value: GcpValue): boolean {
  if (typeof value !== 'boolean') throw runtimeError('TypeError', `expected a boolean, got ${typeOf(value)}`);
  return value;
}

export function evaluate(source: string, lookup: (name: string) => GcpValue): GcpValue {
  return new Parser(tokenize(source), lookup).parse();
}
