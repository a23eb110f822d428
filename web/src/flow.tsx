// The designer's read-only flow graph, loaded on demand so the list screens stay light.
import { lazy, Suspense } from 'react';
import type { StepState } from './types';

const LazyFlowGraph = lazy(() => import('./designer').then((m) => ({ default: m.FlowGraph })));

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
