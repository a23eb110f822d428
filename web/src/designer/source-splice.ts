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

function keyOf(p: Pair): string {
  return String(json(p.key));
}

/** `edited` printed into `text` with the smallest changes this module can find. */
export function spliceEdit(text: string, edited: Document): string {
  const full = () => edited.toString(PRINT_OPTIONS);
  const original = parseDocument(text);
  if (original.errors.length > 0 || original.contents === null || edited.contents === null) return full();
  const splices = new Splicer(text).node(original.contents, edited.contents, 0, false);
  if (splices === null) return full();
  let out = text;
  for (const s of [...splices].sort((a, b) => b.from - a.from))
    out = out.slice(0, s.from) + s.insert + out.slice(s.to);
  const check = parseDocument(out);
  if (check.errors.length > 0 || !same(check.toJS(), edited.toJS())) return full();
  return out;
}

function rangeOf(n: unknown): Range | null {
  const r = (n as { range?: Range | null } | null)?.range;
  return r ?? null;
}

function isBlock(n: unknown): boolean {
  return (isMap(n) || isSeq(n)) && !n.flow;
}

/** Swaps two neighbouring spans of `text` (a list's items, a map's pairs), keeping what lies between. */
function swapSpans(text: string, a: [number, number], b: [number, number]): Splice[] | null {
  if (a[1] > b[0]) return null;
  if (b[1] === text.length && !text.endsWith('\n')) return null;
  const slice = (s: [number, number]) => text.slice(s[0], s[1]);
  return [{ from: a[0], to: b[1], insert: slice(b) + text.slice(a[1], b[0]) + slice(a) }];
}

/**
 * The splices that turn the old text's nodes into the edited ones, one method per kind of node and
 * change; null where a change cannot be placed (the caller then prints the whole Document).
 */
class Splicer {
  constructor(private readonly text: string) {}

  private col(pos: number): number {
    return pos - (this.text.lastIndexOf('\n', pos - 1) + 1);
  }

  private lineStart(pos: number): number {
    return this.text.lastIndexOf('\n', pos - 1) + 1;
  }

  private lineEnd(pos: number): number {
    const at = this.text.indexOf('\n', pos);
    return at === -1 ? this.text.length : at;
  }

  private print(node: unknown, indent: number, padded = false): string {
    const tmp = new Document();
    tmp.contents = node as Node;
    const out = tmp.toString({ ...PRINT_OPTIONS, flowCollectionPadding: padded }).replace(/\n$/, '');
    return out
      .split('\n')
      .map((line, i) => (i === 0 || line === '' ? line : ' '.repeat(indent) + line))
      .join('\n');
  }

  /** The splices for one node; `ownerCol` is the column of the key or dash that owns it. */
  node(old: unknown, next: unknown, ownerCol: number, asItem: boolean): Splice[] | null {
    if (same(json(old), json(next))) return [];
    if (isScalar(old) && isScalar(next))
      return this.scalar(old, next, ownerCol) ?? this.replace(old, next, ownerCol, asItem);
    if (isMap(old) && isMap(next))
      return (
        this.map(old.items as Pair[], next.items as Pair[], old.flow === true) ??
        this.replace(old, next, ownerCol, asItem)
      );
    if (isSeq(old) && isSeq(next))
      return this.seq(old.items, next.items, old.flow === true) ?? this.replace(old, next, ownerCol, asItem);
    return this.replace(old, next, ownerCol, asItem);
  }

  /** Replaces a node's text; `ownerCol` is the column of the key or dash that owns it. */
  private replace(old: unknown, next: unknown, ownerCol: number, asItem: boolean): Splice[] | null {
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
      while (this.text[from - 1] === ' ') from--;
      return [{ from, to: r[1], insert: `\n${' '.repeat(indent)}${this.print(next, indent)}` }];
    }
    // A flow collection written `{ a: 1 }` (padded) is printed back padded.
    const padded = (isMap(old) || isSeq(old)) && old.flow === true && this.text[r[0] + 1] === ' ';
    return [{ from: r[0], to: r[1], insert: this.print(next, this.col(r[0]), padded) }];
  }

  private scalar(old: Scalar, next: Scalar, ownerCol: number): Splice[] | null {
    const r = rangeOf(old);
    if (r === null) return null;
    const block = old.type === Scalar.BLOCK_FOLDED || old.type === Scalar.BLOCK_LITERAL;
    let insert: string;
    if (typeof next.value === 'string' && old.type === Scalar.QUOTE_DOUBLE)
      insert = JSON.stringify(next.value);
    else insert = this.print(next, block ? ownerCol + 2 : this.col(r[0]));
    if (insert.includes('\n') && !block) return null;
    let to = r[1];
    while (block && to > r[0] && this.text[to - 1] === '\n') to--;
    return [{ from: r[0], to, insert }];
  }

  /** A map's pairs: kept pairs diffed, removed ones cut line-wise, added ones written after the last. */
  private map(old: Pair[], next: Pair[], flow: boolean): Splice[] | null {
    const oldKeys = new Map(old.map((p) => [keyOf(p), p]));
    const moved = this.renamedOrSwapped(old, next, flow, oldKeys);
    if (moved !== undefined) return moved;
    const kept = this.keptPairs(next, oldKeys);
    const removed = kept === null ? null : this.removedPairs(old, next, flow);
    const added = removed === null ? null : this.addedPairs(old, next, flow, oldKeys);
    return kept === null || removed === null || added === null ? null : [...kept, ...removed, ...added];
  }

  private keptPairs(next: Pair[], oldKeys: Map<string, Pair>): Splice[] | null {
    const splices: Splice[] = [];
    for (const p of next) {
      const before = oldKeys.get(keyOf(p));
      if (before === undefined) continue;
      const keyRange = rangeOf(before.key);
      if (keyRange === null) return null;
      const inner = this.node(before.value, p.value, this.col(keyRange[0]), false);
      if (inner === null) return null;
      splices.push(...inner);
    }
    return splices;
  }

  private removedPairs(old: Pair[], next: Pair[], flow: boolean): Splice[] | null {
    const nextKeys = new Set(next.map(keyOf));
    const splices: Splice[] = [];
    for (const p of old) {
      if (nextKeys.has(keyOf(p))) continue;
      if (flow) return null;
      const k = rangeOf(p.key);
      const v = rangeOf(p.value) ?? k;
      if (k === null || v === null) return null;
      // The first key of a list item shares its line with the dash: not removable line-wise.
      if (this.text.slice(this.lineStart(k[0]), k[0]).trim() !== '') return null;
      splices.push({
        from: this.lineStart(k[0]),
        to: Math.min(this.lineEnd(Math.max(v[1] - 1, k[0])) + 1, this.text.length),
        insert: '',
      });
    }
    return splices;
  }

  private addedPairs(old: Pair[], next: Pair[], flow: boolean, oldKeys: Map<string, Pair>): Splice[] | null {
    const added = next.filter((p) => !oldKeys.has(keyOf(p)));
    if (added.length === 0) return [];
    const first = old[0];
    const firstRange = first ? rangeOf(first.key) : null;
    if (flow || firstRange === null) return null;
    const last = old[old.length - 1] as Pair;
    const end = rangeOf(last.value) ?? rangeOf(last.key);
    if (end === null) return null;
    const indent = this.col(firstRange[0]);
    const at = this.lineEnd(Math.max(end[1] - 1, 0));
    // Written like the siblings: `{ a: 1 }` when theirs are padded.
    const padded = old.some((p) => {
      const r = (isMap(p.value) || isSeq(p.value)) && p.value.flow ? rangeOf(p.value) : null;
      return r !== null && this.text[r[0] + 1] === ' ';
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
    return [{ from: at, to: at, insert: `\n${lines.join('\n')}` }];
  }

  /** The text of a block map's pair, from the start of its key's line to the end of its value's. */
  private pairSpan(p: Pair): [number, number] | null {
    const k = rangeOf(p.key);
    const v = rangeOf(p.value) ?? k;
    if (k === null || v === null || this.text.slice(this.lineStart(k[0]), k[0]).trim() !== '') return null;
    return [this.lineStart(k[0]), Math.min(this.lineEnd(Math.max(v[1] - 1, k[0])) + 1, this.text.length)];
  }

  /**
   * A block map whose keys changed only by one key renamed in place or two neighbouring pairs swapped
   * (a renamed or moved input): the key, or the two pairs' text, is spliced; undefined for other changes.
   */
  private renamedOrSwapped(
    old: Pair[],
    next: Pair[],
    flow: boolean,
    oldKeys: Map<string, Pair>,
  ): Splice[] | null | undefined {
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
        splices.push({ from: k[0], to: k[1], insert: this.print(after.key, 0) });
      }
      const inner = this.node(before.value, after.value, this.col(k[0]), false);
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
      const sa = this.pairSpan(a);
      const sb = this.pairSpan(b);
      const swap = sa === null || sb === null ? null : swapSpans(this.text, sa, sb);
      if (swap === null) return null;
      splices.push(...swap);
    }
    return splices;
  }

  private itemSpan(item: unknown): [number, number] | null {
    const r = rangeOf(item);
    if (r === null) return null;
    const dash = this.text.lastIndexOf('-', r[0]);
    const from = this.lineStart(dash);
    return [from, Math.min(this.lineEnd(Math.max(r[1] - 1, r[0])) + 1, this.text.length)];
  }

  /** A list's items: diffed in place, two neighbours swapped, items appended, or a run of items removed. */
  private seq(old: unknown[], next: unknown[], flow: boolean): Splice[] | null {
    if (old.length === next.length) return this.seqSameLength(old, next, flow);
    if (flow) return null;
    if (next.length > old.length) return this.seqAppended(old, next);
    return this.seqRemoved(old, next);
  }

  private seqSameLength(old: unknown[], next: unknown[], flow: boolean): Splice[] | null {
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
      const a = this.itemSpan(old[swapAt]);
      const b = this.itemSpan(old[swapAt + 1]);
      return a === null || b === null ? null : swapSpans(this.text, a, b);
    }
    const splices: Splice[] = [];
    for (let i = 0; i < old.length; i++) {
      const r = rangeOf(old[i]);
      if (r === null) return null;
      const inner = this.node(old[i], next[i], Math.max(this.col(r[0]) - 2, 0), true);
      if (inner === null) return null;
      splices.push(...inner);
    }
    return splices;
  }

  private seqAppended(old: unknown[], next: unknown[]): Splice[] | null {
    if (old.length === 0) return null;
    const splices = this.seq(old, next.slice(0, old.length), false);
    if (splices === null) return null;
    const lastSpan = this.itemSpan(old[old.length - 1]);
    const lastRange = rangeOf(old[old.length - 1]);
    if (lastSpan === null || lastRange === null) return null;
    const dashCol = this.col(this.text.lastIndexOf('-', lastRange[0]));
    const at = this.lineEnd(Math.max(lastRange[1] - 1, lastRange[0]));
    const items = next.slice(old.length).map((n) => `${' '.repeat(dashCol)}- ${this.print(n, dashCol + 2)}`);
    splices.push({ from: at, to: at, insert: `\n${items.join('\n')}` });
    return splices;
  }

  /** Items removed: found by their ids (steps) or their values; the rest are matched in order. */
  private seqRemoved(old: unknown[], next: unknown[]): Splice[] | null {
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
    const splices = this.seq(rest, next, false);
    const first = this.itemSpan(old[start]);
    const last = this.itemSpan(old[start + removed - 1]);
    if (splices === null || first === null || last === null) return null;
    return [...splices, { from: first[0], to: last[1], insert: '' }];
  }
}
