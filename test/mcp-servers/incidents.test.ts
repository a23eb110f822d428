import { describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

describe('incidents sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('incidents', tempDataDir());
    await expectTools(client, {
      'incidents-assess': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'incidents-oncall': { readOnlyHint: true },
      'incidents-page': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'incidents-acknowledge': { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
      'incidents-update-status': { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
      'incidents-get': { readOnlyHint: true },
    });
  });

  it('rates severity from keywords and the service tier', async () => {
    const client = await startServer('incidents', tempDataDir());
    const assess = (title: string, service: string, details?: string) =>
      call(client, 'incidents-assess', { title, service, details: details ?? null, source: 'grafana' });
    expect((await assess('Checkout is down', 'checkout')).severity).toBe('critical');
    expect((await assess('Elevated error rate', 'search')).severity).toBe('high');
    expect((await assess('Elevated error rate', 'payments')).severity).toBe('critical'); // tier 1
    expect((await assess('Disk 85% full', 'reporting')).severity).toBe('medium');
    expect((await assess('Nightly report late', 'reporting', 'job is slow')).severity).toBe('medium');
    const low = await assess('Certificate renews in 20 days', 'web');
    expect(low).toMatchObject({ severity: 'low', status: 'open', team: 'frontend', source: 'grafana' });
    expect(low.incidentId).toBe('INC-6');
  });

  it('runs the critical path: assess, on-call, page, acknowledge, update status', async () => {
    const dir = tempDataDir();
    const client = await startServer('incidents', dir);
    const bot = { _user_email: 'monitoring-bot@example.com', _user_role: 'member', _user_groups: [] };
    const incident = await call(client, 'incidents-assess', {
      title: 'API outage',
      service: 'api',
      details: '',
      source: 'pingdom',
      idempotencyKey: 'run:assess:1',
      ...bot,
    });
    expect(incident).toMatchObject({
      incidentId: 'INC-1',
      severity: 'critical',
      createdBy: 'monitoring-bot@example.com',
    });
    const replay = await call(client, 'incidents-assess', {
      title: 'API outage',
      service: 'api',
      idempotencyKey: 'run:assess:1',
    });
    expect(replay).toMatchObject({ incidentId: 'INC-1', replayed: true });

    // Weekly rota: the week of 2026-01-05 (Monday) and the next differ.
    const oncall = await call(client, 'incidents-oncall', { service: 'api', at: '2026-01-07T12:00:00Z' });
    expect(oncall).toMatchObject({
      team: 'platform',
      from: '2026-01-05T00:00:00.000Z',
      until: '2026-01-12T00:00:00.000Z',
    });
    expect(oncall.email).toMatch(/@example.com$/);
    expect(oncall.phone).toMatch(/^\+1555/);
    expect(oncall.slack).toMatch(/^@/);
    const nextWeek = await call(client, 'incidents-oncall', { service: 'api', at: '2026-01-12T00:00:00Z' });
    expect(nextWeek.email).toBe(oncall.next);
    expect((await call(client, 'incidents-oncall', { service: 'unknown-thing' })).team).toBe('platform');

    const page = await call(client, 'incidents-page', {
      incidentId: incident.incidentId,
      engineer: oncall.email,
      summary: 'API outage (api)',
      idempotencyKey: 'run:page_pager:1',
      ...bot,
    });
    expect(page).toMatchObject({ incidentId: 'INC-1', engineer: oncall.email, delivered: true });
    await call(client, 'incidents-page', {
      incidentId: 'INC-1',
      engineer: oncall.email,
      idempotencyKey: 'run:page_pager:1',
    });
    expect(
      await callError(client, 'incidents-page', { incidentId: 'INC-99', engineer: oncall.email }),
    ).toMatch(/no incident INC-99/);

    const ack = await call(client, 'incidents-acknowledge', {
      incidentId: 'INC-1',
      _user_email: oncall.email,
    });
    expect(ack).toMatchObject({
      ok: true,
      alreadyAcknowledged: false,
      status: 'acknowledged',
      owner: oncall.email,
    });
    expect(
      await call(client, 'incidents-acknowledge', { incidentId: 'INC-1', engineer: oncall.email }),
    ).toMatchObject({
      alreadyAcknowledged: true,
    });

    const updated = await call(client, 'incidents-update-status', {
      incidentId: 'INC-1',
      status: 'acknowledged',
      owner: oncall.email,
      note: null,
    });
    expect(updated).toMatchObject({ ok: true, previousStatus: 'acknowledged', status: 'acknowledged' });
    const resolved = await call(client, 'incidents-update-status', {
      incidentId: 'INC-1',
      status: 'resolved',
      note: 'fixed',
    });
    expect(resolved).toMatchObject({
      previousStatus: 'acknowledged',
      status: 'resolved',
      owner: oncall.email,
    });
    expect(
      await callError(client, 'incidents-acknowledge', { incidentId: 'INC-1', engineer: 'x@example.com' }),
    ).toMatch(/already resolved/);
    expect(
      await callError(client, 'incidents-update-status', { incidentId: 'INC-1', status: 'bogus' }),
    ).toMatch(/status/);
    await stopServer(client);

    const again = await startServer('incidents', dir);
    const stored = await call(again, 'incidents-get', { incidentId: 'INC-1' });
    expect(stored).toMatchObject({ status: 'resolved', owner: oncall.email });
    expect(stored.pages).toHaveLength(1);
    expect(stored.pages[0].acknowledgedAt).not.toBeNull();
    expect(stored.events.map((e: { kind: string; status: string | null }) => e.status ?? e.kind)).toEqual([
      'open',
      'paged',
      'acknowledged',
      'acknowledged',
      'resolved',
    ]);
    expect((await call(again, 'incidents-assess', { title: 'Another', service: 'web' })).incidentId).toBe(
      'INC-2',
    );
  });
});
