// The Vault contract (functions/core/ports.ts), written once and run against every adapter: values set per
// scope and resolved through the cascade user → group (in the identity's order) → org, deleted, listed
// without their values, and what no level holds reported as missing. Two writers setting one name at once
// leave one of their values whole.
import { describe, expect, it } from 'vitest';
import type { Vault } from '../../functions/core/ports.js';
import { type Contenders, connectionFor, fresh, race } from './contenders.js';

const ALICE = { email: 'alice@example.com', groups: ['finance', 'ops'] };

/** The contract of `Vault`; `make` gives adapters over one fresh store (one key). */
export function describeVaultContract(
  name: string,
  make: () => Contenders<Vault> | Promise<Contenders<Vault>>,
): void {
  describe(`Vault contract: ${name}`, () => {
    it('resolves each name from the first level of the cascade that holds it: user, groups in order, org', async () => {
      const [vault] = await fresh(make);
      await vault.set('org', 'A', 'org-a');
      await vault.set('org', 'B', 'org-b');
      await vault.set('org', 'C', 'org-c');
      await vault.set('group:ops', 'B', 'ops-b');
      await vault.set('group:finance', 'B', 'finance-b');
      await vault.set('group:ops', 'C', 'ops-c');
      await vault.set('user:alice@example.com', 'C', 'alice-c');
      expect(await vault.resolve(ALICE, ['A', 'B', 'C'])).toEqual({
        values: { A: 'org-a', B: 'finance-b', C: 'alice-c' },
        sources: { A: 'org', B: 'group:finance', C: 'user' },
        missing: [],
      });
    });

    it('looks up the user level by email in any case', async () => {
      const [vault] = await fresh(make);
      await vault.set('user:Alice@Example.com' as 'user:alice@example.com', 'K', 'mine');
      expect((await vault.resolve({ email: 'ALICE@example.com', groups: [] }, ['K'])).values).toEqual({
        K: 'mine',
      });
    });

    it('never answers with another user’s or another group’s value', async () => {
      const [vault] = await fresh(make);
      await vault.set('user:bob@example.com', 'K', 'bob');
      await vault.set('group:legal', 'K', 'legal');
      expect(await vault.resolve(ALICE, ['K'])).toEqual({ values: {}, sources: {}, missing: ['K'] });
    });

    it('names the missing names in the order asked, once each', async () => {
      const [vault] = await fresh(make);
      await vault.set('org', 'B', 'b');
      expect(await vault.resolve(ALICE, ['Z', 'B', 'A', 'Z'])).toEqual({
        values: { B: 'b' },
        sources: { B: 'org' },
        missing: ['Z', 'A'],
      });
      expect(await vault.resolve(ALICE, [])).toEqual({ values: {}, sources: {}, missing: [] });
    });

    it('replaces a value set again, seen from any connection', async () => {
      const [vault, other] = await fresh(make);
      await vault.set('org', 'K', 'first');
      await other.set('org', 'K', 'second');
      expect((await vault.resolve(ALICE, ['K'])).values).toEqual({ K: 'second' });
      expect(await vault.list('org')).toHaveLength(1);
    });

    it('deletes one scope’s value, uncovering the next level; false when there was nothing', async () => {
      const [vault] = await fresh(make);
      await vault.set('org', 'K', 'org');
      await vault.set('user:alice@example.com', 'K', 'alice');
      expect(await vault.delete('user:alice@example.com', 'K')).toBe(true);
      expect(await vault.resolve(ALICE, ['K'])).toMatchObject({
        values: { K: 'org' },
        sources: { K: 'org' },
      });
      expect(await vault.delete('user:alice@example.com', 'K')).toBe(false);
      expect(await vault.delete('group:ops', 'NEVER')).toBe(false);
    });

    it('lists entries by scope then name, one scope when asked, and never a value', async () => {
      const [vault] = await fresh(make);
      await vault.set('user:alice@example.com', 'Z', 'secret-z');
      await vault.set('org', 'B', 'secret-b');
      await vault.set('org', 'A', 'secret-a');
      await vault.set('group:ops', 'A', 'secret-ops');
      const all = await vault.list();
      expect(all.map((e) => [e.scope, e.name])).toEqual([
        ['group:ops', 'A'],
        ['org', 'A'],
        ['org', 'B'],
        ['user:alice@example.com', 'Z'],
      ]);
      for (const entry of all) {
        expect(Object.keys(entry).sort()).toEqual(['name', 'scope', 'updatedAt']);
        expect(typeof entry.updatedAt).toBe('number');
      }
      expect(JSON.stringify(all)).not.toContain('secret-');
      expect((await vault.list('org')).map((e) => e.name)).toEqual(['A', 'B']);
      expect(await vault.list('group:nobody')).toEqual([]);
    });

    it('refuses a malformed scope, a malformed name and an empty value, storing nothing', async () => {
      const [vault] = await fresh(make);
      await expect(vault.set('team:x' as 'org', 'K', 'v')).rejects.toThrow(/scope/);
      await expect(vault.set('user:not-an-email', 'K', 'v')).rejects.toThrow(/scope/);
      await expect(vault.set('org', 'has space', 'v')).rejects.toThrow(/name/);
      await expect(vault.set('org', 'K', '')).rejects.toThrow(/empty/);
      expect(await vault.list()).toEqual([]);
    });

    it('leaves one whole value of many concurrent sets of one name', async () => {
      const vaults = await fresh(make);
      const values = Array.from({ length: 12 }, (_, i) => `value-${i}-${'x'.repeat(64)}`);
      const outcomes = await race(values.length, (i) =>
        connectionFor(vaults, i).set('org', 'SHARED', values[i] as string),
      );
      for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
      const seen = await Promise.all(
        vaults.map(async (v) => (await v.resolve(ALICE, ['SHARED'])).values.SHARED),
      );
      expect(values).toContain(seen[0]);
      expect(new Set(seen).size).toBe(1);
      expect(await vaults[0].list('org')).toHaveLength(1);
    });
  });
}
