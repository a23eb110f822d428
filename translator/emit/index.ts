// The compilers by target: each turns the IR into the files its cloud deploys.
import type { IrWorkflow } from '../ir.js';
import { emitAsl } from './aws-asl.js';
import { emitAzurePlan } from './azure-durable.js';
import type { CompileTarget, EmittedFile } from './errors.js';
import { emitGcpWorkflows } from './gcp-workflows.js';

export type { CompileTarget, EmittedFile } from './errors.js';
export { TranslateError } from './errors.js';

export const COMPILERS: Partial<Record<CompileTarget, (ir: IrWorkflow) => EmittedFile[]>> = {
  aws: (ir) => [{ name: `${ir.id}.asl.json`, content: `${JSON.stringify(emitAsl(ir), null, 2)}\n` }],
  azure: (ir) => {
    const { plan, manifest } = emitAzurePlan(ir);
    return [
      { name: `${ir.id}.azure-plan.json`, content: `${JSON.stringify(plan, null, 2)}\n` },
      { name: `${ir.id}.azure-manifest.json`, content: `${JSON.stringify(manifest, null, 2)}\n` },
    ];
  },
  gcp: (ir) => [{ name: `${ir.id}.gcp-workflows.yaml`, content: emitGcpWorkflows(ir) }],
};
