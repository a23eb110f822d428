// Definition → graph: one node per step, a start and an end per list (the top level and each parallel
// branch), a lane per branch inside its parallel, and one edge per jump — explicit ones as written,
// implied ones (the following step, the end) marked `implicit` so the canvas can draw them apart.
import {
  FALLTHROUGH_KEYS,
  isRecord,
  JUMP_KEYS,
  type JumpKey,
  listSteps,
  type Path,
  type StepInfo,
  type StepType,
} from './definition-model.js';

export interface GraphNode {
  id: string;
  kind: 'step' | 'start' | 'end' | 'lane';
  /** The graph node that contains this one (a lane's parallel, a branch step's lane), or null. */
  parent: string | null;
  /** The definition list this node belongs to (for a lane: the list it holds). */
  list: Path;
  step?: StepInfo;
  label: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  key: JumpKey | 'start';
  target: string;
  implicit: boolean;
}

export interface FlowModel {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Graph ids of the synthetic nodes of a list (the top level is ['steps']). */
export const endId = (list: Path) => (list.length <= 1 ? '$end' : `$end:${list.join('/')}`);
export const startId = (list: Path) => (list.length <= 1 ? '$start' : `$start:${list.join('/')}`);
export const laneId = (list: Path) => `$lane:${list.join('/')}`;

export function definitionGraph(definition: unknown): FlowModel {
  const steps = listSteps(definition);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const byId = new Map(steps.map((s) => [s.id, s]));
  const lists: Array<{ list: Path; parent: string | null; first: string | null }> = [];
  const topSteps = isRecord(definition) && Array.isArray(definition.steps) ? definition.steps : [];
  lists.push({ list: ['steps'], parent: null, first: firstId(topSteps) });
  for (const s of steps) {
    const parent =
      s.parent === null
        ? null
        : laneId([...(byId.get(s.parent.id)?.path ?? []), 'branches', s.parent.branch, 'steps']);
    nodes.push({ id: s.id, kind: 'step', parent, list: s.list, step: s, label: displayName(s) });
    if (s.type === 'parallel' && Array.isArray(s.step.branches))
      s.step.branches.forEach((branch, b) => {
        const list = [...s.path, 'branches', b, 'steps'];
        const name = isRecord(branch) && typeof branch.name === 'string' ? branch.name : `branch ${b + 1}`;
        nodes.push({ id: laneId(list), kind: 'lane', parent: s.id, list, label: name });
        const branchSteps = isRecord(branch) && Array.isArray(branch.steps) ? branch.steps : [];
        lists.push({ list, parent: laneId(list), first: firstId(branchSteps) });
      });
  }
  for (const { list, parent, first } of lists) {
    nodes.push({ id: startId(list), kind: 'start', parent, list, label: 'Start' });
    nodes.push({ id: endId(list), kind: 'end', parent, list, label: 'End' });
    edges.push({
      id: `${startId(list)}->`,
      source: startId(list),
      key: 'start',
      target: first ?? endId(list),
      implicit: true,
    });
  }
  for (const s of steps) {
    if (s.type === null) continue;
    for (const key of JUMP_KEYS[s.type as StepType]) {
      const written = s.step[key];
      let target: string | null = null;
      let implicit = false;
      if (typeof written === 'string') target = written === 'end' ? endId(s.list) : written;
      else if (FALLTHROUGH_KEYS.has(key)) {
        target = s.following ?? endId(s.list);
        implicit = true;
      }
      if (target === null) continue;
      const to = byId.get(target);
      // A jump to an unknown step or out of its list is drawn nowhere; its diagnostic says why.
      if (target !== endId(s.list) && (to === undefined || to.list.join('/') !== s.list.join('/'))) continue;
      edges.push({ id: `${s.id}:${key}`, source: s.id, key, target, implicit });
    }
  }
  return { nodes, edges };
}

function firstId(list: unknown[]): string | null {
  const first = list[0];
  return isRecord(first) && typeof first.id === 'string' ? first.id : null;
}

function displayName(s: StepInfo): string {
  return typeof s.step.name === 'string' && s.step.name !== '' ? s.step.name : s.id;
}

/** One line saying what a step does, for its card. */
export function stepSummary(s: StepInfo): string {
  const v = s.step;
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  switch (s.type) {
    case 'tool':
      return str(v.tool) || 'choose a tool';
    case 'condition':
      return str(v.if) || 'write a condition';
    case 'approval': {
      const approvers = Array.isArray(v.approvers) ? v.approvers.map(String).join(', ') : '';
      return approvers || 'choose approvers';
    }
    case 'parallel':
      return `${Array.isArray(v.branches) ? v.branches.length : 0} branches, require ${String(v.require ?? 'all')}`;
    case 'notify':
      return `${str(v.channel) || 'email'} → ${Array.isArray(v.to) ? v.to.join(', ') : str(v.to) || '?'}`;
    case 'delay':
      return v.duration !== undefined ? `wait ${String(v.duration)}` : `until ${str(v.until)}`;
    default:
      return 'unknown step type';
  }
}
