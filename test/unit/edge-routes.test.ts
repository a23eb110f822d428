// The flow graph's edge routes (web/src/designer/edge-routes.ts), on the four templates as laid out and
// with steps dragged into the way: no edge runs under a step, and every branch out of a choice is labelled.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../web/src/designer/definition-model.js';
import { absoluteBoxes, crosses, routeEdges } from '../../web/src/designer/edge-routes.js';
import { definitionGraph, type FlowModel } from '../../web/src/designer/graph-model.js';
import { type Box, layoutFlow, type Point } from '../../web/src/designer/layout.js';

const TEMPLATES = join(import.meta.dirname, '..', '..', 'templates');
const templates = readdirSync(TEMPLATES).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));

/** The steps (and terminals, parallels) an edge's segments pass through, other than its own ends and containers. */
function nodesUnderEdges(flow: FlowModel, boxes: Map<string, Box>): string[] {
  const abs = absoluteBoxes(flow, boxes);
  const parentOf = new Map(flow.nodes.map((n) => [n.id, n.parent]));
  const ancestors = (id: string): Set<string> => {
    const out = new Set<string>();
    for (let p = parentOf.get(id) ?? null; p !== null; p = parentOf.get(p) ?? null) out.add(p);
    return out;
  };
  const found: string[] = [];
  for (const [id, route] of routeEdges(flow, boxes)) {
    const edge = flow.edges.find((e) => e.id === id);
    if (!edge) continue;
    const own = new Set([edge.source, edge.target, ...ancestors(edge.source)]);
    for (let k = 1; k < route.points.length; k++) {
      const p = route.points[k - 1] as Point;
      const q = route.points[k] as Point;
      expect(p.x === q.x || p.y === q.y).toBe(true);
      for (const n of flow.nodes) {
        const box = abs.get(n.id);
        if (own.has(n.id) || n.kind === 'lane' || !box) continue;
        if (crosses(p, q, box, 0)) found.push(`${id} under ${n.id}`);
      }
    }
  }
  return found;
}

describe('edge routes', () => {
  it.each(templates)('run under no step and label every branch of a choice in %s', (file) => {
    const value = parseSource(readFileSync(join(TEMPLATES, file), 'utf8')).value;
    const flow = definitionGraph(value);
    const boxes = layoutFlow(flow);
    expect(nodesUnderEdges(flow, boxes)).toEqual([]);
    const routes = routeEdges(flow, boxes);
    expect(routes.size).toBe(flow.edges.length);
    for (const edge of flow.edges) {
      const source = flow.nodes.find((n) => n.id === edge.source);
      const type = source?.step?.type;
      if (type === 'condition' || type === 'approval') expect(routes.get(edge.id)?.label).toBeTruthy();
      if (edge.key === 'then') expect(routes.get(edge.id)?.label).toBe(source?.step?.step.if);
      if (edge.key === 'else') expect(routes.get(edge.id)?.label).toBe('else');
    }
  });

  it("goes around a step dragged onto an edge's straight line, as the expense template's else did", () => {
    const value = parseSource(readFileSync(join(TEMPLATES, 'expense-approval.yaml'), 'utf8')).value;
    const flow = definitionGraph(value);
    const laid = layoutFlow(flow);
    const from = laid.get('over_threshold') as Box;
    const to = laid.get('process_payment') as Box;
    // manager_approval right between the condition and the payment, under the `else` handle.
    const known = Object.fromEntries([...laid].map(([id, b]) => [id, { x: b.x, y: b.y }]));
    known.manager_approval = { x: from.x + 40, y: (from.y + to.y) / 2 };
    const boxes = layoutFlow(flow, known);
    expect(nodesUnderEdges(flow, boxes)).toEqual([]);
    const route = routeEdges(flow, boxes).get('over_threshold:else');
    expect(route?.label).toBe('else');
    expect(route?.points.length).toBeGreaterThan(2);
  });

  it('labels the outcomes of an approval and the error path of a tool', () => {
    const value = parseSource(readFileSync(join(TEMPLATES, 'expense-approval.yaml'), 'utf8')).value;
    const routes = routeEdges(definitionGraph(value), layoutFlow(definitionGraph(value)));
    expect(routes.get('manager_approval:next')?.label).toBe('approved');
    expect(routes.get('manager_approval:onReject')?.label).toBe('rejected');
    expect(routes.get('manager_approval:onTimeout')?.label).toBe('timed out');
    expect(routes.get('validate:onError')?.label).toBe('on error');
    expect(routes.get('validate:next')?.label).toBe('ok');
    expect(routes.get('$start->')?.label).toBeNull();
  });
});
