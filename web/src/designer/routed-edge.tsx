// The flow graph's edge: drawn along the route edge-routes.ts found (around the other steps), its ends
// pinned to where React Flow measured the handles, its label near the source so each branch is read
// with the handle it leaves from.
import { BaseEdge, type Edge, type EdgeProps } from '@xyflow/react';
import type { JumpKey } from './definition-model';
import { pointAlong, roundedPath } from './edge-routes';
import type { Point } from './layout';

export interface RoutedEdgeData extends Record<string, unknown> {
  key: JumpKey | 'start';
  implicit: boolean;
  points: Point[];
  labelDistance: number;
  labelShift: number;
}
export type RoutedEdgeType = Edge<RoutedEdgeData, 'routed'>;

/** The route with its first and last corners moved onto the measured handles (cards can be shorter than their boxes). */
export function pinEnds(points: Point[], source: Point, target: Point): Point[] {
  if (points.length < 2) return [source, target];
  const out = points.map((p) => ({ ...p }));
  const first = out[0] as Point;
  const second = out[1] as Point;
  if (second.x === first.x) second.x = source.x;
  out[0] = source;
  const last = out[out.length - 1] as Point;
  const before = out[out.length - 2] as Point;
  if (before.x === last.x && out.length > 2) before.x = target.x;
  out[out.length - 1] = target;
  return out;
}

export function RoutedEdge(props: EdgeProps<RoutedEdgeType>) {
  const { id, sourceX, sourceY, targetX, targetY, data, label, markerEnd, style, interactionWidth } = props;
  const points = pinEnds(data?.points ?? [], { x: sourceX, y: sourceY }, { x: targetX, y: targetY });
  const at = pointAlong(points, data?.labelDistance ?? 0);
  return (
    <BaseEdge
      id={id}
      path={roundedPath(points)}
      {...(markerEnd ? { markerEnd } : {})}
      {...(style ? { style } : {})}
      {...(interactionWidth !== undefined ? { interactionWidth } : {})}
      {...(label ? { label, labelX: at.x + (data?.labelShift ?? 0), labelY: at.y } : {})}
      labelShowBg
      labelBgPadding={[4, 2]}
      labelBgBorderRadius={3}
      labelStyle={{ fontSize: 11 }}
    />
  );
}

export const EDGE_TYPES = { routed: RoutedEdge };
