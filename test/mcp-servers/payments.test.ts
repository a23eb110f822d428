import { describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

const identity = { _user_email: 'dana@example.com', _user_role: 'member', _user_groups: ['sales'] };

describe('payments sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('payments', tempDataDir());
    const tools = await expectTools(client, {
      'payments-charge': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'payments-refund': { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
      'payments-list-charges': { readOnlyHint: true },
    });
    const charge = tools.find((t) => t.name === 'payments-charge');
    expect(Object.keys(charge?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining([
        'amount',
        'currency',
        'description',
        'payee',
        'idempotencyKey',
        '_idempotency_key',
      ]),
    );
    expect(charge?.inputSchema.required).toEqual(expect.arrayContaining(['amount', 'currency', 'payee']));
  });

  it('charges, records who charged, and refunds once', async () => {
    const client = await startServer('payments', tempDataDir());
    const charge = await call(client, 'payments-charge', {
      amount: 812.5,
      currency: 'USD',
      description: 'Team offsite',
      payee: 'dana@example.com',
      ...identity,
    });
    expect(charge).toMatchObject({
      amount: 812.5,
      currency: 'usd',
      status: 'succeeded',
      payee: 'dana@example.com',
      chargedBy: 'dana@example.com',
      replayed: false,
    });
    expect(charge.id).toMatch(/^ch_/);

    const refund = await call(client, 'payments-refund', { chargeId: charge.id, reason: 'duplicate' });
    expect(refund).toMatchObject({ chargeId: charge.id, amount: 812.5, alreadyRefunded: false });
    const again = await call(client, 'payments-refund', { chargeId: charge.id });
    expect(again).toMatchObject({ id: refund.id, alreadyRefunded: true });
    const { charges } = await call(client, 'payments-list-charges', {});
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ id: charge.id, status: 'refunded' });

    expect(await callError(client, 'payments-refund', { chargeId: 'ch_nope' })).toMatch(/no charge ch_nope/);
  });

  it('rejects an amount that is not positive', async () => {
    const client = await startServer('payments', tempDataDir());
    for (const amount of [0, -5]) {
      const error = await callError(client, 'payments-charge', {
        amount,
        currency: 'usd',
        payee: 'x@example.com',
      });
      expect(error).toMatch(/amount/);
    }
    expect(
      await callError(client, 'payments-charge', { amount: 1.234, currency: 'usd', payee: 'x' }),
    ).toMatch(/2 decimals/);
    expect((await call(client, 'payments-list-charges', {})).charges).toEqual([]);
  });

  it('charges once per idempotency key', async () => {
    const client = await startServer('payments', tempDataDir());
    const args = { amount: 450, currency: 'usd', description: 'Flight', payee: 'dana@example.com' };
    const first = await call(client, 'payments-charge', { ...args, idempotencyKey: 'run-1:charge_card:1' });
    const retried = await call(client, 'payments-charge', { ...args, idempotencyKey: 'run-1:charge_card:1' });
    expect(retried.id).toBe(first.id);
    expect(retried.replayed).toBe(true);
    expect((await call(client, 'payments-list-charges', {})).charges).toHaveLength(1);

    // The other spelling of the key is the same key.
    const viaUnderscore = await call(client, 'payments-charge', {
      ...args,
      _idempotency_key: 'run-1:charge_card:1',
    });
    expect(viaUnderscore.id).toBe(first.id);

    const other = await call(client, 'payments-charge', { ...args, idempotencyKey: 'run-1:charge_card:2' });
    expect(other.id).not.toBe(first.id);
    expect((await call(client, 'payments-list-charges', {})).charges).toHaveLength(2);

    // Without a key every call is a new charge.
    await call(client, 'payments-charge', args);
    expect((await call(client, 'payments-list-charges', {})).charges).toHaveLength(3);

    // A key reused for a different charge is refused, not silently replayed.
    expect(
      await callError(client, 'payments-charge', {
        ...args,
        amount: 451,
        idempotencyKey: 'run-1:charge_card:1',
      }),
    ).toMatch(/different parameters/);
  });

  it('keeps charges across a restart', async () => {
    const dir = tempDataDir();
    const first = await startServer('payments', dir);
    const charge = await call(first, 'payments-charge', {
      amount: 20,
      currency: 'usd',
      payee: 'sam@example.com',
      idempotencyKey: 'k1',
    });
    await stopServer(first);
    const second = await startServer('payments', dir);
    const { charges } = await call(second, 'payments-list-charges', { payee: 'sam@example.com' });
    expect(charges.map((c: { id: string }) => c.id)).toEqual([charge.id]);
    const replay = await call(second, 'payments-charge', {
      amount: 20,
      currency: 'usd',
      payee: 'sam@example.com',
      idempotencyKey: 'k1',
    });
    expect(replay).toMatchObject({ id: charge.id, replayed: true });
  });
});
