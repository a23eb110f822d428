// Email through Amazon SES v2 (SendEmail with raw content) for the ChannelNotifier on AWS: the notifier's
// PlatformMailer (functions/core/notify/notifier.ts), used for every email no vault level holds SMTP_URL
// for, in place of the local default SMTP server. The message is composed by nodemailer's own SES
// transport, the same MIME builder as the SMTP path, so From, To, Subject, the body's encoding, Date,
// Message-ID and the X-Stepgate-* headers are the ones an SMTP recipient would see. (Real SES replaces a
// given Message-ID with its own — documented in "Amazon SES header fields" — so on AWS the idempotency
// Message-ID does not reach recipients; the ID `send` returns is the one SES gave the message.)
//
// SES's refusals become the notifier's ActivityErrors (`Notify.EmailError`): throttling, sending quotas,
// 5xx and no answer at all are retryable; MessageRejected (an unverified sender or recipient in the
// sandbox), an unverified MAIL FROM domain, a suspended or paused account and other 4xx are not. The
// message names the sender and recipients and SES's reason, never a credential (the client's come from the
// Lambda role and SES never echoes them).
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { NOTIFY_ERROR, type PlatformMailer, type SmtpMail } from '../../functions/core/notify/notifier.js';
import { ActivityError } from '../../functions/core/ports.js';

export interface SesMailerOptions {
  /** The SES v2 client (region and credentials of the Lambda; an endpoint in tests). */
  client: SESv2Client;
  /** The configuration set every message is sent with (event publishing, suppression), if any. */
  configurationSetName?: string;
}

/** SES errors that mean "later": request rate or sending quota exceeded. */
const RETRYABLE = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'LimitExceededException',
]);

/** The longest part of SES's own message quoted in an error. */
const MAX_REASON = 300;

export class SesMailer implements PlatformMailer {
  private readonly transport;

  constructor(private readonly options: SesMailerOptions) {
    this.transport = nodemailer.createTransport({ SES: { sesClient: options.client, SendEmailCommand } });
  }

  async sendMail(mail: SmtpMail): Promise<{ messageId?: string }> {
    const set = this.options.configurationSetName;
    try {
      const info = await this.transport.sendMail({
        ...mail,
        ...(set === undefined ? {} : { ses: { ConfigurationSetName: set } }),
      });
      return { messageId: info.messageId };
    } catch (error) {
      throw sesError(error, mail);
    }
  }
}

/** The ActivityError for SES's refusal of `mail` (see the header for what is retryable). */
export function sesError(error: unknown, mail: Pick<SmtpMail, 'from' | 'to'>): ActivityError {
  const e = error as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  // No HTTP status: the request never got an answer (network, timeout), so trying again may work.
  const retryable = RETRYABLE.has(name) || status === undefined || status >= 500;
  const reason = (typeof e?.message === 'string' ? e.message : String(error)).slice(0, MAX_REASON);
  const unverified = name === 'MessageRejected' && /not verified|authority to send/i.test(reason);
  const what = unverified
    ? `SES refused the message from ${mail.from} to ${mail.to.join(', ')}: the sender (or, in the SES sandbox, a recipient) is not a verified identity`
    : `SES did not take the message from ${mail.from} to ${mail.to.join(', ')}`;
  return new ActivityError(NOTIFY_ERROR.email, `${what} (${name}: ${reason})`, retryable);
}
