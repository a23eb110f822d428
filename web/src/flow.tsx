// The workflow pictures (run-graph.tsx), loaded on demand so the list screens stay light: a thumbnail
// fitted into a card (template cards; the wheel scrolls the page past it), and the run page's readable graph.
import { lazy, Suspense } from 'react';
import type { StepState } from './types';

const LazyThumbnail = lazy(() => import('./run-graph').then((m) => ({ default: m.FlowThumbnail })));
const LazyRunGraph = lazy(() => import('./run-graph').then((m) => ({ default: m.RunGraph })));

export interface FlowPictureProps {
  definition: unknown;
  states?: Record<string, StepState>;
  height?: number;
}

/** A workflow's thumbnail: the whole of it fitted into `height`, a picture only. */
export function FlowPicture({ height = 320, ...props }: FlowPictureProps) {
  return (
    <Suspense fallback={<div className="flow-placeholder" style={{ height }} aria-hidden="true" />}>
      <LazyThumbnail height={height} {...props} />
    </Suspense>
  );
}

export interface RunFlowProps {
  definition: unknown;
  states?: Record<string, StepState>;
  onSelectStep?: (id: string) => void;
}

/** The run page's graph: readable at its default size, the wheel left to the page. */
export function RunFlow(props: RunFlowProps) {
  return (
    <Suspense fallback={<div className="flow-placeholder" style={{ height: 340 }} aria-hidden="true" />}>
      <LazyRunGraph {...props} />
    </Suspense>
  );
}
