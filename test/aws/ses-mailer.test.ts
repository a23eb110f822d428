// Email through SES v2 on moto_server (test/support/moto.ts: missing, the test fails): the ChannelNotifier
// with the SES mailer as its platform mailer sends what the SMTP path would (From, To, Subject, body,
// Message-ID, X-Stepgate-* headers), read back from moto's SES backend; a vault SMTP account still wins; an
// unverified sender is a fatal Notify.EmailError naming the sender; SES's errors map to retryable or not.
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesMailer, sesError } from '../../adapters/aws/ses-mailer.js';
import { parseMessage } from '../../adapters/local/smtp-inbox.js';
import { ChannelNotifier } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard } from '../../functions/core/notify/ssrf.js';
import { ActivityError } from '../../functions/core/ports.js';
import { memoryVault, request } from '../notify/helpers.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';
import { headerOf, sentEmails } from '../support/moto-ses.js';

let moto: Moto | undefined;
let ses: SESv2Client;
beforeAll(async () => {
  moto = await startMoto();
  ses = new SESv2Client({ ...MOTO_CLIENT, endpoint: moto.endpoint });
}, 60_000);
afterAll(async () => {
  ses?.destroy();
  await moto?.stop();
});

const clock = { now: () => Date.UTC(2026, 0, 5, 9, 0, 0) };

function notifier(from: string, vault = memoryVault().vault) {
  return new ChannelNotifier({
    vault,
    config: { email: { from } },
    clock,
    ssrf: createSsrfGuard({ allowPrivate: true }),
    mailer: new SesMailer({ client: ses, configurationSetName: 'stepgate' }),
  });
}

async function failure(promise: Promise<unknown>): Promise<ActivityError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ActivityError);
  return error as ActivityError;
}

describe('email through SES v2', () => {
  it('sends the same message as over SMTP from the verified sender, read back from SES', async () => {
    if (moto === undefined) throw new Error('moto_server is not running');
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'stepgate@acme.test' }));
    const sent = await notifier('stepgate@acme.test').send(
      request({
        to: ['alice@example.com', 'carol@example.com'],
        subject: 'Expense paid — €1 200',
        message: 'Paid (ref ch_123)\nThank you, Ünal.',
      }),
    );
    const mails = await sentEmails(moto.endpoint);
    const mail = mails.find((m) => sent.messageId?.startsWith(`<${m.id}@`));
    expect(mail, `SES holds the message ${sent.messageId}`).toBeDefined();
    if (mail === undefined) return;
    expect(mail.source).toBe('stepgate@acme.test');
    expect(mail.destinations).toEqual(expect.arrayContaining(['alice@example.com', 'carol@example.com']));
    expect(headerOf(mail.raw, 'From')).toBe('stepgate@acme.test');
    expect(headerOf(mail.raw, 'To')).toBe('alice@example.com, carol@example.com');
    // The idempotency key's Message-ID (the SMTP path's; real SES replaces it, see ses-mailer.ts).
    expect(headerOf(mail.raw, 'Message-ID')).toMatch(/^<[0-9a-f]{32}@stepgate>$/);
    expect(headerOf(mail.raw, 'X-Stepgate-Run')).toBe('run-1');
    expect(headerOf(mail.raw, 'X-Stepgate-Step')).toBe('notify_paid');
    expect(headerOf(mail.raw, 'Date')).toBe('Mon, 05 Jan 2026 09:00:00 +0000');
    // The subject and body decoded by the dev inbox's parser (nodemailer's MIME, as over SMTP).
    expect(parseMessage(mail.raw)).toEqual({
      subject: 'Expense paid — €1 200',
      text: 'Paid (ref ch_123)\nThank you, Ünal.',
    });
  });

  it('refuses an unverified sender with a fatal error naming the sender, not retried', async () => {
    const error = await failure(
      notifier('nobody@unverified.test').send(request({ to: ['bob@example.com'] })),
    );
    expect(error).toMatchObject({ code: 'Notify.EmailError', retryable: false });
    expect(error.message).toContain('nobody@unverified.test');
    expect(error.message).toContain('bob@example.com');
    expect(error.message).toContain('not a verified identity');
  });

  it("leaves a vault SMTP account's email to SMTP: SES sends nothing for it", async () => {
    if (moto === undefined) throw new Error('moto_server is not running');
    const { vault } = memoryVault();
    await vault.set('org', 'SMTP_URL', 'smtp://127.0.0.1:1');
    const before = (await sentEmails(moto.endpoint)).length;
    const error = await failure(notifier('stepgate@acme.test', vault).send(request()));
    expect(error.message).toMatch(/^SMTP 127\.0\.0\.1:1 /);
    expect(await sentEmails(moto.endpoint)).toHaveLength(before);
  });
});

describe('sesError', () => {
  const mail = { from: 'stepgate@acme.test', to: ['alice@example.com'] };
  const sdkError = (name: string, status: number | undefined, message = 'reason') =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it.each([
    ['TooManyRequestsException', 429, true],
    ['LimitExceededException', 400, true],
    ['InternalFailure', 500, true],
    ['ServiceUnavailable', 503, true],
    ['TimeoutError', undefined, true],
    ['MessageRejected', 400, false],
    ['MailFromDomainNotVerifiedException', 400, false],
    ['AccountSuspendedException', 400, false],
    ['SendingPausedException', 400, false],
    ['NotFoundException', 404, false],
    ['BadRequestException', 400, false],
  ] as const)('%s (HTTP %s) is retryable: %s', (name, status, retryable) => {
    const error = sesError(sdkError(name, status), mail);
    expect(error).toMatchObject({ code: 'Notify.EmailError', retryable });
    expect(error.message).toContain('stepgate@acme.test');
    expect(error.message).toContain(name);
  });
});
