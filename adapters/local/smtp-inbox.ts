// The dev SMTP inbox: an SMTP server on 127.0.0.1 that accepts every message (no TLS; AUTH optional and
// any login accepted, its user name kept) and keeps it in the SQLite table `dev_inbox`, so `npm start`
// delivers email notifications without an external account: the notifier's default email transport is
// this inbox's `smtp://127.0.0.1:<port>`. Local development only — it never relays anything anywhere.
//
// Parsing is deliberately small (no mailparser): the raw message is stored as received; the Subject
// (RFC 2047 encoded words decoded) and the text body (the first text/plain part of a multipart message,
// quoted-printable or base64 decoded, UTF-8) are extracted for listing. That covers what nodemailer
// writes for a text message.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Db } from './database.js';

export interface InboxMessage {
  id: string;
  receivedAt: number;
  /** The envelope sender (MAIL FROM), null for a bounce (`<>`). */
  mailFrom: string | null;
  /** The envelope recipients (RCPT TO), as the client sent them. */
  rcptTo: string[];
  subject: string;
  text: string;
  /** The user name the client logged in with, when it used AUTH (the password is never kept). */
  authUser: string | null;
}

export interface StoredMessage extends InboxMessage {
  raw: string;
}

export interface SmtpInboxOptions {
  db: Db;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Largest message accepted, in bytes (default 10 MiB). */
  maxBytes?: number;
  now?: () => number;
}

export interface SmtpInbox {
  readonly port: number;
  /** `smtp://127.0.0.1:<port>`: the notifier's default email URL. */
  readonly url: string;
  /** Newest first; `to` keeps messages with that envelope recipient (case-insensitive). */
  list(filter?: { to?: string; limit?: number }): InboxMessage[];
  get(id: string): StoredMessage | undefined;
  close(): Promise<void>;
}

interface Row {
  id: string;
  received_at: number;
  mail_from: string | null;
  rcpt_to: string;
  subject: string;
  text: string;
  raw: string;
  auth_user: string | null;
}

const HOST = '127.0.0.1';

export async function startSmtpInbox(options: SmtpInboxOptions): Promise<SmtpInbox> {
  const { db } = options;
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const insert = db.prepare(
    `INSERT INTO dev_inbox (id, received_at, mail_from, rcpt_to, subject, text, raw, auth_user)
     VALUES (@id, @received_at, @mail_from, @rcpt_to, @subject, @text, @raw, @auth_user)`,
  );

  const server = new SMTPServer({
    name: 'stepgate-dev-inbox',
    banner: 'Stepgate dev inbox: local development only, nothing is relayed',
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    size: maxBytes,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error(`message exceeds ${maxBytes} bytes`), { responseCode: 552 }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const { subject, text } = parseMessage(raw);
        const id = randomUUID();
        const from = session.envelope.mailFrom;
        try {
          insert.run({
            id,
            received_at: now(),
            mail_from: from === false || from.address === '' ? null : from.address,
            rcpt_to: JSON.stringify(session.envelope.rcptTo.map((r) => r.address)),
            subject,
            text,
            raw,
            auth_user: typeof session.user === 'string' ? session.user : null,
          });
        } catch (error) {
          callback(error as Error);
          return;
        }
        callback(null, `stored as ${id}`);
      });
    },
  });

  const net = await new Promise<import('node:net').Server>((resolve, reject) => {
    const listening = server.listen(options.port ?? 0, HOST, () => resolve(listening));
    listening.once('error', reject);
  });
  const port = (net.address() as AddressInfo).port;

  const toMessage = (row: Row): InboxMessage => ({
    id: row.id,
    receivedAt: row.received_at,
    mailFrom: row.mail_from,
    rcptTo: JSON.parse(row.rcpt_to) as string[],
    subject: row.subject,
    text: row.text,
    authUser: row.auth_user,
  });

  return {
    port,
    url: `smtp://${HOST}:${port}`,
    list(filter = {}) {
      const limit = Math.max(1, Math.min(filter.limit ?? 50, 1000));
      const rows =
        filter.to === undefined
          ? db
              .prepare<[number], Row>('SELECT * FROM dev_inbox ORDER BY received_at DESC, rowid DESC LIMIT ?')
              .all(limit)
          : db
              .prepare<[string, number], Row>(
                `SELECT * FROM dev_inbox
                 WHERE EXISTS (SELECT 1 FROM json_each(dev_inbox.rcpt_to) WHERE lower(json_each.value) = lower(?))
                 ORDER BY received_at DESC, rowid DESC LIMIT ?`,
              )
              .all(filter.to, limit);
      return rows.map(toMessage);
    },
    get(id) {
      const row = db.prepare<[string], Row>('SELECT * FROM dev_inbox WHERE id = ?').get(id);
      return row === undefined ? undefined : { ...toMessage(row), raw: row.raw };
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Subject and text body of an RFC 5322 message, minimally: see the top of this file. */
export function parseMessage(raw: string): { subject: string; text: string } {
  const { headers, body } = splitMessage(raw);
  const subject = decodeWords(headers.get('subject') ?? '');
  return { subject, text: textOf(headers, body) };
}

function splitMessage(raw: string): { headers: Map<string, string>; body: string } {
  const normalised = raw.replace(/\r\n/g, '\n');
  const end = normalised.indexOf('\n\n');
  const head = end < 0 ? normalised : normalised.slice(0, end);
  const body = end < 0 ? '' : normalised.slice(end + 2);
  const headers = new Map<string, string>();
  // Unfold continuation lines, then keep the first occurrence of each header.
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function textOf(headers: Map<string, string>, body: string): string {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary !== undefined) {
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const inner = splitMessage(part.replace(/^\n/, ''));
      const innerType = inner.headers.get('content-type') ?? 'text/plain';
      if (/^(text\/plain|multipart\/)/i.test(innerType)) {
        const text = textOf(inner.headers, inner.body);
        if (text !== '' || /^text\/plain/i.test(innerType)) return text;
      }
    }
    return '';
  }
  if (!/^text\/plain/i.test(type)) return '';
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : body;
  return decoded.replace(/\n$/, '');
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i] as string;
    const hex = soft.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (`=?UTF-8?B?...?=`, `=?UTF-8?Q?...?=`); whitespace between two words is dropped. */
function decodeWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}
