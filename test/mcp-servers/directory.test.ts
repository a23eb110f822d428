import { describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

const hr = { _user_email: 'hr-system@example.com', _user_role: 'manager', _user_groups: ['people'] };
const newHire = {
  fullName: 'Jane Doe',
  department: 'engineering',
  manager: 'pat@example.com',
  startDate: '2026-02-02',
};

describe('directory sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('directory', tempDataDir());
    await expectTools(client, {
      'directory-create-account': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'directory-assign-groups': { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
      'directory-get-user': { readOnlyHint: true },
      'directory-list-users': { readOnlyHint: true },
    });
  });

  it('is seeded with demo users, their managers and groups', async () => {
    const client = await startServer('directory', tempDataDir());
    const dana = await call(client, 'directory-get-user', { email: 'dana@example.com' });
    expect(dana).toMatchObject({
      manager: 'erin@example.com',
      role: 'member',
      groups: ['all-staff', 'sales'],
    });
    const managers = await call(client, 'directory-list-users', { group: 'engineering-managers' });
    expect(managers.users.map((u: { email: string }) => u.email)).toEqual(['pat@example.com']);
  });

  it('creates accounts (numbered when the address is taken) and assigns groups', async () => {
    const client = await startServer('directory', tempDataDir());
    const account = await call(client, 'directory-create-account', { ...newHire, ...hr });
    expect(account).toMatchObject({
      email: 'jane.doe@example.com',
      fullName: 'Jane Doe',
      department: 'engineering',
      manager: 'pat@example.com',
      managerKnown: true,
      startDate: '2026-02-02',
      groups: [],
    });
    const second = await call(client, 'directory-create-account', { ...newHire, fullName: 'Jäne  Dóe' });
    expect(second.email).toBe('jane.doe2@example.com');

    const assigned = await call(client, 'directory-assign-groups', {
      email: account.email,
      groups: ['engineering', 'all-staff'],
      ...hr,
    });
    expect(assigned).toMatchObject({
      ok: true,
      added: ['engineering', 'all-staff'],
      groups: ['all-staff', 'engineering'],
    });
    const again = await call(client, 'directory-assign-groups', {
      email: account.email,
      groups: ['engineering'],
    });
    expect(again).toMatchObject({ ok: true, added: [], alreadyMember: ['engineering'] });

    expect(
      await callError(client, 'directory-assign-groups', {
        email: account.email,
        groups: ['engineering', 'nope'],
      }),
    ).toMatch(/unknown group\(s\) nope/);
    expect((await call(client, 'directory-get-user', { email: account.email })).groups).toEqual([
      'all-staff',
      'engineering',
    ]);
    expect(
      await callError(client, 'directory-assign-groups', { email: 'ghost@example.com', groups: ['sales'] }),
    ).toMatch(/no account/);
  });

  it('creates one account per idempotency key, and keeps accounts across a restart', async () => {
    const dir = tempDataDir();
    const first = await startServer('directory', dir);
    const a = await call(first, 'directory-create-account', {
      ...newHire,
      idempotencyKey: 'run-1:create_account:1',
    });
    const b = await call(first, 'directory-create-account', {
      ...newHire,
      idempotencyKey: 'run-1:create_account:1',
    });
    expect(b).toMatchObject({ email: a.email, userId: a.userId, replayed: true });
    await stopServer(first);

    const second = await startServer('directory', dir);
    expect(await call(second, 'directory-get-user', { email: 'jane.doe@example.com' })).toMatchObject({
      userId: a.userId,
    });
    const c = await call(second, 'directory-create-account', {
      ...newHire,
      idempotencyKey: 'run-1:create_account:1',
    });
    expect(c.userId).toBe(a.userId);
    const all = await call(second, 'directory-list-users', {});
    expect(all.users.filter((u: { fullName: string }) => u.fullName === 'Jane Doe')).toHaveLength(1);
  });
});
