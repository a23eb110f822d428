// The Azure Durable Functions "compiler". DF has no declarative workflow format: what is deployed is the
// IR plan (JSON) that the shared orchestrator interprets, and a manifest of the function app naming the
// orchestrator function and the activity functions this workflow needs. Output is deterministic: object
// keys are sorted, activities listed in a fixed order.
import type { IrGraph, IrWorkflow } from '../ir.js';
import type { JsonValue } from '../template.js';
import { assertNever } from '../util.js';

/** Names shared with functions/core/protocol.ts and functions/azure (a test keeps them equal). */
export const AZURE_ORCHESTRATOR = 'stepgate';
export const AZURE_ACTIVITY_ORDER = [
  'tool.call',
  'notify.send',
  'approval.request',
  'approval.close',
  'record',
  'run-end',
] as const;
export type AzureActivity = (typeof AZURE_ACTIVITY_ORDER)[number];

/** The Functions host allows only letters, digits, `-` and `_` in a function name: `tool.call` is `tool-call`. */
export function azureFunctionName(activity: string): string {
  return activity.replace(/[^A-Za-z0-9_-]/g, '-');
}

export interface AzureManifest {
  orchestrator: typeof AZURE_ORCHESTRATOR;
  workflowId: string;
  irVersion: number;
  /** The activity functions (Azure function names) the orchestrator calls for this workflow. */
  activities: string[];
  /** The orchestration input: `{ runId, workflowId, ir: <plan>, input, trigger }`. */
  input: 'RunStart';
  runtime: { 'durable-functions': '^3'; '@azure/functions': '^4' };
}

export interface AzurePlan {
  plan: JsonValue;
  manifest: AzureManifest;
}

export function emitAzurePlan(ir: IrWorkflow): AzurePlan {
  const used = new Set<AzureActivity>(['record', 'run-end']);
  const walk = (graph: IrGraph): void => {
    for (const node of graph.nodes) {
      switch (node.kind) {
        case 'tool':
          used.add('tool.call');
          break;
        case 'notify':
          used.add('notify.send');
          break;
        case 'approval':
          used.add('approval.request');
          used.add('approval.close');
          break;
        case 'parallel':
          for (const branch of node.branches) walk(branch);
          break;
        case 'condition':
        case 'delay':
          break;
        default:
          assertNever(node, 'IR node');
      }
    }
  };
  walk(ir.graph);
  return {
    plan: sortKeys(JSON.parse(JSON.stringify(ir)) as JsonValue),
    manifest: {
      orchestrator: AZURE_ORCHESTRATOR,
      workflowId: ir.id,
      irVersion: ir.irVersion,
      activities: AZURE_ACTIVITY_ORDER.filter((a) => used.has(a)).map(azureFunctionName),
      input: 'RunStart',
      runtime: { 'durable-functions': '^3', '@azure/functions': '^4' },
    },
  };
}

/** The two files of the compiled artifact, as bytes-stable text. */
export function emitAzureFiles(ir: IrWorkflow): Record<'plan.json' | 'manifest.json', string> {
  const { plan, manifest } = emitAzurePlan(ir);
  return {
    'plan.json': `${JSON.stringify(plan, null, 2)}\n`,
    'manifest.json': `${JSON.stringify(sortKeys(manifest as unknown as JsonValue), null, 2)}\n`,
  };
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value).sort()) {
    const item = value[key];
    if (item !== undefined) out[key] = sortKeys(item);
  }
  return out;
}
