// Sandbox email server. With an SMTP host configured it sends through a real SMTP conversation
// (nodemailer); without one it writes the message to the outbox in `email.sqlite` and says so
// (`delivered: false, queued: true`). Every message, sent or queued, is kept in that table.
//
// Environment:
//   STEPGATE_SMTP_HOST    SMTP server host; unset = outbox only
//   STEPGATE_SMTP_PORT    port (default 465 when STEPGATE_SMTP_SECURE, else 587)
//   STEPGATE_SMTP_SECURE  'true' for implicit TLS (port 465); otherwise STARTTLS is used when offered
//   STEPGATE_SMTP_USER    user name for AUTH (no AUTH when unset)
//   STEPGATE_SMTP_PASS    password for AUTH
//   STEPGATE_SMTP_FROM    default From address (default stepgate@localhost)
//   STEPGATE_SMTP_REJECT_UNAUTHORIZED  'false' to accept a self-signed certificate (testing only)

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import nodemailer from 'nodemailer';
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
  recallIdempotent,
  rememberIdempotent,
  runServer,
  ToolError,
  text,
} from './common.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    message_id TEXT,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    cc TEXT NOT NULL,
    bcc TEXT NOT NULL,
    reply_to TEXT,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    response TEXT,
    error TEXT,
    sent_by TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
  );
`;

type Smtp = {
  host: string;
  port: number;
  secure: boolean;
  user: string | null;
  pass: string | null;
  rejectUnauthorized: boolean;
};

function smtpFromEnv(env: NodeJS.ProcessEnv): Smtp | null {
  const host = env.STEPGATE_SMTP_HOST?.trim();
  if (!host) return null;
  const secure = /^(1|true|yes)$/i.test(env.STEPGATE_SMTP_SECURE ?? '');
  const port = env.STEPGATE_SMTP_PORT ? Number(env.STEPGATE_SMTP_PORT) : secure ? 465 : 587;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`STEPGATE_SMTP_PORT must be a port number, not '${env.STEPGATE_SMTP_PORT}'`);
  }
  return {
    host,
    port,
    secure,
    user: env.STEPGATE_SMTP_USER || null,
    pass: env.STEPGATE_SMTP_PASS || null,
    rejectUnauthorized: !/^(0|false|no)$/i.test(env.STEPGATE_SMTP_REJECT_UNAUTHORIZED ?? ''),
  };
}

const address = z
  .string()
  .trim()
  .min(3)
  .max(320)
  .refine((a) => a.includes('@'), 'not an email address');
const addresses = z.union([address, z.array(address).max(100)]);
const list = (value: string | string[] | null | undefined): string[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];

const SEND_SHAPE = {
  to: addresses.describe('Recipient address or addresses'),
  cc: addresses.nullable().optional(),
  bcc: addresses.nullable().optional(),
  subject: z.string().max(998).nullable().optional().describe('Subject line'),
  text: z.string().max(100_000).nullable().optional().describe('Plain-text body'),
  body: z.string().max(100_000).nullable().optional().describe('Same as text'),
  message: z.string().max(100_000).nullable().optional().describe('Same as text'),
  html: z.string().max(500_000).nullable().optional().describe('HTML body (in addition to the text)'),
  from: address.nullable().optional().describe('Sender (default STEPGATE_SMTP_FROM)'),
  replyTo: address.nullable().optional(),
  ...idempotencyShape,
  ...identityShape,
};
type SendArgs = z.infer<z.ZodObject<typeof SEND_SHAPE>>;

type MessageRow = {
  id: string;
  message_id: string | null;
  sender: string;
  recipients: string;
  cc: string;
  bcc: string;
  subject: string;
  status: string;
  response: string | null;
  error: string | null;
  sent_by: string | null;
  created_at: string;
  sent_at: string | null;
};

/** Registers the tools, one function each, over the helpers they share. */
function register(server: McpServer, db: Db, smtp: Smtp | null, defaultFrom: string): void {
  const helpers = toolHelpers(db, smtp, defaultFrom);
  sendTool(server, smtp, helpers);
  listMessagesTool(server, db);
}

/** What the tools share: the SMTP transport (none: messages are only stored), the sends in flight, the send. */
function toolHelpers(db: Db, smtp: Smtp | null, defaultFrom: string) {
  const transport = smtp
    ? nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.pass ?? '' } } : {}),
        tls: { rejectUnauthorized: smtp.rejectUnauthorized },
      })
    : null;
  const inflight = new Map<string, Promise<CallToolResult>>();
  async function send(args: SendArgs, key: string | null): Promise<CallToolResult> {
    const previous = recallIdempotent<Record<string, unknown>>(db, 'email-send', key);
    if (previous) return jsonResult({ ...previous, replayed: true });

    const to = list(args.to);
    if (to.length === 0) throw new ToolError('no recipients');
    const cc = list(args.cc);
    const bcc = list(args.bcc);
    const body = args.text ?? args.body ?? args.message ?? '';
    const html = text(args.html);
    if (!body.trim() && !html) throw new ToolError('the email has no body (text, body or message)');
    const from = text(args.from) ?? defaultFrom;
    const subject = args.subject ?? '';
    const id = newId('msg');
    const sentBy = identityOf(args).email;
    db.prepare(
      `INSERT INTO messages (id, sender, recipients, cc, bcc, reply_to, subject, text, html, status, sent_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      from,
      JSON.stringify(to),
      JSON.stringify(cc),
      JSON.stringify(bcc),
      text(args.replyTo),
      subject,
      body,
      html,
      transport ? 'sending' : 'queued',
      sentBy,
      nowIso(),
    );

    if (!transport) {
      const result = {
        id,
        messageId: null,
        delivered: false,
        queued: true,
        transport: 'outbox',
        to,
        subject,
        note: 'no SMTP server configured (STEPGATE_SMTP_HOST): written to the sandbox outbox, not sent',
      };
      rememberIdempotent(db, 'email-send', key, result);
      return jsonResult({ ...result, replayed: false });
    }

    try {
      const info = await transport.sendMail({
        from,
        to,
        ...(cc.length > 0 ? { cc } : {}),
        ...(bcc.length > 0 ? { bcc } : {}),
        ...(text(args.replyTo) ? { replyTo: text(args.replyTo) as string } : {}),
        subject,
        text: body,
        ...(html ? { html } : {}),
        ...(sentBy ? { headers: { 'X-Stepgate-User': sentBy } } : {}),
      });
      const accepted = info.accepted.map(String);
      const rejected = info.rejected.map(String);
      const result = {
        id,
        messageId: info.messageId,
        delivered: accepted.length > 0,
        queued: false,
        transport: 'smtp',
        to,
        subject,
        accepted,
        rejected,
        response: info.response,
      };
      db.transaction(() => {
        db.prepare(
          `UPDATE messages SET status = 'sent', message_id = ?, response = ?, sent_at = ? WHERE id = ?`,
        ).run(info.messageId, info.response, nowIso(), id);
        rememberIdempotent(db, 'email-send', key, result);
      })();
      return jsonResult({ ...result, replayed: false });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      db.prepare(`UPDATE messages SET status = 'failed', error = ? WHERE id = ?`).run(message, id);
      throw new ToolError(`SMTP ${smtp?.host}:${smtp?.port} did not take the message: ${message}`);
    }
  }
  return { transport, inflight, send };
}

type Helpers = ReturnType<typeof toolHelpers>;

/** `email-send`: Send an email. */
function sendTool(server: McpServer, smtp: Smtp | null, { inflight, send }: Helpers): void {
  server.registerTool(
    'email-send',
    {
      title: 'Send an email',
      description: smtp
        ? `Sends an email through SMTP (${smtp.host}:${smtp.port}) and returns its message id and which ` +
          'recipients the server accepted. With an idempotency key a repeated call sends nothing more.'
        : 'No SMTP server is configured: the email is written to the sandbox outbox, not delivered ' +
          '(`delivered: false, queued: true`). With an idempotency key a repeated call queues nothing more.',
      inputSchema: SEND_SHAPE,
      annotations: {
        title: 'Send an email',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: smtp !== null,
      },
    },
    async (args, extra) => {
      const key = idempotencyKeyOf(args, extra);
      if (key === null) return send(args, null);
      // Calls with the same key run one after the other, so a retry racing the first send replays it.
      const run = (inflight.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => send(args, key));
      inflight.set(key, run);
      try {
        return await run;
      } finally {
        if (inflight.get(key) === run) inflight.delete(key);
      }
    },
  );
}

/** `email-list-messages`: List sent and queued email. */
function listMessagesTool(server: McpServer, db: Db): void {
  server.registerTool(
    'email-list-messages',
    {
      title: 'List sent and queued email',
      description: 'Lists the messages this server sent or queued, newest first, optionally by status.',
      inputSchema: {
        status: z.enum(['queued', 'sending', 'sent', 'failed']).optional(),
        limit: z.number().int().min(1).max(500).optional(),
        ...identityShape,
      },
      annotations: { title: 'List sent and queued email', readOnlyHint: true, openWorldHint: false },
    },
    async (args) => {
      const rows = db
        .prepare<[{ status: string | null; limit: number }], MessageRow>(
          `SELECT * FROM messages WHERE (@status IS NULL OR status = @status) ORDER BY rowid DESC LIMIT @limit`,
        )
        .all({ status: args.status ?? null, limit: args.limit ?? 50 });
      return jsonResult({
        messages: rows.map((r) => ({
          id: r.id,
          messageId: r.message_id,
          from: r.sender,
          to: JSON.parse(r.recipients) as string[],
          cc: JSON.parse(r.cc) as string[],
          subject: r.subject,
          status: r.status,
          response: r.response,
          error: r.error,
          sentBy: r.sent_by,
          createdAt: r.created_at,
          sentAt: r.sent_at,
        })),
      });
    },
  );
}

const smtp = smtpFromEnv(process.env);
const defaultFrom = process.env.STEPGATE_SMTP_FROM?.trim() || 'stepgate@localhost';
const db = openStateDb('email', SCHEMA);
await runServer('email', db, (server) => register(server, db, smtp, defaultFrom));
