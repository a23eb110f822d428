// The run page and the runs list as a new user meets them (issue 15): the incident run's graph readable at
// its default size (measured from the DOM: font size × the graph's zoom), the mouse wheel scrolling the page
// while ctrl + wheel and the buttons zoom; the `require: 1` pages that were delivered after the join shown
// delivered, none "in progress" on the finished run; the outcome beside the status in the runs list
// (approved, rejected); the audit trail downloaded as the API serves it; the workflows list telling a member
// whose runs they see. Screenshots: run-incident, run-parallel.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, screenshot, startStack, type UserContext } from './support.js';

interface RunJson {
  status: string;
  outcome?: { kind: string };
  steps: Array<{
    id: string;
    state: string;
    afterJoin?: string;
    attempts: Array<{ endedAt?: number }>;
    approval?: { requests: Array<{ approver: string }> };
  }>;
}

describe('the run page', () => {
  let stack: Stack;
  let emma: UserContext;
  let max: UserContext;
  let ada: UserContext;
  let dana: UserContext;
  let incident: string;

  beforeAll(async () => {
    stack = await startStack();
    emma = await stack.login('emma@example.com');
    max = await stack.login('max@example.com');
    ada = await stack.login('ada@example.com');
    dana = await stack.login('dana@example.com');
    // Listing the tools starts every MCP server once, so the runs below do not wait for a cold start.
    expect((await ada.context.request.get('/api/mcp/tools')).ok()).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  }, 30_000);

  it('draws the incident run’s graph readable at its default size; the wheel scrolls the page, ctrl + wheel and the buttons zoom', async () => {
    incident = await start(emma, 'incident-response', { title: 'API down', service: 'api' });
    await until(emma, incident, (run) => stepState(run, 'acknowledge') === 'waiting');
    const { page } = emma;
    await page.goto(`/runs/${incident}`);
    const graph = page.getByTestId('flow-graph');
    await graph.locator('.sg-step-label').first().waitFor();

    // Every label and summary in the graph, as drawn: its font size times the graph's zoom.
    const drawn = await graph.evaluate((element) => {
      const viewport = element.querySelector<HTMLElement>('.react-flow__viewport');
      const zoom = viewport ? new DOMMatrix(getComputedStyle(viewport).transform).a : Number.NaN;
      const texts = [
        ...element.querySelectorAll<HTMLElement>('.sg-step-label, .sg-step-summary, .sg-lane-title'),
      ];
      return {
        zoom,
        count: texts.length,
        smallest: Math.min(...texts.map((t) => Number.parseFloat(getComputedStyle(t).fontSize) * zoom)),
      };
    });
    expect(drawn.count).toBeGreaterThan(10);
    expect(drawn.smallest).toBeGreaterThanOrEqual(10);
    await page.getByRole('list', { name: 'Step states' }).getByText('cancelled').waitFor();

    // The wheel over the graph scrolls the page and leaves the graph's zoom alone.
    const zoomOf = () =>
      graph.locator('.react-flow__viewport').evaluate((v) => new DOMMatrix(getComputedStyle(v).transform).a);
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await graph.boundingBox();
    if (box === null) throw new Error('the graph is not drawn');
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 200));
    await page.mouse.wheel(0, 300);
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    expect(await zoomOf()).toBe(drawn.zoom);

    // Ctrl + wheel zooms (as a trackpad's pinch does); the buttons zoom and bring the readable size back.
    await page.evaluate(() => window.scrollTo(0, 0));
    const again = await graph.boundingBox();
    if (again === null) throw new Error('the graph is not drawn');
    await page.mouse.move(again.x + again.width / 2, again.y + Math.min(again.height / 2, 200));
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, 200);
    await page.keyboard.up('Control');
    await expect.poll(zoomOf).toBeLessThan(drawn.zoom);
    await graph.getByRole('button', { name: 'Readable size' }).click();
    await expect.poll(zoomOf).toBe(drawn.zoom);
    await graph.getByRole('button', { name: /zoom out/i }).click();
    await expect.poll(zoomOf).toBeLessThan(drawn.zoom);
    await graph.getByRole('button', { name: 'Readable size' }).click();
    await expect.poll(zoomOf).toBe(drawn.zoom);
  }, 60_000);

  it('shows the pages delivered after the join as delivered, and nothing in progress once the run has ended', async () => {
    // The on-call engineer of the week (no login) acknowledges from the emailed link, read as the admin.
    const { page } = ada;
    const asked = (await until(emma, incident, () => true)).steps.find((s) => s.id === 'acknowledge');
    const oncall = asked?.approval?.requests[0]?.approver;
    if (oncall === undefined) throw new Error('nobody was asked to acknowledge');
    const inbox = async () =>
      JSON.stringify(await (await page.request.get(`/api/inbox?to=${encodeURIComponent(oncall)}`)).json());
    await expect.poll(inbox, { timeout: 20_000 }).toContain('/approve/');
    const link = (await inbox()).match(/https?:\/\/[^\s"\\)]+\/approve\/[^\s"\\)<]+/)?.[0];
    if (link === undefined) throw new Error(`no approval link in ${oncall}’s mail`);
    await page.goto(link);
    await page.getByRole('button', { name: 'Approve' }).click();
    const run = await until(emma, incident, (r) => r.status !== 'running');
    expect(run.status).toBe('completed');

    // All three pages went out (the sandbox answers each at once): one decided the join, the others arrived
    // after it — delivered, not cancelled.
    const pages = run.steps.filter((s) => ['page_pager', 'page_sms', 'page_slack'].includes(s.id));
    expect(pages.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    expect(pages.filter((s) => s.afterJoin === 'done').length).toBe(2);
    expect(run.steps.flatMap((s) => s.attempts).filter((a) => a.endedAt === undefined)).toEqual([]);

    await emma.page.goto(`/runs/${incident}`);
    await emma.page.getByTestId('run-status').getByText('completed').waitFor();
    await emma.page.getByTestId('run-outcome').getByText('approved').waitFor();
    expect(await emma.page.getByText('delivered after the join').count()).toBeGreaterThan(0);
    expect(await emma.page.getByText('in progress').count()).toBe(0);
    // No step of the timeline or the graph says cancelled (the legend still explains the word).
    await emma.page.getByTestId('flow-graph').locator('.sg-state-badge').first().waitFor();
    const states = await emma.page.locator('.timeline .state-label, .sg-state-badge').allInnerTexts();
    expect(states.length).toBeGreaterThan(15);
    expect(states.filter((text) => text.includes('cancelled'))).toEqual([]);
    await screenshot(emma.page, 'run-incident');
  }, 60_000);

  it('shows the outcome beside the status in the runs list: approved, rejected', async () => {
    const rejected = await start(emma, 'expense-approval', { amount: 900, description: 'Gold-plated mouse' });
    await until(emma, rejected, (run) => stepState(run, 'manager_approval') === 'waiting', 30_000);
    const csrf = await csrfOf(max);
    const decided = await max.context.request.post(`/api/approvals/${rejected}/manager_approval`, {
      headers: { 'x-csrf-token': csrf },
      data: { decision: 'reject', comment: 'no' },
    });
    expect(decided.status(), await decided.text()).toBe(200);
    expect((await until(emma, rejected, (run) => run.status !== 'running')).status).toBe('completed');

    const { page } = emma;
    await page.goto('/runs');
    const row = (id: string) => page.getByRole('row').filter({ has: page.locator(`a[href="/runs/${id}"]`) });
    await row(rejected).getByTestId('run-outcome').getByText('rejected').waitFor();
    await row(rejected).getByText('completed').waitFor();
    await row(incident).getByTestId('run-outcome').getByText('approved').waitFor();
  }, 60_000);

  it('downloads the audit trail under the server’s file name, as the API serves it', async () => {
    const { page } = emma;
    await page.goto(`/runs/${incident}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download audit trail' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`run-${incident}-audit.jsonl`);
    const path = await download.path();
    const saved = readFileSync(path, 'utf8');
    const served = await page.request.get(`/api/runs/${incident}/audit`);
    expect(served.headers()['content-disposition']).toBe(
      `attachment; filename="run-${incident}-audit.jsonl"`,
    );
    expect(saved).toBe(await served.text());
    const entries = saved
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { runId: string; type: string });
    expect(entries.every((e) => e.runId === incident)).toBe(true);
    expect(entries.map((e) => e.type)).toContain('approval.decision');
  });

  it('draws a run of a parallel step (employee onboarding)', async () => {
    const onboarding = await start(max, 'employee-onboarding', {
      fullName: 'Nina New',
      personalEmail: 'nina@home.example',
      department: 'engineering',
      manager: 'dana@example.com',
      startDate: '2027-01-04',
    });
    await until(max, onboarding, (run) => stepState(run, 'equipment_approval') === 'waiting', 30_000);
    const decided = await dana.context.request.post(`/api/approvals/${onboarding}/equipment_approval`, {
      headers: { 'x-csrf-token': await csrfOf(dana) },
      data: { decision: 'approve', comment: 'standard kit' },
    });
    expect(decided.status(), await decided.text()).toBe(200);
    await until(max, onboarding, (run) => run.status !== 'running', 30_000);
    const { page } = max;
    await page.goto(`/runs/${onboarding}`);
    await page.getByTestId('run-status').getByText('completed').waitFor();
    await page.getByTestId('flow-graph').locator('.sg-step-label').first().waitFor();
    await screenshot(page, 'run-parallel');
  }, 60_000);

  it('leaves the wheel to the page over the template gallery’s pictures', async () => {
    const { page } = emma;
    await page.goto('/templates');
    const picture = page.getByTestId('flow-thumbnail').first();
    await picture.locator('.sg-step-label').first().waitFor();
    const zoom = () =>
      picture
        .locator('.react-flow__viewport')
        .evaluate((v) => new DOMMatrix(getComputedStyle(v).transform).a);
    const before = await zoom();
    await page.evaluate(() => window.scrollTo(0, 0));
    const box = await picture.boundingBox();
    if (box === null) throw new Error('the picture is not drawn');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 300);
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    expect(await zoom()).toBe(before);
  });

  it('tells a member whose runs the workflows list shows, not "never run" of a workflow others ran', async () => {
    // Max ran employee onboarding above; Emma did not, and may not see his runs.
    const { page } = emma;
    await page.goto('/workflows');
    await page.getByRole('columnheader', { name: 'Your last run' }).waitFor();
    const row = (name: string) => page.getByRole('row').filter({ has: page.getByRole('link', { name }) });
    await row('Employee onboarding').getByText('none by you').waitFor();
    await row('Incident response').getByTestId('last-run-status').getByText('approved').waitFor();
    expect(await page.getByText('never run').count()).toBe(0);

    await max.page.goto('/workflows');
    await max.page.getByRole('columnheader', { name: 'Last run', exact: true }).waitFor();
    expect([emma, max, ada, dana].flatMap((u) => u.errors)).toEqual([]);
  });
});

async function csrfOf(user: UserContext): Promise<string> {
  return ((await (await user.context.request.get('/api/me')).json()) as { csrf: string }).csrf;
}

async function start(user: UserContext, workflow: string, input: Record<string, unknown>): Promise<string> {
  const started = await user.context.request.post(`/api/workflows/${workflow}/run`, {
    headers: { 'x-csrf-token': await csrfOf(user) },
    data: { input },
  });
  expect(started.status(), await started.text()).toBe(201);
  return ((await started.json()) as { runId: string }).runId;
}

/** The run as the API shows it to `user`, once `done` says so. */
async function until(
  user: UserContext,
  runId: string,
  done: (run: RunJson) => boolean,
  timeout = 20_000,
): Promise<RunJson> {
  let last: RunJson | undefined;
  await expect
    .poll(
      async () => {
        last = (await (await user.context.request.get(`/api/runs/${runId}`)).json()) as RunJson;
        return done(last);
      },
      { timeout },
    )
    .toBe(true);
  return last as RunJson;
}

function stepState(run: RunJson, id: string): string | undefined {
  return run.steps.find((s) => s.id === id)?.state;
}
