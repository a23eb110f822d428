// The delegation rules (functions/core/delegation.ts) on a directory in memory: who may publish a webhook's
// runAs and a definition schedule, the re-check at a start with the publisher as they are now, and the role
// a workflow grants (which changing or deleting it needs).
import { describe, expect, it } from 'vitest';
import { InMemoryDirectory } from '../../adapters/local/directory.js';
import {
  delegates,
  editProblem,
  grantedRole,
  publishProblem,
  SYSTEM_PUBLISHER,
  startDelegationProblem,
} from '../../functions/core/delegation.js';
import type { Identity } from '../../functions/core/protocol.js';
import type { IrWorkflow } from '../../translator/ir.js';
import { validateWorkflow } from '../../translator/validate.js';

const person = (email: string, role: string, groups: string[], service?: true): Identity => ({
  email,
  role,
  groups,
  manager: null,
  ...(service ? { service } : {}),
});
const ada = person('ada@example.com', 'admin', ['it']);
const max = person('max@example.com', 'manager', ['engineering', 'hr']);
const fiona = person('fiona@example.com', 'lead', ['finance']);
const emma = person('emma@example.com', 'member', ['engineering']);
const hrBot = person('hr-bot@example.com', 'member', ['hr'], true);
const auditor = person('auditor-bot@example.com', 'manager', ['finance'], true);
const directory = new InMemoryDirectory([ada, max, fiona, emma, hrBot, auditor]);

/** A workflow with these triggers (YAML flow mappings) and one delay step. */
function workflow(...triggers: string[]): IrWorkflow {
  const source = `version: 1
id: wf
triggers:
${triggers.map((t) => `  - ${t}`).join('\n')}
steps:
  - { id: wait, type: delay, duration: 1h }
`;
  const { ir, diagnostics } = validateWorkflow(source, 'yaml');
  if (ir === undefined) throw new Error(diagnostics.map((d) => d.message).join('; '));
  return ir;
}
const runAs = (email: string) => `{ type: webhook, auth: token, runAs: ${email} }`;
const manual = (minRole: string) => `{ type: manual, minRole: ${minRole} }`;
const schedule = (scope: string, group?: string) =>
  `{ type: schedule, preset: hourly, scope: ${scope}${group ? `, group: ${group}` : ''} }`;

describe('delegates', () => {
  it('is true for a runAs webhook and a schedule, false for a manual trigger and a runAs-less webhook', () => {
    const ir = workflow(
      manual('member'),
      '{ type: webhook, auth: token }',
      runAs(hrBot.email),
      schedule('user'),
    );
    expect(ir.triggers.map(delegates)).toEqual([false, false, true, true]);
  });
});

describe('publishProblem', () => {
  it('lets anyone publish what delegates nothing', async () => {
    expect(await publishProblem(workflow(manual('director')), fiona, directory)).toBeUndefined();
  });

  it('lets a publisher who holds the service account’s role and groups make runs act as it', async () => {
    expect(
      await publishProblem(workflow(manual('member'), runAs(hrBot.email)), max, directory),
    ).toBeUndefined();
  });

  it('refuses a runAs that is no user, even to an admin, naming the field', async () => {
    expect(
      await publishProblem(workflow(manual('member'), runAs('ghost@example.com')), ada, directory),
    ).toEqual({
      field: 'triggers[1].runAs',
      detail: "runAs 'ghost@example.com' is not an enabled user of the directory",
    });
  });

  it('refuses a person as runAs to all but an admin', async () => {
    expect((await publishProblem(workflow(runAs(emma.email)), max, directory))?.detail).toBe(
      'runAs emma@example.com is not a service account; only an admin can make runs act as a person',
    );
    expect(await publishProblem(workflow(runAs(emma.email)), ada, directory)).toBeUndefined();
  });

  it('refuses a service account of a higher role, or in a group the publisher is not in', async () => {
    expect((await publishProblem(workflow(runAs(auditor.email)), fiona, directory))?.detail).toBe(
      'runAs auditor-bot@example.com has the role manager; fiona@example.com is lead',
    );
    expect((await publishProblem(workflow(runAs(hrBot.email)), fiona, directory))?.detail).toBe(
      "runAs hr-bot@example.com is in the group(s) 'hr'; fiona@example.com is not",
    );
    expect(await publishProblem(workflow(runAs(auditor.email)), ada, directory)).toBeUndefined();
  });

  it('applies the API schedules’ scope rules to definition schedules', async () => {
    expect(await publishProblem(workflow(schedule('group', 'finance')), fiona, directory)).toBeUndefined();
    expect(await publishProblem(workflow(schedule('group', 'engineering')), fiona, directory)).toMatchObject({
      field: 'triggers[0].scope',
      detail: expect.stringContaining("not in 'engineering'"),
    });
    expect((await publishProblem(workflow(schedule('org')), fiona, directory))?.detail).toContain(
      'an org schedule needs the role manager or above',
    );
    expect(await publishProblem(workflow(schedule('org')), max, directory)).toBeUndefined();
  });
});

describe('startDelegationProblem', () => {
  const version = (createdBy: string, ir = workflow(manual('member'), runAs(hrBot.email))) => ({
    id: 'wf',
    ir,
    createdBy,
  });
  const hook = (v: { ir: IrWorkflow }) => v.ir.triggers[1] as IrWorkflow['triggers'][number];

  it('holds while the publisher still holds what they delegated', async () => {
    const v = version(max.email);
    expect(await startDelegationProblem(v, hook(v), directory)).toBeUndefined();
  });

  it('trusts the system publisher, and checks nothing for a trigger that delegates nothing', async () => {
    const system = version(SYSTEM_PUBLISHER);
    expect(await startDelegationProblem(system, hook(system), new InMemoryDirectory([]))).toBeUndefined();
    const v = version('gone@example.com');
    expect(
      await startDelegationProblem(v, v.ir.triggers[0] as IrWorkflow['triggers'][number], directory),
    ).toBe(undefined);
  });

  it('stops for a publisher who is gone, who can no longer publish, or who lost the runAs’s group', async () => {
    const gone = version('gone@example.com');
    expect(await startDelegationProblem(gone, hook(gone), directory)).toBe(
      "the delegation of 'wf' by gone@example.com no longer holds: gone@example.com is no longer an enabled user of the directory",
    );
    const v = version(max.email);
    const demoted = new InMemoryDirectory([{ ...max, role: 'member' }, hrBot]);
    expect(await startDelegationProblem(v, hook(v), demoted)).toBe(
      "the delegation of 'wf' by max@example.com no longer holds: max@example.com is member now; publishing needs lead or above",
    );
    const moved = new InMemoryDirectory([{ ...max, groups: ['engineering'] }, hrBot]);
    expect(await startDelegationProblem(v, hook(v), moved)).toContain(
      "runAs hr-bot@example.com is in the group(s) 'hr'",
    );
  });

  it('stops an admin’s delegation to a person once they are no longer an admin', async () => {
    const v = version(ada.email, workflow(manual('member'), runAs(emma.email)));
    expect(await startDelegationProblem(v, hook(v), directory)).toBeUndefined();
    const demoted = new InMemoryDirectory([{ ...ada, role: 'director' }, emma]);
    expect(await startDelegationProblem(v, hook(v), demoted)).toContain(
      'emma@example.com is not a service account',
    );
  });
});

describe('grantedRole and editProblem', () => {
  it('is the highest of the minRoles, the runAs users’ roles and the schedule scopes', async () => {
    expect(await grantedRole(workflow(manual('member'), runAs(auditor.email)), directory)).toEqual({
      role: 'manager',
      field: 'triggers[1].runAs',
    });
    expect((await grantedRole(workflow(manual('director'), runAs(auditor.email)), directory))?.role).toBe(
      'director',
    );
    expect((await grantedRole(workflow(schedule('group', 'finance')), directory))?.role).toBe('lead');
    expect((await grantedRole(workflow(schedule('org'), manual('member')), directory))?.role).toBe('manager');
    // A runAs nobody answers to grants nothing (the workflow cannot start through it).
    expect(await grantedRole(workflow(runAs('ghost@example.com')), directory)).toBeUndefined();
  });

  it('refuses an editor below what the workflow grants, and lets one at or above it', async () => {
    const onboarding = workflow(manual('manager'), runAs(hrBot.email));
    expect(await editProblem(onboarding, fiona, directory)).toBe(
      "'wf' grants the role manager (triggers[0].minRole); changing or deleting it needs manager or above; fiona@example.com is lead",
    );
    expect(await editProblem(onboarding, max, directory)).toBeUndefined();
  });
});
