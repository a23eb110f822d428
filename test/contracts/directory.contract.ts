// The Directory contract (functions/core/ports.ts), written once and run against every adapter: who a user
// is (looked up case-insensitively, lower-cased in the answer) and whom an approver spec stands for
// (`role:NAME` exactly that role, `group:NAME` the members, an email itself, anything else nobody).
import { describe, expect, it } from 'vitest';
import type { Directory } from '../../functions/core/ports.js';
import type { Identity } from '../../functions/core/protocol.js';

/** The users every directory under test is made with. */
export const DIRECTORY_USERS: Identity[] = [
  {
    email: 'Alice@Example.com',
    name: 'Alice',
    role: 'member',
    groups: ['finance', 'ops'],
    manager: 'bob@example.com',
  },
  { email: 'bob@example.com', role: 'manager', groups: ['finance'], manager: null },
  { email: 'carol@example.com', role: 'manager', groups: [], manager: null },
  { email: 'dana@example.com', role: 'director', groups: ['ops'], manager: null },
];

/** The contract of `Directory`; `make` gives a fresh directory holding `users`, in that order. */
export function describeDirectoryContract(
  name: string,
  make: (users: Identity[]) => Directory | Promise<Directory>,
): void {
  describe(`Directory contract: ${name}`, () => {
    it('finds a user by email in any case, answering with the email lower-cased', async () => {
      const directory = await make(DIRECTORY_USERS);
      for (const asked of ['alice@example.com', 'ALICE@EXAMPLE.COM', 'Alice@Example.com'])
        expect(await directory.user(asked)).toEqual({
          email: 'alice@example.com',
          name: 'Alice',
          role: 'member',
          groups: ['finance', 'ops'],
          manager: 'bob@example.com',
        });
      expect(await directory.user('bob@example.com')).toMatchObject({ role: 'manager', groups: ['finance'] });
    });

    it('answers undefined for someone it does not know', async () => {
      const directory = await make(DIRECTORY_USERS);
      expect(await directory.user('eve@example.com')).toBeUndefined();
      expect(await directory.user('')).toBeUndefined();
      expect(await directory.user('alice')).toBeUndefined();
    });

    it('resolves role:NAME to the users holding exactly that role, in the order they were added', async () => {
      const directory = await make(DIRECTORY_USERS);
      expect(await directory.resolve('role:manager')).toEqual(['bob@example.com', 'carol@example.com']);
      expect(await directory.resolve('role:director')).toEqual(['dana@example.com']);
      expect(await directory.resolve('role:admin')).toEqual([]);
    });

    it('resolves group:NAME to the members of the group, in the order they were added', async () => {
      const directory = await make(DIRECTORY_USERS);
      expect(await directory.resolve('group:finance')).toEqual(['alice@example.com', 'bob@example.com']);
      expect(await directory.resolve('group:ops')).toEqual(['alice@example.com', 'dana@example.com']);
      expect(await directory.resolve('group:nobody')).toEqual([]);
    });

    it('resolves an email to itself, lower-cased, whether or not it is a user; anything else to nobody', async () => {
      const directory = await make(DIRECTORY_USERS);
      expect(await directory.resolve('Bob@Example.com')).toEqual(['bob@example.com']);
      expect(await directory.resolve('stranger@example.com')).toEqual(['stranger@example.com']);
      expect(await directory.resolve('finance')).toEqual([]);
      expect(await directory.resolve('')).toEqual([]);
    });

    it('knows nobody when it holds nobody', async () => {
      const directory = await make([]);
      expect(await directory.user('alice@example.com')).toBeUndefined();
      expect(await directory.resolve('role:member')).toEqual([]);
      expect(await directory.resolve('group:finance')).toEqual([]);
    });
  });
}
