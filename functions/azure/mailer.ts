// The email part of the Azure app's ChannelNotifier, chosen by STEPGATE_EMAIL_TRANSPORT: `acs` sends every
// email no vault level holds SMTP_URL for through Azure Communication Services Email with the app's managed
// identity (adapters/azure/acs-mailer.ts, the notifier's PlatformMailer, as SES is on AWS); `smtp` makes the
// deployment's relay the notifier's default SMTP server (its smtp:// URL, password included, comes from
// the Key Vault secret STEPGATE_SMTP_RELAY_SECRET names, read by the caller), the notifier's own SMTP path
// as on GCP. Either way a vault SMTP_URL of the sender's own wins, as it does locally, and mail comes from
// STEPGATE_EMAIL_FROM.
//
//   const email = azureEmail(config, { credential, relayUrl });
//   new ChannelNotifier({ vault, ssrf, clock, config: { email: email.email }, ...email.deps });

import type { EmailClientOptions } from '@azure/communication-email';
import type { TokenCredential } from '@azure/core-auth';
import { AcsMailer } from '../../adapters/azure/acs-mailer.js';
import type { ChannelNotifierDeps, NotifyConfig } from '../core/notify/notifier.js';
import { type AzureConfig, ENV } from './config.js';

export interface AzureEmailSeams {
  /** The app's managed identity: ACS's token. */
  credential: TokenCredential;
  /** The relay's smtp:// URL (the STEPGATE_SMTP_RELAY_SECRET secret's value), with the smtp transport. */
  relayUrl?: string;
  /** ACS's client pipeline options (a test's trusted CA and retries). */
  acsClientOptions?: EmailClientOptions;
}

export interface AzureEmail {
  /** The notifier's `config.email`: the From address and, with the relay, the default SMTP server. */
  email: NonNullable<NotifyConfig['email']>;
  /** Spread into the notifier's deps: the ACS mailer, or nothing with the relay. */
  deps: Pick<ChannelNotifierDeps, 'mailer'>;
}

/** The notifier's email settings for the configured transport; an error names a missing setting. */
export function azureEmail(
  config: Pick<AzureConfig, 'emailTransport' | 'acsEndpoint' | 'emailFrom'>,
  seams: AzureEmailSeams,
): AzureEmail {
  const from = config.emailFrom;
  if (config.emailTransport === 'smtp') {
    if (seams.relayUrl === undefined || seams.relayUrl.trim() === '')
      throw new Error(
        `${ENV.emailTransport} is smtp but the relay's URL is empty: set the Key Vault secret ${ENV.smtpRelaySecret} names to smtp://user:pass@host:587`,
      );
    return { email: { from, defaultUrl: seams.relayUrl }, deps: {} };
  }
  if (config.acsEndpoint === undefined)
    throw new Error(`${ENV.acsEndpoint} is not set (${ENV.emailTransport} is acs)`);
  const mailer = new AcsMailer({
    endpoint: config.acsEndpoint,
    credential: seams.credential,
    ...(seams.acsClientOptions === undefined ? {} : { clientOptions: seams.acsClientOptions }),
  });
  return { email: { from }, deps: { mailer } };
}
