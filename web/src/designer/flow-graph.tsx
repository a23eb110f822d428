// A read-only picture of a workflow definition: laid out automatically, coloured by run state; used on
// the run page (live states) and as the template cards' picture.
import { Background, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import './designer.css';
import { useMemo } from 'react';
import { toFlowElements } from './flow-elements';
import { definitionGraph } from './graph-model';
import { layoutFlow } from './layout';
import { EDGE_TYPES } from './routed-edge';
import { NODE_TYPES, type StepState } from './step-nodes';

export type { StepState } from './step-nodes';

export interface FlowGraphProps {
  /** The parsed definition object. */
  definition: unknown;
  states?: Record<string, StepState>;
  onSelectStep?: (id: string) => void;
  height?: number;
}

export function FlowGraph({ definition, states, onSelectStep, height = 320 }: FlowGraphProps) {
  const { nodes, edges } = useMemo(() => {
    const flow = definitionGraph(definition);
    return toFlowElements(flow, layoutFlow(flow), { editable: false, ...(states ? { states } : {}) });
  }, [definition, states]);
  return (
    <div className="sg-flow-graph" style={{ height }} data-testid="flow-graph">
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          edgeTypes={EDGE_TYPES}
          fitView
          fitViewOptions={{ padding: 0.1 }}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={onSelectStep !== undefined}
          edgesFocusable={false}
          minZoom={0.1}
          proOptions={{ hideAttribution: true }}
          onNodeClick={(_, node) => {
            if (node.type === 'step') onSelectStep?.(node.id);
          }}
        >
          <Background gap={20} size={1} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
