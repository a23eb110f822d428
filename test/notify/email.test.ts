// Email notifications through a real SMTP conversation: the notifier's nodemailer transport talking to the
// dev inbox (smtp-server), which parses and stores what it received.
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../adapters/local/database.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { ChannelNotifier, type NotifyConfig } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard } from '../../functions/core/notify/ssrf.js';
import { ALICE, deadPort, failure, memoryVault, request } from './helpers.js';

const clock = { now: () => Date.UTC(2026, 0, 5, 9, 0, 0) };
const inboxes: SmtpInbox[] = [];
afterEach(async () => {
  for (const inbox of inboxes.splice(0)) await inbox.close();
});

async function inbox(): Promise<SmtpInbox> {
  const started = await startSmtpInbox({ db: openDatabase(':memory:'), now: clock.now });
  inboxes.push(started);
  return started;
}

function notifier(vault: ReturnType<typeof memoryVault>['vault'], config: NotifyConfig, allowPrivate = true) {
  return new ChannelNotifier({ vault, config, clock, ssrf: createSsrfGuard({ allowPrivate }) });
}

describe('email through the dev inbox', () => {
  it('delivers recipients, subject and body over SMTP with the configured default', async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    const sent = await notifier(vault, { email: { defaultUrl: box.url, from: 'stepgate@acme.test' } }).send(
      request({
        to: ['alice@example.com', 'Carol@Example.com'],
        subject: 'Expense paid — €1 200',
        message: 'Paid (ref ch_123)\nThank you, Ünal.',
      }),
    );
    expect(sent.messageId).toMatch(/^<[0-9a-f]{32}@stepgate>$/);

    const [message, ...others] = box.list();
    expect(others).toEqual([]);
    expect(message).toMatchObject({
      mailFrom: 'stepgate@acme.test',
      rcptTo: ['alice@example.com', 'Carol@example.com'], // nodemailer lower-cases the domain
      subject: 'Expense paid — €1 200',
      text: 'Paid (ref ch_123)\nThank you, Ünal.',
      authUser: null,
      receivedAt: clock.now(),
    });
    const stored = box.get(message?.id ?? '');
    expect(stored?.raw).toContain(`Message-ID: ${sent.messageId}`);
    expect(stored?.raw).toContain('X-Stepgate-Run: run-1');
    expect(box.list({ to: 'carol@example.com' })).toHaveLength(1);
    expect(box.list({ to: 'nobody@example.com' })).toEqual([]);
  });

  it('keeps long and non-ASCII text intact through quoted-printable or base64', async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    const long = `${'Lorem ipsum dolor sit amet, '.repeat(20)}\n${'日本語のテキスト'.repeat(30)}`;
    await notifier(vault, { email: { defaultUrl: box.url } }).send(request({ message: long, subject: null }));
    expect(box.list()[0]).toMatchObject({ subject: '', text: long, mailFrom: 'stepgate@localhost' });
  });

  it("sends through the user's own SMTP account over the group's and the org's", async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    const port = box.port;
    await vault.set('org', 'SMTP_URL', `smtp://org-account:org-pass@127.0.0.1:${port}`);
    await vault.set('org', 'SMTP_FROM', 'noreply@acme.test');
    await vault.set('group:finance', 'SMTP_URL', `smtp://finance-account:finance-pass@127.0.0.1:${port}`);
    await vault.set(
      'user:alice@example.com',
      'SMTP_URL',
      `smtp://alice-account:alice%40pass@127.0.0.1:${port}`,
    );
    const send = notifier(vault, { email: { from: 'default@acme.test' } });

    await send.send(request());
    expect(box.list()[0]).toMatchObject({ authUser: 'alice-account', mailFrom: 'default@acme.test' });

    await vault.delete('user:alice@example.com', 'SMTP_URL');
    await send.send(request());
    expect(box.list()[0]).toMatchObject({ authUser: 'finance-account' });

    await vault.delete('group:finance', 'SMTP_URL');
    await send.send(request());
    // The org's SMTP_FROM belongs to the org's account, so it is used with it.
    expect(box.list()[0]).toMatchObject({ authUser: 'org-account', mailFrom: 'noreply@acme.test' });
  });

  it('refuses a vault SMTP server on a private address unless private addresses are allowed', async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    await vault.set('user:alice@example.com', 'SMTP_URL', `smtp://alice:hunter22@127.0.0.1:${box.port}`);
    const error = await failure(notifier(vault, {}, false).send(request()));
    expect(error).toMatchObject({ code: 'Notify.UrlRefused', retryable: false });
    expect(error.message).not.toContain('hunter22');
    expect(box.list()).toEqual([]);
  });

  it('maps an SMTP server that is not there to a retryable error without the password', async () => {
    const { vault } = memoryVault();
    const port = await deadPort();
    await vault.set('org', 'SMTP_URL', `smtp://relay:s3cr3t-pass@127.0.0.1:${port}`);
    const error = await failure(notifier(vault, {}).send(request()));
    expect(error).toMatchObject({ code: 'Notify.EmailError', retryable: true });
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cr3t-pass');
  });

  it('maps a permanent SMTP refusal (5xx) to a non-retryable error', async () => {
    const { vault } = memoryVault();
    const send = new ChannelNotifier({
      vault,
      config: { email: { defaultUrl: 'smtp://127.0.0.1:2525' } },
      clock,
      ssrf: createSsrfGuard(),
      smtp: () => ({
        sendMail: async () => {
          throw Object.assign(new Error("Can't send mail - all recipients were rejected: 550 No such user"), {
            code: 'EENVELOPE',
            responseCode: 550,
          });
        },
      }),
    });
    await expect(send.send(request())).rejects.toMatchObject({ code: 'Notify.EmailError', retryable: false });
  });

  it('without SMTP_URL anywhere and no default, names the credential and the levels', async () => {
    const { vault } = memoryVault();
    const error = await failure(notifier(vault, {}).send(request()));
    expect(error).toMatchObject({ code: 'Notify.NoAccount', retryable: false });
    expect(error.message).toContain('SMTP_URL');
    expect(error.message).toContain(`user:${ALICE.email}`);
    expect(error.message).toContain('group:finance');
  });

  it('refuses an SMTP_URL that is not smtp:// or smtps://, and recipients that are not addresses', async () => {
    const { vault } = memoryVault();
    await vault.set('org', 'SMTP_URL', 'direct://mx.example.com');
    await expect(notifier(vault, {}).send(request())).rejects.toMatchObject({
      code: 'Notify.InvalidCredential',
      retryable: false,
    });
    const box = await inbox();
    await expect(
      notifier(memoryVault().vault, { email: { defaultUrl: box.url } }).send(
        request({ to: ['not-an-address'] }),
      ),
    ).rejects.toMatchObject({ code: 'Notify.InvalidRequest', retryable: false });
  });
});

describe('the development fallback (devInboxFallback)', () => {
  it('mails Slack, Teams and SMS messages with no account to the dev inbox, never through a vault account', async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    // Alice's own SMTP account must not carry development fallbacks (it would send real mail).
    await vault.set('user:alice@example.com', 'SMTP_URL', 'smtp://alice:pw@127.0.0.1:1');
    const send = notifier(vault, { email: { defaultUrl: box.url }, devInboxFallback: true });
    await send.send(
      request({ channel: 'slack', to: ['#incidents'], subject: null, message: 'DB down\nmore' }),
    );
    await send.send(request({ channel: 'sms', to: ['+15550100'], subject: null, message: 'Page: DB down' }));
    await send.send(request({ channel: 'teams', to: [], subject: 'Deploy', message: 'Deployed' }));
    expect(
      box
        .list()
        .map((m) => [m.rcptTo, m.subject, m.text])
        .reverse(),
    ).toEqual([
      [['slack@dev.stepgate'], '[slack → #incidents] DB down', 'DB down\nmore'],
      [['sms@dev.stepgate'], '[sms → +15550100] Page: DB down', 'Page: DB down'],
      [['teams@dev.stepgate'], '[teams → (webhook channel)] Deploy', 'Deployed'],
    ]);
  });

  it('is off by default: no account is Notify.NoAccount', async () => {
    const box = await inbox();
    const { vault } = memoryVault();
    const error = await failure(
      notifier(vault, { email: { defaultUrl: box.url } }).send(request({ channel: 'slack', to: ['#x'] })),
    );
    expect(error).toMatchObject({ code: 'Notify.NoAccount' });
    expect(box.list()).toEqual([]);
  });
});
