// What an approver was shown, on the run page (issue 15, item 11's gap): Emma's expense over its category's
// cap waits for Max; the timeline's approval entry shows the request's message and context as the card drew
// it — the policy check's findings (the template's `details`), the inputs, the latest step results — and
// still shows it, beside Max's decision, once he has approved. Screenshot: run-approval-context.
import type { Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

interface RunJson {
  status: string;
  steps: Array<{ id: string; state: string }>;
}

async function csrfOf(user: UserContext): Promise<string> {
  const me = (await (await user.context.request.get('/api/me')).json()) as { csrf?: string };
  return me.csrf ?? '';
}

/** Waits until the run, as the API shows it to `user`, satisfies `done` (tried for up to 20 s). */
async function until(user: UserContext, runId: string, done: (run: RunJson) => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const run = (await (await user.context.request.get(`/api/runs/${runId}`)).json()) as RunJson;
    if (done(run)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run ${runId} did not get there`);
}

/** The section of a context titled `title` (Details, Inputs, Latest step results) inside `within`. */
function section(within: Locator, title: string): Locator {
  return within.locator('.facts-wide').filter({ has: within.page().locator('dt', { hasText: title }) });
}

describe("the run page's approval entry", () => {
  let stack: Stack;
  let emma: UserContext;
  let max: UserContext;
  let runId: string;

  beforeAll(async () => {
    stack = await startStack();
    emma = await stack.login('emma@example.com');
    max = await stack.login('max@example.com');
    const started = await emma.context.request.post('/api/workflows/expense-approval/run', {
      headers: { 'x-csrf-token': await csrfOf(emma) },
      data: { input: { amount: 3500, description: 'Standing desk <oak>', category: 'equipment' } },
    });
    expect(started.status(), await started.text()).toBe(201);
    runId = ((await started.json()) as { runId: string }).runId;
    await until(emma, runId, (run) =>
      run.steps.some((s) => s.id === 'manager_approval' && s.state === 'waiting'),
    );
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it('shows what the approver was shown: the policy findings, the inputs and the latest results', async () => {
    const { page } = emma;
    await page.goto(`/runs/${runId}`);
    const entry = page.locator('#step-manager_approval');
    const shown = entry.locator('details.approval-shown');
    await shown.waitFor();
    expect(await shown.getAttribute('open')).not.toBeNull();
    expect(await entry.locator('.approval-request > p').first().textContent()).toMatch(
      /^Asked max@example\.com/,
    );
    expect(await shown.locator('.approval-message').textContent()).toBe(
      'Approve Standing desk <oak> for $3500 from emma@example.com?',
    );
    expect(await section(shown, 'Details').locator('.context-entry').allInnerTexts()).toEqual([
      'Flagged for review\ntrue',
      'Policy findings\namount $3500 is over the $3000 cap for equipment',
      'Category cap\n$3000',
      'Receipt required\ntrue',
    ]);
    expect(await section(shown, 'Inputs').locator('.context-entry dt').allInnerTexts()).toEqual([
      'amount',
      'description',
      'category',
    ]);
    // Markup in an input is text on the page, never an element.
    expect(await entry.locator('oak').count()).toBe(0);
    const results = section(shown, 'Latest step results');
    expect(await results.locator('.context-entry dt').allInnerTexts()).toEqual(['validate']);
    expect(await results.locator('pre').textContent()).toContain('"flagged": true');
    await screenshot(page, 'run-approval-context');
    expect(emma.errors).toEqual([]);
  }, 60_000);

  it('keeps it beside the decision once the request is decided', async () => {
    const decided = await max.context.request.post(`/api/approvals/${runId}/manager_approval`, {
      headers: { 'x-csrf-token': await csrfOf(max) },
      data: { decision: 'approve', comment: 'desk budget ok' },
    });
    expect(decided.status(), await decided.text()).toBe(200);
    await until(emma, runId, (run) => run.status === 'completed');

    const { page } = emma;
    await page.goto(`/runs/${runId}`);
    const entry = page.locator('#step-manager_approval');
    await entry.locator('.decision-approve').filter({ hasText: 'max@example.com' }).waitFor();
    const findings = section(entry.locator('details.approval-shown'), 'Details').locator('.context-entry', {
      hasText: 'Policy findings',
    });
    expect(await findings.allInnerTexts()).toEqual([
      'Policy findings\namount $3500 is over the $3000 cap for equipment',
    ]);
    expect(emma.errors).toEqual([]);
  }, 60_000);
});
