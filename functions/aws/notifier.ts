// The notifier of the AWS deployment: the same ChannelNotifier as locally (email, Slack, Teams, SMS with
// each account's credentials from the vault cascade). Email goes through SES v2 from STEPGATE_EMAIL_FROM
// (adapters/aws/ses-mailer.ts: the same MIME as the SMTP path), unless the vault names an SMTP_URL of the
// sender's own, which wins as it does locally.
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesMailer } from '../../adapters/aws/ses-mailer.js';
import { ChannelNotifier, type SmtpTransportFactory } from '../core/notify/notifier.js';
import { createSsrfGuard } from '../core/notify/ssrf.js';
import { required } from './config.js';
import type { AwsPorts } from './ports.js';

export function channelNotifier(
  ports: AwsPorts,
  options: { smtp?: SmtpTransportFactory } = {},
): ChannelNotifier {
  return new ChannelNotifier({
    vault: ports.vault(),
    config: { email: { from: required(ports.config, 'emailFrom') } },
    ssrf: createSsrfGuard(),
    clock: ports.clock,
    mailer: new SesMailer({ client: new SESv2Client(ports.clients) }),
    ...(options.smtp === undefined ? {} : { smtp: options.smtp }),
  });
}
