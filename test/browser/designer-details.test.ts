// The designer's editor of an approval's `details` (issue 15, item 11's gap), in Chromium: the expense
// template's four details shown as rows, one removed, one added (said to be work to do until filled, its
// value's variable picked from the completions), and the saved definition holding exactly those. The
// drag-and-drop build in designer.test.ts fills the details of a new workflow through the same rows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fill, node, withFailureShot } from './designer-support.js';
import { ROOT, type Stack, screenshot, startStack, type UserContext } from './support.js';

const TEMPLATE = readFileSync(join(ROOT, 'templates', 'expense-approval.yaml'), 'utf8');

async function csrfOf(user: UserContext): Promise<string> {
  const me = (await (await user.context.request.get('/api/me')).json()) as { csrf?: string };
  return me.csrf ?? '';
}

describe("the designer's approval details", () => {
  let stack: Stack;
  let ada: UserContext;
  beforeAll(async () => {
    stack = await startStack();
    ada = await stack.login('ada@example.com', { viewport: { width: 1600, height: 1200 } });
    ada.page.setDefaultTimeout(8000);
    // The template as it is, whatever the demo installed.
    const saved = await ada.context.request.put('/api/workflows/expense-approval', {
      headers: { 'x-csrf-token': await csrfOf(ada), 'content-type': 'application/yaml' },
      data: TEMPLATE,
    });
    expect(saved.ok(), await saved.text()).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it('shows a row per detail, removes one and adds one with a variable picked from the completions', async () => {
    const { page } = ada;
    const side = page.locator('.sg-side');
    const labels = () =>
      side
        .locator('[data-testid="approval-details"] input[name$="-label"]')
        .evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
    await withFailureShot(page, 'designer-details', async () => {
      await page.goto('/workflows/expense-approval');
      await node(page, 'manager_approval').locator('.sg-step-head').click();
      await page.locator('[data-testid="step-properties"][data-step="manager_approval"]').waitFor();
      expect(await labels()).toEqual([
        'Flagged for review',
        'Policy findings',
        'Category cap',
        'Receipt required',
      ]);
      expect(await side.locator('[name="detail-1-value"]').inputValue()).toBe('{{validation.reasons}}');

      await side.getByRole('button', { name: 'Remove detail 2' }).click();
      await expect.poll(labels).toEqual(['Flagged for review', 'Category cap', 'Receipt required']);

      // A row just added is work to do: the panel says what it lacks, naming the field.
      await side.getByRole('button', { name: 'Add detail' }).click();
      const row = side.getByTestId('detail-4');
      await row.getByText('required: what the approver sees it as').waitFor();
      await expect.poll(() => side.getByTestId('panel-problems').textContent()).toContain("'label'");

      await fill(page, 'detail-3-label', 'Submitted by');
      const value = side.locator('[name="detail-3-value"]');
      await value.pressSequentially('{{trigger.user.e');
      await side.locator('[role="option"]', { hasText: /^trigger\.user\.email$/ }).click();
      await expect.poll(() => value.inputValue()).toBe('{{trigger.user.email}}');
      await expect.poll(() => side.getByTestId('panel-problems').count()).toBe(0);
      await screenshot(page, 'designer-approval-details');

      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await expect
        .poll(() => page.getByTestId('save-status').textContent(), { timeout: 8000 })
        .toContain('Saved expense-approval');
    });

    const response = await ada.context.request.get('/api/workflows/expense-approval');
    const source = ((await response.json()) as { source: string }).source;
    const steps = (parse(source) as { steps: Array<{ id: string; details?: unknown }> }).steps;
    expect(steps.find((s) => s.id === 'manager_approval')?.details).toEqual([
      { label: 'Flagged for review', value: '{{validation.flagged}}' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a dollar sign before a Stepgate template.
      { label: 'Category cap', value: '${{validation.cap}}' },
      { label: 'Receipt required', value: '{{validation.receiptRequired}}' },
      { label: 'Submitted by', value: '{{trigger.user.email}}' },
    ]);
    expect(ada.errors).toEqual([]);
  }, 90_000);
});
