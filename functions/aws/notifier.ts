// The notifier of the AWS deployment: the same ChannelNotifier as locally (email, Slack, Teams, SMS with
// each account's credentials from the vault cascade), sending email through the vault's SMTP_URL (SES's
// SMTP interface works) from STEPGATE_EMAIL_FROM. An SES v2 transport, once written, comes in as `smtp`.
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
    ...(options.smtp === undefined ? {} : { smtp: options.smtp }),
  });
}
