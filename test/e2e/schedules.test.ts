// A schedule created through the API by a user, firing on the server's VirtualClock and surviving a
// restart: the server is closed after one fire and started again on the same data folder with the clock
// moved past several ticks. The missed time fires once at start (not once per missed tick), the tick that
// fired before the restart does not fire again, and the next tick fires normally.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../adapters/local/clock.js';
import { type Credential, E2eServer, HOUR, type RunView, until } from './support.js';

interface Schedule {
  id: string;
  cron: string;
  nextFireAt: number | null;
  lastFiredAt: number | null;
}

describe('a user schedule over HTTP, across a restart', () => {
  let s: E2eServer;

  beforeAll(async () => {
    s = await E2eServer.start();
  }, 60_000);

  afterAll(async () => {
    await s?.dispose();
  });

  const scheduledRuns = async (as: Credential): Promise<RunView[]> =>
    (await s.api<RunView[]>(as, 'GET', '/api/runs?workflowId=expense-approval')).json
      .filter((r) => r.trigger.type === 'schedule')
      .sort((a, b) => a.createdAt - b.createdAt);
  /** Waits until exactly `count` scheduled runs exist and all of them have ended. */
  const settled = (as: Credential, count: number): Promise<RunView[]> =>
    until(`${count} finished scheduled runs`, async () => {
      const runs = await scheduledRuns(as);
      return runs.length === count && runs.every((r) => r.status !== 'running') ? runs : undefined;
    });

  it('fires hourly, catches up once after a restart that missed several ticks, then fires on time', async () => {
    const emma = await s.login('emma@example.com');
    const created = await s.api<Schedule>(emma, 'POST', '/api/schedules', {
      workflowId: 'expense-approval',
      preset: 'hourly',
      input: { amount: 25, description: 'Coffee beans', category: 'meals' },
    });
    expect(created.status, created.text).toBe(201);
    const schedule = created.json;
    const first = schedule.nextFireAt as number;
    expect(first % HOUR).toBe(0);
    expect(first).toBeGreaterThan(s.clock.now());

    // The first tick fires on the virtual clock: one run, as emma, paid and mailed.
    await s.advanceTo(first);
    const [fired] = await settled(emma, 1);
    expect(fired).toMatchObject({
      status: 'completed',
      createdAt: first,
      trigger: { type: 'schedule', user: { email: 'emma@example.com' } },
    });
    expect((await s.api<Schedule>(emma, 'GET', `/api/schedules/${schedule.id}`)).json).toMatchObject({
      lastFiredAt: first,
      nextFireAt: first + HOUR,
    });

    // Down for three and a half hours: the ticks at +1h, +2h and +3h are missed.
    const restartAt = first + 3.5 * HOUR;
    await s.restart(new VirtualClock(restartAt));
    const again = await s.login('emma@example.com');
    await s.advanceTo(restartAt);

    const afterRestart = await settled(again, 2);
    expect(afterRestart.map((r) => r.createdAt)).toEqual([first, restartAt]);
    expect(afterRestart[1]).toMatchObject({ status: 'completed', trigger: { type: 'schedule' } });
    expect((await s.api<Schedule>(again, 'GET', `/api/schedules/${schedule.id}`)).json).toMatchObject({
      lastFiredAt: restartAt,
      nextFireAt: first + 4 * HOUR,
    });
    await s.advanceTo(first + 4 * HOUR);

    const all = await settled(again, 3);
    expect(all.map((r) => r.createdAt)).toEqual([first, restartAt, first + 4 * HOUR]);
    expect(all.every((r) => r.status === 'completed')).toBe(true);
    const paid = (await s.inbox(again)).filter((m) => m.subject === 'Expense paid: Coffee beans');
    expect(paid).toHaveLength(3);
  }, 60_000);
});
