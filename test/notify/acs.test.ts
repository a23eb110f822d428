// Email on Azure: the ChannelNotifier with the email transport functions/azure/mailer.ts builds. With `acs`,
// Azure Communication Services Email played by the loopback https fake (test/support/acs-fake.ts), which
// records each request exactly as ACS would receive it: the send (POST /emails:send) and the operation
// polls, the bearer token of the app's identity, the Operation-Id, the body. With `smtp`, the deployment's
// relay played by the dev inbox (smtp-server): a real SMTP conversation, AUTH included.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AcsMailer, type acsMessage, operationIdFor } from '../../adapters/azure/acs-mailer.js';
import { openDatabase } from '../../adapters/local/database.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { azureEmail } from '../../functions/azure/mailer.js';
import { ApprovalLinks, linkNotifier } from '../../functions/core/approval-links.js';
import { ChannelNotifier, NOTIFY_ERROR } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard } from '../../functions/core/notify/ssrf.js';
import type { ApprovalRecord } from '../../functions/core/ports.js';
import {
  ACS_SCOPE,
  ACS_TOKEN,
  type AcsFake,
  type AcsRequest,
  fakeCredential,
  startAcsFake,
} from '../support/acs-fake.js';
import { deadPort, failure, memoryVault, request } from './helpers.js';

const clock = { now: () => Date.UTC(2026, 0, 5, 9, 0, 0) };
const FROM = 'DoNotReply@mail.acme.test';
let fake: AcsFake;
beforeAll(async () => {
  fake = await startAcsFake();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.outcome('Succeeded');
});

/** The notifier as the Azure app composes it with the acs transport; no retries unless asked. */
function acsNotifier(options: { retries?: number; endpoint?: string } = {}) {
  const credential = fakeCredential();
  const email = azureEmail(
    { emailTransport: 'acs', acsEndpoint: options.endpoint ?? fake.url, emailFrom: FROM },
    {
      credential,
      acsClientOptions: { tlsOptions: { ca: fake.ca }, retryOptions: { maxRetries: options.retries ?? 0 } },
    },
  );
  const notifier = new ChannelNotifier({
    vault: memoryVault().vault,
    config: { email: email.email },
    ssrf: createSsrfGuard(),
    clock,
    ...email.deps,
  });
  return { notifier, credential };
}

/** The requests the fake received while `act` ran. */
async function during(act: () => Promise<unknown>): Promise<AcsRequest[]> {
  const seen = fake.requests.length;
  await act();
  return fake.requests.slice(seen);
}

describe('email through Azure Communication Services', () => {
  it('sends a notification as ACS expects it: token, Operation-Id, body, then polls the operation', async () => {
    const { notifier, credential } = acsNotifier();
    let sent: { messageId?: string } = {};
    const requests = await during(async () => {
      sent = await notifier.send(
        request({ to: ['alice@example.com', 'Carol@Example.com'], subject: 'Expense paid — €1 200' }),
      );
    });
    const [post, ...polls] = requests;
    const operationId = String(post?.headers['operation-id']);
    expect(post).toMatchObject({
      method: 'POST',
      path: '/emails:send',
      query: { 'api-version': '2025-09-01' },
    });
    expect(post?.headers.authorization).toBe(`Bearer ${ACS_TOKEN}`);
    expect(post?.headers['content-type']).toMatch(/^application\/json/);
    const body = post?.body as { headers: Record<string, string> };
    expect(body).toEqual({
      senderAddress: FROM,
      content: { subject: 'Expense paid — €1 200', plainText: 'Paid (ref ch_123)' },
      recipients: { to: [{ address: 'alice@example.com' }, { address: 'Carol@Example.com' }] },
      headers: {
        'Message-ID': body.headers['Message-ID'],
        'X-Stepgate-Run': 'run-1',
        'X-Stepgate-Step': 'notify_paid',
      },
      userEngagementTrackingDisabled: true,
    });
    expect(body.headers['Message-ID']).toMatch(/^<[0-9a-f]{32}@stepgate>$/);
    expect(operationId).toBe(operationIdFor(body.headers['Message-ID'] as string));
    expect(operationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(polls.map((p) => [p.method, p.path, p.query])).toEqual([
      ['GET', `/emails/operations/${operationId}`, { 'api-version': '2025-09-01' }],
      ['GET', `/emails/operations/${operationId}`, { 'api-version': '2025-09-01' }],
    ]);
    for (const poll of polls) expect(poll.headers.authorization).toBe(`Bearer ${ACS_TOKEN}`);
    expect(sent).toEqual({ messageId: operationId });
    expect(credential.scopes).toContainEqual([ACS_SCOPE]);
  });

  it('sends an approver their link in the plain-text body, untracked', async () => {
    const { notifier } = acsNotifier();
    const links = new ApprovalLinks({
      secret: randomBytes(32),
      store: {} as never,
      approvals: {} as never,
      approvalStore: {} as never,
      recordAudit: async () => {},
      clock,
      baseUrl: 'https://stepgate.acme.test',
    });
    const record = approvalRecord();
    const approvals = linkNotifier({ links, notifier, directory: { user: async () => undefined } });
    const [post] = await during(() => approvals.requested(record));
    const body = post?.body as ReturnType<typeof acsMessage> & { userEngagementTrackingDisabled: boolean };
    expect(body.recipients).toEqual({ to: [{ address: 'bob@example.com' }] });
    expect(body.content.subject).toBe('Approval needed: expense-approval');
    expect(body.content.plainText).toMatch(
      /\nhttps:\/\/stepgate\.acme\.test\/approve\/[A-Za-z0-9_.-]{40,}\n/,
    );
    expect(body.content.plainText).toContain('Requested by alice@example.com');
    expect(body.content).not.toHaveProperty('html');
    expect(body.headers).toMatchObject({ 'X-Stepgate-Run': 'run-7', 'X-Stepgate-Step': 'manager_approval' });
    expect(body.userEngagementTrackingDisabled).toBe(true);
  });

  it('names the same operation and Message-ID for a redelivered attempt', async () => {
    const { notifier } = acsNotifier();
    const first = await during(() => notifier.send(request()));
    const again = await during(() => notifier.send(request({ attempt: 2 })));
    const other = await during(() => notifier.send(request({ idempotencyKey: 'run-1:notify_paid:2' })));
    const ids = [first, again, other].map((r) => r[0]?.headers['operation-id']);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    const messageIds = [first, again].map(
      (r) => (r[0]?.body as { headers?: Record<string, string> } | undefined)?.headers,
    );
    expect(messageIds[0]?.['Message-ID']).toMatch(/@stepgate>$/);
    expect(messageIds[1]?.['Message-ID']).toBe(messageIds[0]?.['Message-ID']);
  });

  it('maps an unlinked sender domain (400) to a final error naming sender, recipients and ACS’s reason', async () => {
    const { notifier } = acsNotifier();
    fake.refuseNext({
      status: 400,
      code: 'DomainNotLinked',
      message: 'The specified sender domain has not been linked.',
    });
    const error = await failure(notifier.send(request()));
    expect(error.code).toBe(NOTIFY_ERROR.email);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `Communication Services refused the message from ${FROM} to alice@example.com (HTTP 400): DomainNotLinked: The specified sender domain has not been linked.`,
    );
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(ACS_TOKEN);
  });

  it('maps throttling (429 with retry-after) and 5xx to retryable errors, after the client’s own retry', async () => {
    fake.refuseNext({ status: 429, code: 'TooManyRequests', message: 'Too many requests.', retryAfter: 0 });
    const retried = await during(() =>
      acsNotifier({ retries: 1 }).notifier.send(request({ idempotencyKey: 'throttled-once' })),
    );
    expect(retried.map((r) => r.method)).toEqual(['POST', 'POST', 'GET', 'GET']);

    const { notifier } = acsNotifier();
    fake.refuseNext({ status: 429, code: 'TooManyRequests', message: 'Too many requests.', retryAfter: 0 });
    const throttled = await failure(notifier.send(request()));
    expect(throttled.retryable).toBe(true);
    expect(throttled.message).toContain('(HTTP 429): TooManyRequests');
    fake.refuseNext({ status: 503, code: 'ServiceUnavailable', message: 'Try again later.' });
    const unavailable = await failure(notifier.send(request()));
    expect(unavailable.retryable).toBe(true);
    for (const error of [throttled, unavailable]) expect(error.message).not.toContain(ACS_TOKEN);
  });

  it('maps a token ACS denies (401) to a final error that does not carry the token', async () => {
    const denied = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.not-this-resource';
    const mailer = new AcsMailer({
      endpoint: fake.url,
      credential: { getToken: async () => ({ token: denied, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      clientOptions: { tlsOptions: { ca: fake.ca }, retryOptions: { maxRetries: 0 } },
    });
    const [post] = await during(async () => {
      const error = await failure(mailer.sendMail(mail('<denied@stepgate>')));
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('(HTTP 401): Denied: Denied by the resource provider.');
      expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(denied);
    });
    expect(post?.headers.authorization).toBe(`Bearer ${denied}`);
  });

  it('maps a Failed operation to a final error with ACS’s code and message', async () => {
    const { notifier } = acsNotifier();
    fake.outcome({ failed: { code: 'EmailDropped', message: 'Email was dropped after several attempts.' } });
    const error = await failure(notifier.send(request({ idempotencyKey: 'dropped' })));
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      `Communication Services could not send the message from ${FROM} to alice@example.com: EmailDropped. Email was dropped after several attempts.`,
    );
  });

  it('counts a message ACS has queued as sent when it is still running at the end of the wait', async () => {
    const credential = fakeCredential();
    const mailer = new AcsMailer({
      endpoint: fake.url,
      credential,
      clientOptions: { tlsOptions: { ca: fake.ca } },
      settleMs: 300,
    });
    fake.outcome('Running');
    expect(await mailer.sendMail(mail('<slow@stepgate>'))).toEqual({
      messageId: operationIdFor('<slow@stepgate>'),
    });
  });

  it('maps no answer at all to a retryable error, and refuses an endpoint that is not https', async () => {
    const port = await deadPort();
    const { notifier } = acsNotifier({ endpoint: `https://127.0.0.1:${port}` });
    const error = await failure(notifier.send(request()));
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^Communication Services did not answer for the message from /);
    expect(() => acsNotifier({ endpoint: 'http://acme.communication.azure.com' })).toThrow(
      /endpoint must be the https URL of the Communication Services resource/,
    );
  });
});

describe('email through the deployment’s SMTP relay', () => {
  let inbox: SmtpInbox;
  beforeAll(async () => {
    inbox = await startSmtpInbox({ db: openDatabase(':memory:'), now: clock.now });
  });
  afterAll(async () => {
    await inbox.close();
  });

  function relayNotifier(relayUrl: string) {
    const email = azureEmail(
      { emailTransport: 'smtp', emailFrom: FROM },
      { credential: fakeCredential(), relayUrl },
    );
    expect(email.deps).toEqual({});
    return new ChannelNotifier({
      vault: memoryVault().vault,
      config: { email: email.email },
      ssrf: createSsrfGuard(),
      clock,
      ...email.deps,
    });
  }

  it('delivers through the relay with its login, from the configured sender, and never calls ACS', async () => {
    const before = fake.requests.length;
    const notifier = relayNotifier(`smtp://relay-user:relay%40pass@127.0.0.1:${inbox.port}`);
    const sent = await notifier.send(request({ to: ['carol@example.com'] }));
    const [message] = inbox.list({ to: 'carol@example.com' });
    expect(message).toMatchObject({
      authUser: 'relay-user',
      mailFrom: FROM,
      rcptTo: ['carol@example.com'],
      subject: 'Expense paid',
      text: 'Paid (ref ch_123)',
    });
    expect(inbox.get(message?.id ?? '')?.raw).toContain(`Message-ID: ${sent.messageId}`);
    expect(fake.requests.length).toBe(before);
  });

  it('keeps the relay’s password out of the error when the relay does not answer', async () => {
    const port = await deadPort();
    const error = await failure(
      relayNotifier(`smtp://relay-user:s3cret-relay@127.0.0.1:${port}`).send(request()),
    );
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`SMTP 127.0.0.1:${port}`);
    expect(error.message).not.toContain('s3cret-relay');
  });

  it('names the setting a transport is missing', () => {
    expect(() =>
      azureEmail({ emailTransport: 'smtp', emailFrom: FROM }, { credential: fakeCredential() }),
    ).toThrow(/STEPGATE_SMTP_RELAY_SECRET/);
    expect(() =>
      azureEmail({ emailTransport: 'acs', emailFrom: FROM }, { credential: fakeCredential() }),
    ).toThrow('STEPGATE_ACS_ENDPOINT is not set (STEPGATE_EMAIL_TRANSPORT is acs)');
  });
});

/** A message as the notifier composes it. */
function mail(messageId: string) {
  return {
    from: FROM,
    to: ['alice@example.com'],
    subject: 's',
    text: 't',
    messageId,
    date: new Date(clock.now()),
    headers: {},
  };
}

function approvalRecord(): ApprovalRecord {
  return {
    runId: 'run-7',
    workflowId: 'expense-approval',
    stepId: 'manager_approval',
    visit: 1,
    level: 1,
    eventName: 'approval-manager_approval-1-1',
    approvers: ['bob@example.com'],
    require: 'any',
    message: 'Approve the €1 200 expense?',
    requestedBy: 'alice@example.com',
    requesters: ['alice@example.com'],
    allowSelfApproval: false,
    deadline: null,
    status: 'open',
    decisions: [],
    createdAt: clock.now(),
    delivered: false,
    version: 1,
  };
}
