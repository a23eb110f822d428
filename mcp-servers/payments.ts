// Sandbox payments server (a Stripe stand-in): charges and refunds kept in `payments.sqlite`.
// A charge with an idempotency key is made once: repeating the key returns the original charge.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  type Db,
  idempotencyKeyOf,
  idempotencyShape,
  identityOf,
  identityShape,
  jsonResult,
  newId,
  nowIso,
  openStateDb,
  optionalText,
  runServer,
  sandboxDir,
  ToolError,
  text,
} from './common.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS charges (
    id TEXT PRIMARY KEY,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    currency TEXT NOT NULL,
    description TEXT,
    payee TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'refunded')),
    charged_by TEXT,
    charged_by_role TEXT,
    idempotency_key TEXT UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    charge_id TEXT NOT NULL UNIQUE REFERENCES charges (id),
    amount_cents INTEGER NOT NULL,
    reason TEXT,
    refunded_by TEXT,
    created_at TEXT NOT NULL
  );
`;

type ChargeRow = {
  id: string;
  amount_cents: number;
  currency: string;
  description: string | null;
  payee: string;
  status: string;
  charged_by: string | null;
  charged_by_role: string | null;
  idempotency_key: string | null;
  created_at: string;
};
type RefundRow = {
  id: string;
  charge_id: string;
  amount_cents: number;
  reason: string | null;
  refunded_by: string | null;
  created_at: string;
};

function chargeView(row: ChargeRow) {
  return {
    id: row.id,
    amount: row.amount_cents / 100,
    currency: row.currency,
    description: row.description,
    payee: row.payee,
    status: row.status,
    chargedBy: row.charged_by,
    createdAt: row.created_at,
    idempotencyKey: row.idempotency_key,
  };
}

function refundView(row: RefundRow, charge: ChargeRow) {
  return {
    id: row.id,
    chargeId: row.charge_id,
    amount: row.amount_cents / 100,
    currency: charge.currency,
    reason: row.reason,
    refundedBy: row.refunded_by,
    createdAt: row.created_at,
    status: 'refunded',
  };
}

function toCents(amount: number): number {
  const cents = Math.round(amount * 100);
  if (Math.abs(cents - amount * 100) > 1e-6) throw new ToolError(`amount ${amount} has more than 2 decimals`);
  if (cents <= 0) throw new ToolError('amount must be greater than 0');
  return cents;
}

/**
 * Fault injection for tests: with STEPGATE_SANDBOX_FAULT=crash-after-charge the first charge answered in a
 * sandbox directory exits the process after the charge is committed and before the answer is sent — the
 * failure an idempotency key exists for (the caller retries; the same key must not charge again).
 */
function crashAfterChargeOnce(): void {
  if (process.env.STEPGATE_SANDBOX_FAULT !== 'crash-after-charge') return;
  const marker = path.join(sandboxDir(), 'payments.fault-fired');
  try {
    writeFileSync(marker, new Date().toISOString(), { flag: 'wx' });
  } catch {
    return; // Fired already.
  }
  process.exit(70);
}

/** Registers the tools, one function each, over the helpers they share. */
function registerPayments(server: McpServer, db: Db): void {
  const helpers = toolHelpers(db);
  chargeTool(server, db, helpers);
  refundTool(server, db, helpers);
  listChargesTool(server, db);
}

/** The statements and views the tools share. */
function toolHelpers(db: Db) {
  const getCharge = db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE id = ?');
  const getChargeByKey = db.prepare<[string], ChargeRow>('SELECT * FROM charges WHERE idempotency_key = ?');
  const insertCharge = db.prepare(
    `INSERT INTO charges (id, amount_cents, currency, description, payee, status, charged_by, charged_by_role,
       idempotency_key, created_at)
     VALUES (@id, @amount_cents, @currency, @description, @payee, 'succeeded', @charged_by, @charged_by_role,
       @idempotency_key, @created_at)`,
  );
  const getRefund = db.prepare<[string], RefundRow>('SELECT * FROM refunds WHERE charge_id = ?');
  return { getCharge, getChargeByKey, insertCharge, getRefund };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `payments-charge`: Charge a payment. */
function chargeTool(server: McpServer, db: Db, { getCharge, getChargeByKey, insertCharge }: Helpers): void {
  server.registerTool(
    'payments-charge',
    {
      title: 'Charge a payment',
      description:
        'Charges `amount` (in major units, e.g. dollars) to the payee and returns the charge with its id. ' +
        'With an idempotency key the charge is made once: the same key returns the original charge ' +
        '(`replayed: true`); the same key with a different amount, currency or payee is an error.',
      inputSchema: {
        amount: z.number().positive().describe('Amount in major units (dollars), at most 2 decimals'),
        currency: z
          .string()
          .regex(/^[A-Za-z]{3}$/)
          .describe('ISO 4217 code, e.g. usd'),
        description: optionalText(500).describe('What the charge is for'),
        payee: z.string().min(1).max(320).describe('Who is paid (an email for expense refunds)'),
        ...idempotencyShape,
        ...identityShape,
      },
      annotations: {
        title: 'Charge a payment',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args, extra) => {
      const key = idempotencyKeyOf(args, extra);
      const cents = toCents(args.amount);
      const currency = args.currency.toLowerCase();
      const who = identityOf(args);
      const answer = db.transaction(() => {
        if (key !== null) {
          const previous = getChargeByKey.get(key);
          if (previous) {
            if (
              previous.amount_cents !== cents ||
              previous.currency !== currency ||
              previous.payee !== args.payee
            ) {
              throw new ToolError(
                `idempotency key ${key} was used for charge ${previous.id} with different parameters`,
              );
            }
            return jsonResult({ ...chargeView(previous), replayed: true });
          }
        }
        const id = newId('ch');
        insertCharge.run({
          id,
          amount_cents: cents,
          currency,
          description: text(args.description),
          payee: args.payee,
          charged_by: who.email,
          charged_by_role: who.role,
          idempotency_key: key,
          created_at: nowIso(),
        });
        const row = getCharge.get(id);
        if (!row) throw new Error(`charge ${id} vanished`);
        return jsonResult({ ...chargeView(row), replayed: false });
      })();
      crashAfterChargeOnce();
      return answer;
    },
  );
}

/** `payments-refund`: Refund a charge. */
function refundTool(server: McpServer, db: Db, { getCharge, getRefund }: Helpers): void {
  server.registerTool(
    'payments-refund',
    {
      title: 'Refund a charge',
      description:
        'Refunds a charge in full and marks it refunded. Refunding a charge already refunded returns the ' +
        'existing refund (`alreadyRefunded: true`) and refunds nothing more.',
      inputSchema: {
        chargeId: z.string().min(1).describe('The id payments-charge returned'),
        reason: optionalText(500).describe('Why it is refunded'),
        ...identityShape,
      },
      annotations: {
        title: 'Refund a charge',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const who = identityOf(args);
      return db.transaction(() => {
        const charge = getCharge.get(args.chargeId);
        if (!charge) throw new ToolError(`no charge ${args.chargeId}`);
        const existing = getRefund.get(charge.id);
        if (existing) return jsonResult({ ...refundView(existing, charge), alreadyRefunded: true });
        const refund: RefundRow = {
          id: newId('re'),
          charge_id: charge.id,
          amount_cents: charge.amount_cents,
          reason: text(args.reason),
          refunded_by: who.email,
          created_at: nowIso(),
        };
        db.prepare(
          `INSERT INTO refunds (id, charge_id, amount_cents, reason, refunded_by, created_at)
           VALUES (@id, @charge_id, @amount_cents, @reason, @refunded_by, @created_at)`,
        ).run(refund);
        db.prepare(`UPDATE charges SET status = 'refunded' WHERE id = ?`).run(charge.id);
        return jsonResult({ ...refundView(refund, charge), alreadyRefunded: false });
      })();
    },
  );
}

/** `payments-list-charges`: List charges. */
function listChargesTool(server: McpServer, db: Db): void {
  server.registerTool(
    'payments-list-charges',
    {
      title: 'List charges',
      description: 'Lists charges, newest first, optionally only those to one payee.',
      inputSchema: {
        payee: z.string().optional().describe('Only charges to this payee'),
        limit: z.number().int().min(1).max(500).optional().describe('At most this many (default 50)'),
        ...identityShape,
      },
      annotations: { title: 'List charges', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const limit = args.limit ?? 50;
      const rows = args.payee
        ? db
            .prepare<[string, number], ChargeRow>(
              'SELECT * FROM charges WHERE payee = ? ORDER BY created_at DESC, rowid DESC LIMIT ?',
            )
            .all(args.payee, limit)
        : db
            .prepare<[number], ChargeRow>(
              'SELECT * FROM charges ORDER BY created_at DESC, rowid DESC LIMIT ?',
            )
            .all(limit);
      return jsonResult({ charges: rows.map(chargeView) });
    },
  );
}

const db = openStateDb('payments', SCHEMA);
await runServer('payments', db, (server) => registerPayments(server, db));
