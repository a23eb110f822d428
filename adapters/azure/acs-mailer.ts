// Email through Azure Communication Services Email (@azure/communication-email) for the ChannelNotifier on
// Azure: the notifier's PlatformMailer (functions/core/notify/notifier.ts), used for every email no vault
// level holds SMTP_URL for, as SES is on AWS (adapters/aws/ses-mailer.ts). The app reaches ACS with its
// managed identity (a TokenCredential: a Microsoft Entra token for https://communication.azure.com).
//
// The message is the one the notifier composes: From (a MailFrom address of a domain linked to the ACS
// resource), To, Subject, the plain-text body (the notifier writes no HTML), and as ACS custom headers the
// X-Stepgate-Run/-Step headers and the Message-ID (ACS keeps a customer's valid Message-ID, so recipients'
// mail systems can drop a duplicate as they do for the SMTP path). Engagement tracking is off: ACS would
// otherwise rewrite links (approval links among them) through its tracker.
//
// Idempotency: a send is a long-running operation whose id the client may choose (the `Operation-Id`
// header). It is derived from the Message-ID, itself derived from the step's idempotency key, so a
// redelivered attempt names the same operation. The JS client sends no Repeatability-* headers (ACS's other
// scheme, which only remembers a request for 5 minutes), and this mailer adds none.
//
// `beginSend` answers 202 once ACS has queued the message; the mailer then polls the operation (the
// `Operation-Location` ACS answers, at the pace of its `retry-after`) until it is Succeeded or Failed, for
// at most `settleMs`. Still running then, the message is queued at ACS and counts as sent: sending it again
// could deliver it twice. ACS's refusals become the notifier's ActivityErrors (`Notify.EmailError`): 429,
// 408, 5xx and no answer at all are retryable (after the client's own retries, which honour retry-after);
// other 4xx (an unlinked sender domain, a malformed address, a denied identity) and a Failed operation are
// not. The message names the sender, the recipients and ACS's code and reason, never a token (ACS never
// echoes one; the client redacts the Authorization header from what it logs).
import { createHash } from 'node:crypto';
import { EmailClient, type EmailClientOptions, type EmailMessage } from '@azure/communication-email';
import type { TokenCredential } from '@azure/core-auth';
import { NOTIFY_ERROR, type PlatformMailer, type SmtpMail } from '../../functions/core/notify/notifier.js';
import { ActivityError } from '../../functions/core/ports.js';

export interface AcsMailerOptions {
  /** The ACS resource: `https://<resource>.communication.azure.com`. */
  endpoint: string;
  /** The app's managed identity (DefaultAzureCredential / ManagedIdentityCredential). */
  credential: TokenCredential;
  /**
   * The client's pipeline options (retries, a proxy, a test's trusted CA for a loopback fake). ACS takes a
   * bearer token over https only; the client refuses to send one over http.
   */
  clientOptions?: EmailClientOptions;
  /** How long to follow the send operation before counting a queued message as sent (default 30 s). */
  settleMs?: number;
}

const DEFAULT_SETTLE_MS = 30_000;
/** The longest part of ACS's own message quoted in an error. */
const MAX_REASON = 300;

export class AcsMailer implements PlatformMailer {
  private readonly client: EmailClient;
  private readonly settleMs: number;

  constructor(options: AcsMailerOptions) {
    let url: URL | undefined;
    try {
      url = new URL(options.endpoint);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:')
      throw new Error(
        `endpoint must be the https URL of the Communication Services resource (https://<resource>.communication.azure.com), got '${options.endpoint}'`,
      );
    this.client = new EmailClient(options.endpoint, options.credential, options.clientOptions ?? {});
    this.settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  }

  async sendMail(mail: SmtpMail): Promise<{ messageId?: string }> {
    const operationId = operationIdFor(mail.messageId);
    let poller: Awaited<ReturnType<EmailClient['beginSend']>>;
    try {
      poller = await this.client.beginSend(acsMessage(mail), { operationId });
    } catch (error) {
      throw acsError(error, mail);
    }
    try {
      const result = await poller.pollUntilDone({ abortSignal: AbortSignal.timeout(this.settleMs) });
      return { messageId: result.id };
    } catch (error) {
      const state = poller.getOperationState();
      if (state.status === 'failed') throw failedError(state.error, mail);
      // Queued at ACS and not finished yet: sent, as far as a retry could tell (see the header).
      if (isAbort(error)) return { messageId: operationId };
      throw acsError(error, mail);
    }
  }
}

/** The ACS request body for the notifier's message. */
export function acsMessage(mail: SmtpMail): EmailMessage {
  return {
    senderAddress: mail.from,
    content: { subject: mail.subject, plainText: mail.text },
    recipients: { to: mail.to.map((address) => ({ address })) },
    headers: { 'Message-ID': mail.messageId, ...mail.headers },
    disableUserEngagementTracking: true,
  };
}

/**
 * The send operation's id for a Message-ID: a UUID (ACS's `Operation-Id` must be one) made of the
 * Message-ID's SHA-256, version 8 (RFC 9562: application-defined), so the same message always names the
 * same operation.
 */
export function operationIdFor(messageId: string): string {
  const bytes = createHash('sha256').update(messageId, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The ActivityError for ACS's refusal of `mail`, or for no answer at all (see the header). */
export function acsError(error: unknown, mail: Pick<SmtpMail, 'from' | 'to'>): ActivityError {
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown; name?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  // No HTTP status: the request never got an answer (network, timeout), so trying again may work.
  const retryable = status === undefined || status === 429 || status === 408 || status >= 500;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
  const reason = (typeof e?.message === 'string' ? e.message : String(error)).trim().slice(0, MAX_REASON);
  const what =
    status === undefined
      ? `Communication Services did not answer for the message from ${mail.from} to ${mail.to.join(', ')}`
      : `Communication Services refused the message from ${mail.from} to ${mail.to.join(', ')} (HTTP ${status})`;
  return new ActivityError(NOTIFY_ERROR.email, `${what}: ${code}: ${reason}`, retryable);
}

/** A send operation ACS reports as Failed: final, the same operation id would fail the same way. */
function failedError(error: unknown, mail: Pick<SmtpMail, 'from' | 'to'>): ActivityError {
  // The poller's message: "The long-running operation has failed. <code>. <message>".
  const text = error instanceof Error ? error.message : 'no reason given';
  const reason = text.replace(/^The long-running operation has failed\.?\s*/, '').slice(0, MAX_REASON);
  return new ActivityError(
    NOTIFY_ERROR.email,
    `Communication Services could not send the message from ${mail.from} to ${mail.to.join(', ')}: ${reason || 'no reason given'}`,
    false,
  );
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}
