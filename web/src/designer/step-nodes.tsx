// The canvas' node cards: a step (with one out-handle per jump key its type has), a parallel as a group
// holding its branches' lanes, and the start and end of each list.
import { Handle, type Node, type NodeProps, Position } from '@xyflow/react';
import { JUMP_KEYS, type StepType } from './definition-model';
import type { GraphNode } from './graph-model';
import { stepSummary } from './graph-model';

export type StepState = 'pending' | 'running' | 'waiting' | 'done' | 'failed' | 'skipped' | 'cancelled';

export interface CardData extends Record<string, unknown> {
  node: GraphNode;
  problems: string[];
  state?: StepState;
  editable: boolean;
  /** The out-handles an edge leaves from: their edge's label says what they are, so theirs is not drawn. */
  connected?: string[];
}
export type CardNode = Node<CardData>;

export const STEP_ICONS: Record<StepType, string> = {
  tool: '⚙',
  condition: '◇',
  approval: '✔',
  parallel: '∥',
  notify: '✉',
  delay: '◔',
};

const HANDLE_LABELS = new Map([
  ['next', 'next'],
  ['then', 'then'],
  ['else', 'else'],
  ['onError', 'error'],
  ['onReject', 'reject'],
  ['onTimeout', 'timeout'],
]);

function OutHandles({
  type,
  editable,
  connected,
}: {
  type: StepType;
  editable: boolean;
  connected: string[];
}) {
  const keys = JUMP_KEYS[type];
  return (
    <>
      {keys.map((key, i) => (
        <Handle
          key={key}
          id={key}
          type="source"
          position={Position.Bottom}
          isConnectable={editable}
          className={`sg-handle sg-handle-${key}`}
          style={{ left: `${((i + 1) * 100) / (keys.length + 1)}%` }}
          title={`drag to the step that follows on ${key}`}
        >
          {connected.includes(key) ? null : <span className="sg-handle-label">{HANDLE_LABELS.get(key)}</span>}
        </Handle>
      ))}
    </>
  );
}

export function StepCard({ data, selected }: NodeProps<CardNode>) {
  const { node, problems, state, editable, connected = [] } = data;
  const info = node.step;
  const type = info?.type ?? null;
  const classes = [
    'sg-step',
    `sg-step-${type ?? 'unknown'}`,
    selected ? 'sg-selected' : '',
    problems.length > 0 ? 'sg-has-problems' : '',
    state ? `sg-state-${state}` : '',
  ];
  return (
    <div className={classes.join(' ')} data-step-id={node.id} title={problems.join('\n') || undefined}>
      <Handle
        id="in"
        type="target"
        position={Position.Top}
        isConnectable={editable}
        className="sg-handle-in"
      />
      <div className="sg-step-head">
        <span className="sg-step-icon" aria-hidden="true">
          {type ? STEP_ICONS[type] : '?'}
        </span>
        <span className="sg-step-label">{node.label}</span>
        {state ? <span className={`sg-state-badge sg-state-${state}`}>{state}</span> : null}
        {problems.length > 0 ? (
          <span className="sg-problem-badge" data-testid="step-problems" title={problems.join('\n')}>
            {problems.length}
          </span>
        ) : null}
      </div>
      {info ? <div className="sg-step-summary">{stepSummary(info)}</div> : null}
      {type ? <OutHandles type={type} editable={editable} connected={connected} /> : null}
    </div>
  );
}

export function LaneCard({ data }: NodeProps<CardNode>) {
  return (
    <div className="sg-lane" data-sg-lane={JSON.stringify(data.node.list)}>
      <div className="sg-lane-title">{data.node.label}</div>
    </div>
  );
}

export function TerminalCard({ data }: NodeProps<CardNode>) {
  const { node, editable } = data;
  return (
    <div className={`sg-terminal sg-terminal-${node.kind}`}>
      {node.kind === 'end' ? (
        <Handle
          id="in"
          type="target"
          position={Position.Top}
          isConnectable={editable}
          className="sg-handle-in"
        />
      ) : null}
      {node.label}
      {node.kind === 'start' ? (
        <Handle
          id="start"
          type="source"
          position={Position.Bottom}
          isConnectable={false}
          className="sg-handle"
        />
      ) : null}
    </div>
  );
}

export const NODE_TYPES = { step: StepCard, lane: LaneCard, terminal: TerminalCard };
