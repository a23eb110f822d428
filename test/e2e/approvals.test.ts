// Approvals end to end over real HTTP: the approver's emailed link (its page shows and decides nothing,
// its form decides once), a rejection ending on the workflow's rejection path, and a level nobody answers
// escalating to the director on the server's injected VirtualClock, the first level's link refused after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Credential,
  E2eServer,
  finishedOf,
  HOUR,
  linkIn,
  type Mail,
  pathOf,
  postLink,
  until,
} from './support.js';

interface Pending {
  runId: string;
  stepId: string;
  level: number;
}

describe('approvals over HTTP: links, rejections, escalation on a virtual clock', () => {
  let s: E2eServer;
  let emma: Credential;
  let max: Credential;
  let dana: Credential;

  beforeAll(async () => {
    s = await E2eServer.start();
    [emma, max, dana] = await Promise.all([
      s.login('emma@example.com'),
      s.login('max@example.com'),
      s.login('dana@example.com'),
    ]);
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  const approvalMail = (as: Credential, runId: string): Promise<Mail> =>
    s.mail(as, (m) => m.subject.startsWith('Approval needed') && m.text.includes(`run ${runId}`));
  const pendingFor = async (as: Credential, runId: string): Promise<Pending[]> =>
    (await s.api<Pending[]>(as, 'GET', '/api/approvals')).json.filter((a) => a.runId === runId);
  const expense = (amount: number, description: string) =>
    s.startRun(emma, 'expense-approval', { amount, description, category: 'equipment' });

  it("an expense over $500 is approved by the manager through the emailed link's page", async () => {
    const runId = await expense(900, 'Ergonomic chair');
    const mail = await approvalMail(max, runId);
    expect(mail.rcptTo).toEqual(['max@example.com']);
    const link = linkIn(mail);

    const page = await fetch(link);

    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('expense-approval');
    expect(html).toContain('emma@example.com');
    expect(html).toContain('$900');
    expect(html).toContain('Ergonomic chair');
    // Opening the link decided nothing: the run waits, the request is still in max's inbox.
    expect((await s.run(emma, runId)).status).toBe('running');
    expect(await pendingFor(max, runId)).toMatchObject([{ stepId: 'manager_approval', level: 1 }]);
    const viewed = (await s.audit(emma, runId)).filter((a) => a.type === 'approval.link');
    expect(viewed.map((a) => a.data)).toEqual([
      expect.objectContaining({ approver: 'max@example.com', action: 'view', outcome: 'shown' }),
    ]);

    const decided = await postLink(link, 'approve', 'fine by me');

    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain('Approved');
    const run = await s.finished(emma, runId);
    expect(run.status).toBe('completed');
    const audit = await s.audit(emma, runId);
    expect(pathOf(audit)).toEqual([
      'validate',
      'over_threshold',
      'manager_approval',
      'process_payment',
      'notify_paid',
    ]);
    expect(finishedOf(audit, 'manager_approval')).toMatchObject({
      approved: true,
      level: 1,
      decidedBy: 'max@example.com',
    });
    const paid = await s.mail(emma, (m) => m.subject === 'Expense paid: Ergonomic chair');
    expect(paid.text).toContain("Your expense 'Ergonomic chair' of $900 was paid");
    // The link worked once.
    expect((await postLink(link, 'approve')).status).toBe(410);
  });

  it('an expense rejected through the link page ends on the rejection path, nothing paid', async () => {
    const runId = await expense(750, 'Espresso machine');
    const link = linkIn(await approvalMail(max, runId));

    const decided = await postLink(link, 'reject', 'not this quarter');

    expect(decided.status).toBe(200);
    expect(await decided.text()).toContain('Rejected');
    const run = await s.finished(emma, runId);
    expect(run.status).toBe('completed');
    const audit = await s.audit(emma, runId);
    expect(pathOf(audit)).toEqual(['validate', 'over_threshold', 'manager_approval', 'notify_rejected']);
    expect(finishedOf(audit, 'manager_approval')).toMatchObject({
      approved: false,
      decidedBy: 'max@example.com',
    });
    const rejected = await s.mail(emma, (m) => m.subject === 'Expense not approved: Espresso machine');
    expect(rejected.text).toContain('was not approved by max@example.com: not this quarter');
  });

  it('two concurrent decisions of one approver count once: one 200, one 409, one decision recorded', async () => {
    const runId = await expense(900, 'Standing desk');
    await until('the approval request', async () => (await pendingFor(max, runId))[0]);
    const post = (decision: 'approve' | 'reject') =>
      s.api(max, 'POST', `/api/approvals/${runId}/manager_approval`, { decision });

    const answers = await Promise.all([post('approve'), post('reject')]);

    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect((await s.finished(emma, runId)).status).toBe('completed');
    const audit = await s.audit(emma, runId);
    const decisions = audit.filter((a) => a.type === 'approval.decision');
    expect(decisions).toHaveLength(1);
    const won = answers[0]?.status === 200 ? 'approve' : 'reject';
    expect(decisions[0]?.data).toMatchObject({ by: 'max@example.com', decision: won });
    expect(audit.filter((a) => a.type === 'approval.refused')).toHaveLength(1);
  });

  it('a trip over budget rejected through the approvals inbox ends on its rejection path, nothing booked', async () => {
    const runId = await s.startRun(emma, 'travel-booking', {
      origin: 'SFO',
      destination: 'LHR',
      departureDate: '2026-12-20',
      budget: 50,
    });
    await until('the approval request', async () => (await pendingFor(max, runId))[0]);

    const decided = await s.api(max, 'POST', `/api/approvals/${runId}/manager_approval`, {
      decision: 'reject',
      comment: 'join remotely',
    });

    expect(decided.status, decided.text).toBe(200);
    expect((await s.finished(emma, runId)).status).toBe('completed');
    const path = pathOf(await s.audit(emma, runId));
    expect(path.slice(-2)).toEqual(['manager_approval', 'notify_rejected']);
    expect(path).not.toContain('book_flight');
    const mail = await s.mail(emma, (m) => m.subject === 'Travel not approved: SFO to LHR');
    expect(mail.text).toBe('Your trip was not approved (max@example.com): join remotely');
  });

  it("escalates to the director when the manager does not answer in 24h; the manager's link is then refused", async () => {
    const runId = await expense(1200, 'Conference ticket');
    const managerLink = linkIn(await approvalMail(max, runId));
    const deadline = await s.awaitingApproval(emma, runId, 'manager_approval', 1);
    expect(deadline).toBe((await s.run(emma, runId)).createdAt + 24 * HOUR);

    await s.advanceTo(deadline + 60_000);

    const escalation = await approvalMail(dana, runId);
    const directorLink = linkIn(escalation);
    expect(await pendingFor(dana, runId)).toMatchObject([{ stepId: 'manager_approval', level: 2 }]);
    const timedOut = (await s.audit(emma, runId)).filter((a) => a.type === 'approval.timed-out');
    expect(timedOut.map((a) => a.data)).toEqual([{ level: 1, escalatesTo: 2 }]);
    // The manager's link is for a level that is over: refused, and nothing changes.
    const before = await s.audit(emma, runId);
    expect((await fetch(managerLink)).status).toBe(410);
    expect((await postLink(managerLink, 'approve', 'sorry, late')).status).toBe(410);
    const after = await s.audit(emma, runId);
    expect(after.filter((a) => a.type !== 'approval.link')).toEqual(
      before.filter((a) => a.type !== 'approval.link'),
    );
    expect(
      after
        .filter((a) => a.type === 'approval.link')
        .slice(-2)
        .map((a) => a.data),
    ).toEqual([
      expect.objectContaining({
        approver: 'max@example.com',
        action: 'view',
        outcome: 'refused',
        reason: 'expired',
      }),
      expect.objectContaining({
        approver: 'max@example.com',
        action: 'decide',
        outcome: 'refused',
        reason: 'expired',
      }),
    ]);
    expect((await s.run(emma, runId)).status).toBe('running');
    expect(await pendingFor(dana, runId)).toHaveLength(1);
    const page = await (await fetch(directorLink)).text();
    expect(page).toContain('escalation level 2');

    expect((await postLink(directorLink, 'approve', 'approved on escalation')).status).toBe(200);

    expect((await s.finished(emma, runId)).status).toBe('completed');
    const audit = await s.audit(emma, runId);
    expect(finishedOf(audit, 'manager_approval')).toMatchObject({
      approved: true,
      level: 2,
      decidedBy: 'dana@example.com',
    });
    expect(pathOf(audit).slice(-2)).toEqual(['process_payment', 'notify_paid']);
    await s.mail(emma, (m) => m.subject === 'Expense paid: Conference ticket');
  });

  it('when neither the manager nor the director answers, the run ends on the expiry path', async () => {
    const runId = await expense(640, 'Team offsite deposit');
    await approvalMail(max, runId);

    await s.advanceTo((await s.awaitingApproval(emma, runId, 'manager_approval', 1)) + 60_000);
    await approvalMail(dana, runId);
    await s.advanceTo((await s.awaitingApproval(emma, runId, 'manager_approval', 2)) + 60_000);

    expect((await s.finished(emma, runId)).status).toBe('completed');
    const audit = await s.audit(emma, runId);
    expect(finishedOf(audit, 'manager_approval')).toMatchObject({
      approved: false,
      timedOut: true,
      level: 2,
    });
    expect(pathOf(audit).at(-1)).toBe('notify_expired');
    await s.mail(emma, (m) => m.subject === 'Expense not approved in time: Team offsite deposit');
  });
});
