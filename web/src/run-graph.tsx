// The run page's graph: the workflow drawn with each step's state, at a size its text can be read (never
// below READABLE_ZOOM: the box grows taller, up to MAX_HEIGHT, instead of the picture shrinking). The mouse
// wheel scrolls the page as everywhere else; ctrl + wheel, a pinch or the buttons zoom, dragging moves.
// Built from the designer's layout and cards (read-only), so the run page draws steps as the designer does.
// Also the template cards' thumbnail (FlowThumbnail): the whole workflow fitted into the card, a picture
// only — no zoom, no drag, the wheel the page's.
import {
  Background,
  ControlButton,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Viewport,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './designer/designer.css';
import { useEffect, useMemo, useRef, useState } from 'react';
import { toFlowElements } from './designer/flow-elements';
import { definitionGraph } from './designer/graph-model';
import { type Box, layoutFlow } from './designer/layout';
import { EDGE_TYPES } from './designer/routed-edge';
import { NODE_TYPES, type StepState } from './designer/step-nodes';

/** Step summaries are 11 px, labels 13 px: at this zoom or above they read as written. */
export const READABLE_ZOOM = 1;
const PAD = 24;
const MIN_HEIGHT = 180;
/** Taller than this the graph scrolls inside its box (drag it) rather than pushing the timeline away. */
const MAX_HEIGHT = 900;

export interface RunGraphProps {
  /** The parsed definition object. */
  definition: unknown;
  states?: Record<string, StepState>;
  onSelectStep?: (id: string) => void;
}

export function RunGraph(props: RunGraphProps) {
  return (
    <ReactFlowProvider>
      <RunGraphCanvas {...props} />
    </ReactFlowProvider>
  );
}

function RunGraphCanvas({ definition, states, onSelectStep }: RunGraphProps) {
  // Laid out once per definition: a live update of the states must not move the view.
  const { flow, boxes, bounds } = useMemo(() => {
    const flow = definitionGraph(definition);
    const boxes = layoutFlow(flow);
    const top = flow.nodes.filter((n) => n.parent === null).map((n) => boxes.get(n.id));
    return { flow, boxes, bounds: boundsOf(top.filter((b): b is Box => b !== undefined)) };
  }, [definition]);
  const { nodes, edges } = useMemo(
    () => toFlowElements(flow, boxes, { editable: false, ...(states ? { states } : {}) }),
    [flow, boxes, states],
  );
  const height = Math.round(
    Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, bounds.height * READABLE_ZOOM + 2 * PAD)),
  );
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const rf = useReactFlow();
  // The readable view: top of the graph at the top, centred across (left-aligned when wider than the box).
  const readable = useMemo((): Viewport => {
    const zoom = READABLE_ZOOM;
    const spare = width - bounds.width * zoom;
    return { x: (spare > 2 * PAD ? spare / 2 : PAD) - bounds.x * zoom, y: PAD - bounds.y * zoom, zoom };
  }, [width, bounds]);
  useEffect(() => {
    if (width > 0) void rf.setViewport(readable);
  }, [rf, readable, width]);

  return (
    <>
      <div
        ref={box}
        className="sg-flow-graph run-graph"
        style={{ height }}
        data-testid="flow-graph"
        data-readable-zoom={READABLE_ZOOM}
      >
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          defaultViewport={readable}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={onSelectStep !== undefined}
          edgesFocusable={false}
          minZoom={0.2}
          maxZoom={2}
          // The wheel is the page's: only ctrl + wheel (and a trackpad's pinch, which arrives as one) zooms.
          zoomOnScroll={false}
          panOnScroll={false}
          preventScrolling={false}
          zoomOnPinch
          zoomOnDoubleClick={false}
          proOptions={{ hideAttribution: true }}
          onNodeClick={(_, node) => {
            if (node.type === 'step') onSelectStep?.(node.id);
          }}
        >
          <Background gap={20} size={1} />
          <Controls showInteractive={false} position="top-right" fitViewOptions={{ padding: 0.05 }}>
            <ControlButton
              onClick={() => void rf.setViewport(readable, { duration: 200 })}
              title="Readable size"
            >
              <span aria-hidden="true">1:1</span>
              <span className="visually-hidden">Readable size</span>
            </ControlButton>
          </Controls>
        </ReactFlow>
      </div>
      <p className="run-graph-hint muted small">Drag to move · ctrl + wheel, pinch or the buttons to zoom</p>
    </>
  );
}

function boundsOf(boxes: Box[]): Box {
  if (boxes.length === 0) return { x: 0, y: 0, width: 0, height: 0 };
  const left = Math.min(...boxes.map((b) => b.x));
  const top = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/** The element's width, following resizes. */
function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (element === null) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export interface FlowThumbnailProps {
  definition: unknown;
  states?: Record<string, StepState>;
  height: number;
}

/** The whole workflow fitted into `height`: a picture to recognise it by, with no interaction. */
export function FlowThumbnail({ definition, states, height }: FlowThumbnailProps) {
  const { nodes, edges } = useMemo(() => {
    const flow = definitionGraph(definition);
    return toFlowElements(flow, layoutFlow(flow), { editable: false, ...(states ? { states } : {}) });
  }, [definition, states]);
  return (
    <div className="sg-flow-graph flow-thumbnail" style={{ height }} data-testid="flow-thumbnail">
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          fitView
          fitViewOptions={{ padding: 0.1 }}
          minZoom={0.05}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          edgesFocusable={false}
          nodesFocusable={false}
          panOnDrag={false}
          zoomOnScroll={false}
          zoomOnPinch={false}
          zoomOnDoubleClick={false}
          panOnScroll={false}
          preventScrolling={false}
          proOptions={{ hideAttribution: true }}
        />
      </ReactFlowProvider>
    </div>
  );
}
