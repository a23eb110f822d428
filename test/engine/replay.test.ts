// Replay: a run's recorded history, replayed by a fresh Replayer, reaches the same outcome without asking
// for anything new; an evicted run is rebuilt from its history when its decision arrives; a history
// that no longer matches the orchestrator fails the run with Stepgate.NonDeterminism (an evicted run too,
// ending like any other run: its waiters are told, its timers disarmed); and recorded golden
// histories keep replaying. `UPDATE_GOLDEN=1 npx vitest run test/engine/replay.test.ts` re-records them.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HistoryEvent, Replayer } from '../../adapters/local/replayer.js';
import type { RunStart } from '../../functions/core/orchestrator.js';
import type { FinalStatus, Identity, RunOutcome } from '../../functions/core/protocol.js';
import {
  define,
  fail,
  Harness,
  type HarnessOptions,
  ok,
  people,
  type ScheduledDecision,
  type StartOptions,
} from './harness.js';

const TEMPLATES = join(import.meta.dirname, '../../templates');
const GOLDEN = join(import.meta.dirname, 'fixtures/histories');

const template = (file: string): string => readFileSync(join(TEMPLATES, file), 'utf8');

const oncall: Identity = { email: 'oncall@example.com', role: 'member', groups: ['sre'], manager: null };
const lead: Identity = {
  email: 'lead@example.com',
  role: 'manager',
  groups: ['engineering-managers'],
  manager: null,
};
const monitoring: Identity = {
  email: 'monitoring-bot@example.com',
  role: 'member',
  groups: [],
  manager: null,
};
const users = [...people, oncall, lead, monitoring];
const bob = people.find((p) => p.email === 'bob@example.com');

interface Scenario {
  name: string;
  workflow: string;
  start: StartOptions;
  tools?: HarnessOptions['tools'];
  notifications?: HarnessOptions['notifications'];
  decisions?: ScheduledDecision[];
  cancelAt?: string;
  /** The final status and the last step entered. */
  ends: [FinalStatus, string];
}

const scenarios: Scenario[] = [
  {
    name: 'expense under the threshold, paid at once',
    ends: ['completed', 'notify_paid'],
    workflow: template('expense-approval.yaml'),
    start: { runId: 'run-expense-small', input: { amount: 120, description: 'Taxi' } },
    tools: { 'payments-charge': ok({ id: 'ch_1' }) },
  },
  {
    name: 'expense escalated to a director and approved',
    ends: ['completed', 'notify_paid'],
    workflow: template('expense-approval.yaml'),
    start: { runId: 'run-expense-escalated', input: { amount: 900, description: 'Laptop' } },
    tools: {
      'expenses-validate': [fail('Upstream.Busy'), ok({ valid: true })],
      'payments-charge': ok({ id: 'ch_2' }),
    },
    decisions: [{ at: '25h', step: 'manager_approval', by: 'carol@example.com', comment: 'ok' }],
  },
  {
    name: 'expense rejected by the manager',
    ends: ['completed', 'notify_rejected'],
    workflow: template('expense-approval.yaml'),
    start: { runId: 'run-expense-rejected', input: { amount: 900, description: 'Yacht' } },
    decisions: [
      { at: '2h', step: 'manager_approval', by: 'bob@example.com', decision: 'reject', comment: 'no' },
    ],
  },
  {
    name: 'onboarding with the equipment approved',
    ends: ['completed', 'notify_manager'],
    workflow: template('employee-onboarding.yaml'),
    start: {
      runId: 'run-onboarding',
      user: bob,
      input: {
        fullName: 'Zoe Park',
        personalEmail: 'zoe@personal.example',
        department: 'engineering',
        manager: 'bob@example.com',
        startDate: '2026-02-02',
      },
    },
    tools: {
      'directory-create-account': [ok({ email: 'zoe@example.com' }, '40s'), ok({ email: 'zoe@example.com' })],
      'calendar-schedule-meeting': ok({ start: '2026-02-02T10:00:00Z', location: 'HQ' }),
    },
    decisions: [{ at: '3h', step: 'equipment_approval', by: 'bob@example.com' }],
  },
  {
    name: 'onboarding whose account cannot be created',
    ends: ['completed', 'notify_hr_failed'],
    workflow: template('employee-onboarding.yaml'),
    start: {
      runId: 'run-onboarding-failed',
      user: bob,
      input: {
        fullName: 'Yann Lee',
        personalEmail: 'yann@personal.example',
        department: 'sales',
        manager: 'bob@example.com',
        startDate: '2026-02-02',
      },
    },
    tools: { 'directory-create-account': fail('Directory.Down', 'the directory is down') },
  },
  {
    name: 'critical incident paged and acknowledged',
    ends: ['completed', 'mark_acknowledged'],
    workflow: template('incident-response.yaml'),
    start: {
      runId: 'run-incident-critical',
      user: monitoring,
      triggerType: 'webhook',
      input: { title: 'API down', service: 'api' },
    },
    tools: {
      'incidents-assess': ok({ severity: 'critical', incidentId: 'INC-7' }),
      'incidents-oncall': ok({ email: 'oncall@example.com', phone: '+15550100', slack: '@oncall' }),
      'incidents-page': ok({ paged: true }, '2m'),
    },
    decisions: [{ at: '5m', step: 'acknowledge', by: 'oncall@example.com', comment: 'on it' }],
  },
  {
    name: 'critical incident nobody acknowledges',
    ends: ['completed', 'mark_unacknowledged'],
    workflow: template('incident-response.yaml'),
    start: {
      runId: 'run-incident-unacknowledged',
      user: monitoring,
      input: { title: 'Disk full', service: 'db' },
    },
    tools: {
      'incidents-assess': ok({ severity: 'critical', incidentId: 'INC-8' }),
      'incidents-oncall': ok({ email: 'oncall@example.com', phone: '+15550100', slack: '@oncall' }),
    },
  },
  {
    name: 'minor incident routed to the team',
    ends: ['completed', 'mark_triaged'],
    workflow: template('incident-response.yaml'),
    start: { runId: 'run-incident-minor', user: monitoring, input: { title: 'Slow page', service: 'web' } },
    tools: { 'incidents-assess': ok({ severity: 'minor', incidentId: 'INC-9' }) },
  },
  {
    name: 'travel over budget, approved and booked',
    ends: ['completed', 'send_itinerary'],
    workflow: template('travel-booking.yaml'),
    start: {
      runId: 'run-travel',
      input: { origin: 'SFO', destination: 'JFK', departureDate: '2026-03-01', budget: 500 },
    },
    tools: {
      'travel-preferences': ok({ seat: 'aisle', policy: 'economy' }),
      'travel-search-flights': [
        fail('Search.Busy'),
        fail('Search.Busy'),
        ok({ flightId: 'UA1', price: 640 }),
      ],
      'travel-book': ok({ bookingReference: 'BK42', itinerary: 'UA1 SFO-JFK' }),
      'payments-charge': ok({ id: 'ch_3' }),
    },
    decisions: [{ at: '4h', step: 'manager_approval', by: 'bob@example.com', comment: 'fine' }],
  },
  {
    name: 'travel whose approval times out',
    ends: ['completed', 'notify_rejected'],
    workflow: template('travel-booking.yaml'),
    start: {
      runId: 'run-travel-timeout',
      input: { origin: 'SFO', destination: 'LHR', departureDate: '2026-03-01', budget: 500 },
    },
    tools: { 'travel-search-flights': ok({ flightId: 'BA2', price: 1400 }) },
  },
  {
    name: 'a parallel race cancelled by the whole-run timeout',
    ends: ['timed_out', 'long_wait'],
    workflow: define({
      id: 'race-then-timeout',
      timeout: '6h',
      steps: [
        {
          id: 'race',
          type: 'parallel',
          require: 1,
          branches: [
            { name: 'fast', steps: [{ id: 'fast', type: 'tool', tool: 'fast' }] },
            { name: 'slow', steps: [{ id: 'slow_wait', type: 'delay', duration: '2h' }] },
          ],
        },
        {
          id: 'both',
          type: 'parallel',
          branches: [
            { name: 'sign', steps: [{ id: 'sign_off', type: 'approval', approvers: ['carol@example.com'] }] },
            { name: 'wait', steps: [{ id: 'long_wait', type: 'delay', duration: '1d' }] },
          ],
        },
      ],
    }),
    start: { runId: 'run-race-timeout' },
    tools: { fast: ok({ won: true }, '10m') },
  },
  {
    name: 'a run cancelled while it waits',
    ends: ['cancelled', 'sign_off'],
    workflow: define({
      id: 'cancelled-while-waiting',
      steps: [
        { id: 'pause', type: 'delay', duration: '1h' },
        { id: 'sign_off', type: 'approval', approvers: ['carol@example.com'], timeout: '1d' },
      ],
    }),
    start: { runId: 'run-cancelled' },
    cancelAt: '3h',
  },
];

async function play(scenario: Scenario): Promise<Harness> {
  const harness = new Harness({
    workflow: scenario.workflow,
    users,
    tools: scenario.tools,
    notifications: scenario.notifications,
    decisions: scenario.decisions,
  });
  const runId = await harness.start(scenario.start);
  if (scenario.cancelAt !== undefined)
    harness.at(scenario.cancelAt, () => harness.host.cancelRun(runId, 'admin'));
  await harness.run();
  return harness;
}

/** Replays `history` with a fresh Replayer; throws NonDeterminismError when the orchestrator disagrees. */
function replay(
  start: RunStart,
  history: HistoryEvent[],
  startedAt: number,
): { outcome: RunOutcome | undefined; actions: unknown[] } {
  const replayer = new Replayer(start.runId, start, history, startedAt);
  replayer.run();
  return { outcome: replayer.outcome, actions: replayer.takeActions() };
}

describe('replaying a finished run', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))(
    'reaches the same outcome without asking for anything new: %s',
    async (_name, scenario) => {
      const harness = await play(scenario);
      const record = (await harness.result()).record;
      expect([record.status, (await harness.result()).path.at(-1)]).toEqual(scenario.ends);

      const { outcome, actions } = replay(await harness.runStart(), harness.history(), record.createdAt);

      expect(outcome).toEqual(record.outcome);
      expect(actions).toEqual([]);
    },
  );
});

describe('a run evicted from the cache', () => {
  it('is rebuilt from its history and resumes correctly when its decision arrives', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'parked',
        inputs: { type: 'object', properties: { n: { type: 'number' } } },
        steps: [
          { id: 'prepare', type: 'tool', tool: 'prepare', args: { n: '{{n}}' } },
          { id: 'sign_off', type: 'approval', approvers: ['bob@example.com'] },
          { id: 'finish', type: 'tool', tool: 'finish', args: { prepared: '{{prepare.n}}' } },
        ],
      }),
      cacheSize: 1,
      tools: { prepare: (request) => ok({ n: (request.args as { n: number }).n * 10 }) },
    });
    const runIds = [await harness.start({ input: { n: 1 } })];
    runIds.push(await harness.start({ input: { n: 2 } }));
    runIds.push(await harness.start({ input: { n: 3 } }));
    await harness.run();
    expect(await Promise.all(runIds.map(async (id) => (await harness.result(id)).status))).toEqual([
      'running',
      'running',
      'running',
    ]);
    expect(harness.host.liveCount).toBe(1);

    runIds.forEach((runId, i) => {
      harness.decideAt({ at: `${i + 1}h`, step: 'sign_off', by: 'bob@example.com', runId });
    });
    await harness.run();

    expect(await Promise.all(runIds.map(async (id) => (await harness.result(id)).status))).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
    expect(
      await Promise.all(runIds.map(async (id) => (await harness.result(id)).toolCalls.map((c) => c.args))),
    ).toEqual([
      [{ n: 1 }, { prepared: 10 }],
      [{ n: 2 }, { prepared: 20 }],
      [{ n: 3 }, { prepared: 30 }],
    ]);
    expect(
      await Promise.all(runIds.map(async (id) => (await harness.result(id)).vars.sign_off)),
    ).toMatchObject([
      { approved: true, decidedBy: 'bob@example.com' },
      { approved: true, decidedBy: 'bob@example.com' },
      { approved: true, decidedBy: 'bob@example.com' },
    ]);
  });
});

describe('a history the orchestrator no longer agrees with', () => {
  it('fails the run with Stepgate.NonDeterminism instead of running on', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'tampered',
        steps: [
          { id: 'prepare', type: 'tool', tool: 'prepare' },
          { id: 'sign_off', type: 'approval', approvers: ['bob@example.com'] },
          { id: 'finish', type: 'tool', tool: 'finish' },
        ],
      }),
      cacheSize: 1,
    });
    const tampered = await harness.start({ runId: 'run-tampered' });
    await harness.start({ runId: 'run-other' });
    await harness.run();
    expect(harness.host.liveCount).toBe(1);
    const renamed = harness.engine.db
      .prepare(
        "UPDATE history SET name = 'notify.send' WHERE run_id = ? AND type = 'TaskScheduled' AND name = 'tool.call'",
      )
      .run(tampered);
    expect(renamed.changes).toBe(1);

    harness.decideAt({ at: '1h', step: 'sign_off', by: 'bob@example.com', runId: tampered });
    await harness.run();
    const run = await harness.result(tampered);

    expect(run.status).toBe('failed');
    expect(run.error?.code).toBe('Stepgate.NonDeterminism');
    expect(run.toolCalls.map((c) => c.tool)).toEqual(['prepare']);
  });
});

describe('an evicted run whose replay fails', () => {
  it('ends as failed through the same path as any other end: its waiters hear of it, its timers go', async () => {
    const harness = new Harness({
      workflow: define({
        id: 'evicted-then-unreplayable',
        steps: [
          { id: 'prepare', type: 'tool', tool: 'prepare' },
          { id: 'sign_off', type: 'approval', approvers: ['bob@example.com'], timeout: '1d' },
          { id: 'finish', type: 'tool', tool: 'finish' },
        ],
      }),
      cacheSize: 1,
    });
    const broken = await harness.start({ runId: 'run-broken' });
    await harness.start({ runId: 'run-evicts-it' });
    await harness.run('1m');
    expect(harness.host.liveCount).toBe(1);
    expect(harness.storedTimers(broken)).toBe(1);
    // A history the current orchestrator cannot replay: its first task is no longer the tool call.
    harness.engine.db
      .prepare(
        "UPDATE history SET name = 'notify.send' WHERE run_id = ? AND type = 'TaskScheduled' AND name = 'tool.call'",
      )
      .run(broken);
    let ended: string | undefined;
    void harness.host.waitForRun(broken).then((status) => {
      ended = status;
    });

    harness.decideAt({ at: '1h', step: 'sign_off', by: 'bob@example.com', runId: broken });
    await harness.run('2h');

    expect((await harness.result(broken)).status).toBe('failed');
    expect((await harness.result(broken)).error?.code).toBe('Stepgate.NonDeterminism');
    expect(ended).toBe('failed');
    expect(harness.storedTimers(broken)).toBe(0);
    // The level's 1-day deadline is no longer armed (the other run's deadline is).
    expect(harness.clock.pendingTimers).toBe(1);
  });
});

interface GoldenHistory {
  scenario: string;
  start: RunStart;
  startedAt: number;
  history: HistoryEvent[];
  outcome: RunOutcome;
}

const goldens = [
  { file: 'expense-escalated.json', scenario: 'expense escalated to a director and approved' },
  { file: 'onboarding-equipment-approved.json', scenario: 'onboarding with the equipment approved' },
  { file: 'incident-critical-acknowledged.json', scenario: 'critical incident paged and acknowledged' },
];

describe('golden histories', () => {
  if (process.env.UPDATE_GOLDEN === '1') {
    it.each(goldens)('re-records $file (UPDATE_GOLDEN=1)', async ({ file, scenario: name }) => {
      const scenario = scenarios.find((s) => s.name === name);
      if (scenario === undefined) throw new Error(`no scenario '${name}'`);
      const harness = await play(scenario);
      const record = (await harness.result()).record;
      if (record.outcome === null) throw new Error(`${name} did not finish`);
      const golden: GoldenHistory = {
        scenario: name,
        start: await harness.runStart(),
        startedAt: record.createdAt,
        history: harness.history(),
        outcome: record.outcome,
      };
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(join(GOLDEN, file), `${JSON.stringify(golden, null, 2)}\n`);
    });
  }

  it.each(goldens)('replays $file to its recorded outcome', ({ file }) => {
    const path = join(GOLDEN, file);
    expect(existsSync(path), `${file} is missing: record it with UPDATE_GOLDEN=1`).toBe(true);
    const golden = JSON.parse(readFileSync(path, 'utf8')) as GoldenHistory;

    const { outcome, actions } = replay(golden.start, golden.history, golden.startedAt);

    expect(outcome).toEqual(golden.outcome);
    expect(actions).toEqual([]);
  });
});
