// What an approver sees, in Chromium against the real server: Emma submits an expense over its category's
// cap; Max's approval card and the page behind his emailed link show the policy check's findings (the
// template's `details`), the inputs and the latest step results; once he has approved, the same link
// says who decided what and when, and links to the run. An on-call engineer, a member who may not read
// the incident run, still sees the incident's inputs on their card.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

async function csrfOf(user: UserContext): Promise<string> {
  const me = (await (await user.context.request.get('/api/me')).json()) as { csrf?: string };
  return me.csrf ?? '';
}

async function startRun(user: UserContext, workflow: string, input: Record<string, unknown>) {
  const started = await user.context.request.post(`/api/workflows/${workflow}/run`, {
    headers: { 'x-csrf-token': await csrfOf(user) },
    data: { input },
  });
  expect(started.status()).toBe(201);
  return ((await started.json()) as { runId: string }).runId;
}

/** The first approver the run's approval request went to, once it is requested. */
async function requestedApprover(user: UserContext, runId: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const run = (await (await user.context.request.get(`/api/runs/${runId}`)).json()) as {
      audit: Array<{ type: string; data: { approvers?: string[] } }>;
    };
    const approver = run.audit.find((a) => a.type === 'approval.requested')?.data.approvers?.[0];
    if (approver !== undefined) return approver;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run ${runId} requested no approval`);
}

describe('what an approver sees', () => {
  let stack: Stack;
  let emma: UserContext;
  let max: UserContext;
  let runId: string;

  beforeAll(async () => {
    stack = await startStack();
    emma = await stack.login('emma@example.com');
    max = await stack.login('max@example.com');
    runId = await startRun(emma, 'expense-approval', {
      amount: 3500,
      description: 'Standing desk <oak>',
      category: 'equipment',
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it("shows the policy check's findings, the inputs and the latest results on the approval card", async () => {
    const { page } = max;
    await page.goto('/approvals');
    const card = page.locator('.approval-card').filter({ hasText: 'Standing desk <oak>' });
    await card.waitFor({ timeout: 20_000 });

    const details = card.locator('.facts-wide').filter({ has: page.locator('dt', { hasText: /^Details$/ }) });
    await expect
      .poll(() => details.locator('.context-entry').allInnerTexts())
      .toEqual([
        'Flagged for review\ntrue',
        'Policy findings\namount $3500 is over the $3000 cap for equipment',
        'Category cap\n$3000',
        'Receipt required\ntrue',
      ]);
    const inputs = card.locator('.facts-wide').filter({ has: page.locator('dt', { hasText: /^Inputs$/ }) });
    expect(await inputs.locator('.context-entry dt').allInnerTexts()).toEqual([
      'amount',
      'description',
      'category',
    ]);
    // Markup in an input is text on the card, never an element.
    expect(await card.locator('oak').count()).toBe(0);
    const results = card
      .locator('.facts-wide')
      .filter({ has: page.locator('dt', { hasText: 'Latest step results' }) });
    expect(await results.locator('.context-entry dt').allInnerTexts()).toEqual(['validate']);
    expect(await results.locator('pre').textContent()).toContain('"flagged": true');
    await screenshot(page, 'approval-card');
    expect(max.errors).toEqual([]);
  }, 60_000);

  it('shows the same on the page behind the emailed link, then who decided once it is used', async () => {
    // The card stays open in the first tab; the link is opened in a second one.
    const page = await max.context.newPage();
    await expect
      .poll(async () => JSON.stringify(await (await page.request.get('/api/inbox')).json()), {
        timeout: 20_000,
      })
      .toContain('Standing desk');
    const inbox = (await (await page.request.get('/api/inbox')).json()) as Array<{ text: string }>;
    const mail = inbox.find((m) => m.text.includes('Standing desk'));
    expect(mail?.text).toContain('Policy findings: amount $3500 is over the $3000 cap for equipment');
    const link = /https?:\/\/\S+\/approve\/[A-Za-z0-9_.-]+/.exec(mail?.text ?? '')?.[0];
    expect(link).toBeDefined();

    await page.goto(link as string);
    await page.getByRole('heading', { name: 'Details' }).waitFor();
    const findings = page.locator('tr', { has: page.locator('th', { hasText: 'Policy findings' }) });
    expect(await findings.locator('li').allInnerTexts()).toEqual([
      'amount $3500 is over the $3000 cap for equipment',
    ]);
    await page.getByRole('heading', { name: 'Inputs' }).waitFor();
    await page.getByRole('heading', { name: 'Latest step results' }).waitFor();
    await screenshot(page, 'approval-page');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Approved', level: 1 }).waitFor();
    await page.goto(link as string);
    await page.getByRole('heading', { name: 'Already approved', level: 1 }).waitFor();
    expect(await page.locator('li.decision').textContent()).toMatch(
      /^Max Manager \(max@example\.com\) approved on \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    );
    await screenshot(page, 'approval-page-decided');
    await page.getByRole('link', { name: `Open run ${runId}` }).click();
    await page.getByTestId('run-status').waitFor();
    expect(new URL(page.url()).pathname).toBe(`/runs/${runId}`);

    // The card still on screen in the first tab: deciding there says why nothing was recorded.
    await max.page.getByRole('button', { name: 'Approve' }).click();
    await max.page
      .getByRole('alert')
      .filter({ hasText: 'Your decision was not recorded' })
      .filter({ hasText: 'no longer open: another approver decided it' })
      .waitFor();
  }, 60_000);

  it("shows an on-call engineer who may not read the run the incident's inputs on their card", async () => {
    const incident = await startRun(emma, 'incident-response', {
      title: 'API down for all users',
      service: 'api',
    });
    const acknowledger = await requestedApprover(emma, incident);
    const engineer = await stack.login(acknowledger);
    // Members see only their own runs: the run is hidden from them (404), its inputs are not.
    expect((await engineer.context.request.get(`/api/runs/${incident}`)).status()).toBe(404);

    await engineer.page.goto('/approvals');
    const card = engineer.page.locator('.approval-card').filter({ hasText: 'API down for all users' });
    await card.waitFor({ timeout: 20_000 });
    const inputs = card
      .locator('.facts-wide')
      .filter({ has: engineer.page.locator('dt', { hasText: /^Inputs$/ }) });
    expect(await inputs.locator('.context-entry').allInnerTexts()).toEqual([
      'title\nAPI down for all users',
      'service\napi',
    ]);
  }, 60_000);
});
