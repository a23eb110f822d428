// Delegation over real HTTP against `npm start`'s server (test/e2e/support.ts): nobody grants what they do
// not hold. A lead cannot make a webhook run as the admin (the review's reproduction), nor as a person, nor
// loosen or delete what grants more than they hold; a group or org schedule needs its scope; an admin and
// an entitled manager can publish a service account's runAs, and when the manager is demoted the webhook
// stops (403, logged, no run). Service accounts carry no password and are never a caller. Every refusal
// is checked to have left nothing behind through the API.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Credential, E2eServer } from '../e2e/support.js';

/** A workflow with a manual trigger and a token webhook acting as `runAs`, waiting an hour. */
const delegating = (id: string, runAs: string, minRole = 'member') => `version: 1
id: ${id}
triggers:
  - type: manual
    minRole: ${minRole}
  - type: webhook
    auth: token
    runAs: ${runAs}
steps:
  - id: wait
    type: delay
    duration: 1h
`;

/** A workflow whose only trigger is a definition schedule of `scope`. */
const scheduled = (id: string, scope: string) => `version: 1
id: ${id}
triggers:
  - type: schedule
    preset: daily-9am
    scope: ${scope}
steps:
  - id: wait
    type: delay
    duration: 1h
`;

interface Problem {
  status: number;
  title: string;
  detail: string;
  field?: string;
}

describe('delegation: nobody grants what they do not hold', () => {
  let s: E2eServer;
  let ada: Credential;
  let fiona: Credential;
  let max: Credential;
  let emma: Credential;

  beforeAll(async () => {
    s = await E2eServer.start();
    [ada, fiona, max, emma] = await Promise.all([
      s.login('ada@example.com'),
      s.login('fiona@example.com'),
      s.login('max@example.com'),
      s.login('emma@example.com'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  /** PUTs a YAML definition as `as` (the helper sends JSON only). */
  const publish = async (as: Credential, id: string, source: string) => {
    const response = await fetch(`${s.url}/api/workflows/${id}`, {
      method: 'PUT',
      headers: { ...headersOf(as), 'content-type': 'application/yaml' },
      body: source,
    });
    return { status: response.status, json: (await response.json()) as Problem & { version?: number } };
  };
  const stored = (id: string) =>
    s.api<{ version: number; source: string }>(ada, 'GET', `/api/workflows/${id}`);
  const runsOf = async (id: string) =>
    (await s.api<unknown[]>(ada, 'GET', `/api/runs?workflowId=${id}`)).json.length;
  const webhookToken = async (as: Credential, id: string): Promise<Credential> => {
    const minted = await s.api<{ token: string }>(as, 'POST', '/api/tokens', {
      name: `hook ${id}`,
      scopes: [`webhook:${id}`],
    });
    expect(minted.status, minted.text).toBe(201);
    return { token: minted.json.token };
  };

  it("refuses a lead's webhook running as the admin, so a member's webhook token starts nothing", async () => {
    const put = await publish(fiona, 'refund-as-admin', delegating('refund-as-admin', 'ada@example.com'));

    expect(put.status).toBe(403);
    expect(put.json).toMatchObject({ status: 403, field: 'triggers[1].runAs' });
    expect(put.json.detail).toContain('ada@example.com is not a service account');
    expect((await stored('refund-as-admin')).status).toBe(404);
    const token = await webhookToken(emma, 'refund-as-admin');
    const started = await s.api(token, 'POST', '/api/workflows/refund-as-admin/run', {});
    expect(started.status).toBe(404);
    expect(await runsOf('refund-as-admin')).toBe(0);
  });

  it("refuses a lead's runAs of a person of lower role: not a service account", async () => {
    const put = await publish(fiona, 'as-emma', delegating('as-emma', 'emma@example.com'));

    expect(put.status).toBe(403);
    expect(put.json).toMatchObject({ field: 'triggers[1].runAs' });
    expect(put.json.detail).toContain('emma@example.com is not a service account');
    expect((await stored('as-emma')).status).toBe(404);
  });

  it("refuses a lead's runAs of a service account in a group the lead is not in", async () => {
    const put = await publish(
      fiona,
      'as-monitoring',
      delegating('as-monitoring', 'monitoring-bot@example.com'),
    );

    expect(put.status).toBe(403);
    expect(put.json.detail).toContain("'engineering'");
    expect((await stored('as-monitoring')).status).toBe(404);
  });

  it('lets an admin publish the runAs of a service account', async () => {
    const put = await publish(ada, 'as-ops-bot', delegating('as-ops-bot', 'ops-bot@example.com'));

    expect(put.status).toBe(201);
    expect((await stored('as-ops-bot')).json).toMatchObject({ version: 1, createdBy: 'ada@example.com' });
  });

  it("stops a manager's delegation to hr-system once an admin demotes them: 403, logged, no run", async () => {
    // hr-system is a member of 'hr' (stepgate.config.yaml): a manager of 'hr' holds its role and groups.
    const hanna = 'hanna@example.com';
    expect((await s.api(ada, 'PUT', `/api/users/${hanna}`, { role: 'manager', groups: ['hr'] })).status).toBe(
      201,
    );
    expect(
      (await s.api(ada, 'POST', `/api/users/${hanna}/password`, { password: 'hanna-password-1' })).status,
    ).toBe(204);
    const manager = await s.login(hanna, 'hanna-password-1');
    expect((await publish(manager, 'hr-sync', delegating('hr-sync', 'hr-system@example.com'))).status).toBe(
      201,
    );
    const token = await webhookToken(emma, 'hr-sync');
    const first = await s.api<{ runId: string }>(token, 'POST', '/api/workflows/hr-sync/run', {});
    expect(first.status, first.text).toBe(201);
    expect((await s.run(ada, first.json.runId)).trigger).toMatchObject({
      user: { email: 'hr-system@example.com' },
      by: 'emma@example.com',
    });
    expect((await s.api(ada, 'PUT', `/api/users/${hanna}`, { role: 'member', groups: ['hr'] })).status).toBe(
      200,
    );
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

    const refused = await s.api<Problem>(token, 'POST', '/api/workflows/hr-sync/run', {});

    const logged = warn.mock.calls.map((call) => String(call[0]));
    warn.mockRestore();
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toBe(
      "the delegation of 'hr-sync' by hanna@example.com no longer holds: hanna@example.com is member now; publishing needs lead or above",
    );
    expect(await runsOf('hr-sync')).toBe(1);
    expect(logged.some((line) => line.includes("refused a webhook start of 'hr-sync'"))).toBe(true);
    expect(logged.join('\n')).not.toContain('token' in token ? token.token : '');
  });

  it('stops a delegation whose publisher was disabled, and starts again once they are back', async () => {
    const grace = 'grace@example.com';
    expect(
      (await s.api(ada, 'PUT', `/api/users/${grace}`, { role: 'lead', groups: ['finance'] })).status,
    ).toBe(201);
    expect(
      (await s.api(ada, 'POST', `/api/users/${grace}/password`, { password: 'grace-password-1' })).status,
    ).toBe(204);
    const lead = await s.login(grace, 'grace-password-1');
    expect(
      (await publish(lead, 'expense-intake', delegating('expense-intake', 'ops-bot@example.com'))).status,
    ).toBe(201);
    const token = await webhookToken(emma, 'expense-intake');
    const disable = { role: 'lead', groups: ['finance'], disabled: true };
    expect((await s.api(ada, 'PUT', `/api/users/${grace}`, disable)).status).toBe(200);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

    const refused = await s.api<Problem>(token, 'POST', '/api/workflows/expense-intake/run', {});

    warn.mockRestore();
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toContain('grace@example.com is no longer an enabled user of the directory');
    expect(await runsOf('expense-intake')).toBe(0);
    expect((await s.api(ada, 'PUT', `/api/users/${grace}`, { ...disable, disabled: false })).status).toBe(
      200,
    );
    expect((await s.api(token, 'POST', '/api/workflows/expense-intake/run', {})).status).toBe(201);
  });

  it("refuses a lead's rewrite of the manager-only onboarding to minRole member, by PUT or by template", async () => {
    const before = await stored('employee-onboarding');
    const loosened = before.json.source.replace('minRole: manager', 'minRole: member');
    expect(loosened).not.toBe(before.json.source);

    const put = await publish(fiona, 'employee-onboarding', loosened);
    const forced = await s.api<Problem>(
      fiona,
      'POST',
      '/api/templates/employee-onboarding/install?force=true',
    );

    expect(put.status).toBe(403);
    expect(put.json.detail).toContain("'employee-onboarding' grants the role manager (triggers[0].minRole)");
    expect(forced.status).toBe(403);
    expect((await stored('employee-onboarding')).json).toEqual(before.json);
  });

  it("refuses a lead's copy of the onboarding template: runAs hr-system is in a group the lead is not", async () => {
    const copy = await s.api<Problem>(fiona, 'POST', '/api/templates/employee-onboarding/install?copy=true');

    expect(copy.status).toBe(403);
    expect(copy.json).toMatchObject({ field: 'triggers[1].runAs' });
    expect((await stored('employee-onboarding-copy')).status).toBe(404);
  });

  it("refuses a lead's delete of the onboarding, and a manager's of a workflow that grants director", async () => {
    expect(
      (await publish(ada, 'board-pack', delegating('board-pack', 'ops-bot@example.com', 'director'))).status,
    ).toBe(201);

    const byLead = await s.api(fiona, 'DELETE', '/api/workflows/employee-onboarding');
    const byManager = await s.api<Problem>(max, 'DELETE', '/api/workflows/board-pack');

    expect(byLead.status).toBe(403);
    expect(byManager.status).toBe(403);
    expect(byManager.json.detail).toContain("'board-pack' grants the role director");
    expect((await stored('employee-onboarding')).status).toBe(200);
    expect((await stored('board-pack')).status).toBe(200);
  });

  it('refuses group and org schedule triggers to a publisher without the scope', async () => {
    const otherGroup = await publish(
      fiona,
      'eng-digest',
      scheduled('eng-digest', 'group').replace('scope: group', 'scope: group\n    group: engineering'),
    );
    const org = await publish(fiona, 'org-digest', scheduled('org-digest', 'org'));
    const ownGroup = await publish(
      fiona,
      'finance-digest',
      scheduled('finance-digest', 'group').replace('scope: group', 'scope: group\n    group: finance'),
    );

    expect(otherGroup.status).toBe(403);
    expect(otherGroup.json).toMatchObject({ field: 'triggers[0].scope' });
    expect(otherGroup.json.detail).toContain("not in 'engineering'");
    expect(org.status).toBe(403);
    expect(org.json.detail).toContain('an org schedule needs the role manager or above');
    expect((await stored('eng-digest')).status).toBe(404);
    expect((await stored('org-digest')).status).toBe(404);
    expect(ownGroup.status).toBe(201);
  });

  it('keeps service accounts password-less: no login, no password, and a user made one is logged out', async () => {
    const hr = await s.api(ada, 'GET', '/api/users/hr-system@example.com');
    expect(hr.json).toMatchObject({ service: true, hasPassword: false });
    const login = await s.api(null, 'POST', '/api/login', {
      email: 'hr-system@example.com',
      password: 'stepgate-demo',
    });
    expect(login.status).toBe(401);
    const password = await s.api<Problem>(ada, 'POST', '/api/users/hr-system@example.com/password', {
      password: 'a-new-password',
    });
    expect(password.status).toBe(422);
    expect(password.json.field).toBe('password');

    const kiosk = 'kiosk@example.com';
    expect((await s.api(ada, 'PUT', `/api/users/${kiosk}`, { role: 'member' })).status).toBe(201);
    expect(
      (await s.api(ada, 'POST', `/api/users/${kiosk}/password`, { password: 'kiosk-password-1' })).status,
    ).toBe(204);
    const session = await s.login(kiosk, 'kiosk-password-1');
    const made = await s.api(ada, 'PUT', `/api/users/${kiosk}`, { role: 'member', service: true });

    expect(made.json).toMatchObject({ service: true, hasPassword: false });
    expect((await s.api(session, 'GET', '/api/me')).status).toBe(401);
    const again = await s.api(null, 'POST', '/api/login', { email: kiosk, password: 'kiosk-password-1' });
    expect(again.status).toBe(401);
  });
});

/** How `as` authenticates a request (support.ts keeps its own copy private). */
function headersOf(as: Credential): Record<string, string> {
  return 'token' in as
    ? { authorization: `Bearer ${as.token}` }
    : { cookie: as.cookie, 'x-csrf-token': as.csrf };
}
