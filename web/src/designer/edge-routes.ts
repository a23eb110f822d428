// Edge routing for the flow graph: every edge leaves its step's handle downwards and reaches its target
// from above along horizontal and vertical segments that go around the other steps of its list (never
// under one), and every branch out of a choice gets a label that says which branch it is. Pure geometry
// over the layout's boxes, so the canvas, the run page's graph and the tests share one answer.
import { JUMP_KEYS, type StepType } from './definition-model.js';
import type { FlowModel, GraphEdge, GraphNode } from './graph-model.js';
import type { Box, Point } from './layout.js';

/** Room kept between an edge and a step it passes, and the length of the straight bit at each end. */
const GAP = 16;
const STUB = 14;
/** Cost of a bend, in pixels of length: fewer bends read better than slightly shorter lines. */
const BEND = 40;
/** Extra cost per pixel on a stretch another edge (to another target) already runs along, or close beside. */
const SHARED = 3;
const NEAR = 6;

/** The stretches already routed, by direction and position, with the target each leads to. */
type Used = Map<number, Array<{ at: number; lo: number; hi: number; target: string }>>;

/** A stretch as its direction and position (key of its bucket: even horizontal, odd vertical) and extent. */
function stretch(
  p: Point,
  q: Point,
): { key: (bucket: number) => number; at: number; lo: number; hi: number } {
  const horizontal = p.y === q.y;
  const at = horizontal ? p.y : p.x;
  const lo = horizontal ? Math.min(p.x, q.x) : Math.min(p.y, q.y);
  const hi = horizontal ? Math.max(p.x, q.x) : Math.max(p.y, q.y);
  return { key: (bucket) => bucket * 2 + (horizontal ? 0 : 1), at, lo, hi };
}

/** How long p–q runs along (or within NEAR of) a stretch that leads elsewhere. */
function sharedLength(used: Used, p: Point, q: Point, target: string): number {
  if (used.size === 0) return 0;
  const s = stretch(p, q);
  const bucket = Math.floor(s.at / NEAR);
  let shared = 0;
  for (let b = bucket - 1; b <= bucket + 1; b++)
    for (const u of used.get(s.key(b)) ?? [])
      if (u.target !== target && Math.abs(u.at - s.at) < NEAR)
        shared += Math.max(0, Math.min(s.hi, u.hi) - Math.max(s.lo, u.lo));
  return shared;
}

function markUsed(used: Used, p: Point, q: Point, target: string): void {
  const s = stretch(p, q);
  const key = s.key(Math.floor(s.at / NEAR));
  used.set(key, [...(used.get(key) ?? []), { at: s.at, lo: s.lo, hi: s.hi, target }]);
}

export interface EdgeRoute {
  /** The route from the source handle to the target handle, corners only. */
  points: Point[];
  /** What the edge says, or null for a plain next step. */
  label: string | null;
  /** Where along the route (pixels from the source) its label sits. */
  labelDistance: number;
  /** How far the label is moved sideways from there: outwards, so long labels of neighbours do not meet. */
  labelShift: number;
}

/** About how wide a label is drawn (11 px text). */
const labelWidth = (label: string) => label.length * 6.2 + 8;

/** Absolute boxes (the layout's are relative to their parent). */
export function absoluteBoxes(flow: FlowModel, boxes: Map<string, Box>): Map<string, Box> {
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  const out = new Map<string, Box>();
  const at = (id: string): Box | undefined => {
    const known = out.get(id);
    if (known) return known;
    const box = boxes.get(id);
    const n = byId.get(id);
    if (!box || !n) return undefined;
    const parent = n.parent === null ? undefined : at(n.parent);
    const abs = parent ? { ...box, x: box.x + parent.x, y: box.y + parent.y } : box;
    out.set(id, abs);
    return abs;
  };
  for (const n of flow.nodes) at(n.id);
  return out;
}

/** The out-handles a node has, left to right (as the cards draw them). */
export function outKeys(n: GraphNode): readonly string[] {
  if (n.kind === 'start') return ['start'];
  if (n.kind !== 'step' || !n.step?.type) return [];
  return JUMP_KEYS[n.step.type as StepType];
}

/** Where a node's out-handle `key` sits: on its bottom edge, spread evenly. */
export function handlePoint(n: GraphNode, box: Box, key: string): Point {
  const keys = outKeys(n);
  const i = Math.max(0, keys.indexOf(key));
  return {
    x: Math.round(box.x + (box.width * (i + 1)) / (keys.length + 1)),
    y: Math.round(box.y + box.height),
  };
}

const OUTCOME: Record<string, string> = {
  onError: 'on error',
  onReject: 'rejected',
  onTimeout: 'timed out',
  else: 'else',
};

/** The label of an edge: the condition / "else", an approval's outcome, an error path; null for a plain next. */
export function edgeLabel(source: GraphNode | undefined, edge: GraphEdge, outDegree: number): string | null {
  const step = source?.step;
  if (!step || edge.key === 'start') return null;
  if (edge.key === 'then') {
    const condition = typeof step.step.if === 'string' && step.step.if !== '' ? step.step.if : 'then';
    return condition.length > 40 ? `${condition.slice(0, 39)}…` : condition;
  }
  const outcome = OUTCOME[edge.key];
  if (outcome) return outcome;
  if (step.type === 'approval') return 'approved';
  if (outDegree < 2) return null;
  if (step.type === 'parallel') {
    const require = step.step.require;
    return typeof require === 'number' ? `${require} done` : 'all done';
  }
  return step.type === 'notify' ? 'sent' : 'ok';
}

/** Routes of every edge of the graph, by edge id (absolute coordinates). */
export function routeEdges(flow: FlowModel, boxes: Map<string, Box>): Map<string, EdgeRoute> {
  const abs = absoluteBoxes(flow, boxes);
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  const degree = new Map<string, number>();
  for (const e of flow.edges) degree.set(e.source, (degree.get(e.source) ?? 0) + 1);
  const used: Used = new Map();
  const routes = new Map<string, EdgeRoute>();
  // Choice edges first, so they get the clearest paths; then the rest in order.
  const order = [...flow.edges].sort((a, b) => Number(b.key !== 'next') - Number(a.key !== 'next'));
  for (const e of order) {
    const source = byId.get(e.source);
    const from = abs.get(e.source);
    const to = abs.get(e.target);
    if (!source || !from || !to) continue;
    const obstacles = flow.nodes
      .filter((n) => n.kind !== 'lane' && n.parent === source.parent)
      .map((n) => abs.get(n.id))
      .filter((b): b is Box => b !== undefined);
    const start = handlePoint(source, from, e.key);
    const end = { x: Math.round(to.x + to.width / 2), y: Math.round(to.y) };
    const keys = outKeys(source);
    const index = keys.indexOf(e.key);
    const middle = routeBetween(
      { x: start.x, y: start.y + STUB },
      { x: end.x, y: end.y - STUB },
      obstacles,
      used,
      e.target,
    );
    const points = simplify([start, ...middle, end]);
    const label = edgeLabel(source, e, degree.get(e.source) ?? 0);
    // Beside the handle, so a label is read with its branch; every other one lower, the outer ones
    // pushed outwards by what they are wider than the room between handles.
    const room = from.width / (keys.length + 1);
    const overflow = label === null ? 0 : Math.max(0, labelWidth(label) / 2 - room / 2 + 4);
    const side = keys.length < 2 ? 0 : index === 0 ? -1 : index === keys.length - 1 ? 1 : 0;
    routes.set(e.id, {
      points,
      label,
      labelDistance: STUB + 8 + (index % 2 === 1 ? 16 : 0),
      labelShift: side * overflow,
    });
  }
  return routes;
}

type Dir = 0 | 1 | 2 | 3; // up, right, down, left
const STEPS: Record<Dir, [number, number]> = { 0: [0, -1], 1: [1, 0], 2: [0, 1], 3: [-1, 0] };

/**
 * An orthogonal path from `a` (left downwards) to `b` (entered downwards) on the grid of lines that run
 * GAP away from every obstacle: the shortest with bends and shared stretches costed, by Dijkstra. Falls
 * back to a plain three-segment path when the obstacles leave no way (steps dragged onto each other).
 */
function routeBetween(a: Point, b: Point, obstacles: Box[], used: Used, target: string): Point[] {
  const xs = uniqueSorted([a.x, b.x, ...obstacles.flatMap((o) => [o.x - GAP, o.x + o.width + GAP])]);
  const ys = uniqueSorted([a.y, b.y, ...obstacles.flatMap((o) => [o.y - GAP, o.y + o.height + GAP])]);
  const { blocked, free } = gridTests(xs, ys, obstacles);
  const W = xs.length;
  const goal = ys.indexOf(b.y) * W + xs.indexOf(b.x);
  const from = (ys.indexOf(a.y) * W + xs.indexOf(a.x)) * 4 + 2;
  const cost = new Float64Array(W * ys.length * 4).fill(Number.POSITIVE_INFINITY);
  const prev = new Int32Array(W * ys.length * 4).fill(-1);
  cost[from] = 0;
  const heap = new MinHeap();
  heap.push(0, from);
  let reached = -1;
  while (heap.size > 0) {
    const [c, s] = heap.pop();
    if (c > (cost[s] ?? 0)) continue;
    const d = (s % 4) as Dir;
    const cell = s >> 2;
    if (cell === goal) {
      reached = s;
      break;
    }
    const i = cell % W;
    const j = (cell - i) / W;
    for (const nd of [0, 1, 2, 3] as Dir[]) {
      if (nd === (d + 2) % 4) continue;
      const [di, dj] = STEPS[nd];
      const ni = i + di;
      const nj = j + dj;
      if (ni < 0 || nj < 0 || ni >= W || nj >= ys.length) continue;
      const next = nj * W + ni;
      if ((next !== goal && blocked(ni, nj)) || !free(i, j, nd)) continue;
      const p = { x: xs[i] ?? 0, y: ys[j] ?? 0 };
      const q = { x: xs[ni] ?? 0, y: ys[nj] ?? 0 };
      const length = Math.abs(q.x - p.x) + Math.abs(q.y - p.y);
      const turn = (nd === d ? 0 : BEND) + (next === goal && nd !== 2 ? BEND : 0);
      const total = c + length + turn + SHARED * sharedLength(used, p, q, target);
      const ns = next * 4 + nd;
      if (total < (cost[ns] ?? 0)) {
        cost[ns] = total;
        prev[ns] = s;
        heap.push(total, ns);
      }
    }
  }
  if (reached < 0) {
    const mid = (a.y + b.y) / 2;
    return [a, { x: a.x, y: mid }, { x: b.x, y: mid }, b];
  }
  const path: Point[] = [];
  for (let s = reached; s >= 0; s = prev[s] ?? -1) {
    const cell = s >> 2;
    path.unshift({ x: xs[cell % W] ?? 0, y: ys[Math.floor(cell / W)] ?? 0 });
  }
  const whole = simplify(path);
  for (let k = 1; k < whole.length; k++) markUsed(used, whole[k - 1] as Point, whole[k] as Point, target);
  return whole;
}

/**
 * Which grid points lie in an obstacle (grown by GAP/2) and which grid steps pass through one, worked
 * out once per route so the search itself only looks them up.
 */
function gridTests(
  xs: number[],
  ys: number[],
  obstacles: Box[],
): { blocked: (i: number, j: number) => boolean; free: (i: number, j: number, d: Dir) => boolean } {
  const W = xs.length;
  const H = ys.length;
  const inAny = new Uint8Array(W * H);
  const rightOpen = new Uint8Array(W * H);
  const downOpen = new Uint8Array(W * H);
  for (let j = 0; j < H; j++)
    for (let i = 0; i < W; i++) {
      const p = { x: xs[i] ?? 0, y: ys[j] ?? 0 };
      inAny[j * W + i] = obstacles.some((o) => inside(p, o, GAP / 2)) ? 1 : 0;
      const right = { x: xs[i + 1] ?? p.x, y: p.y };
      const down = { x: p.x, y: ys[j + 1] ?? p.y };
      rightOpen[j * W + i] = i + 1 < W && !obstacles.some((o) => crosses(p, right, o, GAP / 2)) ? 1 : 0;
      downOpen[j * W + i] = j + 1 < H && !obstacles.some((o) => crosses(p, down, o, GAP / 2)) ? 1 : 0;
    }
  return {
    blocked: (i, j) => inAny[j * W + i] === 1,
    free: (i, j, d) =>
      d === 1
        ? rightOpen[j * W + i] === 1
        : d === 3
          ? rightOpen[j * W + i - 1] === 1
          : d === 2
            ? downOpen[j * W + i] === 1
            : downOpen[(j - 1) * W + i] === 1,
  };
}

function uniqueSorted(values: number[]): number[] {
  return [...new Set(values.map((v) => Math.round(v * 10) / 10))].sort((x, y) => x - y);
}

/** Whether `p` lies inside `box` grown by `pad` (its border excluded). */
function inside(p: Point, box: Box, pad: number): boolean {
  return (
    p.x > box.x - pad && p.x < box.x + box.width + pad && p.y > box.y - pad && p.y < box.y + box.height + pad
  );
}

/** Whether the axis-parallel segment p–q passes through `box` grown by `pad`. */
export function crosses(p: Point, q: Point, box: Box, pad: number): boolean {
  const left = Math.min(p.x, q.x);
  const right = Math.max(p.x, q.x);
  const top = Math.min(p.y, q.y);
  const bottom = Math.max(p.y, q.y);
  return (
    right > box.x - pad &&
    left < box.x + box.width + pad &&
    bottom > box.y - pad &&
    top < box.y + box.height + pad
  );
}

/** Drops repeated points and the middle of three in a line. */
export function simplify(points: Point[]): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last.x === p.x && last.y === p.y) continue;
    const before = out[out.length - 2];
    if (
      before &&
      last &&
      ((before.x === last.x && last.x === p.x) || (before.y === last.y && last.y === p.y))
    )
      out.pop();
    out.push(p);
  }
  return out;
}

/** The point `distance` pixels along the polyline (its end if it is shorter). */
export function pointAlong(points: Point[], distance: number): Point {
  let left = distance;
  for (let k = 1; k < points.length; k++) {
    const p = points[k - 1] as Point;
    const q = points[k] as Point;
    const length = Math.hypot(q.x - p.x, q.y - p.y);
    if (left <= length && length > 0)
      return { x: p.x + ((q.x - p.x) * left) / length, y: p.y + ((q.y - p.y) * left) / length };
    left -= length;
  }
  return points[points.length - 1] ?? { x: 0, y: 0 };
}

/** An SVG path through the points with rounded corners. */
export function roundedPath(points: Point[], radius = 8): string {
  const first = points[0];
  if (!first) return '';
  let d = `M ${first.x} ${first.y}`;
  for (let k = 1; k < points.length; k++) {
    const p = points[k - 1] as Point;
    const q = points[k] as Point;
    const r = points[k + 1];
    if (!r) {
      d += ` L ${q.x} ${q.y}`;
      break;
    }
    const inLen = Math.hypot(q.x - p.x, q.y - p.y);
    const outLen = Math.hypot(r.x - q.x, r.y - q.y);
    const k1 = Math.min(radius, inLen / 2, outLen / 2);
    const before = { x: q.x - ((q.x - p.x) * k1) / (inLen || 1), y: q.y - ((q.y - p.y) * k1) / (inLen || 1) };
    const after = {
      x: q.x + ((r.x - q.x) * k1) / (outLen || 1),
      y: q.y + ((r.y - q.y) * k1) / (outLen || 1),
    };
    d += ` L ${before.x} ${before.y} Q ${q.x} ${q.y} ${after.x} ${after.y}`;
  }
  return d;
}

/** A small binary heap of (cost, state) pairs. */
class MinHeap {
  private items: Array<[number, number]> = [];
  get size(): number {
    return this.items.length;
  }
  push(cost: number, state: number): void {
    const items = this.items;
    items.push([cost, state]);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as [number, number])[0] <= cost) break;
      [items[i], items[parent]] = [items[parent] as [number, number], items[i] as [number, number]];
      i = parent;
    }
  }
  pop(): [number, number] {
    const items = this.items;
    const top = items[0] as [number, number];
    const last = items.pop() as [number, number];
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && (items[l] as [number, number])[0] < (items[m] as [number, number])[0]) m = l;
        if (r < items.length && (items[r] as [number, number])[0] < (items[m] as [number, number])[0]) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as [number, number], items[i] as [number, number]];
        i = m;
      }
    }
    return top;
  }
}
