import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { call, callError, expectTools, startServer, stopServer, tempDataDir } from './helpers.js';

type Received = { from: string; rcptTo: string[]; raw: string };

const smtpServers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(
    smtpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

/** A real SMTP server on a free local port that keeps what it receives. */
async function startSmtp(): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const envelope = session.envelope;
        received.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          rcptTo: envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  smtpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, received };
}

const welcome = {
  to: ['jane@personal.example', 'jane.doe@example.com'],
  subject: 'Welcome to the team, Jane Doe!',
  message: 'Your account is jane.doe@example.com. See you on 2026-02-02!',
};

describe('email sandbox server', () => {
  it('lists its tools with honest annotations', async () => {
    const client = await startServer('email', tempDataDir());
    await expectTools(client, {
      'email-send': { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
      'email-list-messages': { readOnlyHint: true },
    });
  });

  it('without an SMTP host queues to the outbox and says it was not delivered', async () => {
    const dir = tempDataDir();
    const client = await startServer('email', dir);
    const sent = await call(client, 'email-send', { ...welcome, _user_email: 'hr@example.com' });
    expect(sent).toMatchObject({ delivered: false, queued: true, transport: 'outbox', messageId: null });
    await stopServer(client);

    const again = await startServer('email', dir);
    const { messages } = await call(again, 'email-list-messages', { status: 'queued' });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      id: sent.id,
      to: welcome.to,
      subject: welcome.subject,
      sentBy: 'hr@example.com',
    });
  });

  it('sends through a real SMTP conversation', async () => {
    const smtp = await startSmtp();
    const client = await startServer('email', tempDataDir(), {
      STEPGATE_SMTP_HOST: '127.0.0.1',
      STEPGATE_SMTP_PORT: String(smtp.port),
      STEPGATE_SMTP_FROM: 'onboarding@example.com',
    });
    const sent = await call(client, 'email-send', {
      ...welcome,
      cc: 'pat@example.com',
      idempotencyKey: 'run:welcome_email:1',
      _user_email: 'hr@example.com',
    });
    expect(sent).toMatchObject({
      delivered: true,
      queued: false,
      transport: 'smtp',
      accepted: [...welcome.to, 'pat@example.com'],
      rejected: [],
    });
    expect(sent.response).toMatch(/^250/);

    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail?.from).toBe('onboarding@example.com');
    expect(mail?.rcptTo).toEqual([...welcome.to, 'pat@example.com']);
    const [headers = '', body = ''] = mail?.raw.split('\r\n\r\n', 2) ?? [];
    expect(headers).toMatch(/^Subject: Welcome to the team, Jane Doe!$/m);
    expect(headers).toMatch(/^To: jane@personal.example, jane.doe@example.com$/m);
    expect(headers).toMatch(/^Cc: pat@example.com$/m);
    expect(headers).toMatch(/^X-Stepgate-User: hr@example.com$/m);
    expect(headers).toContain(`Message-ID: ${sent.messageId}`);
    expect(body.trim()).toBe(welcome.message);

    // A retried step with the same key sends nothing more.
    const retried = await call(client, 'email-send', { ...welcome, idempotencyKey: 'run:welcome_email:1' });
    expect(retried).toMatchObject({ messageId: sent.messageId, replayed: true });
    expect(smtp.received).toHaveLength(1);

    // Two attempts racing with one key send once.
    const [x, y] = await Promise.all([
      call(client, 'email-send', { ...welcome, idempotencyKey: 'run:welcome_email:2' }),
      call(client, 'email-send', { ...welcome, idempotencyKey: 'run:welcome_email:2' }),
    ]);
    expect(y.messageId).toBe(x.messageId);
    expect(smtp.received).toHaveLength(2);
    const { messages } = await call(client, 'email-list-messages', {});
    expect(messages.map((m: { status: string }) => m.status)).toEqual(['sent', 'sent']);
  });

  it('reports an SMTP server that cannot be reached as a tool error', async () => {
    const smtp = await startSmtp();
    const port = smtp.port;
    await Promise.all(
      smtpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    const client = await startServer('email', tempDataDir(), {
      STEPGATE_SMTP_HOST: '127.0.0.1',
      STEPGATE_SMTP_PORT: String(port),
    });
    expect(await callError(client, 'email-send', welcome)).toMatch(/did not take the message/);
    const { messages } = await call(client, 'email-list-messages', { status: 'failed' });
    expect(messages).toHaveLength(1);
    expect(await callError(client, 'email-send', { to: 'a@example.com', subject: 'x', text: '' })).toMatch(
      /no body/,
    );
  });
});
