// The variables a step can read in its {{templates}} and conditions: the trigger input's fields, the
// trigger and run, results of the tool and approval steps that can run before it, and `error` after an
// onError. An over-approximation (any path, not every path): the server's validator has the last word.
import { isRecord, listSteps, type StepInfo } from './definition-model.js';
import { definitionGraph } from './graph-model.js';

const ALWAYS = [
  'trigger.type',
  'trigger.user.email',
  'trigger.user.name',
  'trigger.user.role',
  'trigger.user.groups',
  'trigger.user.manager',
  'run.id',
  'run.startedAt',
  'run.workflowId',
];
const APPROVAL_FIELDS = ['approved', 'decidedBy', 'comment', 'decisions', 'level', 'timedOut'];

export function variablesInScope(definition: unknown, stepId: string | null): string[] {
  const names: string[] = [];
  const inputs =
    isRecord(definition) && isRecord(definition.inputs) ? definition.inputs.properties : undefined;
  if (isRecord(inputs)) names.push(...Object.keys(inputs));
  names.push(...ALWAYS);
  if (stepId === null) return names;
  const steps = listSteps(definition);
  const byId = new Map(steps.map((s) => [s.id, s]));
  const { edges } = definitionGraph(definition);
  const incoming = new Map<string, Array<{ from: string; key: string }>>();
  for (const e of edges) {
    const list = incoming.get(e.target) ?? [];
    list.push({ from: e.source, key: e.key });
    incoming.set(e.target, list);
  }
  // A branch step also sees what ran before its parallel.
  const seeds = [stepId];
  for (let s = byId.get(stepId); s?.parent; s = byId.get(s.parent.id)) seeds.push(s.parent.id);
  const before = new Set<string>();
  let afterError = false;
  const queue = [...seeds];
  while (queue.length > 0) {
    const id = queue.pop() as string;
    for (const { from, key } of incoming.get(id) ?? []) {
      if (key === 'onError') afterError = true;
      if (!before.has(from) && byId.has(from)) {
        before.add(from);
        queue.push(from);
      }
    }
  }
  for (const id of before) {
    const s = byId.get(id) as StepInfo;
    const out = typeof s.step.output === 'string' ? s.step.output : s.id;
    if (s.type === 'approval') names.push(out, ...APPROVAL_FIELDS.map((f) => `${out}.${f}`));
    else if (s.type === 'tool') names.push(out);
  }
  if (afterError) names.push('error.code', 'error.message', 'error.step');
  return names;
}
