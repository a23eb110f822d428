// Slack, Teams and Twilio notifications against local fake services that check the exact request each
// real service requires; the vault cascade choosing the account; error mapping; no secret in any error.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChannelNotifier, type NotifyConfig } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard, type SsrfOptions } from '../../functions/core/notify/ssrf.js';
import type { ActivityError } from '../../functions/core/ports.js';
import { type FakeService, failure, fakeService, memoryVault, request } from './helpers.js';

const clock = { now: () => Date.UTC(2026, 0, 5, 9, 0, 0) };
const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const OTHER_SID = `AC${'fedcba9876543210'.repeat(2)}`;

let service: FakeService;
let vault: ReturnType<typeof memoryVault>['vault'];
beforeEach(async () => {
  service = await fakeService();
  vault = memoryVault().vault;
});
afterEach(async () => {
  await service.close();
});

function notifier(config: Partial<NotifyConfig> = {}, ssrf: SsrfOptions = { allowPrivate: true }) {
  return new ChannelNotifier({
    vault,
    config: {
      slackApiBaseUrl: `${service.url}/api`,
      twilioApiBaseUrl: service.url,
      timeoutMs: 2000,
      ...config,
    },
    clock,
    ssrf: createSsrfGuard(ssrf),
  });
}

describe('slack', () => {
  it('posts chat.postMessage with the bot token, JSON {channel, text}, one per channel', async () => {
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-org-token-1234');
    service.respond((req) => ({
      status: 200,
      body: JSON.stringify({ ok: true, channel: JSON.parse(req.body).channel, ts: '1767603600.000100' }),
    }));
    const sent = await notifier().send(
      request({
        channel: 'slack',
        to: ['C0123456789', '#finance'],
        subject: 'Paid',
        message: 'Ref <ch_1> & co',
      }),
    );
    expect(sent.messageId).toBe('C0123456789/1767603600.000100,#finance/1767603600.000100');
    expect(service.requests).toHaveLength(2);
    const [first] = service.requests;
    expect(first?.method).toBe('POST');
    expect(first?.url).toBe('/api/chat.postMessage');
    expect(first?.headers.authorization).toBe('Bearer xoxb-org-token-1234');
    expect(first?.headers['content-type']).toBe('application/json; charset=utf-8');
    // Slack mrkdwn control characters are escaped: workflow data cannot write <!channel> or a fake link.
    expect(JSON.parse(first?.body ?? '')).toEqual({
      channel: 'C0123456789',
      text: '*Paid*\nRef &lt;ch_1&gt; &amp; co',
    });
  });

  it('posts {text} to an incoming webhook', async () => {
    await vault.set('org', 'SLACK_WEBHOOK_URL', `${service.url}/services/T000/B000/XXXXsecretXXXX`);
    service.respond(() => ({ status: 200, body: 'ok' }));
    await notifier().send(request({ channel: 'slack', to: [], subject: null, message: 'Deployed' }));
    expect(service.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        url: '/services/T000/B000/XXXXsecretXXXX',
        body: '{"text":"Deployed"}',
      }),
    ]);
    expect(service.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("uses the user's own token over the group's over the org's", async () => {
    service.respond(() => ({ status: 200, body: '{"ok":true,"ts":"1.2"}' }));
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-org-token');
    await vault.set('group:staff', 'SLACK_BOT_TOKEN', 'xoxb-staff-token');
    await vault.set('group:finance', 'SLACK_BOT_TOKEN', 'xoxb-finance-token');
    await vault.set('user:alice@example.com', 'SLACK_BOT_TOKEN', 'xoxb-alice-token');
    const send = notifier();
    const slack = request({ channel: 'slack', to: ['C1'] });
    const tokens: (string | undefined)[] = [];
    for (const scope of ['user:alice@example.com', 'group:finance', 'group:staff', 'org'] as const) {
      await send.send(slack);
      tokens.push(service.requests.at(-1)?.headers.authorization);
      await vault.delete(scope, 'SLACK_BOT_TOKEN');
    }
    // Groups in the identity's order: finance before staff.
    expect(tokens).toEqual([
      'Bearer xoxb-alice-token',
      'Bearer xoxb-finance-token',
      'Bearer xoxb-staff-token',
      'Bearer xoxb-org-token',
    ]);
  });

  it("a user's webhook wins over the org's bot token; at one level the bot token wins", async () => {
    service.respond(() => ({ status: 200, body: '{"ok":true,"ts":"1.2"}' }));
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-org-token');
    await vault.set('user:alice@example.com', 'SLACK_WEBHOOK_URL', `${service.url}/services/alice`);
    await notifier().send(request({ channel: 'slack', to: ['C1'] }));
    expect(service.requests.at(-1)?.url).toBe('/services/alice');
    await vault.set('user:alice@example.com', 'SLACK_BOT_TOKEN', 'xoxb-alice-token');
    await notifier().send(request({ channel: 'slack', to: ['C1'] }));
    expect(service.requests.at(-1)?.url).toBe('/api/chat.postMessage');
    expect(service.requests.at(-1)?.headers.authorization).toBe('Bearer xoxb-alice-token');
  });

  it.each([
    [
      'ok:false channel_not_found',
      200,
      '{"ok":false,"error":"channel_not_found"}',
      false,
      /channel_not_found/,
    ],
    ['ok:false invalid_auth', 200, '{"ok":false,"error":"invalid_auth"}', false, /invalid_auth/],
    ['ok:false ratelimited', 200, '{"ok":false,"error":"ratelimited"}', true, /ratelimited/],
    ['HTTP 429', 429, '{"ok":false,"error":"ratelimited"}', true, /HTTP 429/],
    ['HTTP 500', 500, 'internal error', true, /HTTP 500/],
    ['HTTP 503', 503, '', true, /HTTP 503/],
    ['HTTP 400', 400, 'invalid_payload', false, /HTTP 400/],
    ['HTTP 403', 403, 'forbidden', false, /HTTP 403/],
    ['a redirect', 302, '', false, /redirect/],
    ['not JSON', 200, '<html>', true, /not JSON/],
  ])('maps %s', async (_name, status, body, retryable, message) => {
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-secret-token-value');
    service.respond(() => ({
      status,
      body,
      headers: (status === 302 ? { location: 'http://169.254.169.254/' } : {}) as Record<string, string>,
    }));
    const error = await failure(notifier().send(request({ channel: 'slack', to: ['C1'] })));
    expect(error.code).toBe('Notify.SlackError');
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('xoxb-secret-token-value');
    expect(service.requests).toHaveLength(1); // the redirect was not followed
  });

  it('redacts a token a server echoes back', async () => {
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-echoed-token');
    service.respond((req) => ({ status: 401, body: `bad token ${req.headers.authorization}` }));
    const error = await failure(notifier().send(request({ channel: 'slack', to: ['C1'] })));
    expect(error.message).toBe(
      'Slack chat.postMessage answered HTTP 401: bad token Bearer [redacted: SLACK_BOT_TOKEN]',
    );
  });

  it('maps a network error to a retryable error', async () => {
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-secret-token-value');
    await service.close();
    const error = await failure(notifier().send(request({ channel: 'slack', to: ['C1'] })));
    expect(error).toMatchObject({ code: 'Notify.SlackError', retryable: true });
    expect(error.message).toMatch(/network error \(ECONNREFUSED\)/);
    service = await fakeService(); // afterEach closes it
  });

  it('never sends to a webhook on an internal address (SSRF), and keeps the URL out of the error', async () => {
    await vault.set(
      'user:alice@example.com',
      'SLACK_WEBHOOK_URL',
      `${service.url}/services/T0/B0/SECRETPATH`,
    );
    const error = await failure(notifier({}, {}).send(request({ channel: 'slack', to: [] })));
    expect(error).toMatchObject({ code: 'Notify.UrlRefused', retryable: false });
    expect(error.message).not.toContain('SECRETPATH');
    expect(service.requests).toEqual([]);
    await vault.set(
      'user:alice@example.com',
      'SLACK_WEBHOOK_URL',
      'https://169.254.169.254/latest/meta-data/',
    );
    await expect(
      notifier({}, { allowPrivate: true }).send(request({ channel: 'slack', to: [] })),
    ).rejects.toMatchObject({
      code: 'Notify.UrlRefused',
    });
  });

  it('with no account anywhere names both credentials', async () => {
    const error = await failure(notifier().send(request({ channel: 'slack', to: ['C1'] })));
    expect(error).toMatchObject({ code: 'Notify.NoAccount', retryable: false });
    expect(error.message).toContain('SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL');
    expect(error.message).toContain('user:alice@example.com, group:finance, group:staff or org');
  });

  it('a bot token needs a channel', async () => {
    await vault.set('org', 'SLACK_BOT_TOKEN', 'xoxb-org-token');
    const error = await failure(notifier().send(request({ channel: 'slack', to: [] })));
    expect(error).toMatchObject({ code: 'Notify.InvalidRequest', retryable: false });
  });
});

describe('teams', () => {
  it('posts an Adaptive Card message to the webhook', async () => {
    await vault.set(
      'group:finance',
      'TEAMS_WEBHOOK_URL',
      `${service.url}/webhookb2/abc@def/IncomingWebhook/123/456`,
    );
    service.respond(() => ({ status: 200, body: '1' }));
    await notifier().send(
      request({ channel: 'teams', to: [], subject: 'Expense paid', message: 'Ref ch_1' }),
    );
    const [req] = service.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/webhookb2/abc@def/IncomingWebhook/123/456');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: 'Expense paid', weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'TextBlock', text: 'Ref ch_1', wrap: true },
            ],
          },
        },
      ],
    });
  });

  it("uses the user's webhook over the group's", async () => {
    await vault.set('group:finance', 'TEAMS_WEBHOOK_URL', `${service.url}/group-hook`);
    await vault.set('user:alice@example.com', 'TEAMS_WEBHOOK_URL', `${service.url}/alice-hook`);
    await notifier().send(request({ channel: 'teams', to: [] }));
    expect(service.requests.map((r) => r.url)).toEqual(['/alice-hook']);
  });

  it('maps a refused post, 5xx and 4xx, keeping the webhook path out', async () => {
    await vault.set('org', 'TEAMS_WEBHOOK_URL', `${service.url}/webhookb2/SECRET-SIGNATURE`);
    const send = (): Promise<ActivityError> =>
      failure(notifier().send(request({ channel: 'teams', to: [] })));
    service.respond(() => ({
      status: 200,
      body: 'Microsoft Teams endpoint returned HTTP error 429 with ContextId ...',
    }));
    expect(await send()).toMatchObject({ code: 'Notify.TeamsError', retryable: true });
    service.respond(() => ({ status: 502, body: '' }));
    expect(await send()).toMatchObject({ code: 'Notify.TeamsError', retryable: true });
    service.respond(() => ({ status: 400, body: 'Bad payload received by generic incoming webhook.' }));
    const error = await send();
    expect(error).toMatchObject({ code: 'Notify.TeamsError', retryable: false });
    expect(error.message).not.toContain('SECRET-SIGNATURE');
    expect(error.message).toContain('127.0.0.1');
  });
});

describe('sms (Twilio)', () => {
  async function plant(
    scope: 'org' | 'group:finance' | 'user:alice@example.com',
    sid: string,
    token: string,
  ) {
    await vault.set(scope, 'TWILIO_ACCOUNT_SID', sid);
    await vault.set(scope, 'TWILIO_AUTH_TOKEN', token);
    await vault.set(scope, 'TWILIO_FROM', '+15005550006');
  }

  it('posts a form-encoded message per recipient with Basic auth', async () => {
    await plant('org', SID, 'twilio-auth-token-org');
    let n = 0;
    service.respond(() => ({ status: 201, body: JSON.stringify({ sid: `SM${++n}`, status: 'queued' }) }));
    const sent = await notifier().send(
      request({
        channel: 'sms',
        to: ['+15551230001', '+447700900123'],
        subject: 'Paid',
        message: 'Ref ch_1 & done',
      }),
    );
    expect(sent.messageId).toBe('SM1,SM2');
    expect(service.requests).toHaveLength(2);
    const [req] = service.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
    expect(req?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${SID}:twilio-auth-token-org`).toString('base64')}`,
    );
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(req?.body ?? ''))).toEqual({
      To: '+15551230001',
      From: '+15005550006',
      Body: 'Paid\nRef ch_1 & done',
    });
  });

  it('a Messaging Service SID goes as MessagingServiceSid', async () => {
    await plant('org', SID, 'tok-123456');
    await vault.set('org', 'TWILIO_FROM', `MG${'a'.repeat(32)}`);
    service.respond(() => ({ status: 201, body: '{"sid":"SM1"}' }));
    await notifier().send(request({ channel: 'sms', to: ['+15551230001'], subject: null, message: 'Hi' }));
    expect(Object.fromEntries(new URLSearchParams(service.requests[0]?.body ?? ''))).toEqual({
      To: '+15551230001',
      MessagingServiceSid: `MG${'a'.repeat(32)}`,
      Body: 'Hi',
    });
  });

  it("uses the user's own Twilio account over the org's", async () => {
    await plant('org', SID, 'org-twilio-token');
    await plant('user:alice@example.com', OTHER_SID, 'alice-twilio-token');
    service.respond(() => ({ status: 201, body: '{"sid":"SM1"}' }));
    await notifier().send(request({ channel: 'sms', to: ['+15551230001'] }));
    expect(service.requests[0]?.url).toBe(`/2010-04-01/Accounts/${OTHER_SID}/Messages.json`);
    expect(service.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${OTHER_SID}:alice-twilio-token`).toString('base64')}`,
    );
  });

  it("refuses to mix a user's token with the org's account", async () => {
    await plant('org', SID, 'org-twilio-token');
    await vault.set('user:alice@example.com', 'TWILIO_AUTH_TOKEN', 'alice-partial-token');
    const error = await failure(notifier().send(request({ channel: 'sms', to: ['+15551230001'] })));
    expect(error).toMatchObject({ code: 'Notify.IncompleteAccount', retryable: false });
    expect(error.message).toContain('TWILIO_AUTH_TOKEN from user:alice@example.com');
    expect(error.message).not.toContain('alice-partial-token');
    expect(error.message).not.toContain('org-twilio-token');
    expect(service.requests).toEqual([]);
  });

  it.each([
    [400, '{"code":21211,"message":"The \'To\' number is not a valid phone number.","status":400}', false],
    [401, '{"code":20003,"message":"Authenticate","status":401}', false],
    [429, '{"code":20429,"message":"Too Many Requests","status":429}', true],
    [500, '{"message":"Internal"}', true],
  ])('maps HTTP %i (retryable %s) without the token', async (status, body, retryable) => {
    await plant('org', SID, 'twilio-very-secret-token');
    service.respond(() => ({ status, body }));
    const error = await failure(notifier().send(request({ channel: 'sms', to: ['+15551230001'] })));
    expect(error).toMatchObject({ code: 'Notify.SmsError', retryable });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).not.toContain('twilio-very-secret-token');
    expect(error.message).not.toContain(Buffer.from(`${SID}:twilio-very-secret-token`).toString('base64'));
  });

  it('refuses malformed account SIDs (no path injection) and non-E.164 recipients', async () => {
    await plant('org', '../../evil', 'tok-123456');
    expect(await failure(notifier().send(request({ channel: 'sms', to: ['+15551230001'] })))).toMatchObject({
      code: 'Notify.InvalidCredential',
      retryable: false,
    });
    await plant('org', SID, 'tok-123456');
    expect(await failure(notifier().send(request({ channel: 'sms', to: ['555-1234'] })))).toMatchObject({
      code: 'Notify.InvalidRequest',
      retryable: false,
    });
    expect(service.requests).toEqual([]);
  });

  it('with no account names the three credentials', async () => {
    const error = await failure(notifier().send(request({ channel: 'sms', to: ['+15551230001'] })));
    expect(error).toMatchObject({ code: 'Notify.NoAccount', retryable: false });
    expect(error.message).toContain('TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN + TWILIO_FROM');
  });
});
