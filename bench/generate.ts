// Generates large, valid definitions for benchmarks: a mix of every step type in a long chain.
import { stringify } from 'yaml';

export function generateDefinition(stepCount: number): Record<string, unknown> {
  const steps: Record<string, unknown>[] = [];
  let i = 0;
  const id = (n: number): string => `s${n}`;
  while (steps.length < stepCount) {
    const kind = i % 6;
    const here = id(i);
    if (kind === 0) {
      steps.push({
        id: here,
        type: 'tool',
        tool: 'bench-echo',
        args: {
          amount: '{{amount}}',
          note: `step ${i} by {{trigger.user.email}}`,
          nested: { list: ['{{run.id}}', i] },
        },
        retry: { maxAttempts: 3, interval: '1s', backoffRate: 2 },
        timeout: '30s',
        onError: 'failed',
      });
    } else if (kind === 1) {
      steps.push({
        id: here,
        type: 'condition',
        if: `amount > ${i} && ${id(i - 1)}.ok == true`,
        then: id(i + 1),
        else: id(i + 1),
      });
    } else if (kind === 2) {
      steps.push({
        id: here,
        type: 'approval',
        approvers: ['{{trigger.user.manager}}', 'role:director'],
        require: 'any',
        message: `Approve {{amount}} at ${i}? Last result {{${id(i - 2)}.ok}}`,
        timeout: '24h',
        escalate: [{ approvers: ['role:admin'], timeout: '24h' }],
        onReject: 'failed',
      });
    } else if (kind === 3) {
      steps.push({
        id: here,
        type: 'parallel',
        require: 'all',
        branches: [0, 1].map((b) => ({
          steps: [
            {
              id: `${here}_b${b}`,
              type: 'tool',
              tool: 'bench-echo',
              args: { value: `{{${id(i - 1)}.approved}}` },
            },
          ],
        })),
      });
    } else if (kind === 4) {
      steps.push({
        id: here,
        type: 'notify',
        channel: 'email',
        to: '{{trigger.user.email}}',
        message: `Step ${i}: {{${id(i - 4)}.ok}}`,
      });
    } else {
      steps.push({ id: here, type: 'delay', duration: '1m' });
    }
    i++;
  }
  steps.push({ id: 'failed', type: 'notify', channel: 'slack', to: '#ops', message: 'failed: {{run.id}}' });
  return {
    version: 1,
    id: 'bench-large',
    name: 'Large benchmark workflow',
    inputs: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } },
    steps,
  };
}

export function generateYaml(stepCount: number): string {
  return stringify(generateDefinition(stepCount));
}
