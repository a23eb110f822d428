// Sandbox expenses server: checks an expense against the expense policy kept in `expenses.sqlite`
// (categories and their per-expense caps, seeded on first start). Validation reads the policy only.

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import {
  type Db,
  identityOf,
  identityShape,
  jsonResult,
  openStateDb,
  optionalText,
  runServer,
} from './common.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS categories (
    name TEXT PRIMARY KEY,
    cap_cents INTEGER NOT NULL,
    receipt_over_cents INTEGER NOT NULL
  );
`;

// Caps in US dollars: over the cap an expense is flagged for review, it is not invalid.
const SEED_CATEGORIES: Array<[string, number, number]> = [
  ['travel', 5000, 75],
  ['equipment', 3000, 75],
  ['meals', 150, 25],
  ['software', 2000, 75],
  ['other', 1000, 75],
];

function seed(db: Db): void {
  const insert = db.prepare('INSERT INTO categories (name, cap_cents, receipt_over_cents) VALUES (?, ?, ?)');
  for (const [name, cap, receipt] of SEED_CATEGORIES) insert.run(name, cap * 100, receipt * 100);
}

type Category = { name: string; cap_cents: number; receipt_over_cents: number };

function register(server: McpServer, db: Db): void {
  server.registerTool(
    'expenses-validate',
    {
      title: 'Validate an expense',
      description:
        'Checks an expense against the expense policy. `ok` is false when the expense is invalid (amount ' +
        'not positive, empty description, unknown category); an amount over the category cap is `flagged` ' +
        'for review but still ok. `reasons` lists every finding.',
      inputSchema: {
        amount: z.number().describe('Amount in US dollars'),
        description: z.string().max(500).nullable().describe('What was bought'),
        category: optionalText(100).describe("One of the policy's categories; missing means 'other'"),
        submitter: optionalText(320).describe('Who submits the expense'),
        ...identityShape,
      },
      annotations: {
        title: 'Validate an expense',
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async (args) => {
      const categories = db.prepare<[], Category>('SELECT * FROM categories ORDER BY name').all();
      const reasons: string[] = [];
      let ok = true;
      let flagged = false;
      if (!Number.isFinite(args.amount) || args.amount <= 0) {
        ok = false;
        reasons.push(`amount must be positive (got ${args.amount})`);
      }
      if (!args.description?.trim()) {
        ok = false;
        reasons.push('description is empty');
      }
      const name = args.category?.trim() || 'other';
      const category = categories.find((c) => c.name === name);
      if (!category) {
        ok = false;
        reasons.push(
          `unknown category '${name}' (known: ${categories.map((c) => c.name).join(', ')}; use 'other')`,
        );
      }
      const cents = Math.round(args.amount * 100);
      if (category && cents > category.cap_cents) {
        flagged = true;
        reasons.push(
          `amount $${args.amount} is over the $${category.cap_cents / 100} cap for ${category.name}`,
        );
      }
      const receiptRequired = category !== undefined && cents > category.receipt_over_cents;
      return jsonResult({
        ok,
        flagged,
        reasons,
        category: category?.name ?? name,
        cap: category ? category.cap_cents / 100 : null,
        receiptRequired,
        submitter: args.submitter?.trim() || identityOf(args).email,
      });
    },
  );
}

const db = openStateDb('expenses', SCHEMA, seed);
await runServer('expenses', db, (server) => register(server, db));
