// Errors and outside text in the dashboard, in Chromium: the schedule form says what is wrong with a
// custom cron or a time zone in words, under the field (translator/cron.ts, as the server says it), never
// croner's own text; the Connections page renders the MCP tools' descriptions' inline markdown (`code`)
// instead of showing the backticks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack } from './support.js';

describe('errors in words and tool descriptions in the dashboard', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('shows a worded cron and time zone problem on the schedule form', async () => {
    const { page, errors } = await stack.login('emma@example.com');
    await page.goto('/schedules');
    await page.getByRole('heading', { name: 'New schedule' }).waitFor();
    await page.getByLabel('Custom (cron)').check();
    const cron = page.getByLabel('Cron expression');
    await cron.fill('0 25 * * *');
    const cronProblem = page.getByTestId('schedule-cron-problem');
    await cronProblem.waitFor();
    expect(await cronProblem.textContent()).toBe(
      "the hour field '25' is out of range 0–23; e.g. '0 9 * * 1-5' is 9:00 on weekdays",
    );
    expect(await cron.getAttribute('aria-invalid')).toBe('true');
    const create = page.getByRole('button', { name: 'Create schedule' });
    expect(await create.isDisabled()).toBe(true);

    await cron.fill('0 9 * * 1-5');
    await cronProblem.waitFor({ state: 'detached' });
    await page.getByLabel('Time zone').fill('Europe/Pariss');
    const zoneProblem = page.getByTestId('schedule-timezone-problem');
    await zoneProblem.waitFor();
    expect(await zoneProblem.textContent()).toBe(
      "'Europe/Pariss' is not an IANA time zone — did you mean Europe/Paris?",
    );
    await screenshot(page, 'schedule-form-timezone-problem');
    const form = (await page.locator('form').first().textContent()) ?? '';
    expect(form).not.toMatch(/CronPattern|Syntax error|toTZ|Original error|CronDate/);
    expect(await create.isDisabled()).toBe(true);

    await page.getByLabel('Time zone').fill('Europe/Paris');
    await zoneProblem.waitFor({ state: 'detached' });
    await page
      .getByRole('listitem')
      .filter({ hasText: /\d{1,2}:00/ })
      .first()
      .waitFor();
    expect(await create.isDisabled()).toBe(false);
    expect(errors).toEqual([]);
  });

  it('renders tool descriptions without markdown backticks on the Connections page', async () => {
    const { page, errors } = await stack.login('emma@example.com');
    await page.goto('/connections');
    const expenses = page.locator('article.server-card', {
      has: page.getByRole('heading', { name: 'expenses' }),
    });
    const descriptions = expenses.locator('.tool-description');
    await descriptions.first().waitFor({ timeout: 30_000 });
    const all = page.locator('.tool-description');
    const texts = await all.allTextContents();
    expect(texts.length).toBeGreaterThan(5);
    for (const text of texts) expect(text).not.toContain('`');
    // The expenses check names its result fields as code: they are <code> elements now.
    expect(await expenses.locator('.tool-description code').allTextContents()).toEqual(
      expect.arrayContaining(['ok', 'flagged', 'reasons']),
    );
    await screenshot(page, 'connections-tool-descriptions');
    expect(errors).toEqual([]);
  });
});
