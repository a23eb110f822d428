// The workflow pictures, loaded on demand so the list screens stay light: the designer's read-only flow
// graph fitted into a card (template cards), and the run page's readable, scrollable graph (run-graph.tsx).
import { lazy, Suspense } from 'react';
import type { StepState } from './types';

const LazyFlowGraph = lazy(() => import('./designer').then((m) => ({ default: m.FlowGraph })));
const LazyRunGraph = lazy(() => import('./run-graph').then((m) => ({ default: m.RunGraph })));

export interface FlowPictureProps {
  definition: unknown;
  states?: Record<string, StepState>;
  onSelectStep?: (id: string) => void;
  height?: number;
}

export function FlowPicture({ height = 320, ...props }: FlowPictureProps) {
  return (
    <Suspense fallback={<div className="flow-placeholder" style={{ height }} aria-hidden="true" />}>
      <LazyFlowGraph height={height} {...props} />
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
