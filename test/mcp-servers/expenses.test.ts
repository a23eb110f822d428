import { describe, expect, it } from 'vitest';
import { call, expectTools, startServer, tempDataDir } from './helpers.js';

describe('expenses sandbox server', () => {
  it('lists its tool as read-only', async () => {
    const client = await startServer('expenses', tempDataDir());
    await expectTools(client, { 'expenses-validate': { readOnlyHint: true } });
  });

  it('validates against the policy', async () => {
    const client = await startServer('expenses', tempDataDir());
    const expense = {
      amount: 120,
      description: 'Team lunch',
      category: 'meals',
      submitter: 'dana@example.com',
    };
    expect(await call(client, 'expenses-validate', expense)).toMatchObject({
      ok: true,
      flagged: false,
      reasons: [],
      category: 'meals',
      cap: 150,
      receiptRequired: true,
      submitter: 'dana@example.com',
    });

    const overCap = await call(client, 'expenses-validate', { ...expense, amount: 180 });
    expect(overCap).toMatchObject({ ok: true, flagged: true });
    expect(overCap.reasons).toEqual(['amount $180 is over the $150 cap for meals']);

    const bad = await call(client, 'expenses-validate', {
      amount: -3,
      description: '  ',
      category: 'yachts',
    });
    expect(bad.ok).toBe(false);
    expect(bad.reasons).toEqual([
      'amount must be positive (got -3)',
      'description is empty',
      expect.stringMatching(/^unknown category 'yachts'/),
    ]);

    // A missing category is 'other'; the submitter defaults to the injected identity.
    const other = await call(client, 'expenses-validate', {
      amount: 20,
      description: 'Cables',
      category: null,
      _user_email: 'sam@example.com',
    });
    expect(other).toMatchObject({
      ok: true,
      category: 'other',
      submitter: 'sam@example.com',
      receiptRequired: false,
    });
  });
});
