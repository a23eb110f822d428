// Delegation: nobody grants what they do not hold. A workflow whose triggers make runs act as someone other
// than whoever starts them (a webhook's `runAs`, a definition's `schedule`) may be published only by
// someone who holds that identity's rights, and the check runs again at every start with the version's
// publisher as the directory knows them then: a demoted, removed or disabled publisher's delegation stops.
// Changing or deleting a workflow needs the highest role its current version grants. Pure over the
// Directory port; the HTTP layer turns the problems into 403s (functions/core/http/delegation-checks.ts).
//
// | trigger                | acts as                 | the publisher must                                          |
// | ---------------------- | ----------------------- | ----------------------------------------------------------- |
// | `webhook` with `runAs` | the `runAs` user        | find it in the directory; unless an admin: it is a service  |
// |                        |                         | account, and they hold at least its role and all its groups |
// | `schedule`             | the publisher, or the   | follow the scope rules of API-created schedules             |
// |                        | schedule's group or org | (functions/core/triggers/schedules.ts scheduleScopeProblem) |
//
// A manual trigger and a `runAs`-less webhook act as whoever starts them, who is checked then.

import type { IrTrigger, IrWorkflow } from '../../translator/ir.js';
import { type Role, roleRank } from '../../translator/roles.js';
import type { Directory } from './ports.js';
import type { Identity } from './protocol.js';
import { scheduleScopeProblem } from './triggers/schedules.js';

/** Who publishes the templates the server installs at start: the system, trusted (a user's email has '@'). */
export const SYSTEM_PUBLISHER = 'stepgate';

/**
 * The role saving a workflow needs (PUT /api/workflows/:id): a publisher who no longer holds it could not
 * publish the delegation today, so it stops holding too.
 */
export const PUBLISHER_ROLE: Role = 'lead';

/** What delegation checks read: the enabled users of the directory. */
export type DelegationDirectory = Pick<Directory, 'user'>;

/** A refused delegation: the trigger field at fault (`triggers[1].runAs`) and why. */
export interface DelegationProblem {
  field: string;
  detail: string;
}

/** Whether `identity` holds `role` or above; an unknown role on either side never does. */
function holds(identity: Pick<Identity, 'role'>, role: string): boolean {
  return roleRank(role) >= 0 && roleRank(identity.role) >= roleRank(role);
}

/** Whether runs started through `trigger` act as someone other than whoever starts them. */
export function delegates(trigger: IrTrigger): boolean {
  return trigger.type === 'schedule' || (trigger.type === 'webhook' && trigger.runAs !== null);
}

/**
 * Why `publisher` may not publish trigger `index` (its position in the workflow's `triggers`), or
 * undefined when it delegates nothing or the publisher holds what it grants.
 */
export async function triggerDelegationProblem(
  trigger: IrTrigger,
  index: number,
  publisher: Identity,
  directory: DelegationDirectory,
): Promise<DelegationProblem | undefined> {
  switch (trigger.type) {
    case 'manual':
      return undefined;
    case 'webhook': {
      if (trigger.runAs === null) return undefined;
      const field = `triggers[${index}].runAs`;
      const runAs = await directory.user(trigger.runAs);
      if (runAs === undefined)
        return { field, detail: `runAs '${trigger.runAs}' is not an enabled user of the directory` };
      if (holds(publisher, 'admin')) return undefined;
      if (runAs.service !== true)
        return {
          field,
          detail: `runAs ${runAs.email} is not a service account; only an admin can make runs act as a person`,
        };
      if (!holds(publisher, runAs.role))
        return {
          field,
          detail: `runAs ${runAs.email} has the role ${runAs.role}; ${publisher.email} is ${publisher.role}`,
        };
      const missing = runAs.groups.filter((group) => !publisher.groups.includes(group));
      if (missing.length > 0)
        return {
          field,
          detail: `runAs ${runAs.email} is in the group(s) ${missing.map((g) => `'${g}'`).join(', ')}; ${publisher.email} is not`,
        };
      return undefined;
    }
    case 'schedule': {
      const problem = scheduleScopeProblem(trigger.scope, trigger.group, publisher);
      return problem === undefined ? undefined : { field: `triggers[${index}].scope`, detail: problem };
    }
  }
}

/** Why `publisher` may not publish `ir` (the first trigger at fault), or undefined. */
export async function publishProblem(
  ir: IrWorkflow,
  publisher: Identity,
  directory: DelegationDirectory,
): Promise<DelegationProblem | undefined> {
  for (const [index, trigger] of ir.triggers.entries()) {
    const problem = await triggerDelegationProblem(trigger, index, publisher, directory);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Why a start through `trigger` of a stored version may not act as whom the trigger names any more: its
 * delegation re-checked with the version's publisher (`createdBy`) as the directory knows them now (who
 * must also still hold PUBLISHER_ROLE). Undefined when it holds, when the trigger delegates nothing, or
 * when the system published the version.
 */
export async function startDelegationProblem(
  workflow: { id: string; ir: IrWorkflow; createdBy: string },
  trigger: IrTrigger,
  directory: DelegationDirectory,
): Promise<string | undefined> {
  if (!delegates(trigger) || workflow.createdBy === SYSTEM_PUBLISHER) return undefined;
  const publisher = await directory.user(workflow.createdBy);
  const why =
    publisher === undefined
      ? `${workflow.createdBy} is no longer an enabled user of the directory`
      : !holds(publisher, PUBLISHER_ROLE)
        ? `${publisher.email} is ${publisher.role} now; publishing needs ${PUBLISHER_ROLE} or above`
        : (
            await triggerDelegationProblem(
              trigger,
              workflow.ir.triggers.indexOf(trigger),
              publisher,
              directory,
            )
          )?.detail;
  return why === undefined
    ? undefined
    : `the delegation of '${workflow.id}' by ${workflow.createdBy} no longer holds: ${why}`;
}

/** The role a trigger hands its runs (or its starters), and the field that says so; undefined: none. */
async function grantedBy(
  trigger: IrTrigger,
  index: number,
  directory: DelegationDirectory,
): Promise<{ role: Role; field: string } | undefined> {
  switch (trigger.type) {
    case 'manual':
      return { role: trigger.minRole, field: `triggers[${index}].minRole` };
    case 'webhook': {
      const runAs = trigger.runAs === null ? undefined : await directory.user(trigger.runAs);
      return runAs === undefined || roleRank(runAs.role) < 0
        ? undefined
        : { role: runAs.role as Role, field: `triggers[${index}].runAs` };
    }
    case 'schedule': {
      const role: Role = trigger.scope === 'org' ? 'manager' : trigger.scope === 'group' ? 'lead' : 'member';
      return { role, field: `triggers[${index}].scope` };
    }
  }
}

/**
 * The highest role `ir` grants: its manual triggers' `minRole`, its `runAs` users' roles (as the directory
 * knows them now), lead for a group schedule and manager for an org one; undefined when it grants none.
 */
export async function grantedRole(
  ir: IrWorkflow,
  directory: DelegationDirectory,
): Promise<{ role: Role; field: string } | undefined> {
  let highest: { role: Role; field: string } | undefined;
  for (const [index, trigger] of ir.triggers.entries()) {
    const granted = await grantedBy(trigger, index, directory);
    if (granted !== undefined && (highest === undefined || roleRank(granted.role) > roleRank(highest.role)))
      highest = granted;
  }
  return highest;
}

/** Why `editor` may not replace or delete the stored workflow `ir`: it grants more than they hold. */
export async function editProblem(
  ir: IrWorkflow,
  editor: Identity,
  directory: DelegationDirectory,
): Promise<string | undefined> {
  const granted = await grantedRole(ir, directory);
  if (granted === undefined || holds(editor, granted.role)) return undefined;
  return `'${ir.id}' grants the role ${granted.role} (${granted.field}); changing or deleting it needs ${granted.role} or above; ${editor.email} is ${editor.role}`;
}
