// The Azure app's timers called directly over the Azure adapters on Azurite (test/support/azurite.ts: Table
// Storage's wire protocol, ETags, 404/412): the housekeeping timer (functions/azure/housekeeping.ts)
// removes what expired from each store and keeps the rest, at most its limit per store a tick, goes on
// past a failing store, and of overlapping ticks deletes each expired session once; the schedules' timer
// (functions/azure/schedules.ts) finds the due schedules through the store's own `due` when it has one,
// through `list` when it has not, and fires the same ones either way.
import type { TableEntityResult } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureApprovalLinkStore } from '../../adapters/azure/approval-link-store.js';
import { AzureDirectory } from '../../adapters/azure/directory.js';
import { AzureRateLimiter } from '../../adapters/azure/rate-limiter.js';
import { AzureScheduleStore } from '../../adapters/azure/schedule-store.js';
import { AzureSessionStore } from '../../adapters/azure/session-store.js';
import { AzureTables, type TableId } from '../../adapters/azure/tables.js';
import { AzureWebhookDeliveryStore } from '../../adapters/azure/webhook-store.js';
import { AzureWorkflowStore } from '../../adapters/azure/workflow-store.js';
import { VirtualClock } from '../../adapters/local/clock.js';
import type { HousekeepingStores } from '../../functions/azure/deps.js';
import { type HousekeepingDeps, housekeep, housekeepDeps } from '../../functions/azure/housekeeping.js';
import { fireDueSchedules } from '../../functions/azure/schedules.js';
import { DEFAULT_LIMITS } from '../../functions/core/limits.js';
import type { DurableHost, ScheduleRecord, ScheduleStore } from '../../functions/core/ports.js';
import { validateWorkflow } from '../../translator/validate.js';
import { type Azurite, startAzurite } from '../support/azurite.js';

let azurite: Azurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

const HOUR = 3_600_000;
/** The tick's time: 2026-06-01 12:00 UTC. */
const NOW = Date.UTC(2026, 5, 1, 12);

async function tables(): Promise<AzureTables> {
  if (azurite === undefined) throw new Error('Azurite did not start');
  return azurite.freshTables();
}

/** Every entity of table `id` whose PartitionKey starts with `prefix`. */
async function entities(t: AzureTables, id: TableId, prefix: string): Promise<TableEntityResult<object>[]> {
  const found: TableEntityResult<object>[] = [];
  for await (const entity of t.client(id).listEntities()) {
    if (String(entity.partitionKey).startsWith(prefix)) found.push(entity);
  }
  return found;
}

/** The four Azure stores over `t`, each with the clock at `clock.at`. */
function azureStores(t: AzureTables, clock: { at: number }) {
  return {
    deliveries: new AzureWebhookDeliveryStore(t, { now: () => clock.at }),
    limiter: new AzureRateLimiter(t),
    links: new AzureApprovalLinkStore(t),
    sessions: new AzureSessionStore(t, { now: () => clock.at }),
  };
}

const link = (nonce: string, expiresAt: number) => ({
  nonce,
  runId: 'run-1',
  stepId: 'approve',
  level: 0,
  approver: 'ada@example.com',
  usedAt: expiresAt - HOUR,
  expiresAt,
});

/** `n` expired entities in each store (all before NOW by their own rule), written at `clock`. */
async function expired(stores: ReturnType<typeof azureStores>, clock: { at: number }, n: number) {
  for (let i = 0; i < n; i++) {
    clock.at = NOW - 25 * HOUR;
    await stores.deliveries.claim('hook', `old-${i}`, `run-old-${i}`);
    await stores.limiter.take(`old-bucket-${i}`, 5, 60_000, NOW - 49 * HOUR);
    await stores.links.claim(link(`old-nonce-${i}`, NOW - 1));
    clock.at = NOW - 2 * HOUR;
    await stores.sessions.createSession(`gone${i}@example.com`, HOUR);
  }
}

describe('the housekeeping timer', () => {
  it('removes what expired from each store and keeps what has not, as of the deps clock', async () => {
    const t = await tables();
    const clock = { at: NOW };
    const stores = azureStores(t, clock);
    await expired(stores, clock, 1);
    // Still live at NOW: a claim of an hour ago, a bucket used an hour ago, a link and a session valid on.
    clock.at = NOW - HOUR;
    await stores.deliveries.claim('hook', 'fresh', 'run-fresh');
    await stores.limiter.take('fresh-bucket', 5, 60_000, NOW - HOUR);
    await stores.links.claim(link('fresh-nonce', NOW + HOUR));
    const live = await stores.sessions.createSession('stays@example.com', 2 * HOUR);
    clock.at = NOW;

    const deps: HousekeepingDeps = {
      config: { limits: DEFAULT_LIMITS },
      clock: { now: () => NOW },
      housekeeping: () => ({
        deliveries: stores.deliveries,
        limiter: stores.limiter,
        links: stores.links,
        sessions: stores.sessions,
      }),
    };
    expect(await housekeepDeps(deps)).toEqual({ deliveries: 1, limiter: 1, links: 1, sessions: 1 });

    expect(
      (await entities(t, 'intake', 'webhook|')).map((e) => (e as TableEntityResult<{ runId: string }>).runId),
    ).toEqual(['run-fresh']);
    expect(
      (await entities(t, 'intake', 'buckets')).map((e) => (e as TableEntityResult<{ key: string }>).key),
    ).toEqual(['fresh-bucket']);
    expect(await stores.links.isUsed('old-nonce-0')).toBe(false);
    expect(await stores.links.isUsed('fresh-nonce')).toBe(true);
    // The expired session and its entry in its user's partition are gone; the live one and its entry stay.
    expect(await entities(t, 'identity', 'session')).toHaveLength(2);
    expect(await stores.sessions.getSession(live.token)).toMatchObject({ email: 'stays@example.com' });
    // A second tick finds nothing more.
    expect(await housekeepDeps(deps)).toEqual({ deliveries: 0, limiter: 0, links: 0, sessions: 0 });
  }, 60_000);

  it('deletes at most its limit per store a tick; the next ticks take the rest', async () => {
    const t = await tables();
    const clock = { at: NOW };
    const stores = azureStores(t, clock);
    await expired(stores, clock, 5);
    const tick = () => housekeep(stores, NOW, { limits: DEFAULT_LIMITS, limit: 2 });
    expect(await tick()).toEqual({ deliveries: 2, limiter: 2, links: 2, sessions: 2 });
    expect(await tick()).toEqual({ deliveries: 2, limiter: 2, links: 2, sessions: 2 });
    expect(await tick()).toEqual({ deliveries: 1, limiter: 1, links: 1, sessions: 1 });
    expect(await tick()).toEqual({ deliveries: 0, limiter: 0, links: 0, sessions: 0 });
    expect(await entities(t, 'identity', 'session')).toEqual([]);
  }, 60_000);

  it('refuses a limit that is not a positive whole number, naming it', async () => {
    const stores = azureStores(await tables(), { at: NOW });
    for (const store of Object.values(stores))
      await expect(store.prune(NOW, 0)).rejects.toThrow(/limit must be a positive whole number/);
  });

  it('logs a failing store by name and still prunes the others', async () => {
    const t = await tables();
    const clock = { at: NOW };
    const stores = azureStores(t, clock);
    await expired(stores, clock, 1);
    const logs: string[] = [];
    const failing: HousekeepingStores = {
      ...stores,
      limiter: { prune: async () => Promise.reject(new Error('the table service answered 503')) },
    };
    const result = await housekeep(failing, NOW, { limits: DEFAULT_LIMITS, log: (m) => logs.push(m) });
    expect(result).toEqual({ deliveries: 1, limiter: 'failed', links: 1, sessions: 1 });
    expect(logs).toEqual(['housekeeping: pruning the limiter failed: the table service answered 503']);
  }, 60_000);

  it('of overlapping ticks on three instances, each expired session is deleted once, live ones stay', async () => {
    const t = await tables();
    const clock = { at: NOW - 2 * HOUR };
    const writer = new AzureSessionStore(t, { now: () => clock.at });
    for (let i = 0; i < 12; i++) await writer.createSession(`user${i % 4}@example.com`, HOUR);
    const live = await writer.createSession('user0@example.com', 5 * HOUR);
    // Three instances, each with its own client of the same tables.
    const instances = [1, 2, 3].map(
      () => new AzureSessionStore(new AzureTables(t.options), { now: () => NOW }),
    );
    const counts = await Promise.all(instances.map((store) => store.prune(NOW)));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
    expect(await entities(t, 'identity', 'session')).toHaveLength(2);
    expect(await writer.getSession(live.token)).toMatchObject({ email: 'user0@example.com' });
  }, 60_000);
});

const WORKFLOW = `version: 1
id: nightly
name: Nightly
triggers: [{ type: manual, minRole: member }]
steps:
  - { id: pause, type: delay, duration: 1h }
`;

/** A schedule of `nightly` by ada, next due at `nextFireAt`. */
const schedule = (id: string, nextFireAt: number | null, enabled = true): ScheduleRecord => ({
  id,
  workflowId: 'nightly',
  cron: '0 12 * * *',
  timezone: 'UTC',
  scope: 'user',
  scopeRef: null,
  createdBy: 'ada@example.com',
  input: {},
  enabled,
  nextFireAt,
  lastFiredAt: null,
  createdAt: NOW - 48 * HOUR,
});

/** Durable Functions' client has no emulator: a host that records the runs the timer starts. */
function recordingHost(): DurableHost & { started: string[] } {
  const started: string[] = [];
  const unused = async (): Promise<never> => {
    throw new Error('the schedules timer does not call this');
  };
  return {
    started,
    async startRun(start) {
      const runId = start.runId ?? `run-${started.length}`;
      started.push(start.workflowId);
      return runId;
    },
    getRun: async () => undefined,
    raiseEvent: unused,
    cancelRun: unused,
    listRuns: unused,
    audit: unused,
    idle: unused,
    waitForRun: unused,
    close: unused,
  } as DurableHost & { started: string[] };
}

/** The timer's deps over fresh tables: ada (a member), `nightly`, and three schedules of which two are due. */
async function scheduled(wrap: (store: AzureScheduleStore) => ScheduleStore) {
  const t = await tables();
  const directory = new AzureDirectory(t);
  await directory.upsertUser({ email: 'ada@example.com', role: 'member' });
  const workflows = new AzureWorkflowStore(t);
  const { ir } = validateWorkflow(WORKFLOW, 'yaml');
  if (ir === undefined) throw new Error('invalid test workflow');
  await workflows.save({ ir, source: WORKFLOW, format: 'yaml', by: 'ada@example.com', at: NOW - 72 * HOUR });
  const store = new AzureScheduleStore(t);
  await store.insert(schedule('later', NOW + HOUR));
  await store.insert(schedule('due-now', NOW));
  await store.insert(schedule('overdue', NOW - 3 * HOUR));
  await store.insert(schedule('disabled', NOW - HOUR, false));
  const schedules = wrap(store);
  return {
    store,
    deps: {
      schedules: () => schedules,
      clock: new VirtualClock(NOW),
      workflows: () => workflows,
      directory: () => directory,
    },
  };
}

describe('the schedules timer', () => {
  it("asks the store's own `due` when it has one (never listing every schedule), and fires the due ones once", async () => {
    const listed: string[] = [];
    const { store, deps } = await scheduled(
      (store) =>
        new Proxy(store, {
          get: (target, name, receiver) =>
            name === 'list'
              ? async () => {
                  listed.push('list');
                  throw new Error('the timer listed every schedule');
                }
              : Reflect.get(target, name, receiver),
        }),
    );
    const host = recordingHost();
    const { fired } = await fireDueSchedules(deps, host);
    expect(listed).toEqual([]);
    expect(Object.keys(fired).sort()).toEqual(['due-now', 'overdue']);
    expect(Object.values(fired).map((f) => f.status)).toEqual(['started', 'started']);
    expect(host.started).toEqual(['nightly', 'nightly']);
    expect((await store.get('later'))?.nextFireAt).toBe(NOW + HOUR);
    // The next minute finds nothing due: each fire claimed once, its schedule advanced.
    expect((await fireDueSchedules(deps, host)).fired).toEqual({});
  }, 60_000);

  it('lists the enabled schedules when the store has no `due`, and fires the same ones', async () => {
    const { deps } = await scheduled(
      (store) =>
        new Proxy(store, {
          get: (target, name, receiver) => (name === 'due' ? undefined : Reflect.get(target, name, receiver)),
        }),
    );
    const { fired } = await fireDueSchedules(deps, recordingHost());
    expect(Object.keys(fired).sort()).toEqual(['due-now', 'overdue']);
  }, 60_000);
});
