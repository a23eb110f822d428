// What a new user trips over in the dashboard's layout (issue 15, items 7–9), measured in Chromium at
// 1280×800: the designer's canvas keeps its room with the code view open and refits when it closes, every
// branch out of a choice step is labelled and no edge runs under a step; the "Ask Stepgate" button covers
// no control on any page; the run form's errors come after a touch or a submit and go once the value is
// valid, and a new workflow does not open with errors.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropStep, node } from './designer-support.js';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

const CONTROLS = 'button, input, select, textarea, a[href], td, th, [role="button"], .react-flow__node';

/**
 * The controls the chat button covers on the page as it is scrolled now: a control counts when, with
 * the chat hidden, it is what the browser shows at a point of the button's box.
 */
async function coveredByChat(page: Page): Promise<string[]> {
  return page.evaluate((selector) => {
    const chat = document.querySelector<HTMLElement>('.chat');
    const toggle = document.querySelector<HTMLElement>('.chat-toggle');
    if (chat === null || toggle === null) return ['no chat button'];
    const box = toggle.getBoundingClientRect();
    chat.style.visibility = 'hidden';
    const covered = new Set<string>();
    try {
      for (let i = 0; i <= 6; i++)
        for (let j = 0; j <= 4; j++) {
          const x = box.left + 1 + ((box.width - 2) * i) / 6;
          const y = box.top + 1 + ((box.height - 2) * j) / 4;
          const hit = document.elementFromPoint(x, y)?.closest(selector);
          if (hit)
            covered.add(`${hit.tagName.toLowerCase()} "${(hit.textContent ?? '').trim().slice(0, 40)}"`);
        }
    } finally {
      chat.style.visibility = '';
    }
    return [...covered];
  }, CONTROLS);
}

/** Scrolls the page and every scrolling panel in it to the bottom. */
async function scrollAllDown(page: Page): Promise<void> {
  await page.evaluate(() => {
    for (const el of document.querySelectorAll<HTMLElement>('*')) {
      const style = getComputedStyle(el);
      if (/(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight)
        el.scrollTop = el.scrollHeight;
    }
    window.scrollTo(0, document.documentElement.scrollHeight);
  });
}

type Rect = { x: number; y: number; width: number; height: number };

/** The union of the graph's node boxes on screen. */
async function graphBounds(page: Page): Promise<Rect> {
  return page.evaluate(() => {
    const boxes = [...document.querySelectorAll('.sg-canvas .react-flow__node')].map((n) =>
      n.getBoundingClientRect(),
    );
    const left = Math.min(...boxes.map((b) => b.left));
    const top = Math.min(...boxes.map((b) => b.top));
    const right = Math.max(...boxes.map((b) => b.right));
    const bottom = Math.max(...boxes.map((b) => b.bottom));
    return { x: left, y: top, width: right - left, height: bottom - top };
  });
}

async function canvasBox(page: Page): Promise<Rect> {
  const box = await page.getByTestId('designer-canvas').boundingBox();
  if (box === null) throw new Error('no canvas');
  return box;
}

/** Whether the graph is fitted to the canvas: inside it, and filling most of it one way or the other. */
async function fitted(page: Page): Promise<boolean> {
  const canvas = await canvasBox(page);
  const graph = await graphBounds(page);
  const inside =
    graph.x >= canvas.x - 1 &&
    graph.y >= canvas.y - 1 &&
    graph.x + graph.width <= canvas.x + canvas.width + 1 &&
    graph.y + graph.height <= canvas.y + canvas.height + 1;
  return inside && (graph.width >= 0.8 * canvas.width || graph.height >= 0.8 * canvas.height);
}

/**
 * What is wrong with the canvas' edges: an edge out of a condition or an approval without a visible label,
 * or an edge drawn across a node other than its own ends (and the parallel and branch that hold them),
 * from points sampled every 3 px along each drawn path.
 */
async function edgeProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    const canvas = document.querySelector('.sg-canvas')?.getBoundingClientRect();
    const nodes = [...document.querySelectorAll<HTMLElement>('.sg-canvas .react-flow__node')].map((n) => ({
      id: n.dataset.id ?? '',
      lane: n.classList.contains('react-flow__node-lane'),
      choice: n.querySelector('.sg-step-condition, .sg-step-approval') !== null,
      box: n.getBoundingClientRect(),
    }));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const contains = (outer: DOMRect, inner: DOMRect) =>
      outer.left <= inner.left &&
      outer.top <= inner.top &&
      outer.right >= inner.right &&
      outer.bottom >= inner.bottom;
    for (const edge of document.querySelectorAll<SVGGElement>('.sg-canvas .react-flow__edge')) {
      const [, source, target] = /^Edge from (.+) to (.+)$/.exec(edge.getAttribute('aria-label') ?? '') ?? [];
      const from = byId.get(source ?? '');
      if (!from) continue;
      const text = edge.querySelector('.react-flow__edge-text');
      const label = text?.getBoundingClientRect();
      const visible =
        text !== null &&
        (text.textContent ?? '').trim() !== '' &&
        label !== undefined &&
        canvas !== undefined &&
        label.width > 0 &&
        label.left >= canvas.left &&
        label.right <= canvas.right &&
        label.top >= canvas.top &&
        label.bottom <= canvas.bottom;
      if (from.choice && !visible) problems.push(`${edge.dataset.id} has no visible label`);
      const path = edge.querySelector<SVGPathElement>('path.react-flow__edge-path');
      const matrix = path?.getScreenCTM();
      if (!path || !matrix) continue;
      const length = path.getTotalLength();
      for (let at = 0; at <= length; at += 3) {
        const p = new DOMPoint(path.getPointAtLength(at).x, path.getPointAtLength(at).y).matrixTransform(
          matrix,
        );
        for (const n of nodes) {
          if (n.lane || n.id === source || n.id === target || contains(n.box, from.box)) continue;
          const b = n.box;
          if (p.x > b.left + 1 && p.x < b.right - 1 && p.y > b.top + 1 && p.y < b.bottom - 1) {
            problems.push(`${edge.dataset.id} runs under ${n.id}`);
            at = length + 1;
            break;
          }
        }
      }
    }
    return problems;
  });
}

async function csrfOf(user: UserContext): Promise<string> {
  const me = (await (await user.context.request.get('/api/me')).json()) as { csrf?: string };
  return me.csrf ?? '';
}

describe('the dashboard layout at 1280×800', () => {
  let stack: Stack;
  let ada: UserContext;
  let runId = '';

  beforeAll(async () => {
    stack = await startStack();
    ada = await stack.login('ada@example.com');
    const started = await ada.context.request.post('/api/workflows/expense-approval/run', {
      headers: { 'x-csrf-token': await csrfOf(ada) },
      data: { input: { amount: 120, description: 'Team lunch', category: 'meals' } },
    });
    expect(started.status()).toBeLessThan(300);
    runId = ((await started.json()) as { runId: string }).runId;
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it('gives the designer canvas the room with the code view open, and refits it whenever its size changes', async () => {
    const { page } = ada;
    await page.goto('/workflows/expense-approval');
    await node(page, 'notify_failed').waitFor();
    await page.getByTestId('code-view').waitFor();
    const withCode = await canvasBox(page);
    expect(withCode.width).toBeGreaterThanOrEqual(600);
    expect(withCode.height).toBeGreaterThanOrEqual(400);
    await expect.poll(() => fitted(page)).toBe(true);
    await page
      .getByTestId('validation-status')
      .filter({ hasText: /^Valid/ })
      .waitFor();
    await screenshot(page, 'designer-expense');

    // The split bar moves from the keyboard; the graph follows each new size.
    const bar = page.getByRole('separator', { name: /Canvas and code split/ });
    await bar.focus();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await expect.poll(async () => (await canvasBox(page)).height).toBeLessThan(withCode.height - 40);
    await expect.poll(() => fitted(page)).toBe(true);

    // Auto layout frames the graph again, however the user had zoomed.
    await page.locator('.react-flow__controls-zoomout').click();
    await page.locator('.react-flow__controls-zoomout').click();
    await expect.poll(() => fitted(page)).toBe(false);
    await page.getByRole('button', { name: 'Auto layout' }).click();
    await expect.poll(() => fitted(page)).toBe(true);

    await page.getByRole('button', { name: 'Code', exact: true }).click();
    await expect.poll(() => page.getByTestId('code-view').count()).toBe(0);
    const without = await canvasBox(page);
    expect(without.height).toBeGreaterThan(withCode.height + 150);
    await expect.poll(() => fitted(page)).toBe(true);
    await page.getByRole('button', { name: 'Code', exact: true }).click();
    await bar.dblclick();
    expect(ada.errors).toEqual([]);
  });

  it.each(['expense-approval', 'travel-booking', 'incident-response', 'employee-onboarding'])(
    'labels every branch out of a choice in %s and runs no edge under a step',
    async (id) => {
      const { page } = ada;
      await page.goto(`/workflows/${id}`);
      await page.locator('.sg-canvas .react-flow__edge-text').first().waitFor();
      await expect.poll(() => fitted(page)).toBe(true);
      expect(await edgeProblems(page)).toEqual([]);
      // The labels say which branch: the condition and "else", the approval's outcomes.
      if (id === 'expense-approval') {
        const label = (edge: string) =>
          page.locator(`.react-flow__edge[data-id="${edge}"] .react-flow__edge-text`).textContent();
        expect(await label('over_threshold:then')).toBe('amount > 500');
        expect(await label('over_threshold:else')).toBe('else');
        expect(await label('manager_approval:next')).toBe('approved');
        expect(await label('manager_approval:onReject')).toBe('rejected');
        expect(await label('manager_approval:onTimeout')).toBe('timed out');
      }
      expect(ada.errors).toEqual([]);
    },
  );

  it('opens a new workflow without errors, and checks it once the user changes it', async () => {
    const { page } = ada;
    await page.goto('/workflows/new');
    await node(page, '$start').waitFor();
    const status = page.getByTestId('validation-status');
    await status.filter({ hasText: 'New workflow: add a step' }).waitFor();
    // Given the time live validation would take, nothing turns red on its own.
    await page.waitForLoadState('networkidle');
    expect(await status.textContent()).toBe('New workflow: add a step');
    expect(await page.locator('.sg-problems').count()).toBe(0);
    expect(await page.locator('.cm-lint-marker-error').count()).toBe(0);

    await page.locator('.sg-side [name="workflow-name"]').fill('Lunch order');
    await status.filter({ hasText: /error/ }).waitFor();
    await page.locator('.sg-problems').filter({ hasText: "missing required key 'id'" }).waitFor();

    // A condition step just dropped asks for its expression without calling the empty field a mistake.
    await dropStep(page, 'condition', { dx: 300, dy: 160 });
    await page.locator('.sg-side [name="if"]').waitFor();
    expect(await page.locator('.sg-side .sg-error-text').count()).toBe(0);
    await page.locator('.sg-side').getByText('required: the expression that picks the branch').waitFor();
    await page.locator('.sg-side [name="if"]').fill('amount >');
    await page.locator('.sg-side .sg-error-text').first().waitFor();
    expect(ada.errors).toEqual([]);
  });

  it("shows the run form's errors after a touch or a submit, and takes each away once its value is valid", async () => {
    const { page } = ada;
    await page.goto('/workflows/expense-approval');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Start a run' });
    const amount = dialog.getByLabel('Amount');
    const description = dialog.getByLabel('Description');
    const errors = dialog.locator('.field-error');
    await amount.waitFor();
    expect(await errors.count()).toBe(0);

    // Leaving the first field empty says so; typing a number takes it away at once.
    await description.focus();
    await dialog.locator('.field-error').filter({ hasText: 'Amount is required' }).waitFor();
    expect(await amount.getAttribute('aria-invalid')).toBe('true');
    await amount.fill('12');
    await expect.poll(() => errors.filter({ hasText: 'Amount' }).count()).toBe(0);
    expect(await amount.getAttribute('aria-invalid')).toBeNull();
    // The description was left empty on the way back to the amount.
    expect(await errors.allTextContents()).toEqual(['Description is required']);
    await description.fill('Team lunch');
    await expect.poll(() => errors.count()).toBe(0);

    // Submitting checks every field; filling the one at fault clears its error without a second submit.
    await description.fill('');
    await amount.focus();
    await amount.fill('');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await expect
      .poll(() => errors.allTextContents())
      .toEqual(['Amount is required', 'Description is required']);
    await amount.fill('12');
    await expect.poll(() => errors.allTextContents()).toEqual(['Description is required']);
    await description.fill('Team lunch');
    await expect.poll(() => errors.count()).toBe(0);

    // The server's complaint stays until the value changes, then only what is still wrong shows.
    await amount.fill('-5');
    await dialog.getByRole('button', { name: 'Start run' }).click();
    await dialog.locator('.field-error').filter({ hasText: "'amount' must be >= 0" }).waitFor();
    await amount.fill('');
    await dialog.locator('.field-error').filter({ hasText: 'Amount is required' }).waitFor();
    await amount.fill('5');
    await expect.poll(() => errors.count()).toBe(0);
    expect(ada.errors.every((e) => e.includes('status of 422'))).toBe(true);
    ada.errors.length = 0;
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it("clears the schedule form's stale input error too, as soon as the field is filled", async () => {
    const { page } = ada;
    await page.goto('/schedules');
    await page.getByLabel('Workflow', { exact: true }).selectOption('expense-approval');
    const amount = page.locator('form').getByLabel('Amount');
    await amount.waitFor();
    const errors = page.locator('form .field-error');
    expect(await errors.count()).toBe(0);
    await page.getByRole('button', { name: 'Create schedule' }).click();
    await errors.filter({ hasText: 'Amount is required' }).waitFor();
    await amount.fill('40');
    await expect.poll(() => errors.filter({ hasText: 'Amount' }).count()).toBe(0);
    expect(ada.errors).toEqual([]);
  });

  it('keeps the chat button off every control, at the top of each page and scrolled to the bottom', async () => {
    const { page } = ada;
    const pages: Array<[string, string]> = [
      ['/workflows', 'table td, .card, a[href^="/workflows/"]'],
      ['/workflows/expense-approval', '.react-flow__node'],
      ['/templates', 'button'],
      ['/runs', 'table td'],
      [`/runs/${runId}`, 'h1'],
      ['/approvals', 'h1'],
      ['/schedules', 'form button, form select'],
      ['/connections', 'h1'],
      ['/inbox', 'h1'],
    ];
    const found: Record<string, string[]> = {};
    for (const [path, ready] of pages) {
      await page.goto(path);
      await page.locator(ready).first().waitFor();
      await page.waitForLoadState('networkidle');
      const top = await coveredByChat(page);
      await scrollAllDown(page);
      const bottom = await coveredByChat(page);
      if (top.length + bottom.length > 0) found[path] = [...top, ...bottom];
    }
    expect(found).toEqual({});
    expect(ada.errors).toEqual([]);
  }, 60_000);
});
