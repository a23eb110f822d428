// The editor's canvas and palette: steps dragged from the palette are dropped on the canvas (or into a
// parallel branch's lane), edges are drawn from a step's jump handle to another step's top, and every
// change is reported to the editor, which writes it into the definition.
import { Background, Controls, type Edge, type NodeChange, ReactFlow, useReactFlow } from '@xyflow/react';
import {
  type PointerEvent as ReactPointerEvent,
  type RefObject,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { type JumpKey, type Path, STEP_TYPES, type StepType } from './definition-model';
import { toFlowElements } from './flow-elements';
import { definitionGraph, laneId } from './graph-model';
import { layoutFlow, type Point, STEP_SIZE } from './layout';
import { EDGE_TYPES } from './routed-edge';
import { type CardNode, NODE_TYPES, STEP_ICONS } from './step-nodes';

export interface CanvasProps {
  definition: unknown;
  positions: Record<string, Point>;
  problems: Map<string, string[]>;
  selected: string | null;
  onSelect: (id: string | null) => void;
  onMove: (moves: Record<string, Point>) => void;
  onConnect: (source: string, key: JumpKey, target: string) => void;
  onDeleteEdges: (edges: Array<{ source: string; key: JumpKey; implicit: boolean }>) => void;
  onDeleteSteps: (ids: string[]) => void;
}

/** How "Zoom to fit", the first view and every refit frame the graph. */
export const FIT_VIEW = { padding: 0.08, maxZoom: 1 };

/**
 * Fits the graph again whenever the canvas changes size (the code view shown, hidden or resized, the
 * window resized); the first size is React Flow's own initial fit.
 */
function useRefitOnResize(container: RefObject<HTMLDivElement | null>): void {
  const rf = useReactFlow();
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    let last = '';
    let frame = 0;
    const observer = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]?.contentRect;
      if (!box || box.width === 0 || box.height === 0) return;
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      if (size === last) return;
      const first = last === '';
      last = size;
      if (first) return;
      cancelAnimationFrame(frame);
      // After React Flow has taken the new size from its own observer.
      frame = requestAnimationFrame(() => void rf.fitView(FIT_VIEW));
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [container, rf]);
}

export function DesignerCanvas(props: CanvasProps) {
  const { definition, positions, problems, selected } = props;
  const container = useRef<HTMLDivElement>(null);
  useRefitOnResize(container);
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const [dragging, setDragging] = useState<Record<string, Point>>({});
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);

  const flow = useMemo(() => definitionGraph(definition), [definition]);
  const boxes = useMemo(() => layoutFlow(flow, { ...positions, ...dragging }), [flow, positions, dragging]);
  const { nodes, edges } = useMemo(() => {
    const elements = toFlowElements(flow, boxes, { editable: true, problems, selected, measured });
    return {
      nodes: elements.nodes,
      edges: elements.edges.map((e) => ({ ...e, selected: e.id === selectedEdge })),
    };
  }, [flow, boxes, problems, selected, measured, selectedEdge]);

  // Pin what the layout placed, so that adding a step later does not move the others.
  const { onMove } = props;
  useEffect(() => {
    const pins: Record<string, Point> = {};
    for (const n of flow.nodes)
      if (n.kind !== 'lane' && positions[n.id] === undefined) {
        const box = boxes.get(n.id);
        if (box) pins[n.id] = { x: box.x, y: box.y };
      }
    if (Object.keys(pins).length > 0) onMove(pins);
  }, [flow, boxes, positions, onMove]);

  const onNodesChange = useCallback(
    (changes: NodeChange<CardNode>[]) => {
      const sizes: Record<string, { width: number; height: number }> = {};
      const live: Record<string, Point> = {};
      const done: Record<string, Point> = {};
      for (const change of changes) {
        if (change.type === 'dimensions' && change.dimensions) sizes[change.id] = change.dimensions;
        if (change.type === 'position' && change.position) {
          if (change.dragging) live[change.id] = change.position;
          else done[change.id] = change.position;
        }
        if (change.type === 'position' && change.dragging === false && !change.position) {
          const last = dragging[change.id];
          if (last) done[change.id] = last;
        }
      }
      if (Object.keys(sizes).length > 0) setMeasured((m) => ({ ...m, ...sizes }));
      if (Object.keys(live).length > 0) setDragging((d) => ({ ...d, ...live }));
      if (Object.keys(done).length > 0) {
        props.onMove(done);
        setDragging((d) => Object.fromEntries(Object.entries(d).filter(([id]) => !(id in done))));
      }
    },
    [dragging, props.onMove],
  );

  return (
    <div className="sg-canvas" data-testid="designer-canvas" ref={container}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        edgeTypes={EDGE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={(changes) => {
          for (const c of changes) if (c.type === 'select') setSelectedEdge(c.selected ? c.id : null);
        }}
        onNodeDragStop={(_, node) => {
          props.onMove({ [node.id]: node.position });
          setDragging({});
        }}
        onNodeClick={(_, node) => {
          setSelectedEdge(null);
          props.onSelect(node.type === 'step' ? node.id : null);
        }}
        onEdgeClick={(_, edge) => {
          setSelectedEdge(edge.deletable === false ? null : edge.id);
          props.onSelect(null);
        }}
        onPaneClick={() => {
          setSelectedEdge(null);
          props.onSelect(null);
        }}
        onConnect={(c) => {
          if (c.sourceHandle && c.sourceHandle !== 'start')
            props.onConnect(
              c.source,
              c.sourceHandle as JumpKey,
              c.target.startsWith('$end') ? 'end' : c.target,
            );
        }}
        onDelete={({ nodes: gone, edges: cut }) => {
          const steps = gone.filter((n) => n.type === 'step').map((n) => n.id);
          if (steps.length > 0) props.onDeleteSteps(steps);
          else
            props.onDeleteEdges(
              cut
                .filter((e: Edge) => e.sourceHandle !== 'start')
                .map((e: Edge) => ({
                  source: e.source,
                  key: e.sourceHandle as JumpKey,
                  implicit: (e.data as { implicit?: boolean } | undefined)?.implicit === true,
                })),
            );
          setSelectedEdge(null);
        }}
        deleteKeyCode={['Delete', 'Backspace']}
        connectionRadius={40}
        fitView
        fitViewOptions={FIT_VIEW}
        minZoom={0.1}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

export interface PaletteProps {
  onDrop: (type: StepType, list: Path, at: Point) => void;
}

const PALETTE_LABELS: Record<StepType, string> = {
  tool: 'Tool call',
  condition: 'Condition',
  approval: 'Approval',
  parallel: 'Parallel',
  notify: 'Notify',
  delay: 'Delay',
};

/** The step palette; items are dragged with the pointer onto the canvas (or clicked to append). */
export function Palette({ onDrop }: PaletteProps) {
  const rf = useReactFlow();
  const [ghost, setGhost] = useState<{ type: StepType; x: number; y: number } | null>(null);

  const dropAt = (type: StepType, clientX: number, clientY: number) => {
    const under = document.elementsFromPoint(clientX, clientY);
    if (!under.some((el) => el.closest('.sg-canvas'))) return;
    const lane = under.map((el) => el.closest('[data-sg-lane]')).find((el) => el !== null);
    const flowPoint = rf.screenToFlowPosition({ x: clientX, y: clientY });
    let list: Path = ['steps'];
    let origin = { x: 0, y: 0 };
    if (lane) {
      list = JSON.parse(lane.getAttribute('data-sg-lane') ?? '[]') as Path;
      origin = rf.getInternalNode(laneId(list))?.internals.positionAbsolute ?? origin;
    }
    onDrop(type, list, {
      x: Math.round(flowPoint.x - origin.x - STEP_SIZE.width / 2),
      y: Math.round(flowPoint.y - origin.y - 20),
    });
  };

  const start = (type: StepType, event: ReactPointerEvent) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const from = { x: event.clientX, y: event.clientY };
    let moved = false;
    const move = (e: PointerEvent) => {
      if (Math.abs(e.clientX - from.x) + Math.abs(e.clientY - from.y) > 4) moved = true;
      setGhost({ type, x: e.clientX, y: e.clientY });
    };
    const up = (e: PointerEvent) => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      setGhost(null);
      if (moved) dropAt(type, e.clientX, e.clientY);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  return (
    <section className="sg-palette" aria-label="Step palette">
      <div className="sg-palette-title">Steps</div>
      {STEP_TYPES.map((type) => (
        <button
          type="button"
          key={type}
          className={`sg-palette-item sg-step-${type}`}
          data-palette={type}
          onPointerDown={(e) => start(type, e)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ' ') {
              e.preventDefault();
              onDrop(type, ['steps'], { x: Number.NaN, y: Number.NaN });
            }
          }}
          title={`Drag a ${type} step onto the canvas`}
        >
          <span aria-hidden="true">{STEP_ICONS[type]}</span> {PALETTE_LABELS[type]}
        </button>
      ))}
      <div className="sg-palette-hint">
        Drag onto the canvas or into a parallel branch. Wire steps by dragging from a handle to another step.
      </div>
      {ghost ? (
        <div className={`sg-palette-ghost sg-step-${ghost.type}`} style={{ left: ghost.x, top: ghost.y }}>
          {STEP_ICONS[ghost.type]} {PALETTE_LABELS[ghost.type]}
        </div>
      ) : null}
    </section>
  );
}
