// Graph model + layout → React Flow nodes and edges, shared by the editor's canvas and the read-only
// graphs of web/src/run-graph.tsx; edges carry their routes (around the steps) and labels from
// edge-routes.ts.
import { MarkerType } from '@xyflow/react';
import { routeEdges } from './edge-routes';
import type { FlowModel } from './graph-model';
import type { Box } from './layout';
import type { RoutedEdgeType } from './routed-edge';
import type { CardNode, StepState } from './step-nodes';

export interface ElementOptions {
  editable: boolean;
  problems?: Map<string, string[]>;
  states?: Record<string, StepState>;
  selected?: string | null;
  measured?: Record<string, { width: number; height: number }>;
}

export function toFlowElements(
  flow: FlowModel,
  boxes: Map<string, Box>,
  options: ElementOptions,
): { nodes: CardNode[]; edges: RoutedEdgeType[] } {
  const nodes: CardNode[] = flow.nodes.map((n) => {
    const box = boxes.get(n.id) ?? { x: 0, y: 0, width: 0, height: 0 };
    const isParallel = n.kind === 'step' && n.step?.type === 'parallel';
    const sized = n.kind === 'lane' || isParallel;
    const state = options.states?.[n.id];
    const measured = options.measured?.[n.id];
    return {
      id: n.id,
      type: n.kind === 'step' ? 'step' : n.kind === 'lane' ? 'lane' : 'terminal',
      position: { x: box.x, y: box.y },
      data: {
        node: n,
        problems: options.problems?.get(n.id) ?? [],
        editable: options.editable,
        connected: flow.edges.filter((e) => e.source === n.id).map((e) => e.key),
        ...(state ? { state } : {}),
      },
      ...(n.parent ? { parentId: n.parent, extent: 'parent' as const } : {}),
      ...(sized
        ? { style: { width: box.width, height: box.height }, width: box.width, height: box.height }
        : {}),
      ...(measured && !sized ? { measured } : {}),
      draggable: options.editable && n.kind !== 'lane',
      selectable: n.kind === 'step',
      deletable: options.editable && n.kind === 'step',
      connectable: options.editable,
      selected: options.selected === n.id,
      zIndex: n.kind === 'lane' ? 0 : undefined,
    };
  });
  const routes = routeEdges(flow, boxes);
  const edges: RoutedEdgeType[] = flow.edges.map((e) => {
    const route = routes.get(e.id);
    return {
      id: e.id,
      source: e.source,
      sourceHandle: e.key,
      target: e.target,
      targetHandle: 'in',
      type: 'routed',
      ...(route?.label ? { label: route.label } : {}),
      className: `sg-edge sg-edge-${e.key}${e.implicit ? ' sg-edge-implicit' : ''}`,
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
      deletable: options.editable && e.key !== 'start',
      selectable: options.editable && e.key !== 'start',
      data: {
        key: e.key,
        implicit: e.implicit,
        points: route?.points ?? [],
        labelDistance: route?.labelDistance ?? 0,
        labelShift: route?.labelShift ?? 0,
      },
    };
  });
  return { nodes, edges };
}
