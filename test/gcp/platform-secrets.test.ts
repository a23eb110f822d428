// The platform secrets from Secret Manager (adapters/gcp/platform-secrets.ts), Secret Manager played by the
// recording fake (test/support/google-fake.ts) answering the client library's own REST request,
// `GET /v1/<secret>/versions/latest:access`, from versions the test adds (with the CRC32C Secret Manager
// sends). The key read as 32 raw bytes, hex or base64; anything else, a damaged payload or a secret that
// cannot be read refused naming the secret and never showing its value; read once per instance (cached by
// name), a failed read not cached.
import { randomBytes } from 'node:crypto';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../adapters/gcp/crc32c.js';
import {
  forgetPlatformSecrets,
  platformKeys,
  platformSecret,
  platformSecretText,
} from '../../adapters/gcp/platform-secrets.js';
import { approvalKeys, chatConfirmKey } from '../../functions/core/platform-keys.js';
import { FAKE_TOKEN, type GoogleFake, startGoogleFake } from '../support/google-fake.js';

process.env.METADATA_SERVER_DETECTION = 'none';

/** Versions by secret resource name, latest last. */
const versions = new Map<string, Buffer[]>();
/** When set, the next access answers a payload whose bytes differ from its checksum. */
let damage = false;
let fake: GoogleFake | undefined;
let client: SecretManagerServiceClient;

beforeAll(async () => {
  fake = await startGoogleFake([
    'GET /v1/projects/:project/secrets/:secret/versions/latest:access',
    (_, { project, secret }) => {
      const name = `projects/${project}/secrets/${secret}`;
      const all = versions.get(name);
      const data = all?.at(-1);
      if (all === undefined || data === undefined)
        return {
          status: 404,
          body: { error: { code: 404, message: `Secret [${name}] not found`, status: 'NOT_FOUND' } },
        };
      const sent = damage ? Buffer.concat([data, Buffer.from('!')]) : data;
      damage = false;
      return {
        body: {
          name: `${name}/versions/${all.length}`,
          payload: { data: sent.toString('base64'), dataCrc32c: String(crc32c(data)) },
        },
      };
    },
  ]);
  const options = fake.gaxOptions();
  // The library bundles its own google-auth-library: the same client at run time, another type by name.
  client = new SecretManagerServiceClient(
    options as unknown as ConstructorParameters<typeof SecretManagerServiceClient>[0],
  );
});
afterAll(async () => {
  await client?.close();
  await fake?.close();
});
afterEach(() => forgetPlatformSecrets());

let secrets = 0;

/** A new secret whose latest version holds `value`; its resource name. */
function secret(value: string | Buffer): string {
  const name = `projects/acme/secrets/stepgate-platform-${++secrets}`;
  versions.set(name, [Buffer.from(value)]);
  return name;
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('the platform secret', () => {
  const key = randomBytes(32);

  it('is read from the latest version, exactly as the client sends it', async () => {
    const name = secret(key);
    const seen = (fake as GoogleFake).requests.length;
    expect(Buffer.from(await platformSecret(client, name))).toEqual(key);
    const sent = (fake as GoogleFake).requests.slice(seen);
    expect(sent.map((r) => [r.method, r.path, r.body])).toEqual([
      ['GET', `/v1/${name}/versions/latest:access`, undefined],
    ]);
    expect(sent[0]?.headers.authorization).toBe(`Bearer ${FAKE_TOKEN}`);
  });

  it.each([
    ['hex', key.toString('hex')],
    ['base64', key.toString('base64')],
    ['base64 with a trailing newline', `${key.toString('base64')}\n`],
  ])('reads a key written as %s', async (_, text) => {
    expect(Buffer.from(await platformSecret(client, secret(text)))).toEqual(key);
  });

  it.each([
    ['a 16-byte key', randomBytes(16).toString('base64')],
    ['a password', 'correct horse battery staple'],
    ['a 33-byte hex key', randomBytes(33).toString('hex')],
  ])('refuses %s, naming the secret and not its value', async (_, text) => {
    const name = secret(text);
    const error = await refusal(platformSecret(client, name));
    expect(error.message).toContain(name);
    expect(error.message).toContain('32-byte key');
    expect(error.message).not.toContain(text.slice(0, 12));
  });

  it('derives the approval keys and chat’s key as every host does', async () => {
    const keys = await platformKeys(client, secret(key));
    expect(keys).toEqual({ ...approvalKeys(key), chatKey: chatConfirmKey(key) });
    expect(Buffer.from(keys.linkSecret)).not.toEqual(key);
  });

  it('reads once per instance: a new version is seen only after the cache is forgotten', async () => {
    const name = secret(key);
    expect(Buffer.from(await platformSecret(client, name))).toEqual(key);
    const rotated = randomBytes(32);
    versions.get(name)?.push(rotated);
    const seen = (fake as GoogleFake).requests.length;
    expect(Buffer.from(await platformSecret(client, name))).toEqual(key);
    expect((fake as GoogleFake).requests.length).toBe(seen);
    forgetPlatformSecrets();
    expect(Buffer.from(await platformSecret(client, name))).toEqual(rotated);
  });

  it('names a secret it cannot read, and tries again next time', async () => {
    const name = 'projects/acme/secrets/created-later';
    expect((await refusal(platformSecret(client, name))).message).toBe(
      `the platform key secret ${name} could not be read (NOT_FOUND)`,
    );
    versions.set(name, [key]);
    expect(Buffer.from(await platformSecret(client, name))).toEqual(key);
  });

  it('refuses a payload that does not match the CRC32C Secret Manager sent, without its value', async () => {
    const name = secret(key.toString('hex'));
    damage = true;
    const error = await refusal(platformSecret(client, name));
    expect(error.message).toBe(
      `the platform key secret ${name} arrived damaged: its CRC32C is not the one Secret Manager sent`,
    );
    expect(Buffer.from(await platformSecret(client, name))).toEqual(key);
  });

  it('refuses a name that is not a secret’s resource name, asking nothing', async () => {
    const seen = (fake as GoogleFake).requests.length;
    for (const name of ['stepgate-link-key', 'projects/acme/secrets/k/versions/3', 'projects/acme/secrets/'])
      expect((await refusal(platformSecret(client, name))).message).toBe(
        `the platform key secret ${name}: the secret must be named projects/<project>/secrets/<secret>`,
      );
    expect((fake as GoogleFake).requests.length).toBe(seen);
  });
});

describe('platform secrets kept as text', () => {
  it('reads the value without a trailing newline, and refuses an empty one without showing values', async () => {
    const url = 'smtps://relay:s3cret-PASSWORD@smtp.example.com:465';
    expect(await platformSecretText(client, secret(`${url}\n`), 'the SMTP relay URL')).toBe(url);
    const blank = secret('\n');
    expect((await refusal(platformSecretText(client, blank, 'the SMTP relay URL'))).message).toBe(
      `the SMTP relay URL (secret ${blank}) is empty`,
    );
    const missing = 'projects/acme/secrets/no-relay';
    const error = await refusal(platformSecretText(client, missing, 'the SMTP relay URL'));
    expect(error.message).toBe(`the SMTP relay URL (secret ${missing}) could not be read (NOT_FOUND)`);
  });
});

describe('crc32c', () => {
  it('is the Castagnoli checksum (RFC 3720 check value)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});
