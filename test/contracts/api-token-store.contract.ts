// The ApiTokenStore contract (functions/core/ports.ts), written once and run against every adapter: a token
// verifies as its owner and scopes until revoked, a wrong secret or id never does, listings never show the
// secret, and of racing revocations exactly one answers true.
import { describe, expect, it } from 'vitest';
import type { ApiTokenStore } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';
import type { SettableTime } from './webhook-delivery-store.contract.js';

/** The contract of `ApiTokenStore`; `make` gives adapters over one fresh store reading `time`. */
export function describeApiTokenStoreContract(
  name: string,
  make: (time: SettableTime) => Contenders<ApiTokenStore> | Promise<Contenders<ApiTokenStore>>,
): void {
  describe(`ApiTokenStore contract: ${name}`, () => {
    it('verifies a new token as its owner and scopes, from any connection', async () => {
      const [store, other] = await fresh(() => make({ at: 1_000 }));
      const { id, token } = await store.createApiToken('Alice@Example.com', 'ci', [
        'runs:read',
        'runs:start',
      ]);
      expect(token.startsWith(`sg_${id}_`)).toBe(true);
      const verified = { id, email: 'alice@example.com', scopes: ['runs:read', 'runs:start'] };
      expect(await store.verifyApiToken(token)).toEqual(verified);
      expect(await other.verifyApiToken(token)).toEqual(verified);
    });

    it('refuses a wrong secret, another token’s id and malformed text', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      const first = await store.createApiToken('alice@example.com', 'ci', ['runs:read']);
      const second = await store.createApiToken('alice@example.com', 'laptop', ['runs:read']);
      const last = first.token.at(-1) === 'a' ? 'b' : 'a';
      const secretOf = (token: string, id: string) => token.slice(`sg_${id}_`.length);
      for (const text of [
        first.token.slice(0, -1) + last,
        `sg_${second.id}_${secretOf(first.token, first.id)}`,
        `${first.token}x`,
        `sg_${first.id}_`,
        'sg_',
        '',
        '__proto__',
        'x'.repeat(10_000),
      ])
        expect(await store.verifyApiToken(text)).toBeNull();
      expect(await store.verifyApiToken(first.token)).not.toBeNull();
    });

    it('lists a user’s tokens in the order made, with when each was last used, never the secret', async () => {
      const time = { at: 1_000 };
      const [store] = await fresh(() => make(time));
      const ci = await store.createApiToken('alice@example.com', 'ci', ['runs:read']);
      time.at = 2_000;
      const laptop = await store.createApiToken('alice@example.com', 'laptop', ['workflows:write']);
      await store.createApiToken('bob@example.com', 'bob', ['runs:read']);
      time.at = 3_000;
      await store.verifyApiToken(ci.token);
      const listed = await store.listApiTokens('ALICE@example.com');
      expect(listed).toEqual([
        {
          id: ci.id,
          email: 'alice@example.com',
          name: 'ci',
          scopes: ['runs:read'],
          createdAt: 1_000,
          lastUsedAt: 3_000,
          revokedAt: null,
        },
        {
          id: laptop.id,
          email: 'alice@example.com',
          name: 'laptop',
          scopes: ['workflows:write'],
          createdAt: 2_000,
          lastUsedAt: null,
          revokedAt: null,
        },
      ]);
      const text = JSON.stringify(listed);
      for (const { token, id } of [ci, laptop]) expect(text).not.toContain(token.slice(`sg_${id}_`.length));
      expect(await store.listApiTokens('carol@example.com')).toEqual([]);
    });

    it('refuses a revoked token; revoking again or an unknown id answers false', async () => {
      const time = { at: 1_000 };
      const [store, other] = await fresh(() => make(time));
      const { id, token } = await store.createApiToken('alice@example.com', 'ci', ['runs:read']);
      time.at = 5_000;
      expect(await other.revokeApiToken(id)).toBe(true);
      expect(await store.verifyApiToken(token)).toBeNull();
      expect(await store.revokeApiToken(id)).toBe(false);
      expect(await store.revokeApiToken('0123456789abcdef')).toBe(false);
      expect(await store.listApiTokens('alice@example.com')).toMatchObject([{ id, revokedAt: 5_000 }]);
    });

    it('refuses a token without a name or with an unknown scope, naming the field, and makes none', async () => {
      const [store] = await fresh(() => make({ at: 1_000 }));
      await expect(store.createApiToken('alice@example.com', ' ', ['runs:read'])).rejects.toMatchObject({
        field: 'name',
      });
      await expect(
        store.createApiToken('alice@example.com', 'ci', ['runs:everything']),
      ).rejects.toMatchObject({
        field: 'scopes',
      });
      expect(await store.listApiTokens('alice@example.com')).toEqual([]);
    });

    it('answers true to exactly one of many concurrent revocations of one token', async () => {
      const stores = await fresh(() => make({ at: 1_000 }));
      const { id, token } = await stores[0].createApiToken('alice@example.com', 'ci', ['runs:read']);
      const outcomes = await race(12, (i) => connectionFor(stores, i).revokeApiToken(id));
      const answers = outcomes.map((o) => {
        if (o.status === 'rejected') throw o.reason;
        return o.value;
      });
      expect(answers.filter((a) => a)).toHaveLength(1);
      expect(await stores[1].verifyApiToken(token)).toBeNull();
    });
  });
}
