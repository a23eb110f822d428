// Email on Google Cloud goes through an SMTP relay with nothing GCP-specific written for it: the relay's URL
// (its password in it) is a Secret Manager secret read as text (adapters/gcp/platform-secrets.ts), and the
// core's ChannelNotifier takes it as its default SMTP server (`config.email.defaultUrl`), as the local
// server does with its dev inbox. Checked here end to end: the URL from the recording Secret Manager fake,
// then a real SMTP conversation, with authentication, with an smtp-server (the dev inbox); the relay's
// password is in no answer and no error.
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgetPlatformSecrets, platformSecretText } from '../../adapters/gcp/platform-secrets.js';
import { openDatabase } from '../../adapters/local/database.js';
import { type SmtpInbox, startSmtpInbox } from '../../adapters/local/smtp-inbox.js';
import { ChannelNotifier } from '../../functions/core/notify/notifier.js';
import { createSsrfGuard } from '../../functions/core/notify/ssrf.js';
import { deadPort, failure, memoryVault, request } from '../notify/helpers.js';
import { type GoogleFake, startGoogleFake } from '../support/google-fake.js';

process.env.METADATA_SERVER_DETECTION = 'none';

const RELAY_SECRET = 'projects/acme/secrets/stepgate-smtp-relay';
const PASSWORD = 'relay-PASSWORD-9f2c';
const clock = { now: () => Date.UTC(2026, 0, 5, 9, 0, 0) };

let relayUrl = '';
let fake: GoogleFake | undefined;
let client: SecretManagerServiceClient;
let inbox: SmtpInbox | undefined;

beforeAll(async () => {
  inbox = await startSmtpInbox({ db: openDatabase(':memory:'), now: clock.now });
  fake = await startGoogleFake([
    `GET /v1/${RELAY_SECRET}/versions/latest:access`,
    () => ({
      body: {
        name: `${RELAY_SECRET}/versions/1`,
        payload: { data: Buffer.from(`${relayUrl}\n`).toString('base64') },
      },
    }),
  ]);
  const options = fake.gaxOptions();
  client = new SecretManagerServiceClient(
    options as unknown as ConstructorParameters<typeof SecretManagerServiceClient>[0],
  );
});
afterAll(async () => {
  await client?.close();
  await fake?.close();
  await inbox?.close();
});

async function relayNotifier(url: string): Promise<ChannelNotifier> {
  relayUrl = url;
  forgetPlatformSecrets();
  const defaultUrl = await platformSecretText(client, RELAY_SECRET, 'the SMTP relay URL');
  return new ChannelNotifier({
    vault: memoryVault().vault,
    config: { email: { defaultUrl, from: 'stepgate@acme.test' } },
    clock,
    ssrf: createSsrfGuard(),
  });
}

describe('email through the SMTP relay named in Secret Manager', () => {
  it('authenticates at the relay and delivers, the password in no answer', async () => {
    const box = inbox as SmtpInbox;
    const notifier = await relayNotifier(`smtp://stepgate-relay:${PASSWORD}@127.0.0.1:${box.port}`);
    const sent = await notifier.send(request({ to: ['alice@example.com'], subject: 'Paid' }));
    expect(box.list()[0]).toMatchObject({
      authUser: 'stepgate-relay',
      mailFrom: 'stepgate@acme.test',
      rcptTo: ['alice@example.com'],
      subject: 'Paid',
    });
    expect(JSON.stringify(sent)).not.toContain(PASSWORD);
    expect(box.get(box.list()[0]?.id ?? '')?.raw).not.toContain(PASSWORD);
  });

  it('reports a relay that is not there without its password', async () => {
    const notifier = await relayNotifier(`smtp://stepgate-relay:${PASSWORD}@127.0.0.1:${await deadPort()}`);
    const error = await failure(notifier.send(request()));
    expect(error.code).toBe('Notify.EmailError');
    expect(JSON.stringify({ message: error.message, details: error })).not.toContain(PASSWORD);
  });
});
