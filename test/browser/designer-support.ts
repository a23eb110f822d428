// Helpers for driving the visual designer with real mouse drags: palette → canvas, handle → handle.
import type { Locator, Page } from 'playwright-core';

async function centerOf(locator: Locator): Promise<{ x: number; y: number }> {
  await locator.waitFor({ state: 'visible' });
  const box = await locator.boundingBox();
  if (box === null) throw new Error('element has no box');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** A real pointer drag, in small steps, so the page sees pointerdown, pointermoves and pointerup. */
export async function drag(
  page: Page,
  from: { x: number; y: number },
  to: { x: number; y: number },
): Promise<void> {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + (to.x - from.x) / 4, from.y + (to.y - from.y) / 4, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 10 });
  await page.mouse.up();
}

export const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);

/** Drags a palette item onto the canvas at (dx, dy) from the canvas' top-left corner. */
export async function dropStep(page: Page, type: string, at: { dx: number; dy: number }): Promise<void> {
  const canvas = await page.getByTestId('designer-canvas').boundingBox();
  if (canvas === null) throw new Error('no canvas');
  const from = await centerOf(page.locator(`[data-palette="${type}"]`));
  await drag(page, from, { x: canvas.x + at.dx, y: canvas.y + at.dy });
}

/** Draws an edge from `source`'s `key` handle to the top of `target` (a step id, or '$end'). */
export async function wire(page: Page, source: string, key: string, target: string): Promise<void> {
  const from = await centerOf(node(page, source).locator(`.react-flow__handle[data-handleid="${key}"]`));
  const to = await centerOf(node(page, target).locator('.react-flow__handle[data-handleid="in"]'));
  await drag(page, from, to);
}

/** Types into a panel field (by its name attribute) and, for fields committed on Enter, presses it. */
export async function fill(
  page: Page,
  name: string,
  value: string,
  options: { enter?: boolean } = {},
): Promise<void> {
  const field = page.locator(`.sg-side [name="${name}"]`);
  await field.fill(value);
  if (options.enter) await field.press('Enter');
}

/** Adds items to a chip list field (approvers, to, aliases) through its input. */
export async function addItems(page: Page, label: string, values: string[]): Promise<void> {
  const field = page.locator('.sg-side').getByLabel(`Add to ${label}`, { exact: true });
  for (const value of values) {
    await field.fill(value);
    await field.press('Enter');
  }
}

/** Runs `body`, saving a screenshot named `name` when it fails. */
export async function withFailureShot(page: Page, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    await page
      .screenshot({ path: `test-output/screenshots/${name}-failure.png`, fullPage: true })
      .catch(() => undefined);
    throw error;
  }
}
