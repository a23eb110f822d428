// Sets of variable names as bit sets over a fixed universe, for the "set on every path" analysis in
// graph.ts: a chain of n steps that each add a result would copy an ever larger Set per step (O(n²)
// inserts); copying, intersecting and comparing bit words keeps each step to a few dozen word operations.

/** The names a set may hold, each given a bit. */
export class VarUniverse {
  private readonly bits = new Map<string, number>();

  constructor(names: Iterable<string>) {
    for (const name of names) if (!this.bits.has(name)) this.bits.set(name, this.bits.size);
  }

  get words(): number {
    return Math.ceil(this.bits.size / 32);
  }

  bit(name: string): number | undefined {
    return this.bits.get(name);
  }

  empty(): VarSet {
    return new VarSet(this, new Uint32Array(this.words));
  }
}

/** An immutable set of names of one universe; the operations return `this` or a new set. */
export class VarSet {
  constructor(
    private readonly universe: VarUniverse,
    private readonly words: Uint32Array,
  ) {}

  has(name: string): boolean {
    const bit = this.universe.bit(name);
    return bit !== undefined && ((this.words[bit >>> 5] ?? 0) & (1 << (bit & 31))) !== 0;
  }

  /** This set with `names` added (each must belong to the universe); `this` when it holds them all. */
  with(names: readonly string[]): VarSet {
    if (names.every((name) => this.has(name))) return this;
    const words = this.words.slice();
    for (const name of names) {
      const bit = this.universe.bit(name);
      if (bit === undefined) throw new Error(`variable '${name}' is not in the analysed universe`);
      words[bit >>> 5] = (words[bit >>> 5] ?? 0) | (1 << (bit & 31));
    }
    return new VarSet(this.universe, words);
  }

  intersect(other: VarSet): VarSet {
    if (other === this) return this;
    const words = this.words.slice();
    for (let i = 0; i < words.length; i++) words[i] = (words[i] ?? 0) & (other.words[i] ?? 0);
    return new VarSet(this.universe, words);
  }

  union(other: VarSet): VarSet {
    if (other === this) return this;
    const words = this.words.slice();
    for (let i = 0; i < words.length; i++) words[i] = (words[i] ?? 0) | (other.words[i] ?? 0);
    const added = new VarSet(this.universe, words);
    return added.equals(this) ? this : added;
  }

  equals(other: VarSet): boolean {
    if (other === this) return true;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }
}
