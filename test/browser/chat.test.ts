// The chat box's confirmation, in the browser against the real server: a flight booking (its path books
// and charges: write tools) is not started by the message — the chat shows the inputs it understood with
// "Start it" and "Cancel"; Cancel starts nothing, "Start it" starts the run and links to it. Help and
// "what are my runs?" are answered with what the user may start and their own runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

const BOOKING = 'book a flight SFO to LHR on 2026-12-14 budget 100';

describe('the chat box', () => {
  let stack: Stack;
  let emma: UserContext;

  beforeAll(async () => {
    stack = await startStack();
    emma = await stack.login('emma@example.com');
    // Listing the tools starts every MCP server once (the chat reads the tools' annotations).
    expect((await emma.context.request.get('/api/mcp/tools')).ok()).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  const runsOfEmma = async () => {
    const response = await emma.context.request.get('/api/runs');
    return (await response.json()) as Array<{ id: string; workflowId: string; trigger: { type: string } }>;
  };

  const say = async (text: string) => {
    const { page } = emma;
    await page.getByLabel('Message').fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
  };

  it('asks before starting a booking, and Cancel starts nothing', async () => {
    const { page } = emma;
    await page.goto('/runs');
    await page.getByRole('button', { name: 'Ask Stepgate' }).click();
    await say(BOOKING);

    const asked = page.locator('.chat-message').filter({ hasText: 'Start Travel booking' });
    await asked.getByRole('button', { name: 'Start it' }).waitFor();
    await expect.poll(() => asked.textContent()).toContain('it calls travel-book, payments-charge');
    const inputs = asked.getByRole('definition');
    expect(await inputs.allTextContents()).toEqual(['SFO', 'LHR', '2026-12-14', '100']);
    expect(await asked.getByRole('term').allTextContents()).toEqual([
      'origin',
      'destination',
      'departureDate',
      'budget',
    ]);
    await screenshot(page, 'chat-confirm');
    expect(await runsOfEmma()).toEqual([]);

    await asked.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Cancelled: nothing was started.').waitFor();
    expect(await asked.getByRole('button', { name: 'Start it' }).count()).toBe(0);
    expect(await runsOfEmma()).toEqual([]);
  });

  it('starts the booking once the user confirms, and links to the run', async () => {
    const { page } = emma;
    await say(BOOKING);
    // The second question (the first was cancelled).
    const questions = page.locator('.chat-message').filter({ hasText: 'Start Travel booking' });
    await expect.poll(() => questions.count()).toBe(2);
    const asked = questions.last();
    await asked.getByRole('button', { name: 'Start it' }).click();
    const started = page.locator('.chat-message').filter({ hasText: /^Started Travel booking \(run / });
    await started.waitFor();
    expect(await asked.getByRole('button', { name: 'Start it' }).count()).toBe(0);

    const runs = await runsOfEmma();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ workflowId: 'travel-booking', trigger: { type: 'chat' } });
    await started.getByRole('link', { name: 'Open the run' }).click();
    await page.waitForURL(`**/runs/${runs[0]?.id}`);
    await page.getByTestId('run-status').waitFor();
  });

  it('answers help with what the user may start, and "what are my runs?" with their runs', async () => {
    const { page } = emma;
    // The chat stays open across pages.
    await say('hello, what can you do?');
    const help = page.locator('.chat-message').filter({ hasText: 'You can start:' });
    await help.waitFor();
    // Emma is a member: onboarding needs a manager, so it is neither listed nor offered.
    expect(await help.textContent()).not.toContain('Employee onboarding');
    expect(await help.getByRole('button').allTextContents()).toEqual([
      'Expense approval',
      'Incident response',
      'Travel booking',
    ]);

    await say('what are my runs?');
    const mine = page.locator('.chat-message').filter({ hasText: 'Your latest run:' });
    await mine.getByRole('link', { name: /^Travel booking: / }).waitFor();
    expect(await mine.getByRole('button').count()).toBe(0);
    expect(emma.errors).toEqual([]);
  });
});
