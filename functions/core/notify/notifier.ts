// The Notifier the engine calls for `notify` steps: email (SMTP), Slack, Microsoft Teams and SMS (Twilio).
//
// WHICH ACCOUNT sends is decided per message by the vault cascade for the identity the run acts for: the
// user's own credentials first, then their groups' (in directory order), then the org's. An account is
// the set of credentials of one channel at one level:
//
//   channel  credential names (vault)                        what they are
//   email    SMTP_URL                                        smtp://user:pass@host:587 (STARTTLS when
//                                                            offered) or smtps://user:pass@host:465;
//                                                            without one, the platform mailer (SES on
//                                                            AWS: deps.mailer), else
//                                                            `config.email.defaultUrl`
//            SMTP_FROM (optional, same level as SMTP_URL)    the From address; else `config.email.from`
//   slack    SLACK_BOT_TOKEN                                 xoxb-… bot token: Web API chat.postMessage,
//                                                            one message per `to` (channel id or #name)
//            SLACK_WEBHOOK_URL                               incoming webhook (its channel is fixed; `to`
//                                                            is ignored)
//   teams    TEAMS_WEBHOOK_URL                               incoming webhook / Workflows URL; an Adaptive
//                                                            Card message (`to` is ignored)
//   sms      TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,          Messages API, one message per `to` (E.164);
//            TWILIO_FROM                                     TWILIO_FROM is a number or an MG… Messaging
//                                                            Service SID
//
// When a channel has two kinds of account (Slack) the one at the higher level wins; at the same level the
// bot token. The required names of an account must all come from one level: a user holding only
// TWILIO_AUTH_TOKEN while the org holds the rest is refused (`Notify.IncompleteAccount`) rather than
// mixing the user's token with the org's account. No account at any level and no default →
// `Notify.NoAccount`.
//
// Webhook URLs and SMTP servers from the vault pass the SSRF guard (ssrf.ts) first; the API base URLs
// (Slack, Twilio) and the default SMTP URL are the operator's configuration and are trusted. Redirects
// are refused. Errors are ActivityErrors (`Notify.EmailError`, `Notify.SlackError`, `Notify.TeamsError`,
// `Notify.SmsError`; `Notify.UrlRefused`, `Notify.InvalidRequest`, `Notify.InvalidCredential`):
// retryable for network errors, timeouts, 429 and 5xx (SMTP 4xx), not for other 4xx (SMTP 5xx). They never
// carry a credential: every credential value is masked as `[redacted: NAME]` (functions/core/redaction.ts) in
// whatever a server answered, and webhook URLs (secret paths) are named by host only.
import { createHash } from 'node:crypto';
import { ERROR_CODE } from '../../../translator/error-codes.js';
import { errorMessage } from '../../../translator/util.js';
import { isEmail } from '../identity.js';
import { ActivityError, type Clock, type Notifier, type SecretSource, type Vault } from '../ports.js';
import type { NotifyRequest } from '../protocol.js';
import { secretScrubber } from '../redaction.js';
import { SsrfError, type SsrfGuard } from './ssrf.js';

export const NOTIFY_ERROR = {
  noAccount: ERROR_CODE.notifyNoAccount,
  incompleteAccount: ERROR_CODE.notifyIncompleteAccount,
  invalidCredential: ERROR_CODE.notifyInvalidCredential,
  invalidRequest: ERROR_CODE.notifyInvalidRequest,
  urlRefused: ERROR_CODE.notifyUrlRefused,
  email: ERROR_CODE.notifyEmail,
  slack: ERROR_CODE.notifySlack,
  teams: ERROR_CODE.notifyTeams,
  sms: ERROR_CODE.notifySms,
} as const;

export const CREDENTIALS = {
  email: { url: 'SMTP_URL', from: 'SMTP_FROM' },
  slack: { botToken: 'SLACK_BOT_TOKEN', webhookUrl: 'SLACK_WEBHOOK_URL' },
  teams: { webhookUrl: 'TEAMS_WEBHOOK_URL' },
  sms: { accountSid: 'TWILIO_ACCOUNT_SID', authToken: 'TWILIO_AUTH_TOKEN', from: 'TWILIO_FROM' },
} as const;

export interface NotifyConfig {
  email?: {
    /** The SMTP server used when no level of the vault holds SMTP_URL (locally: the dev inbox). */
    defaultUrl?: string;
    /** From address when the account has no SMTP_FROM (default `stepgate@localhost`). */
    from?: string;
  };
  /** Default https://slack.com/api. */
  slackApiBaseUrl?: string;
  /** Default https://api.twilio.com. */
  twilioApiBaseUrl?: string;
  /** Per HTTP request / SMTP connection phase (default 10 s). */
  timeoutMs?: number;
  /**
   * Local development: a Slack, Teams or SMS message with no account at any level is mailed to the default
   * SMTP server (the development inbox) as `<channel>@dev.stepgate` instead of failing with NoAccount.
   */
  devInboxFallback?: boolean;
}

/** Where development fallback messages are addressed: `slack@dev.stepgate`, `sms@dev.stepgate`, … */
export const DEV_FALLBACK_DOMAIN = 'dev.stepgate';

/** What the notifier hands the SMTP transport factory: parsed by the notifier, never URL query options. */
export interface SmtpOptions {
  host: string;
  port: number;
  secure: boolean;
  auth?: { user: string; pass: string };
  /** The certificate name to check when `host` is the pinned address of a name. */
  tls?: { servername: string };
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
}

export interface SmtpMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
  date: Date;
  headers: Record<string, string>;
}

export interface SmtpTransport {
  sendMail(mail: SmtpMail): Promise<{ messageId?: string; accepted?: unknown[]; rejected?: unknown[] }>;
  close?(): void;
}

export type SmtpTransportFactory = (options: SmtpOptions) => SmtpTransport;

/**
 * The platform's own mail service (Amazon SES on AWS, adapters/aws/ses-mailer.ts): sends an email that no
 * vault level holds SMTP_URL for, in place of the default SMTP server, from `config.email.from`. It gets
 * the same message the SMTP transport would (Message-ID, Date, headers) and throws ActivityErrors.
 */
export interface PlatformMailer {
  sendMail(mail: SmtpMail): Promise<{ messageId?: string }>;
}

export interface ChannelNotifierDeps {
  vault: Vault;
  config: NotifyConfig;
  ssrf: SsrfGuard;
  clock: Pick<Clock, 'now'>;
  fetch?: typeof fetch;
  /** nodemailer's createTransport by default (loaded on first email). */
  smtp?: SmtpTransportFactory;
  /** Sends the emails no vault account is found for (before `config.email.defaultUrl`); none by default. */
  mailer?: PlatformMailer;
}

const DEFAULT_SLACK_API = 'https://slack.com/api';
const DEFAULT_TWILIO_API = 'https://api.twilio.com';
const DEFAULT_FROM = 'stepgate@localhost';
const DEFAULT_TIMEOUT_MS = 10_000;
const E164 = /^\+[1-9]\d{1,14}$/;
const TWILIO_ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const TWILIO_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
/** Slack `ok: false` errors worth retrying; every other one (invalid_auth, channel_not_found, ...) is not. */
const SLACK_TRANSIENT = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

interface Account {
  level: number;
  source: SecretSource | 'config';
  values: Record<string, string>;
}

interface HttpAnswer {
  status: number;
  text: string;
}

export class ChannelNotifier implements Notifier {
  private readonly fetch: typeof fetch;

  constructor(private readonly deps: ChannelNotifierDeps) {
    this.fetch = deps.fetch ?? globalThis.fetch;
  }

  async send(request: NotifyRequest): Promise<{ messageId?: string }> {
    switch (request.channel) {
      case 'email':
        return this.email(request);
      case 'slack':
        return this.slack(request);
      case 'teams':
        return this.teams(request);
      case 'sms':
        return this.sms(request);
      default: {
        const never: never = request.channel;
        throw new ActivityError(NOTIFY_ERROR.invalidRequest, `unknown channel '${String(never)}'`, false);
      }
    }
  }

  // ---- email ---------------------------------------------------------------------------------------

  /** `defaultOnly`: through the configured default server, never an account from the vault. */
  private async email(request: NotifyRequest, defaultOnly = false): Promise<{ messageId?: string }> {
    const names = CREDENTIALS.email;
    const resolved: Resolved = defaultOnly
      ? { values: {}, sources: {} }
      : await this.resolve(request, [names.url, names.from]);
    const stored = defaultOnly ? null : pick(resolved, request, [names.url]);
    const defaultUrl = this.deps.config.email?.defaultUrl;
    const mailer = stored === null && !defaultOnly ? this.deps.mailer : undefined;
    let account: Account | undefined;
    if (stored !== null) account = stored;
    else if (mailer !== undefined) account = undefined;
    else if (defaultUrl !== undefined)
      account = { level: Infinity, source: 'config', values: { [names.url]: defaultUrl } };
    else throw noAccount(request, [[names.url]], 'and no default SMTP server is configured');
    const from =
      stored !== null && resolved.sources[names.from] === stored.source
        ? (resolved.values[names.from] ?? '')
        : (this.deps.config.email?.from ?? DEFAULT_FROM);
    const to = request.to.map((t) => t.trim()).filter((t) => t !== '');
    if (to.length === 0) throw new ActivityError(NOTIFY_ERROR.invalidRequest, 'email: no recipients', false);
    for (const address of to)
      if (!isEmail(address))
        throw new ActivityError(
          NOTIFY_ERROR.invalidRequest,
          `email: '${address}' is not an email address`,
          false,
        );

    const mail: SmtpMail = {
      from,
      to,
      subject: request.subject ?? '',
      text: request.message,
      // Derived from the idempotency key: a redelivered attempt sends the same Message-ID, which lets
      // mail systems drop the duplicate.
      messageId: `<${createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 32)}@stepgate>`,
      date: new Date(this.deps.clock.now()),
      headers: { 'X-Stepgate-Run': request.runId, 'X-Stepgate-Step': request.stepId },
    };
    if (account === undefined) return (mailer as PlatformMailer).sendMail(mail);
    const secrets = Object.entries(account.values);
    const options = await this.smtpOptions(account.values[names.url] ?? '', account.source !== 'config');
    const factory = this.deps.smtp ?? (await nodemailerFactory());
    const transport = factory(options);
    try {
      const info = await transport.sendMail(mail);
      return info.messageId === undefined ? {} : { messageId: info.messageId };
    } catch (error) {
      throw smtpError(error, options, secrets);
    } finally {
      transport.close?.();
    }
  }

  private async smtpOptions(text: string, untrusted: boolean): Promise<SmtpOptions> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ActivityError(
        NOTIFY_ERROR.invalidCredential,
        `${CREDENTIALS.email.url} is not a URL (expected smtp://user:pass@host:587 or smtps://user:pass@host:465)`,
        false,
      );
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw new ActivityError(
        NOTIFY_ERROR.invalidCredential,
        `${CREDENTIALS.email.url} must be an smtp:// or smtps:// URL`,
        false,
      );
    const secure = url.protocol === 'smtps:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const timeout = this.deps.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const options: SmtpOptions = {
      host,
      port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
      secure,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout * 3,
    };
    if (url.username !== '' || url.password !== '')
      options.auth = { user: safeDecode(url.username), pass: safeDecode(url.password) };
    if (untrusted) {
      // Checked, then pinned: nodemailer connects to the approved address (no second DNS answer), and
      // TLS still checks the certificate against the name.
      const bare = new URL(url.href);
      bare.username = '';
      bare.password = '';
      const checked = await this.guard(bare, NOTIFY_ERROR.email, 'SMTP server', ['smtp', 'smtps']);
      const address = checked.addresses[0];
      if (address !== undefined && address !== checked.host) {
        options.host = address;
        options.tls = { servername: checked.host };
      }
    }
    return options;
  }

  // ---- slack ---------------------------------------------------------------------------------------

  private async slack(request: NotifyRequest): Promise<{ messageId?: string }> {
    const { botToken, webhookUrl } = CREDENTIALS.slack;
    const resolved = await this.resolve(request, [botToken, webhookUrl]);
    const bot = pick(resolved, request, [botToken]);
    const hook = pick(resolved, request, [webhookUrl]);
    const text = slackText(request);
    if (bot !== null && (hook === null || bot.level <= hook.level)) {
      const token = bot.values[botToken] ?? '';
      const secrets: Secrets = [[botToken, token]];
      const channels = request.to.map((t) => t.trim()).filter((t) => t !== '');
      if (channels.length === 0)
        throw new ActivityError(
          NOTIFY_ERROR.invalidRequest,
          'slack: no channel in `to` (a channel id like C0123456789, #name or a user id)',
          false,
        );
      const ids: string[] = [];
      const endpoint = `${trimSlash(this.deps.config.slackApiBaseUrl ?? DEFAULT_SLACK_API)}/chat.postMessage`;
      for (const channel of channels) {
        const answer = await this.post(NOTIFY_ERROR.slack, 'Slack chat.postMessage', endpoint, secrets, {
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json; charset=utf-8',
          },
          body: JSON.stringify({ channel, text }),
        });
        let body: { ok?: unknown; error?: unknown; ts?: unknown; channel?: unknown };
        try {
          body = JSON.parse(answer.text) as typeof body;
        } catch {
          throw new ActivityError(
            NOTIFY_ERROR.slack,
            'Slack chat.postMessage answered something not JSON',
            true,
          );
        }
        if (body.ok !== true) {
          const error = typeof body.error === 'string' ? body.error : 'unknown_error';
          throw new ActivityError(
            NOTIFY_ERROR.slack,
            redact(`Slack chat.postMessage to ${channel} failed: ${error}`, secrets),
            SLACK_TRANSIENT.has(error),
          );
        }
        ids.push(`${typeof body.channel === 'string' ? body.channel : channel}/${String(body.ts)}`);
      }
      return { messageId: redact(ids.join(','), secrets) };
    }
    if (hook !== null) {
      const url = hook.values[webhookUrl] ?? '';
      const hookUrl: Secrets = [[webhookUrl, url]];
      const checked = await this.guard(url, NOTIFY_ERROR.slack, 'Slack webhook');
      await this.post(NOTIFY_ERROR.slack, `Slack webhook at ${checked.host}`, checked.url.href, hookUrl, {
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ text }),
      });
      return {};
    }
    if (this.canFallBack()) return this.devInbox(request);
    throw noAccount(request, [[botToken], [webhookUrl]]);
  }

  // ---- development fallback -------------------------------------------------------------------------

  private canFallBack(): boolean {
    return this.deps.config.devInboxFallback === true && this.deps.config.email?.defaultUrl !== undefined;
  }

  /** The message as a mail to the development inbox, naming the channel and its recipients. */
  private devInbox(request: NotifyRequest): Promise<{ messageId?: string }> {
    const to = request.to.map((t) => t.trim()).filter((t) => t !== '');
    const summary = request.subject ?? request.message.split('\n')[0]?.slice(0, 80) ?? '';
    return this.email(
      {
        ...request,
        channel: 'email',
        to: [`${request.channel}@${DEV_FALLBACK_DOMAIN}`],
        subject: `[${request.channel} → ${to.join(', ') || '(webhook channel)'}] ${summary}`,
      },
      true,
    );
  }

  // ---- teams ---------------------------------------------------------------------------------------

  private async teams(request: NotifyRequest): Promise<{ messageId?: string }> {
    const { webhookUrl } = CREDENTIALS.teams;
    const resolved = await this.resolve(request, [webhookUrl]);
    const hook = pick(resolved, request, [webhookUrl]);
    if (hook === null) {
      if (this.canFallBack()) return this.devInbox(request);
      throw noAccount(request, [[webhookUrl]]);
    }
    const url = hook.values[webhookUrl] ?? '';
    const secrets: Secrets = [[webhookUrl, url]];
    const checked = await this.guard(url, NOTIFY_ERROR.teams, 'Teams webhook');
    const answer = await this.post(
      NOTIFY_ERROR.teams,
      `Teams webhook at ${checked.host}`,
      checked.url.href,
      secrets,
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(teamsCard(request)),
      },
    );
    // Legacy Office 365 connectors answer 200 with an error text when Teams refused the post.
    const refused = /returned HTTP error (\d{3})/i.exec(answer.text);
    if (refused !== null) {
      const status = Number(refused[1]);
      throw new ActivityError(
        NOTIFY_ERROR.teams,
        redact(
          `Teams webhook at ${checked.host} refused the message: ${answer.text.trim().slice(0, 200)}`,
          secrets,
        ),
        status === 429 || status >= 500,
      );
    }
    return {};
  }

  // ---- sms -----------------------------------------------------------------------------------------

  private async sms(request: NotifyRequest): Promise<{ messageId?: string }> {
    const { accountSid, authToken, from } = CREDENTIALS.sms;
    const resolved = await this.resolve(request, [accountSid, authToken, from]);
    const account = pick(resolved, request, [accountSid, authToken, from]);
    if (account === null) {
      if (this.canFallBack()) return this.devInbox(request);
      throw noAccount(request, [[accountSid, authToken, from]]);
    }
    const sid = account.values[accountSid] ?? '';
    const token = account.values[authToken] ?? '';
    const sender = (account.values[from] ?? '').trim();
    const secrets: Secrets = [
      [authToken, token],
      [authToken, Buffer.from(`${sid}:${token}`).toString('base64')],
    ];
    if (!TWILIO_ACCOUNT_SID.test(sid))
      throw new ActivityError(
        NOTIFY_ERROR.invalidCredential,
        `${accountSid} is not a Twilio account SID (AC followed by 32 hex digits)`,
        false,
      );
    const service = TWILIO_SERVICE_SID.test(sender);
    if (!service && !E164.test(sender))
      throw new ActivityError(
        NOTIFY_ERROR.invalidCredential,
        `${from} must be an E.164 number (+15551234567) or a Messaging Service SID (MG…)`,
        false,
      );
    const recipients = request.to.map((t) => t.trim()).filter((t) => t !== '');
    if (recipients.length === 0)
      throw new ActivityError(NOTIFY_ERROR.invalidRequest, 'sms: no recipients', false);
    for (const number of recipients)
      if (!E164.test(number))
        throw new ActivityError(
          NOTIFY_ERROR.invalidRequest,
          `sms: '${number}' is not an E.164 phone number (+15551234567)`,
          false,
        );
    const endpoint = `${trimSlash(this.deps.config.twilioApiBaseUrl ?? DEFAULT_TWILIO_API)}/2010-04-01/Accounts/${sid}/Messages.json`;
    const body =
      request.subject === null || request.subject === ''
        ? request.message
        : `${request.subject}\n${request.message}`;
    const ids: string[] = [];
    for (const number of recipients) {
      const form = new URLSearchParams({
        To: number,
        [service ? 'MessagingServiceSid' : 'From']: sender,
        Body: body,
      });
      const answer = await this.post(NOTIFY_ERROR.sms, 'Twilio Messages API', endpoint, secrets, {
        headers: {
          authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
      });
      try {
        const sent = JSON.parse(answer.text) as { sid?: unknown };
        if (typeof sent.sid === 'string') ids.push(sent.sid);
      } catch {
        // A 2xx without a JSON body still sent the message; there is just no id to report.
      }
    }
    return ids.length === 0 ? {} : { messageId: redact(ids.join(','), secrets) };
  }

  // ---- shared --------------------------------------------------------------------------------------

  private async resolve(request: NotifyRequest, names: string[]): Promise<Resolved> {
    const secrets = await this.deps.vault.resolve(request.identity, names);
    return { values: secrets.values, sources: secrets.sources };
  }

  private async guard(url: string | URL, code: string, what: string, schemes?: string[]) {
    try {
      return await this.deps.ssrf.check(url, schemes === undefined ? undefined : { schemes });
    } catch (error) {
      if (error instanceof SsrfError)
        throw new ActivityError(
          error.retryable ? code : NOTIFY_ERROR.urlRefused,
          `${what}: ${error.message}`,
          error.retryable,
        );
      throw error;
    }
  }

  /** POSTs without following redirects; maps every failure to an ActivityError with `secrets` redacted. */
  private async post(
    code: string,
    what: string,
    url: string,
    secrets: Secrets,
    init: { headers: Record<string, string>; body: string },
  ): Promise<HttpAnswer> {
    const timeoutMs = this.deps.config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: init.headers,
        body: init.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const reason =
        (error as { name?: string }).name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : `network error (${networkCause(error)})`;
      throw new ActivityError(code, redact(`${what}: ${reason}`, secrets), true);
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, text };
    if (response.status >= 300 && response.status < 400)
      throw new ActivityError(
        code,
        `${what} answered a redirect (HTTP ${response.status}), not followed`,
        false,
      );
    const retryable = response.status === 429 || response.status === 408 || response.status >= 500;
    const detail = text.trim().slice(0, 300);
    throw new ActivityError(
      code,
      redact(`${what} answered HTTP ${response.status}${detail === '' ? '' : `: ${detail}`}`, secrets),
      retryable,
    );
  }
}

interface Resolved {
  values: Record<string, string>;
  sources: Record<string, SecretSource>;
}

/**
 * The account made of `names` when the cascade holds all of them at one level; null when it holds none;
 * `Notify.IncompleteAccount` when it holds some, or holds them at different levels.
 */
function pick(resolved: Resolved, request: NotifyRequest, names: readonly string[]): Account | null {
  const present = names.filter((n) => resolved.sources[n] !== undefined);
  if (present.length === 0) return null;
  const sources = new Set(present.map((n) => resolved.sources[n]));
  if (present.length < names.length || sources.size > 1) {
    const held = present.map((n) => `${n} from ${describeSource(resolved.sources[n], request)}`).join(', ');
    const missing = names.filter((n) => !present.includes(n));
    throw new ActivityError(
      NOTIFY_ERROR.incompleteAccount,
      `${request.channel}: an account needs ${names.join(', ')} at one level (user, group or org); found ${held}${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}`,
      false,
    );
  }
  const source = resolved.sources[present[0] ?? ''] as SecretSource;
  const values: Record<string, string> = {};
  for (const n of names) values[n] = resolved.values[n] ?? '';
  return { level: levelOf(source, request.identity.groups), source, values };
}

function levelOf(source: SecretSource, groups: string[]): number {
  if (source === 'user') return 0;
  if (source === 'org') return 1_000_000;
  const index = groups.indexOf(source.slice('group:'.length));
  return 1 + (index < 0 ? groups.length : index);
}

function describeSource(source: SecretSource | undefined, request: NotifyRequest): string {
  if (source === 'user') return `user:${request.identity.email}`;
  return source ?? 'nowhere';
}

function noAccount(request: NotifyRequest, accounts: string[][], extra?: string): ActivityError {
  const groups = request.identity.groups.map((g) => `group:${g}`).join(', ') || 'no groups';
  const options = accounts.map((names) => names.join(' + ')).join(' or ');
  return new ActivityError(
    NOTIFY_ERROR.noAccount,
    `no ${request.channel} account: set ${options} in the vault for user:${request.identity.email}, ${groups} or org${extra === undefined ? '' : ` ${extra}`}`,
    false,
  );
}

/** The message as Slack mrkdwn: `&`, `<`, `>` escaped, so workflow data cannot @channel or forge links. */
export function slackText(request: Pick<NotifyRequest, 'subject' | 'message'>): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const subject = request.subject === null || request.subject.trim() === '' ? null : request.subject;
  return subject === null ? esc(request.message) : `*${esc(subject)}*\n${esc(request.message)}`;
}

/** The Teams message: one Adaptive Card 1.4 with the subject (bold) and the message as text blocks. */
export function teamsCard(request: Pick<NotifyRequest, 'subject' | 'message'>): Record<string, unknown> {
  const body: Record<string, unknown>[] = [];
  if (request.subject !== null && request.subject.trim() !== '')
    body.push({ type: 'TextBlock', text: request.subject, weight: 'Bolder', size: 'Medium', wrap: true });
  body.push({ type: 'TextBlock', text: request.message, wrap: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
        },
      },
    ],
  };
}

function smtpError(error: unknown, options: SmtpOptions, secrets: Secrets): ActivityError {
  const e = error as { code?: unknown; responseCode?: unknown; message?: unknown } | null;
  const responseCode = typeof e?.responseCode === 'number' ? e.responseCode : null;
  const code = typeof e?.code === 'string' ? e.code : null;
  // SMTP 4xx is "try again later", 5xx is final; no reply at all (connection, TLS, timeout) is transient;
  // a refused login or envelope is not.
  const retryable =
    responseCode !== null
      ? responseCode < 500
      : code === null || !['EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETLS_CERT'].includes(code);
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const target = options.tls?.servername ?? options.host;
  const all: Secrets = [
    ...secrets,
    [CREDENTIALS.email.url, options.auth?.pass ?? ''],
    [CREDENTIALS.email.url, options.auth?.user ?? ''],
  ];
  return new ActivityError(
    NOTIFY_ERROR.email,
    redact(`SMTP ${target}:${options.port} did not take the message: ${message}`, all),
    retryable,
  );
}

async function nodemailerFactory(): Promise<SmtpTransportFactory> {
  const nodemailer = (await import('nodemailer')).default;
  return (options) => nodemailer.createTransport(options) as unknown as SmtpTransport;
}

/** Credential name → value pairs of one account (a name may carry several derived values). */
type Secrets = Array<readonly [string, string]>;

/** `text` with every form of each secret (see redaction.ts) replaced by `[redacted: NAME]`. */
function redact(text: string, secrets: Secrets): string {
  return secretScrubber(secrets).text(text);
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return errorMessage(error);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
