// Automatic layout with dagre, top to bottom, container by container: each parallel branch (lane) is
// laid out on its own, the lanes sit side by side inside their parallel, and the parallel is then one
// big node of the list that holds it. Positions already known (dragged or dropped) are kept.
import { graphlib, layout } from '@dagrejs/dagre';
import type { FlowModel, GraphNode } from './graph-model.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
export type Point = { x: number; y: number };

export const STEP_SIZE = { width: 220, height: 70 };
export const TERMINAL_SIZE = { width: 90, height: 34 };
const LANE_PAD = 16;
const LANE_HEADER = 30;
const PARALLEL_HEADER = 70;
const PARALLEL_PAD = 14;
const LANE_GAP = 14;

/** Boxes of every node, positions relative to the node's parent (as React Flow wants them). */
export function layoutFlow(flow: FlowModel, known: Record<string, Point> = {}): Map<string, Box> {
  const boxes = new Map<string, Box>();
  const children = new Map<string | null, GraphNode[]>();
  for (const n of flow.nodes) {
    const list = children.get(n.parent) ?? [];
    list.push(n);
    children.set(n.parent, list);
  }

  const sizeOf = (n: GraphNode): { width: number; height: number } => {
    if (n.kind === 'start' || n.kind === 'end') return TERMINAL_SIZE;
    if (n.kind === 'step' && n.step?.type === 'parallel') return layoutParallel(n.id);
    return STEP_SIZE;
  };

  /** Lays out the children of `parent` (null: the top level); returns the bounding size. */
  const layoutContainer = (parent: string | null, inset: Point): { width: number; height: number } => {
    const members = (children.get(parent) ?? []).filter((n) => n.kind !== 'lane');
    const sizes = new Map(members.map((n) => [n.id, sizeOf(n)]));
    const missing = members.filter((n) => known[n.id] === undefined);
    const placed = new Map<string, Point>();
    if (missing.length > 0) {
      const g = new graphlib.Graph();
      g.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 50, marginx: 0, marginy: 0 });
      g.setDefaultEdgeLabel(() => ({}));
      for (const n of members) g.setNode(n.id, { ...sizes.get(n.id) });
      const ids = new Set(members.map((n) => n.id));
      for (const e of flow.edges)
        if (ids.has(e.source) && ids.has(e.target) && e.source !== e.target) g.setEdge(e.source, e.target);
      layout(g);
      for (const n of members) {
        const d = g.node(n.id);
        const size = sizes.get(n.id) ?? STEP_SIZE;
        placed.set(n.id, { x: d.x - size.width / 2 + inset.x, y: d.y - size.height / 2 + inset.y });
      }
      // Newly placed nodes among known ones go below what is already there, not on top of it.
      if (missing.length < members.length) {
        const bottom = Math.max(
          ...members
            .filter((n) => known[n.id])
            .map((n) => (known[n.id]?.y ?? 0) + (sizes.get(n.id)?.height ?? 0)),
        );
        const top = Math.min(...missing.map((n) => placed.get(n.id)?.y ?? 0));
        for (const n of missing) {
          const p = placed.get(n.id);
          if (p) placed.set(n.id, { x: p.x, y: p.y - top + bottom + 50 });
        }
      }
    }
    // An empty workflow: room between its start and end for the first steps.
    if (parent === null && members.every((n) => n.kind !== 'step')) {
      for (const n of missing) placed.set(n.id, { x: 0, y: n.kind === 'end' ? 320 : 0 });
    }
    let width = 0;
    let height = 0;
    for (const n of members) {
      const at = known[n.id] ?? placed.get(n.id) ?? inset;
      const size = sizes.get(n.id) ?? STEP_SIZE;
      boxes.set(n.id, { x: at.x, y: at.y, ...size });
      width = Math.max(width, at.x + size.width);
      height = Math.max(height, at.y + size.height);
    }
    return { width, height };
  };

  const layoutParallel = (id: string): { width: number; height: number } => {
    const lanes = (children.get(id) ?? []).filter((n) => n.kind === 'lane');
    let x = PARALLEL_PAD;
    const sizes = lanes.map((lane) => {
      const inner = layoutContainer(lane.id, { x: LANE_PAD, y: LANE_HEADER });
      return { width: Math.max(inner.width + LANE_PAD, 200), height: Math.max(inner.height + LANE_PAD, 160) };
    });
    const laneHeight = Math.max(160, ...sizes.map((s) => s.height));
    lanes.forEach((lane, i) => {
      const width = sizes[i]?.width ?? 200;
      boxes.set(lane.id, { x, y: PARALLEL_HEADER, width, height: laneHeight });
      x += width + LANE_GAP;
    });
    return {
      width: Math.max(x - LANE_GAP + PARALLEL_PAD, STEP_SIZE.width),
      height: PARALLEL_HEADER + laneHeight + PARALLEL_PAD,
    };
  };

  layoutContainer(null, { x: 0, y: 0 });
  return boxes;
}
