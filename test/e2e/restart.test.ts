// Approvals across a restart of `npm start`'s server: an approval level whose deadline passed while the
// server was down escalates once it is back, and a link emailed before the restart still decides after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Credential, E2eServer, finishedOf, HOUR, linkIn, type Mail, postLink } from './support.js';

describe('approvals across a restart', () => {
  let s: E2eServer;

  beforeAll(async () => {
    s = await E2eServer.start();
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  const approvalMail = (as: Credential, runId: string): Promise<Mail> =>
    s.mail(as, (m) => m.subject.startsWith('Approval needed') && m.text.includes(`run ${runId}`));

  it('escalates a level whose deadline passed while down, and decides by a link emailed before', async () => {
    const emma = await s.login('emma@example.com');
    const max = await s.login('max@example.com');
    const escalated = await s.startRun(emma, 'expense-approval', {
      amount: 2500,
      description: 'Server rack',
    });
    const deadline = await s.awaitingApproval(emma, escalated, 'manager_approval', 1);
    // Two hours later a second request, whose deadline is two hours after the first one's.
    await s.advanceTo(s.clock.now() + 2 * HOUR);
    const decided = await s.startRun(emma, 'expense-approval', { amount: 1500, description: 'Laptop' });
    expect(await s.awaitingApproval(emma, decided, 'manager_approval', 1)).toBe(deadline + 2 * HOUR);
    const link = linkIn(await approvalMail(max, decided));

    // Down across the first deadline: its timer is re-armed on start and escalates at once.
    await s.restart(new VirtualClock(deadline + HOUR));
    await s.advanceTo(deadline + HOUR);

    const dana = await s.login('dana@example.com');
    expect((await postLink(linkIn(await approvalMail(dana, escalated)), 'approve')).status).toBe(200);
    // The link emailed before the restart still decides; sessions are kept across it too.
    expect((await postLink(link, 'approve', 'after the restart')).status).toBe(200);
    expect((await s.finished(emma, decided)).status).toBe('completed');
    expect((await s.finished(emma, escalated)).status).toBe('completed');
    const audit = await s.audit(emma, escalated);
    expect(audit.filter((a) => a.type === 'approval.timed-out').map((a) => a.data)).toEqual([
      { level: 1, escalatesTo: 2 },
    ]);
    expect(finishedOf(audit, 'manager_approval')).toMatchObject({
      approved: true,
      level: 2,
      decidedBy: 'dana@example.com',
    });
    expect(finishedOf(await s.audit(emma, decided), 'manager_approval')).toMatchObject({
      approved: true,
      level: 1,
      decidedBy: 'max@example.com',
    });
    await s.mail(emma, (m) => m.subject === 'Expense paid: Server rack');
    await s.mail(emma, (m) => m.subject === 'Expense paid: Laptop');
  }, 60_000);
});
