// Writes a designer edit back into YAML text without re-printing what the edit did not touch: the edited
// Document is compared with a fresh parse of the old text, and only the changed scalars, pairs and list
// items are spliced in (by the old nodes' source ranges). Anything it cannot place falls back to printing
// the whole Document, which still keeps every comment.
import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  Scalar,
  type ToStringOptions,
} from 'yaml';

export const PRINT_OPTIONS: ToStringOptions = {
  lineWidth: 0,
  flowCollectionPadding: false,
  doubleQuotedMinMultiLineLength: Number.POSITIVE_INFINITY,
};

interface Splice {
  from: number;
  to: number;
  insert: string;
}

type Range = [number, number, number];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function json(node: unknown): unknown {
  return node !== null && typeof node === 'object' && 'toJSON' in node ? (node as Node).toJSON() : node;
}

/** `edited` printed into `text` with the smallest changes this module can find. */
export function spliceEdit(text: string, edited: Document): string {
  const full = () => edited.toString(PRINT_OPTIONS);
  const original = parseDocument(text);
  if (original.errors.length > 0 || original.contents === null || edited.contents === null) return full();
  const col = (pos: number) => pos - (text.lastIndexOf('\n', pos - 1) + 1);
  const lineStart = (pos: number) => text.lastIndexOf('\n', pos - 1) + 1;
  const lineEnd = (pos: number) => {
    const at = text.indexOf('\n', pos);
    return at === -1 ? text.length : at;
  };
  const rangeOf = (n: unknown): Range | null => {
    const r = (n as { range?: Range | null } | null)?.range;
    return r ?? null;
  };
  const isBlock = (n: unknown) => (isMap(n) || isSeq(n)) && !n.flow;

  const print = (node: unknown, indent: number, padded = false): string => {
    const tmp = new Document();
    tmp.contents = node as Node;
    const out = tmp.toString({ ...PRINT_OPTIONS, flowCollectionPadding: padded }).replace(/\n$/, '');
    return out
      .split('\n')
      .map((line, i) => (i === 0 || line === '' ? line : ' '.repeat(indent) + line))
      .join('\n');
  };

  /** Replaces a node's text; `ownerCol` is the column of the key or dash that owns it. */
  const replace = (old: unknown, next: unknown, ownerCol: number, asItem: boolean): Splice[] | null => {
    const r = rangeOf(old);
    if (r === null) return null;
    // A list or map written inline stays inline.
    if ((isMap(old) || isSeq(old)) && old.flow && old.items.length > 0 && (isMap(next) || isSeq(next)))
      next.flow = next.items.every((item) => isScalar(isPair(item) ? item.value : item));
    const nextIsBlock =
      isBlock(next) && (isMap(next) ? next.items.length > 0 : isSeq(next) && next.items.length > 0);
    if (nextIsBlock && !isBlock(old) && !asItem) {
      const indent = ownerCol + 2;
      let from = r[0];
      while (text[from - 1] === ' ') from--;
      return [{ from, to: r[1], insert: `\n${' '.repeat(indent)}${print(next, indent)}` }];
    }
    // A flow collection written `{ a: 1 }` (padded) is printed back padded.
    const padded = (isMap(old) || isSeq(old)) && old.flow === true && text[r[0] + 1] === ' ';
    return [{ from: r[0], to: r[1], insert: print(next, col(r[0]), padded) }];
  };

  const scalar = (old: Scalar, next: Scalar, ownerCol: number): Splice[] | null => {
    const r = rangeOf(old);
    if (r === null) return null;
    const block = old.type === Scalar.BLOCK_FOLDED || old.type === Scalar.BLOCK_LITERAL;
    let insert: string;
    if (typeof next.value === 'string' && old.type === Scalar.QUOTE_DOUBLE)
      insert = JSON.stringify(next.value);
    else insert = print(next, block ? ownerCol + 2 : col(r[0]));
    if (insert.includes('\n') && !block) return null;
    let to = r[1];
    while (block && to > r[0] && text[to - 1] === '\n') to--;
    return [{ from: r[0], to, insert }];
  };

  const node = (old: unknown, next: unknown, ownerCol: number, asItem: boolean): Splice[] | null => {
    if (same(json(old), json(next))) return [];
    if (isScalar(old) && isScalar(next))
      return scalar(old, next, ownerCol) ?? replace(old, next, ownerCol, asItem);
    if (isMap(old) && isMap(next))
      return (
        map(old.items as Pair[], next.items as Pair[], old.flow === true) ??
        replace(old, next, ownerCol, asItem)
      );
    if (isSeq(old) && isSeq(next))
      return seq(old.items, next.items, old.flow === true) ?? replace(old, next, ownerCol, asItem);
    return replace(old, next, ownerCol, asItem);
  };

  const map = (old: Pair[], next: Pair[], flow: boolean): Splice[] | null => {
    const splices: Splice[] = [];
    const keyOf = (p: Pair) => String(json(p.key));
    const oldKeys = new Map(old.map((p) => [keyOf(p), p]));
    const nextKeys = new Set(next.map(keyOf));
    const first = old[0];
    const firstRange = first ? rangeOf(first.key) : null;
    const moved = renamedOrSwapped(old, next, flow, keyOf, oldKeys);
    if (moved !== undefined) return moved;
    for (const p of next) {
      const before = oldKeys.get(keyOf(p));
      if (before === undefined) continue;
      const keyRange = rangeOf(before.key);
      if (keyRange === null) return null;
      const inner = node(before.value, p.value, col(keyRange[0]), false);
      if (inner === null) return null;
      splices.push(...inner);
    }
    for (const p of old) {
      if (nextKeys.has(keyOf(p))) continue;
      if (flow) return null;
      const k = rangeOf(p.key);
      const v = rangeOf(p.value) ?? k;
      if (k === null || v === null) return null;
      // The first key of a list item shares its line with the dash: not removable line-wise.
      if (text.slice(lineStart(k[0]), k[0]).trim() !== '') return null;
      splices.push({
        from: lineStart(k[0]),
        to: Math.min(lineEnd(Math.max(v[1] - 1, k[0])) + 1, text.length),
        insert: '',
      });
    }
    const added = next.filter((p) => !oldKeys.has(keyOf(p)));
    if (added.length > 0) {
      if (flow || firstRange === null) return null;
      const last = old[old.length - 1] as Pair;
      const end = rangeOf(last.value) ?? rangeOf(last.key);
      if (end === null) return null;
      const indent = col(firstRange[0]);
      const at = lineEnd(Math.max(end[1] - 1, 0));
      // Written like the siblings: `{ a: 1 }` when theirs are padded.
      const padded = old.some((p) => {
        const r = (isMap(p.value) || isSeq(p.value)) && p.value.flow ? rangeOf(p.value) : null;
        return r !== null && text[r[0] + 1] === ' ';
      });
      const lines = added.map((p) => {
        const tmp = new Document();
        tmp.contents = tmp.createNode({});
        (tmp.contents as unknown as { items: Pair[] }).items.push(p);
        return tmp
          .toString({ ...PRINT_OPTIONS, flowCollectionPadding: padded })
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => (l === '' ? l : ' '.repeat(indent) + l))
          .join('\n');
      });
      splices.push({ from: at, to: at, insert: `\n${lines.join('\n')}` });
    }
    return splices;
  };

  /** The text of a block map's pair, from the start of its key's line to the end of its value's. */
  const pairSpan = (p: Pair): [number, number] | null => {
    const k = rangeOf(p.key);
    const v = rangeOf(p.value) ?? k;
    if (k === null || v === null || text.slice(lineStart(k[0]), k[0]).trim() !== '') return null;
    return [lineStart(k[0]), Math.min(lineEnd(Math.max(v[1] - 1, k[0])) + 1, text.length)];
  };

  /**
   * A block map whose keys changed only by one key renamed in place or two neighbouring pairs swapped
   * (a renamed or moved input): the key, or the two pairs' text, is spliced; undefined for other changes.
   */
  const renamedOrSwapped = (
    old: Pair[],
    next: Pair[],
    flow: boolean,
    keyOf: (p: Pair) => string,
    oldKeys: Map<string, Pair>,
  ): Splice[] | null | undefined => {
    if (flow || old.length !== next.length) return undefined;
    const diff = old.map((p, i) => (keyOf(p) === keyOf(next[i] as Pair) ? -1 : i)).filter((i) => i !== -1);
    const [i, j] = diff as [number, number];
    const renamed = diff.length === 1 && !oldKeys.has(keyOf(next[i] as Pair));
    const swapped =
      diff.length === 2 &&
      j === i + 1 &&
      keyOf(old[i] as Pair) === keyOf(next[j] as Pair) &&
      keyOf(old[j] as Pair) === keyOf(next[i] as Pair);
    if (!renamed && !swapped) return undefined;
    const splices: Splice[] = [];
    for (let n = 0; n < old.length; n++) {
      if (swapped && (n === i || n === j)) continue;
      const before = old[n] as Pair;
      const after = next[n] as Pair;
      const k = rangeOf(before.key);
      if (k === null) return null;
      if (renamed && n === i) {
        if (!isScalar(before.key) || !isScalar(after.key)) return null;
        splices.push({ from: k[0], to: k[1], insert: print(after.key, 0) });
      }
      const inner = node(before.value, after.value, col(k[0]), false);
      if (inner === null) return null;
      splices.push(...inner);
    }
    if (swapped) {
      const a = old[i] as Pair;
      const b = old[j] as Pair;
      if (
        !same(json(a.value), json((next[j] as Pair).value)) ||
        !same(json(b.value), json((next[i] as Pair).value))
      )
        return null;
      const sa = pairSpan(a);
      const sb = pairSpan(b);
      if (sa === null || sb === null || sa[1] > sb[0]) return null;
      if (sb[1] === text.length && !text.endsWith('\n')) return null;
      const slice = (s: [number, number]) => text.slice(s[0], s[1]);
      splices.push({ from: sa[0], to: sb[1], insert: slice(sb) + text.slice(sa[1], sb[0]) + slice(sa) });
    }
    return splices;
  };

  const itemSpan = (item: unknown): [number, number] | null => {
    const r = rangeOf(item);
    if (r === null) return null;
    const dash = text.lastIndexOf('-', r[0]);
    const from = lineStart(dash);
    return [from, Math.min(lineEnd(Math.max(r[1] - 1, r[0])) + 1, text.length)];
  };

  const seq = (old: unknown[], next: unknown[], flow: boolean): Splice[] | null => {
    if (old.length === next.length) {
      const differing = old.map((o, i) => !same(json(o), json(next[i])));
      const swapAt = differing.indexOf(true);
      if (
        !flow &&
        swapAt !== -1 &&
        differing.filter(Boolean).length === 2 &&
        differing[swapAt + 1] === true &&
        same(json(old[swapAt]), json(next[swapAt + 1])) &&
        same(json(old[swapAt + 1]), json(next[swapAt]))
      ) {
        const a = itemSpan(old[swapAt]);
        const b = itemSpan(old[swapAt + 1]);
        if (a === null || b === null || a[1] > b[0]) return null;
        if (b[1] === text.length && !text.endsWith('\n')) return null;
        const slice = (s: [number, number]) => text.slice(s[0], s[1]);
        return [{ from: a[0], to: b[1], insert: slice(b) + text.slice(a[1], b[0]) + slice(a) }];
      }
      const splices: Splice[] = [];
      for (let i = 0; i < old.length; i++) {
        const r = rangeOf(old[i]);
        if (r === null) return null;
        const inner = node(old[i], next[i], Math.max(col(r[0]) - 2, 0), true);
        if (inner === null) return null;
        splices.push(...inner);
      }
      return splices;
    }
    if (flow) return null;
    if (next.length > old.length) {
      if (old.length === 0) return null;
      const splices = seq(old, next.slice(0, old.length), false);
      if (splices === null) return null;
      const lastSpan = itemSpan(old[old.length - 1]);
      const lastRange = rangeOf(old[old.length - 1]);
      if (lastSpan === null || lastRange === null) return null;
      const dashCol = col(text.lastIndexOf('-', lastRange[0]));
      const at = lineEnd(Math.max(lastRange[1] - 1, lastRange[0]));
      const items = next.slice(old.length).map((n) => `${' '.repeat(dashCol)}- ${print(n, dashCol + 2)}`);
      splices.push({ from: at, to: at, insert: `\n${items.join('\n')}` });
      return splices;
    }
    // Items removed: found by their ids (steps) or their values; the rest are matched in order.
    const removed = old.length - next.length;
    const identity = (n: unknown) => {
      const value = json(n);
      const id = value !== null && typeof value === 'object' ? (value as { id?: unknown }).id : undefined;
      return typeof id === 'string' ? `id:${id}` : JSON.stringify(value);
    };
    const kept = new Set(next.map(identity));
    const gone = old.map((o, i) => (kept.has(identity(o)) ? -1 : i)).filter((i) => i !== -1);
    const start = gone[0];
    if (start === undefined || gone.length !== removed || gone[gone.length - 1] !== start + removed - 1)
      return null;
    const rest = [...old.slice(0, start), ...old.slice(start + removed)];
    const splices = seq(rest, next, false);
    const first = itemSpan(old[start]);
    const last = itemSpan(old[start + removed - 1]);
    if (splices === null || first === null || last === null) return null;
    return [...splices, { from: first[0], to: last[1], insert: '' }];
  };

  const splices = node(original.contents, edited.contents, 0, false);
  if (splices === null) return full();
  let out = text;
  for (const s of [...splices].sort((a, b) => b.from - a.from))
    out = out.slice(0, s.from) + s.insert + out.slice(s.to);
  const check = parseDocument(out);
  if (check.errors.length > 0 || !same(check.toJS(), edited.toJS())) return full();
  return out;
}
