// The types the HTTP API's modules share: the Hono environment every route sees and the workflow store
// the routes read and write. Kept apart from app.ts so the route modules need nothing of it: app.ts mounts
// them, they never import it back (test/architecture.test.ts checks there is no cycle).
import type { IrWorkflow } from '../../../translator/ir.js';
import type { Principal } from '../auth.js';

/** The Hono environment of the API's routes: the caller, as the authentication middleware set it. */
export type Env = { Variables: { principal: Principal } };

/** The published workflows, every version kept (adapters/local/workflow-store.ts). */
export interface WorkflowStore {
  save(input: { ir: IrWorkflow; source: string; format: 'yaml' | 'json'; by: string; at: number }): {
    id: string;
    version: number;
  };
  get(id: string): StoredWorkflowView | undefined;
  list(): StoredWorkflowView[];
  history(id: string): StoredWorkflowView[];
  delete(id: string): boolean;
}

/** One stored version of a workflow: its source as written and the IR it was lowered to. */
export interface StoredWorkflowView {
  id: string;
  version: number;
  name: string;
  format: 'yaml' | 'json';
  source: string;
  ir: IrWorkflow;
  createdAt: number;
  createdBy: string;
}
