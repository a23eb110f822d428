// The visual designer, driven like a person would: steps dragged from the palette, edges drawn between
// handles, properties typed into the panel; what it saves is checked through the API. IRs are compared
// by validating the saved source in node (the API's workflow view carries the source, not the IR), and
// the built workflow takes the template's own id and name after the installed copy is deleted.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateWorkflow } from '../../translator/validate.js';
import {
  addStep,
  connect,
  disconnect,
  editSource,
  newStep,
  parseSource,
  removeStep,
  renameStep,
  stepOfPointer,
} from '../../web/src/designer/definition-model.js';
import { definitionGraph } from '../../web/src/designer/graph-model.js';
import { layoutFlow } from '../../web/src/designer/layout.js';
import {
  moveInput,
  removeInput,
  removeTrigger,
  renameInput,
  setInputType,
} from '../../web/src/designer/settings-model.js';
import { variablesInScope } from '../../web/src/designer/variables.js';
import { addItems, drag, dropStep, fill, node, wire, withFailureShot } from './designer-support.js';
import { ROOT, type Stack, screenshot, startStack, type UserContext } from './support.js';

const TEMPLATE = readFileSync(join(ROOT, 'templates', 'expense-approval.yaml'), 'utf8');
const template = parse(TEMPLATE) as Record<string, unknown> & {
  steps: Array<{ details?: Array<{ label: string; value: string }> }>;
};
const templateIr = validateWorkflow(TEMPLATE).ir;

async function savedSource(user: UserContext, id: string): Promise<string> {
  const response = await user.context.request.get(`/api/workflows/${id}`);
  expect(response.status()).toBe(200);
  return ((await response.json()) as { source: string }).source;
}

async function csrfOf(user: UserContext): Promise<string> {
  const me = (await (await user.context.request.get('/api/me')).json()) as { csrf?: string };
  return me.csrf ?? '';
}

/**
 * Fills an approval's details through the panel's rows, each added empty; the first value's variable is
 * picked from the completions offered after `{{`, as in the other template fields.
 */
async function addDetails(page: Page, details: Array<{ label: string; value: string }>): Promise<void> {
  for (const [i, detail] of details.entries()) {
    await page.getByRole('button', { name: 'Add detail' }).click();
    await fill(page, `detail-${String(i)}-label`, detail.label);
    const value = page.locator(`.sg-side [name="detail-${String(i)}-value"]`);
    if (i === 0) {
      await value.pressSequentially('{{valid');
      await page.locator('.sg-side [role="option"]', { hasText: /^validation$/ }).click();
      expect(await value.inputValue()).toBe('{{validation}}');
    }
    await value.fill(detail.value);
  }
}

/** Saves the expense template as it is, so a test starts from the same workflow whatever ran before. */
async function installTemplate(user: UserContext): Promise<void> {
  const response = await user.context.request.put('/api/workflows/expense-approval', {
    headers: { 'x-csrf-token': await csrfOf(user), 'content-type': 'application/yaml' },
    data: TEMPLATE,
  });
  expect(response.ok()).toBe(true);
}

async function removeWorkflow(user: UserContext, id: string): Promise<void> {
  const response = await user.context.request.delete(`/api/workflows/${id}`, {
    headers: { 'x-csrf-token': await csrfOf(user) },
  });
  expect([204, 404]).toContain(response.status());
}

async function saveAndWait(page: Page, id: string): Promise<void> {
  const before = new URL(page.url()).pathname;
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  // A new workflow's screen moves to /workflows/<id> once saved; an existing one says so in place.
  await expect
    .poll(
      async () =>
        ((await page.getByTestId('save-status').textContent()) ?? '').includes(`Saved ${id}`) ||
        (before === '/workflows/new' && new URL(page.url()).pathname === `/workflows/${id}`),
      { timeout: 8000 },
    )
    .toBe(true);
}

async function select(page: Page, id: string): Promise<void> {
  await node(page, id).locator('.sg-step-head').click();
  await page.locator(`[data-testid="step-properties"][data-step="${id}"]`).waitFor();
}

describe('the designer model', () => {
  const value = parseSource(TEMPLATE).value;
  const edit = (change: Parameters<typeof editSource>[2]) => editSource(TEMPLATE, 'yaml', change);

  it('leaves out a next that points at the following step, and writes any other target', () => {
    expect(edit((doc, v) => connect(doc, v, 'manager_approval', 'next', 'process_payment'))).toBe(TEMPLATE);
    const jumped = edit((doc, v) => connect(doc, v, 'validate', 'next', 'process_payment'));
    expect(jumped).toContain('    onError: notify_failed\n    next: process_payment\n');
  });

  it('refuses an edge out of its list', () => {
    const withParallel = editSource('version: 1\n', 'yaml', (doc) => {
      addStep(doc, ['steps'], newStep('tool', 'a'));
      addStep(doc, ['steps'], newStep('parallel', 'p'));
      addStep(doc, ['steps', 1, 'branches', 0, 'steps'], newStep('delay', 'inner'));
    });
    let problem: string | null = null;
    editSource(withParallel, 'yaml', (doc, v) => {
      problem = connect(doc, v, 'a', 'next', 'inner');
    });
    expect(problem).toMatch(/within its own list/);
  });

  it('turns a removed implied edge into an end, and a removed written one back into the default', () => {
    expect(edit((doc, v) => disconnect(doc, v, 'process_payment', 'next', true))).toContain(
      '    timeout: 1m\n    onError: notify_failed\n    next: end\n',
    );
    const written = edit((doc, v) => disconnect(doc, v, 'notify_paid', 'next', false));
    expect(parseSource(written).value).not.toHaveProperty(['steps', 4, 'next']);
  });

  it('removes a step with the jumps that named it and nothing else', () => {
    const out = edit((doc, v) => removeStep(doc, v, 'notify_expired'));
    expect(out).not.toContain('notify_expired');
    expect(TEMPLATE.split('\n').length - out.split('\n').length).toBe(8);
  });

  it('renames a step with the jumps and the template reads of its result, and nothing else', () => {
    const out = edit((doc, v) => renameStep(doc, v, 'process_payment', 'charge'));
    expect(out).not.toContain('process_payment');
    expect(out).toContain('payment reference {{charge.id}}');
    expect(out).toContain('else: charge');
    // The same workflow as the template with the step renamed by hand.
    const renamed = validateWorkflow(out).ir;
    expect(renamed).toBeDefined();
    expect(renamed).toEqual(validateWorkflow(TEMPLATE.replaceAll('process_payment', 'charge')).ir);
    // A step with an `output` keeps the name its readers use.
    const validated = edit((doc, v) => renameStep(doc, v, 'validate', 'check'));
    expect(validated).toContain('id: check');
    expect(validated).toContain('output: validation');
    expect(validateWorkflow(validated).ir).toBeDefined();
    // An expression reading the step by its id, and a property of the same name elsewhere, as the format means.
    const expression = edit((doc, v) => {
      doc.setIn(['steps', 1, 'if'], 'process_payment.ok && amount > 500 && validation.process_payment');
      renameStep(doc, v, 'process_payment', 'charge');
    });
    expect(expression).toContain('if: charge.ok && amount > 500 && validation.process_payment');
  });

  it('maps a diagnostic pointer to its step', () => {
    expect(stepOfPointer(value, '/steps/2/escalate/0/approvers')).toBe('manager_approval');
    expect(stepOfPointer(value, '/inputs/properties')).toBeNull();
  });

  it('draws implied edges dashed and lays parallel branches out inside their parallel', () => {
    const graph = definitionGraph(value);
    expect(graph.edges.find((e) => e.id === 'validate:next')).toMatchObject({
      target: 'over_threshold',
      implicit: true,
    });
    expect(graph.edges.find((e) => e.id === 'over_threshold:then')).toMatchObject({
      target: 'manager_approval',
      implicit: false,
    });
    const onboarding = parseSource(
      readFileSync(join(ROOT, 'templates', 'employee-onboarding.yaml'), 'utf8'),
    ).value;
    const flow = definitionGraph(onboarding);
    const boxes = layoutFlow(flow);
    const lanes = flow.nodes.filter((n) => n.kind === 'lane');
    expect(lanes.length).toBeGreaterThanOrEqual(2);
    for (const lane of lanes) {
      const box = boxes.get(lane.id);
      const parent = boxes.get(lane.parent ?? '');
      expect(box && parent && box.x + box.width <= parent.width && box.y + box.height <= parent.height).toBe(
        true,
      );
    }
  });

  it('offers the variables in scope at a step', () => {
    expect(variablesInScope(value, 'notify_paid')).toEqual(
      expect.arrayContaining(['amount', 'validation', 'trigger.user.email']),
    );
    expect(variablesInScope(value, 'notify_failed')).toContain('error.message');
    expect(variablesInScope(value, 'validate')).not.toContain('validation');
  });

  it('renames, moves and removes an input and a trigger in place', () => {
    const renamed = edit((doc) => renameInput(doc, 'amount', 'total'));
    // The input and everything that reads it: templates and the condition.
    expect(renamed).toBe(
      TEMPLATE.replace('required: [amount,', 'required: [total,')
        .replace('    amount: {', '    total: {')
        .replaceAll('{{amount}}', '{{total}}')
        .replace('if: amount > 500', 'if: total > 500'),
    );
    expect(validateWorkflow(renamed).ir).toBeDefined();
    const moved = edit((doc) => moveInput(doc, 'category', -1));
    const lines = TEMPLATE.split('\n');
    const at = lines.findIndex((l) => l.startsWith('    description: {'));
    expect(moved.split('\n')).toEqual([
      ...lines.slice(0, at),
      lines[at + 1],
      lines[at],
      ...lines.slice(at + 2),
    ]);
    const removed = edit((doc) => {
      removeInput(doc, 'description');
      removeTrigger(doc, 0);
    });
    expect(removed).toBe(
      TEMPLATE.replace('required: [amount, description]', 'required: [amount]')
        .replace('    description: { type: string, minLength: 1, maxLength: 500 }\n', '')
        .replace('  - type: manual\n    minRole: member\n', ''),
    );
    const typed = edit((doc) => setInputType(doc, 'description', 'integer'));
    expect(typed).toContain('    description: { type: integer }\n');
  });
});

describe('the visual designer', { timeout: 60_000 }, () => {
  let stack: Stack;
  let ada: UserContext;
  beforeAll(async () => {
    stack = await startStack();
    ada = await stack.login('ada@example.com', { viewport: { width: 1600, height: 1200 } });
    ada.page.setDefaultTimeout(8000);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('builds the expense workflow from an empty canvas by drag and drop, and saves the template’s IR', async () => {
    expect(templateIr).toBeDefined();
    await removeWorkflow(ada, 'expense-approval');
    const { page } = ada;
    await withFailureShot(page, 'designer-build', async () => {
      await buildExpenseWorkflow(page);
      await saveAndWait(page, 'expense-approval');
    });
    const result = validateWorkflow(await savedSource(ada, 'expense-approval'));
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.ir).toEqual(templateIr);
    await screenshot(page, 'designer-built');
    expect(ada.errors).toEqual([]);
  }, 180_000);

  it('keeps the comments of an imported YAML definition when a property changes in the panel', async () => {
    await removeWorkflow(ada, 'expense-approval');
    const commented = TEMPLATE.replace(
      'steps:\n',
      'steps:\n  # Policy check first; a failure goes to finance ops.\n',
    )
      .replace('    timeout: 24h\n    escalate:', '    timeout: 24h # the manager has a day\n    escalate:')
      .replace('  - id: notify_failed', '  # Anything that failed ends here.\n  - id: notify_failed');
    const { page } = ada;
    await page.goto('/workflows');
    await page.getByRole('button', { name: 'Import YAML/JSON' }).click();
    await page.getByLabel('Or paste it').fill(commented);
    await page.getByRole('button', { name: 'Open in editor' }).click();
    await node(page, 'manager_approval').waitFor();

    await select(page, 'process_payment');
    await fill(page, 'timeout', '2m');
    await saveAndWait(page, 'expense-approval');

    const source = await savedSource(ada, 'expense-approval');
    expect(source).toContain('# yaml-language-server: $schema=../schema/workflow.schema.json');
    expect(source).toContain('  # Policy check first; a failure goes to finance ops.\n  - id: validate');
    expect(source).toContain('timeout: 24h # the manager has a day');
    expect(source).toContain('  # Anything that failed ends here.\n  - id: notify_failed');
    expect(source).toContain('description: >-\n  Validate the expense');
    expect(source).toContain('    timeout: 2m\n    onError: notify_failed');
    expect(source.split('\n').length).toBe(commented.split('\n').length);
    expect(ada.errors).toEqual([]);
  });

  it('adds an input and a webhook trigger through the settings forms, keeping the comments', async () => {
    const commented = TEMPLATE.replace('  properties:\n', '  properties:\n    # What the submitter enters.\n')
      .replace('triggers:\n', 'triggers:\n  # Members start it by hand; finance ops by hook.\n')
      .replace('timeout: 7d\n', 'timeout: 7d # a week at most\n');
    const response = await ada.context.request.put('/api/workflows/expense-approval', {
      headers: { 'x-csrf-token': await csrfOf(ada), 'content-type': 'application/yaml' },
      data: commented,
    });
    expect(response.ok()).toBe(true);
    const { page } = ada;
    await withFailureShot(page, 'designer-settings-forms', async () => {
      await page.goto('/workflows/expense-approval');
      await node(page, 'manager_approval').waitFor();
      const side = page.locator('.sg-side');
      await side.getByTestId('input-category').waitFor();

      await side.getByRole('button', { name: 'Add input' }).click();
      await fill(page, 'input-3-name', 'costCenter', { enter: true });
      const card = side.getByTestId('input-costCenter');
      await card.waitFor();
      expect(await card.getByLabel('Input 4 type').inputValue()).toBe('string');
      await card.getByLabel('Input 4 required').check();
      await fill(page, 'input-3-description', 'Cost center code');

      await side.getByRole('button', { name: 'Add webhook trigger' }).click();
      await side.getByLabel('Trigger 3 authentication').selectOption('token');
      // Undo and redo go through the same history as every other edit.
      await page.getByRole('button', { name: 'Undo', exact: true }).click();
      expect(await side.getByLabel('Trigger 3 authentication').inputValue()).toBe('');
      await page.getByRole('button', { name: 'Redo', exact: true }).click();
      expect(await side.getByLabel('Trigger 3 authentication').inputValue()).toBe('token');
      await saveAndWait(page, 'expense-approval');
    });
    await screenshot(page, 'designer-settings-forms');

    const source = await savedSource(ada, 'expense-approval');
    const inputs = template.inputs as { required: string[]; properties: Record<string, unknown> };
    expect(parse(source)).toEqual({
      ...template,
      inputs: {
        ...inputs,
        required: [...inputs.required, 'costCenter'],
        properties: { ...inputs.properties, costCenter: { type: 'string', description: 'Cost center code' } },
      },
      triggers: [...(template.triggers as unknown[]), { type: 'webhook', auth: 'token' }],
    });
    expect(source).toContain('# yaml-language-server: $schema=../schema/workflow.schema.json');
    expect(source).toContain('  properties:\n    # What the submitter enters.\n    amount: { type: number');
    expect(source).toContain(
      'triggers:\n  # Members start it by hand; finance ops by hook.\n  - type: manual',
    );
    expect(source).toContain('timeout: 7d # a week at most\n');
    expect(source).toContain('  required: [amount, description, costCenter]\n');
    expect(source).toContain('    costCenter: { type: string, description: Cost center code }\n');
    expect(source).toContain('  - type: webhook\n    auth: token\ntimeout: 7d');
    expect(source.split('\n').length).toBe(commented.split('\n').length + 3);
    expect(ada.errors).toEqual([]);
  });

  it('shows a server diagnostic on the step it concerns', async () => {
    const { page } = ada;
    await installTemplate(ada);
    await page.goto('/workflows/expense-approval');
    await node(page, 'notify_paid').waitFor();
    await select(page, 'notify_paid');
    await fill(page, 'message', 'Paid by {{manager_approval.decidedBy}}');
    const badge = node(page, 'notify_paid').getByTestId('step-problems');
    await badge.waitFor({ timeout: 5000 });
    await expect.poll(() => page.locator('.react-flow__node [data-testid="step-problems"]').count()).toBe(1);
    await expect.poll(() => page.getByTestId('panel-problems').textContent()).toContain('manager_approval');

    // A workflow-level problem is listed with the workflow's settings and marked in the code view.
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await fill(page, 'workflow-timeout', 'soon');
    await expect.poll(() => page.getByTestId('panel-problems').textContent()).toContain('/timeout');
    await page.locator('.cm-lint-marker-error').first().waitFor();
    expect(ada.errors).toEqual([]);
  });

  it('completes a variable after {{ from the keyboard, and closes the list on Escape', async () => {
    const { page } = ada;
    await installTemplate(ada);
    await page.goto('/workflows/expense-approval');
    await node(page, 'notify_paid').waitFor();
    await select(page, 'notify_paid');
    const message = page.locator('.sg-side [name="message"]');
    const options = page.locator('.sg-side .sg-completions [role="option"]');
    await message.fill('');
    await message.pressSequentially('Paid {{');
    await options.first().waitFor();
    const second = (await options.nth(1).textContent()) ?? '';
    expect(second).not.toBe('');
    await message.press('ArrowDown');
    await expect.poll(() => options.nth(1).getAttribute('aria-selected')).toBe('true');
    await message.press('Enter');
    await expect.poll(() => message.inputValue()).toBe(`Paid {{${second}}}`);
    expect(await options.count()).toBe(0);

    await message.pressSequentially(' {{am');
    await options.first().waitFor();
    expect(await options.allTextContents()).toEqual(['amount']);
    await message.press('Escape');
    await expect.poll(() => options.count()).toBe(0);
    expect(await message.inputValue()).toBe(`Paid {{${second}}} {{am`);
    expect(ada.errors).toEqual([]);
  });

  it('deletes a step with the keyboard, and undoes and redoes it', async () => {
    const { page } = ada;
    await installTemplate(ada);
    await page.goto('/workflows/expense-approval');
    await node(page, 'notify_expired').waitFor();
    await select(page, 'notify_expired');
    await page.keyboard.press('Delete');
    await expect.poll(() => node(page, 'notify_expired').count()).toBe(0);
    await expect.poll(() => page.locator('.cm-content').textContent()).not.toContain('notify_expired');

    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => node(page, 'notify_expired').count()).toBe(1);
    await expect.poll(() => page.locator('.cm-content').textContent()).toContain('id: notify_expired');

    await page.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => node(page, 'notify_expired').count()).toBe(0);
    await page.keyboard.press('Control+z');
    await expect.poll(() => node(page, 'notify_expired').count()).toBe(1);
    await select(page, 'process_payment');
    await screenshot(page, 'designer');
    expect(ada.errors).toEqual([]);
  });

  it('deletes a selected edge with the keyboard, so the condition falls back to the following step', async () => {
    const { page } = ada;
    await installTemplate(ada);
    await page.goto('/workflows/expense-approval');
    await node(page, 'over_threshold').waitFor();
    const code = async () => (await page.locator('.cm-line').allTextContents()).join('\n');
    expect(await code()).toContain('else: process_payment');
    // Edges cross in the laid-out graph, so the edge is selected from the keyboard (focus, Enter).
    await page.getByTestId('rf__edge-over_threshold:else').focus();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Delete');
    await expect.poll(code).not.toContain('else: process_payment');
    await page
      .locator('.react-flow__edge.sg-edge-implicit[data-id="over_threshold:else"]')
      .waitFor({ state: 'attached' });
    await page.keyboard.press('Control+z');
    await expect.poll(code).toContain('else: process_payment');
    expect(ada.errors).toEqual([]);
  });

  it('opens for a lead, who may not read the directory, without console errors', async () => {
    await installTemplate(ada);
    const fiona = await stack.login('fiona@example.com', { viewport: { width: 1600, height: 1200 } });
    await fiona.page.goto('/workflows/expense-approval');
    await node(fiona.page, 'manager_approval').waitFor();
    await fiona.page
      .getByTestId('validation-status')
      .filter({ hasText: /^Valid$/ })
      .waitFor();
    await select(fiona.page, 'manager_approval');
    await fiona.page.locator('.sg-side').getByLabel('Add to approvers', { exact: true }).fill('role:');
    expect(fiona.errors).toEqual([]);
    await fiona.context.close();
  });

  it('shows code edits on the canvas and keeps the last good graph while the code does not parse', async () => {
    const { page } = ada;
    await installTemplate(ada);
    await page.goto('/workflows/expense-approval');
    await node(page, 'notify_failed').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n  - id: wait_a_bit\n    type: delay\n    duration: 1h');
    await node(page, 'wait_a_bit').waitFor();
    await page.keyboard.insertText('\n    unt');
    await page.locator('.cm-tooltip-autocomplete').getByText('until', { exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');

    await page.keyboard.insertText('\n  - [');
    await page.getByTestId('validation-status').filter({ hasText: 'Code does not parse' }).waitFor();
    await node(page, 'wait_a_bit').waitFor();
    expect(ada.errors).toEqual([]);
  });

  it('drops a step into a parallel branch', async () => {
    const { page } = ada;
    await page.goto('/workflows/new');
    await page.getByTestId('workflow-editor').waitFor();
    await dropStep(page, 'parallel', { dx: 420, dy: 120 });
    await node(page, 'parallel_1').waitFor();
    const lane = await page.locator('.react-flow__node[data-id^="$lane:"]').first().boundingBox();
    if (lane === null) throw new Error('no lane');
    const palette = await page.locator('[data-palette="notify"]').boundingBox();
    if (palette === null) throw new Error('no palette');
    await drag(
      page,
      { x: palette.x + palette.width / 2, y: palette.y + palette.height / 2 },
      { x: lane.x + lane.width / 2, y: lane.y + lane.height / 2 },
    );
    await node(page, 'notify_1').waitFor();
    const code = (await page.locator('.cm-line').allTextContents()).join('\n');
    const definition = parse(code) as { steps: Array<{ branches: Array<{ steps: Array<{ id: string }> }> }> };
    expect(definition.steps[0]?.branches[0]?.steps.map((s) => s.id)).toEqual(['notify_1']);
    expect(ada.errors).toEqual([]);
  });
});

async function dropAt(
  page: Page,
  box: { x: number; y: number; width: number; height: number },
  to: { x: number; y: number },
): Promise<void> {
  await drag(page, { x: box.x + box.width / 2, y: box.y + box.height / 2 }, to);
}

/** Builds the expense workflow in /workflows/new with the mouse and the properties panel. */
async function buildExpenseWorkflow(page: Page): Promise<void> {
  await page.goto('/workflows/new');
  await page.getByTestId('workflow-editor').waitFor();
  await page.getByRole('button', { name: 'Code', exact: true }).click();

  // The workflow's own settings (the panel shows them while no step is selected).
  await fill(page, 'workflow-id', 'expense-approval');
  await fill(page, 'workflow-name', String(template.name));
  await fill(page, 'workflow-description', String(template.description));
  await addItems(page, 'aliases', template.aliases as string[]);
  await fill(page, 'workflow-timeout', '7d');
  await page.getByRole('button', { name: 'Edit inputs as YAML' }).click();
  await page.getByRole('button', { name: 'Edit triggers as YAML' }).click();
  const inputs = page.locator('.sg-side').getByLabel('Inputs (JSON Schema, YAML)');
  await inputs.fill(JSON.stringify(template.inputs, null, 2));
  await inputs.blur();
  const triggers = page.locator('.sg-side').getByLabel('Triggers (YAML list)');
  await triggers.fill(JSON.stringify(template.triggers, null, 2));
  await triggers.blur();

  // Move the start and end out of the way, then drop the eight steps in the template's order.
  const canvas = await page.getByTestId('designer-canvas').boundingBox();
  if (canvas === null) throw new Error('no canvas');
  const endBox = await node(page, '$end').boundingBox();
  if (endBox === null) throw new Error('no end node');
  await dropAt(page, endBox, { x: canvas.x + 560, y: canvas.y + canvas.height - 60 });
  const startBox = await node(page, '$start').boundingBox();
  if (startBox === null) throw new Error('no start node');
  await dropAt(page, startBox, { x: canvas.x + 60, y: canvas.y + 30 });
  const steps = template.steps as Array<Record<string, string>>;
  const grid = (col: number, row: number) => ({ dx: 140 + col * 260, dy: 110 + row * 170 });

  await dropStep(page, 'tool', grid(0, 0));
  await fill(page, 'step-id', 'validate', { enter: true });
  await fill(page, 'tool', 'expenses-validate');
  await page.locator('.sg-side [name="arg-amount"]').waitFor();
  await fill(page, 'arg-amount', '{{amount}}');
  await fill(page, 'arg-description', '{{description}}');
  await fill(page, 'arg-category', '{{category}}');
  await fill(page, 'arg-submitter', '{{trigger.user.email}}');
  await fill(page, 'retry-maxAttempts', '3');
  await fill(page, 'retry-interval', '2s');
  await fill(page, 'retry-backoffRate', '2');
  await fill(page, 'retry-maxDelay', '1m');
  await page.locator('.sg-side').getByLabel('Jitter').selectOption('full');
  await fill(page, 'timeout', '30s');
  await fill(page, 'output', 'validation');

  await dropStep(page, 'condition', grid(1, 0));
  await fill(page, 'step-id', 'over_threshold', { enter: true });
  await fill(page, 'if', 'amount > 500');
  await page.locator('.sg-side').getByText('✓ valid expression').waitFor();

  await dropStep(page, 'approval', grid(2, 0));
  await fill(page, 'step-id', 'manager_approval', { enter: true });
  await addItems(page, 'approvers', ['{{trigger.user.manager}}']);
  await fill(page, 'message', (steps[2] as Record<string, string>).message as string);
  await addDetails(page, template.steps[2]?.details ?? []);
  await fill(page, 'timeout', '24h');
  await page.getByRole('button', { name: 'Add escalation level' }).click();
  await addItems(page, 'level 2 approvers', ['role:director']);
  await fill(page, 'escalate-0-timeout', '24h');

  await dropStep(page, 'tool', grid(0, 1));
  await fill(page, 'step-id', 'process_payment', { enter: true });
  await fill(page, 'tool', 'payments-charge');
  await page.locator('.sg-side [name="arg-payee"]').waitFor();
  await fill(page, 'arg-amount', '{{amount}}');
  await fill(page, 'arg-currency', 'usd');
  await fill(page, 'arg-description', '{{description}}');
  await fill(page, 'arg-payee', '{{trigger.user.email}}');
  await fill(page, 'retry-maxAttempts', '3');
  await fill(page, 'retry-interval', '5s');
  await fill(page, 'retry-backoffRate', '2');
  await fill(page, 'timeout', '1m');

  const notifications = steps.filter((s) => s.type === 'notify');
  for (const [i, step] of notifications.entries()) {
    await dropStep(page, 'notify', grid(i < 2 ? i + 1 : i - 2, i < 2 ? 1 : 2));
    await fill(page, 'step-id', step.id as string, { enter: true });
    if (step.channel !== 'email')
      await page
        .locator('.sg-side')
        .getByLabel('Channel')
        .selectOption(step.channel as string);
    await addItems(page, 'to', [step.to as string]);
    if (step.subject) await fill(page, 'subject', step.subject);
    await fill(page, 'message', step.message as string);
  }

  // The edges the list order does not imply.
  await page.getByRole('button', { name: 'Zoom to fit' }).click();
  await page.waitForTimeout(300);
  await wire(page, 'validate', 'onError', 'notify_failed');
  await wire(page, 'over_threshold', 'then', 'manager_approval');
  await wire(page, 'over_threshold', 'else', 'process_payment');
  await wire(page, 'manager_approval', 'onReject', 'notify_rejected');
  await wire(page, 'manager_approval', 'onTimeout', 'notify_expired');
  await wire(page, 'process_payment', 'onError', 'notify_failed');
  for (const id of ['notify_paid', 'notify_rejected', 'notify_expired', 'notify_failed'])
    await wire(page, id, 'next', '$end');

  await page
    .getByTestId('validation-status')
    .filter({ hasText: /^Valid$/ })
    .waitFor({ timeout: 5000 });
}
