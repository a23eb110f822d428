// The SessionStore contract (functions/core/ports.ts), written once and run against every adapter: a session
// opens with its token until it expires (then it is gone for good), ends alone or with every other session
// of its user, and never opens with a token it did not hand out. What is stored at rest is the adapter's
// own test (only a hash of the token: test/contracts/sqlite.test.ts).
import { describe, expect, it } from 'vitest';
import type { SessionStore } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import type { SettableTime } from './webhook-delivery-store.contract.js';

const HOUR = 3_600_000;

/** The contract of `SessionStore`; `make` gives adapters over one fresh store reading `time`. */
export function describeSessionStoreContract(
  name: string,
  make: (time: SettableTime) => Contenders<SessionStore> | Promise<Contenders<SessionStore>>,
): void {
  describe(`SessionStore contract: ${name}`, () => {
    it('opens a new session with its token, from any connection, for the user lower-cased', async () => {
      const [store, other] = await fresh(() => make({ at: 1_000 }));
      const grant = await store.createSession('Alice@Example.com', HOUR);
      expect(grant.expiresAt).toBe(1_000 + HOUR);
      expect(grant.token).not.toBe(grant.csrf);
      const expected = { email: 'alice@example.com', csrf: grant.csrf, expiresAt: 1_000 + HOUR };
      expect(await store.getSession(grant.token)).toEqual(expected);
      expect(await other.getSession(grant.token)).toEqual(expected);
    });

    it('opens nothing for a token it did not hand out', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      const grant = await store.createSession('alice@example.com', HOUR);
      for (const token of [`${grant.token}x`, grant.token.slice(0, -1), grant.csrf, '', 'x'.repeat(10_000)])
        expect(await store.getSession(token)).toBeNull();
    });

    it('ends a session when it expires, for good: turning the clock back does not reopen it', async () => {
      const time = { at: 1_000 };
      const [store] = await fresh(() => make(time));
      const grant = await store.createSession('alice@example.com', HOUR);
      time.at = 1_000 + HOUR - 1;
      expect(await store.getSession(grant.token)).not.toBeNull();
      time.at = 1_000 + HOUR;
      expect(await store.getSession(grant.token)).toBeNull();
      time.at = 1_000;
      expect(await store.getSession(grant.token)).toBeNull();
    });

    it('ends one session, leaving the user’s others; ending an unknown one changes nothing', async () => {
      const [store, other] = await fresh(() => make({ at: 1_000 }));
      const laptop = await store.createSession('alice@example.com', HOUR);
      const phone = await store.createSession('alice@example.com', HOUR);
      await other.deleteSession(laptop.token);
      expect(await store.getSession(laptop.token)).toBeNull();
      expect(await store.getSession(phone.token)).not.toBeNull();
      await store.deleteSession('no-such-token');
      await store.deleteSession('');
      expect(await store.getSession(phone.token)).not.toBeNull();
    });

    it('ends every session of a user, whatever the case of the email, and counts them', async () => {
      const [store, other] = await fresh(() => make({ at: 1_000 }));
      const a = await store.createSession('alice@example.com', HOUR);
      const b = await other.createSession('alice@example.com', HOUR);
      const bob = await store.createSession('bob@example.com', HOUR);
      expect(await other.deleteSessionsFor('ALICE@example.com')).toBe(2);
      expect(await store.getSession(a.token)).toBeNull();
      expect(await store.getSession(b.token)).toBeNull();
      expect(await store.getSession(bob.token)).toMatchObject({ email: 'bob@example.com' });
      expect(await store.deleteSessionsFor('alice@example.com')).toBe(0);
    });

    it('refuses a session of no positive length or for no email, opening nothing', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      await expect(store.createSession('alice@example.com', 0)).rejects.toThrow();
      await expect(store.createSession('alice@example.com', -HOUR)).rejects.toThrow();
      await expect(store.createSession('alice@example.com', Number.NaN)).rejects.toThrow();
      await expect(store.createSession('alice', HOUR)).rejects.toThrow();
      expect(await store.deleteSessionsFor('alice@example.com')).toBe(0);
    });

    it('gives each of many concurrent logins a session of its own', async () => {
      const stores = await fresh(() => make({ at: 1_000 }));
      const outcomes = await race(12, (i) =>
        connectionFor(stores, i).createSession('alice@example.com', HOUR),
      );
      const grants = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      expect(new Set(grants.map((g) => g.token)).size).toBe(12);
      expect(new Set(grants.map((g) => g.csrf)).size).toBe(12);
      for (const grant of grants) expect(await stores[0].getSession(grant.token)).not.toBeNull();
      expect(await stores[1].deleteSessionsFor('alice@example.com')).toBe(12);
    });
  });
}
