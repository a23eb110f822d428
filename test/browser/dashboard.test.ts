// The dashboard end to end, as its users work with it: Emma logs in and submits an expense from the form
// generated from the workflow's inputs, Fiona installs the template from the gallery, Max approves from his
// Approvals inbox while Emma's run page turns `completed` by itself, and again from the emailed link;
// a schedule from a preset; a run started from the chat box; no console errors anywhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

const PAGES = ['/workflows', '/templates', '/runs', '/approvals', '/schedules', '/connections', '/inbox'];

describe('the dashboard', () => {
  let stack: Stack;
  let emma: UserContext;
  let max: UserContext;
  let fiona: UserContext;
  const contexts: UserContext[] = [];
  let warm: Promise<boolean>;

  beforeAll(async () => {
    stack = await startStack();
    max = await stack.login('max@example.com');
    fiona = await stack.login('fiona@example.com');
    contexts.push(max, fiona);
    // Listing the tools starts every MCP server once, so the runs below do not wait for a cold start.
    warm = fiona.context.request.get('/api/mcp/tools').then((r) => r.ok());
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it('sends a visitor to the login page and back to where they were going', async () => {
    emma = await stack.anonymous();
    contexts.push(emma);
    const { page } = emma;
    await page.goto('/runs');
    await page.waitForURL(/\/login\?next=%2Fruns$/);
    await page.getByLabel('Email').fill('emma@example.com');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();

    await page.getByLabel('Password').fill('stepgate-demo');
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/runs');
    // Asking who is logged in (before) and the wrong password were refused; the browser logs both.
    expect(emma.errors.every((e) => e.includes('status of 401'))).toBe(true);
    emma.errors.length = 0;
  });

  it('installs a template from the gallery and opens it in the editor', async () => {
    const { page } = fiona;
    await page.goto('/templates');
    await page.getByRole('heading', { name: 'Expense approval' }).waitFor();
    await screenshot(page, 'templates');
    // The server installs the gallery on its first start, so one click installs a copy under a new id.
    await page.getByRole('button', { name: 'Install Expense approval' }).click();
    await page.waitForURL(/\/workflows\/expense-approval-copy$/);
    const copy = await page.request.get('/api/workflows/expense-approval-copy');
    expect(await copy.json()).toMatchObject({ name: 'Expense approval (copy)', version: 1 });
    const original = await page.request.get('/api/workflows/expense-approval/versions');
    expect((await original.json()).length).toBe(1);
  });

  it('imports a pasted definition into the editor without saving it', async () => {
    const { page } = fiona;
    await page.goto('/workflows');
    await page.getByRole('button', { name: 'Import YAML/JSON' }).click();
    await page
      .getByLabel('Or paste it')
      .fill(
        'version: 1\nid: hello-import\nname: Hello import\nsteps:\n  - { id: wait, type: delay, duration: 1m }\n',
      );
    await page.getByRole('button', { name: 'Open in editor' }).click();
    await page.waitForURL(/\/workflows\/new$/);
    await expect.poll(async () => (await page.content()).includes('hello-import')).toBe(true);
    expect((await page.request.get('/api/workflows/hello-import')).status()).toBe(404);
  });

  it('starts a run from the form generated from the inputs, showing the fields at fault', async () => {
    expect(await warm).toBe(true);
    const { page } = emma;
    await page.goto('/workflows');
    // By keyboard: Enter opens the form with the first field focused, Enter in a field submits it.
    await page.getByRole('button', { name: 'Run Expense approval', exact: true }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Start a run' });
    const amount = dialog.getByLabel('Amount');
    await expect.poll(() => amount.evaluate((field) => field === document.activeElement)).toBe(true);
    await page.keyboard.type('900');
    await page.keyboard.press('Enter');
    await dialog.getByRole('alert').filter({ hasText: 'Description is required' }).waitFor();

    await dialog.getByLabel('Description').fill('Laptop');
    await dialog.getByLabel('Category').selectOption('equipment');
    // The server checks the input against the schema; its problem names the field.
    await amount.fill('-5');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await dialog.getByRole('alert').filter({ hasText: "'amount' must be >= 0" }).waitFor();
    expect(await amount.getAttribute('aria-invalid')).toBe('true');
    expect(emma.errors.every((e) => e.includes('status of 422'))).toBe(true);
    emma.errors.length = 0;

    await amount.fill('900');
    await dialog.getByRole('button', { name: 'Start run' }).click();

    await page.waitForURL(/\/runs\/[^/]+$/);
    await page.getByTestId('run-status').getByText('running').waitFor();
  });

  it('lets the manager approve from the Approvals inbox while the run page updates live', async () => {
    const runUrl = emma.page.url();
    const { page } = max;
    // The request exists once the run has validated the expense (the first tool call starts its server).
    await expect
      .poll(async () => (await (await page.request.get('/api/approvals')).json()).length, { timeout: 20_000 })
      .toBe(1);
    await page.goto('/approvals');
    await page.getByRole('link', { name: /Approvals.*1 pending/ }).waitFor();
    const card = page
      .getByRole('article')
      .filter({ hasText: 'Approve Laptop for $900 from emma@example.com?' });
    // The request with its context: who asked, and the run's input (also inside the validation result).
    await card.getByText('Emma Employee (emma@example.com)').waitFor();
    await card.getByText('equipment', { exact: true }).waitFor();
    await screenshot(page, 'approvals');
    await card.getByLabel(/Comment/).fill('Fine, the old one is broken');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Approved: Approve Laptop').waitFor();
    await page.getByText('Nothing waits for you.').waitFor();

    // Emma's page was not reloaded: the event stream (or the polling fallback) brought the result.
    expect(emma.page.url()).toBe(runUrl);
    await emma.page.getByTestId('run-status').getByText('completed').waitFor({ timeout: 20_000 });
    await emma.page.getByText('Fine, the old one is broken').first().waitFor();
    await screenshot(emma.page, 'run-page');
  }, 60_000);

  it('approves another run from the link in the approval email', async () => {
    const me = await emma.context.request.get('/api/me');
    const { csrf } = (await me.json()) as { csrf: string };
    const started = await emma.context.request.post('/api/workflows/expense-approval/run', {
      headers: { 'x-csrf-token': csrf },
      data: { input: { amount: 750, description: 'Monitor arm' } },
    });
    expect(started.status()).toBe(201);
    const { runId } = (await started.json()) as { runId: string };

    const { page } = max;
    await expect
      .poll(async () => JSON.stringify(await (await page.request.get('/api/inbox')).json()), {
        timeout: 20_000,
      })
      .toContain('Approve Monitor arm');
    await page.goto('/inbox');
    await page.getByRole('button', { name: /Approve Monitor arm/ }).click();
    await page
      .locator('.mail-text')
      .getByRole('link', { name: /\/approve\// })
      .click();
    await page.waitForURL(/\/approve\//);
    await page.getByRole('button', { name: 'Approve' }).click();

    await expect
      .poll(async () => (await (await emma.context.request.get(`/api/runs/${runId}`)).json()).status, {
        timeout: 15_000,
      })
      .toBe('completed');
  });

  it('creates a schedule from a preset, showing the next five times', async () => {
    const { page } = emma;
    await page.goto('/schedules');
    await page.getByText('No schedules yet.').waitFor();
    await page.getByLabel('Workflow').selectOption('expense-approval');
    await page.getByLabel('Weekdays at 9:00').check();
    await expect.poll(() => page.locator('.next-times li').count()).toBe(5);
    await page.getByLabel('Amount').fill('20');
    await page.getByLabel('Description').fill('Team coffee');
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await page.getByText('Schedule created.').waitFor();
    await page.getByRole('listitem').filter({ hasText: 'Weekdays at 9:00' }).first().waitFor();
  });

  it('starts a run from the chat box and links to it', async () => {
    const { page } = emma;
    await page.goto('/approvals');
    await page.getByRole('button', { name: 'Ask Stepgate' }).click();
    await page.getByLabel('Message').fill('start expense approval for 900 laptop');
    await page.getByRole('button', { name: 'Send' }).click();
    // The expense can be charged: the chat asks first (test/browser/chat.test.ts has the whole flow).
    await page.getByRole('button', { name: 'Start it' }).click();
    await page.getByRole('link', { name: 'Open the run' }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    await page.getByTestId('run-status').getByText('running').waitFor();

    // The chat stays open across pages; Escape closes it.
    await page.keyboard.press('Escape');
    await expect
      .poll(() =>
        page.getByRole('button', { name: 'Ask Stepgate' }).evaluate((b) => b === document.activeElement),
      )
      .toBe(true);
  });

  it('renders every page at 1280 and 1024 wide without console errors', async () => {
    const { page } = emma;
    for (const width of [1280, 1024]) {
      await page.setViewportSize({ width, height: 800 });
      for (const path of PAGES) {
        await page.goto(path);
        await page.getByRole('heading', { level: 1 }).first().waitFor();
        await page.locator('.loading').first().waitFor({ state: 'detached' });
      }
    }
    await page.goto('/workflows');
    await page
      .getByRole('cell', { name: /Expense approval/ })
      .first()
      .waitFor();
    await screenshot(page, 'workflows');
    expect(contexts.flatMap((c) => c.errors)).toEqual([]);
  });
});
