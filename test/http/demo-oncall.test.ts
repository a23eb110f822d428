// The demo's incident-response template, as a new user tries it: `npm start`'s server over real HTTP (a
// fresh data folder, the repository's config and sandbox MCP servers). A critical incident asks whoever
// the incidents sandbox has on call to acknowledge; that engineer is a demo user, so they can log in and
// find the request under Approvals, not only through the emailed link. Escalation goes to
// engineering-managers, which the demo directory fills too.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../adapters/local/config.js';
import { E2eServer, until } from '../e2e/support.js';

const CONFIG = join(import.meta.dirname, '..', '..', 'stepgate.config.yaml');

describe('the demo on-call engineer', () => {
  let s: E2eServer;

  beforeAll(async () => {
    s = await E2eServer.start({ config: CONFIG });
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  it('is a demo user with a login, as is every engineering manager the request escalates to', async () => {
    // The incidents sandbox's rota (mcp-servers/incidents.ts): any of them may be on call.
    for (const name of ['sam', 'pat', 'alex', 'riley', 'jordan', 'casey', 'morgan', 'quinn'])
      await s.login(`${name}@example.com`);
    const managers = loadConfig(CONFIG)
      .directory.users.filter((u) => u.groups?.includes('engineering-managers'))
      .map((u) => u.email);
    expect(managers).toEqual(expect.arrayContaining(['max@example.com', 'pat@example.com']));
    for (const email of managers) await s.login(email);
  });

  it("gives every demo user but the director a manager who can log in (the templates' first approver)", async () => {
    const users = loadConfig(CONFIG).directory.users;
    const people = users.filter((u) => u.service !== true && u.role !== 'director');
    for (const user of people) {
      const manager = users.find((u) => u.email === user.manager);
      expect(manager, `${user.email}'s manager`).toBeDefined();
      expect(manager?.service, `${user.email}'s manager`).not.toBe(true);
    }
  });

  it('logs in and finds the acknowledgement waiting under Approvals, and acknowledges it there', async () => {
    const emma = await s.login('emma@example.com');
    const runId = await s.startRun(emma, 'incident-response', {
      title: 'API down for all users',
      service: 'api',
      details: 'all requests fail',
    });

    // Whoever the sandbox has on call this week for the service.
    const oncall = await until(
      'the on-call lookup',
      async () => {
        const requested = (await s.audit(emma, runId)).find((a) => a.type === 'approval.requested');
        return (requested?.data?.approvers as string[] | undefined)?.[0];
      },
      20_000,
    );
    expect(oncall).toMatch(/@example\.com$/);

    const engineer = await s.login(oncall);
    const pending = (await s.api(engineer, 'GET', '/api/approvals')).json as Array<{
      runId: string;
      stepId: string;
      message: string;
      context: { details: Array<{ label: string; value: unknown }> };
    }>;
    expect(pending).toContainEqual(
      expect.objectContaining({
        runId,
        stepId: 'acknowledge',
        message: expect.stringContaining('API down for all users'),
      }),
    );
    // Why it is critical and who is on call, as the template's details word it.
    expect(pending.find((a) => a.runId === runId)?.context.details).toEqual([
      { label: 'Why critical', value: [expect.stringContaining("mentions 'down'")] },
      { label: 'On call', value: expect.stringContaining(`(${oncall}, team platform)`) },
    ]);
    const decided = await s.api(engineer, 'POST', `/api/approvals/${runId}/acknowledge`, {
      decision: 'approve',
      comment: 'on it',
    });
    expect(decided.status).toBe(200);
    expect((await s.finished(emma, runId)).status).toBe('completed');
  });
});
