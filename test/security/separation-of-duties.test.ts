// Separation of duties over real HTTP against `npm start`'s server: whoever asks for a run cannot decide
// its approvals — not through the inbox API, not through an approval link — whatever the case of their
// email. Their level goes to the next approvers at once; with nobody left the run fails
// Stepgate.NoApprovers; a step with allowSelfApproval lets them decide, and the audit trail says so.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile } from '../../adapters/local/vault.js';
import {
  type AuditLine,
  type Credential,
  E2eServer,
  finishedOf,
  type Mail,
  postLink,
  until,
} from '../e2e/support.js';

interface Pending {
  runId: string;
  stepId: string;
  level: number;
  approvers: string[];
}

const hire = (fullName: string, manager: string) => ({
  fullName,
  personalEmail: 'hire@home.example',
  department: 'engineering',
  manager,
  startDate: '2026-12-07',
});

/** A one-level approval whose only approver is whoever starts the run. */
const ownSignOff = (id: string, allowSelfApproval: boolean) => `version: 1
id: ${id}
name: ${id}
triggers: [{ type: manual, minRole: member }]
steps:
  - id: sign_off
    type: approval
    approvers: ["{{trigger.user.email}}"]
    allowSelfApproval: ${allowSelfApproval}
    message: Sign off your own request
`;

describe('separation of duties on every decision path', () => {
  let s: E2eServer;
  let ada: Credential;
  let max: Credential;
  let dana: Credential;

  beforeAll(async () => {
    s = await E2eServer.start();
    // Max logs in with his email in another case: the server knows him as max@example.com all the same.
    [ada, max, dana] = await Promise.all([
      s.login('ada@example.com'),
      s.login('Max@Example.COM'),
      s.login('dana@example.com'),
    ]);
    for (const allow of [false, true]) {
      const id = allow ? 'own-sign-off-allowed' : 'own-sign-off';
      const saved = await fetch(`${s.url}/api/workflows/${id}`, {
        method: 'PUT',
        headers: { ...headers(ada), 'content-type': 'application/yaml' },
        body: ownSignOff(id, allow),
      });
      if (saved.status !== 200 && saved.status !== 201) throw new Error(`${id}: ${await saved.text()}`);
    }
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  const pendingFor = async (as: Credential, runId: string): Promise<Pending[]> =>
    (await s.api<Pending[]>(as, 'GET', '/api/approvals')).json.filter((a) => a.runId === runId);
  const ofType = (audit: AuditLine[], type: string) => audit.filter((a) => a.type === type);
  const approvalMails = async (as: Credential, runId: string): Promise<Mail[]> =>
    (await s.inbox(as)).filter(
      (m) => m.subject.startsWith('Approval needed') && m.text.includes(`run ${runId}`),
    );
  const decide = (as: Credential, runId: string, step: string, decision = 'approve') =>
    s.api<{ title?: string; detail?: string }>(as, 'POST', `/api/approvals/${runId}/${step}`, {
      decision,
      comment: 'my own',
    });

  /** Max, a manager, onboards a hire whose manager he is (named in another case): the reproduction. */
  const maxOnboardsHisOwnHire = async (name: string): Promise<string> => {
    const runId = await s.startRun(max, 'employee-onboarding', hire(name, 'Max@Example.com'));
    await s.awaitingApproval(max, runId, 'equipment_approval', 2);
    return runId;
  };

  it('the requester is not asked: his level passes to the director at once, and his POST is 403', async () => {
    const runId = await maxOnboardsHisOwnHire('Nina Newhire');

    // Level 1 had nobody left; level 2 (role:director) is open, for dana only. Max sees nothing.
    const audit = await s.audit(max, runId);
    expect(ofType(audit, 'approval.no-approvers').map((a) => a.data)).toEqual([
      expect.objectContaining({ level: 1, escalatesTo: 2 }),
    ]);
    expect(ofType(audit, 'approval.requested').map((a) => a.data?.approvers)).toEqual([['dana@example.com']]);
    expect(await pendingFor(max, runId)).toEqual([]);
    expect(await pendingFor(dana, runId)).toMatchObject([{ stepId: 'equipment_approval', level: 2 }]);

    const refused = await decide(max, runId, 'equipment_approval');

    expect(refused.status, refused.text).toBe(403);
    expect(refused.json.detail).toContain('max@example.com asked for this run');
    const after = await s.audit(max, runId);
    expect(ofType(after, 'approval.decision')).toEqual([]);
    expect(ofType(after, 'approval.refused').map((a) => a.data)).toEqual([
      expect.objectContaining({ by: 'max@example.com', reason: 'self-approval', channel: 'api', level: 2 }),
    ]);
    expect((await s.run(max, runId)).status).toBe('running');
    expect(await pendingFor(dana, runId)).toHaveLength(1);

    // The director can decide; the run goes on with her decision.
    const decided = await decide(dana, runId, 'equipment_approval');
    expect(decided.status, decided.text).toBe(200);
    expect((await s.finished(max, runId)).status).toBe('completed');
    expect(finishedOf(await s.audit(max, runId), 'equipment_approval')).toMatchObject({
      approved: true,
      level: 2,
      decidedBy: 'dana@example.com',
    });
  });

  it('no link goes to the requester, and a link he holds anyway (in another case) is refused: 403', async () => {
    const runId = await maxOnboardsHisOwnHire('Lena Linkholder');
    await until('the approval mail to dana', async () => (await approvalMails(dana, runId))[0]);
    expect(await approvalMails(max, runId)).toEqual([]);
    // A link for max, signed with the server's own key (as if leaked or minted by an insider), for the
    // level that is open, naming him in another case than the run's.
    const link = forgedLink(s, { runId, step: 'equipment_approval', level: 2, approver: 'MAX@example.com' });

    const page = await fetch(link);
    const posted = await postLink(link, 'approve', 'mine');

    expect(page.status).toBe(403);
    expect(await page.text()).toContain('You cannot approve your own run');
    expect(posted.status).toBe(403);
    const audit = await s.audit(max, runId);
    expect(
      ofType(audit, 'approval.link').map((a) => [a.data?.approver, a.data?.action, a.data?.reason]),
    ).toEqual([
      ['max@example.com', 'view', 'separation-of-duties'],
      ['max@example.com', 'decide', 'separation-of-duties'],
    ]);
    expect(ofType(audit, 'approval.decision')).toEqual([]);
    expect((await s.run(max, runId)).status).toBe('running');
    expect(await pendingFor(dana, runId)).toHaveLength(1);
  });

  it('the token owner of a delegated run is a requester too', async () => {
    const minted = await s.api<{ token: string }>(max, 'POST', '/api/tokens', {
      name: 'hr import',
      scopes: ['webhook:employee-onboarding'],
    });
    expect(minted.status, minted.text).toBe(201);
    const started = await s.api<{ runId: string }>(
      { token: minted.json.token },
      'POST',
      '/api/workflows/employee-onboarding/run',
      hire('Dora Delegated', 'max@example.com'),
    );
    expect(started.status, started.text).toBe(201);
    const runId = started.json.runId;
    expect((await s.run(max, runId)).trigger).toMatchObject({
      user: { email: 'hr-system@example.com' },
      by: 'max@example.com',
    });

    await s.awaitingApproval(max, runId, 'equipment_approval', 2);

    expect(await pendingFor(max, runId)).toEqual([]);
    expect((await decide(max, runId, 'equipment_approval')).status).toBe(403);
    expect(ofType(await s.audit(max, runId), 'approval.decision')).toEqual([]);
  });

  it('a last level whose only approver is the requester fails the run with Stepgate.NoApprovers', async () => {
    const runId = await s.startRun(max, 'own-sign-off', {});

    const run = await s.finished(max, runId);

    expect(run.status).toBe('failed');
    const view = await s.api<{ error: { code: string; step: string } }>(max, 'GET', `/api/runs/${runId}`);
    expect(view.json.error).toMatchObject({ code: 'Stepgate.NoApprovers', step: 'sign_off' });
    expect(await pendingFor(max, runId)).toEqual([]);
    expect(ofType(await s.audit(max, runId), 'approval.requested')).toEqual([]);
  });

  it('allowSelfApproval lets the requester decide, and the audit trail marks it', async () => {
    const runId = await s.startRun(max, 'own-sign-off-allowed', {});
    await s.awaitingApproval(max, runId, 'sign_off', 1);
    expect(await pendingFor(max, runId)).toMatchObject([{ approvers: ['max@example.com'] }]);

    const decided = await decide(max, runId, 'sign_off');

    expect(decided.status, decided.text).toBe(200);
    expect((await s.finished(max, runId)).status).toBe('completed');
    const audit = await s.audit(max, runId);
    expect(ofType(audit, 'approval.requested').map((a) => a.data)).toEqual([
      expect.objectContaining({ approvers: ['max@example.com'], allowSelfApproval: true }),
    ]);
    expect(ofType(audit, 'approval.decision').map((a) => a.data)).toEqual([
      expect.objectContaining({ by: 'max@example.com', decision: 'approve', selfApproval: true }),
    ]);
    const view = await s.api<{ steps: Array<{ id: string; approval?: { decisions: unknown[] } }> }>(
      max,
      'GET',
      `/api/runs/${runId}`,
    );
    expect(view.json.steps.find((step) => step.id === 'sign_off')?.approval?.decisions).toEqual([
      expect.objectContaining({ by: 'max@example.com', selfApproval: true }),
    ]);
  });
});

/** The headers of a session's state-changing request. */
function headers(as: Credential): Record<string, string> {
  return 'token' in as
    ? { authorization: `Bearer ${as.token}` }
    : { cookie: as.cookie, 'x-csrf-token': as.csrf };
}

/**
 * An approval link signed as the server signs them (functions/core/approval-links.ts: base64url payload,
 * '.', base64url HMAC-SHA256 with the key derived from the data folder's master key), for any approver.
 */
function forgedLink(
  s: E2eServer,
  at: { runId: string; step: string; level: number; approver: string },
): string {
  const { key } = loadOrCreateKeyFile(join(s.home, 'master.key'));
  const secret = new Uint8Array(hkdfSync('sha256', key, '', 'stepgate approval links', 32));
  const payload = {
    r: at.runId,
    s: at.step,
    v: 1,
    l: at.level,
    a: at.approver,
    exp: s.clock.now() + 3_600_000,
    n: randomBytes(16).toString('base64url'),
  };
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = createHmac('sha256', secret).update(body).digest('base64url');
  return `${s.url}/approve/${body}.${signature}`;
}
