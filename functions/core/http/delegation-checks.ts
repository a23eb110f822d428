// The delegation rules (functions/core/delegation.ts) as the routes apply them: a refused publish, change or
// delete is a 403 problem naming the trigger field, before anything is written. A start whose delegation
// no longer holds is a 403 too, and a line on the server's log for the operator (workflow, version and
// why; never the request's input or a credential), since nobody else may notice that a webhook stopped.
import type { DelegationDirectory } from '../delegation.js';
import { editProblem, publishProblem, startDelegationProblem } from '../delegation.js';
import { HttpError } from '../http-error.js';
import type { StoredWorkflowView } from '../ports.js';
import type { Identity } from '../protocol.js';

/** A directory that knows nobody: without one, nothing that acts as someone else is published or started. */
export const NO_DIRECTORY: DelegationDirectory = { user: async () => undefined };

/** 403 unless `editor` may change or delete the stored workflow (it grants no more than they hold). */
export async function requireEditable(
  current: Pick<StoredWorkflowView, 'ir'>,
  editor: Identity,
  directory: DelegationDirectory,
): Promise<void> {
  const refused = await editProblem(current.ir, editor, directory);
  if (refused !== undefined) throw new HttpError(403, 'Forbidden', refused);
}

/**
 * 403 unless `publisher` may save `ir` as the workflow's next version: they may change `current` (the
 * latest stored version, if any) and hold what `ir`'s triggers delegate.
 */
export async function requirePublishable(
  ir: StoredWorkflowView['ir'],
  publisher: Identity,
  current: Pick<StoredWorkflowView, 'ir'> | undefined,
  directory: DelegationDirectory,
): Promise<void> {
  if (current !== undefined) await requireEditable(current, publisher, directory);
  const refused = await publishProblem(ir, publisher, directory);
  if (refused !== undefined)
    throw new HttpError(403, 'Forbidden', `${refused.field}: ${refused.detail}`, { field: refused.field });
}

/** 403 (and a warning on the log) unless the delegation of the trigger a start goes through still holds. */
export async function requireDelegationHolds(
  workflow: Pick<StoredWorkflowView, 'id' | 'version' | 'ir' | 'createdBy'>,
  trigger: StoredWorkflowView['ir']['triggers'][number],
  directory: DelegationDirectory,
): Promise<void> {
  const refused = await startDelegationProblem(workflow, trigger, directory);
  if (refused === undefined) return;
  console.warn(
    `delegation: refused a ${trigger.type} start of '${workflow.id}' v${workflow.version}: ${refused}`,
  );
  throw new HttpError(403, 'Forbidden', refused);
}
