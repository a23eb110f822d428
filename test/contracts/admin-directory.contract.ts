// The AdminDirectory contract (functions/core/ports.ts), written once and run against every adapter: users
// created, replaced and deleted as admins manage them, and the one rule the directory itself keeps: a change
// that would leave no enabled admin is refused (LastAdminError) and writes nothing, checked and written as
// one step, so two admins demoting or deleting each other at once leave exactly one of them an admin.
import { describe, expect, it } from 'vitest';
import { type AdminDirectory, type AdminUserInput, LastAdminError } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const ADA: AdminUserInput = { email: 'ada@example.com', role: 'admin', groups: [], manager: null };
const BEA: AdminUserInput = { email: 'bea@example.com', role: 'admin', groups: [], manager: null };
const CAL: AdminUserInput = {
  email: 'cal@example.com',
  role: 'member',
  groups: ['ops'],
  manager: 'ada@example.com',
};

/** Admins of a directory that are enabled, by email. */
async function enabledAdmins(directory: AdminDirectory): Promise<string[]> {
  return (await directory.listUsers()).filter((u) => u.role === 'admin' && !u.disabled).map((u) => u.email);
}

export function describeAdminDirectoryContract(
  name: string,
  make: () => Contenders<AdminDirectory> | Promise<Contenders<AdminDirectory>>,
): void {
  describe(`AdminDirectory contract: ${name}`, () => {
    it('creates, replaces and deletes users; lists them in the order they were first added', async () => {
      const [directory] = await fresh(make);
      await directory.upsertUser(ADA);
      await directory.upsertUser({ ...CAL, email: 'Cal@Example.com' });
      expect(await directory.getUser('cal@example.com')).toMatchObject({
        email: 'cal@example.com',
        role: 'member',
        groups: ['ops'],
        disabled: false,
      });
      await directory.upsertUser({ ...CAL, role: 'manager', groups: [], disabled: true });
      expect(await directory.getUser('CAL@example.com')).toMatchObject({
        role: 'manager',
        groups: [],
        disabled: true,
      });
      expect((await directory.listUsers()).map((u) => u.email)).toEqual([
        'ada@example.com',
        'cal@example.com',
      ]);
      expect(await directory.deleteUser('cal@example.com')).toBe(true);
      expect(await directory.deleteUser('cal@example.com')).toBe(false);
      expect(await directory.getUser('cal@example.com')).toBeUndefined();
    });

    it('refuses to demote, disable or delete the last enabled admin, and writes nothing', async () => {
      const [directory] = await fresh(make);
      await directory.upsertUser(ADA);
      await directory.upsertUser(CAL);
      await expect(directory.upsertUser({ ...ADA, role: 'director' })).rejects.toBeInstanceOf(LastAdminError);
      await expect(directory.upsertUser({ ...ADA, disabled: true })).rejects.toBeInstanceOf(LastAdminError);
      await expect(directory.deleteUser('ADA@example.com')).rejects.toBeInstanceOf(LastAdminError);
      expect(await directory.getUser('ada@example.com')).toMatchObject({ role: 'admin', disabled: false });
      // Replacing the admin's other fields is fine; so is changing anyone else.
      await directory.upsertUser({ ...ADA, name: 'Ada', groups: ['ops'] });
      await directory.upsertUser({ ...CAL, role: 'director' });
      expect(await enabledAdmins(directory)).toEqual(['ada@example.com']);
    });

    it('lets an admin go while another enabled admin stays', async () => {
      const [directory] = await fresh(make);
      await directory.upsertUser(ADA);
      await directory.upsertUser({ ...BEA, disabled: true });
      // A disabled admin does not count.
      await expect(directory.upsertUser({ ...ADA, role: 'member' })).rejects.toBeInstanceOf(LastAdminError);
      await directory.upsertUser({ ...BEA, disabled: false });
      await directory.upsertUser({ ...ADA, role: 'member' });
      expect(await enabledAdmins(directory)).toEqual(['bea@example.com']);
    });

    it('of two admins demoting each other at once, exactly one succeeds', async () => {
      for (const change of ['demote', 'disable', 'delete'] as const) {
        const [first, ...others] = await fresh(make);
        const connections = [first, ...others];
        await first.upsertUser(ADA);
        await first.upsertUser(BEA);
        const outcomes = await race(2, (i): Promise<unknown> => {
          const directory = connectionFor(connections, i);
          const target = i === 0 ? BEA : ADA;
          if (change === 'delete') return directory.deleteUser(target.email);
          return directory.upsertUser(
            change === 'demote' ? { ...target, role: 'member' } : { ...target, disabled: true },
          );
        });
        expect(
          outcomes.filter((o) => o.status === 'fulfilled'),
          change,
        ).toHaveLength(1);
        const refused = outcomes.find((o) => o.status === 'rejected');
        expect(refused?.status === 'rejected' && refused.reason, change).toBeInstanceOf(LastAdminError);
        expect(await enabledAdmins(first), change).toHaveLength(1);
      }
    });
  });
}
