// The approval-link signing key from Secrets Manager on moto_server (test/support/moto.ts: missing, the
// test fails): read by ARN as hex, base64 or 32 raw bytes; anything else, or a secret that cannot be read,
// refused naming the secret and never showing its value; read once per container (cached by ARN), a failed
// read not cached.
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvalLinkKey, forgetPlatformSecrets } from '../../adapters/aws/platform-secrets.js';
import { MOTO_CLIENT, type Moto, startMoto } from '../support/moto.js';

let moto: Moto | undefined;
let client: SecretsManagerClient;
beforeAll(async () => {
  moto = await startMoto();
  client = new SecretsManagerClient({ ...MOTO_CLIENT, endpoint: moto.endpoint, maxAttempts: 1 });
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await moto?.stop();
});
afterEach(() => forgetPlatformSecrets());

let secrets = 0;

/** A new secret holding `value`; its ARN. */
async function secret(value: string | Uint8Array): Promise<string> {
  const answer = await client.send(
    new CreateSecretCommand({
      Name: `stepgate/link-key-${++secrets}`,
      ...(typeof value === 'string' ? { SecretString: value } : { SecretBinary: value }),
    }),
  );
  if (answer.ARN === undefined) throw new Error('CreateSecret answered no ARN');
  return answer.ARN;
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('approvalLinkKey', () => {
  const key = randomBytes(32);

  it.each([
    ['base64', key.toString('base64')],
    ['hex', key.toString('hex')],
    ['base64 with a trailing newline', `${key.toString('base64')}\n`],
  ])('reads a %s key by ARN', async (_, text) => {
    const arn = await secret(text);
    expect(Buffer.from(await approvalLinkKey(client, arn))).toEqual(key);
  });

  it('reads a 32-byte binary secret', async () => {
    const arn = await secret(new Uint8Array(key));
    expect(Buffer.from(await approvalLinkKey(client, arn))).toEqual(key);
  });

  it.each([
    ['a 16-byte key', randomBytes(16).toString('base64')],
    ['a password', 'correct horse battery staple'],
    ['a 33-byte hex key', randomBytes(33).toString('hex')],
  ])('refuses %s, naming the secret and not its value', async (_, text) => {
    const arn = await secret(text);
    const error = await refusal(approvalLinkKey(client, arn));
    expect(error.message).toContain(arn);
    expect(error.message).toContain('32-byte key');
    expect(error.message).not.toContain(text.slice(0, 12));
  });

  it('refuses a binary secret of another length', async () => {
    const arn = await secret(new Uint8Array(31));
    expect((await refusal(approvalLinkKey(client, arn))).message).toBe(
      `the approval-link key secret ${arn} holds 31 binary bytes; the key is 32`,
    );
  });

  it('reads once per container: a changed secret is seen only after the cache is forgotten', async () => {
    const arn = await secret(key.toString('base64'));
    expect(Buffer.from(await approvalLinkKey(client, arn))).toEqual(key);
    const rotated = randomBytes(32);
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: rotated.toString('hex') }));
    expect(Buffer.from(await approvalLinkKey(client, arn))).toEqual(key);
    forgetPlatformSecrets();
    expect(Buffer.from(await approvalLinkKey(client, arn))).toEqual(rotated);
  });

  it('names a secret it cannot read, and tries again next time', async () => {
    const name = `stepgate/created-later-${++secrets}`;
    const error = await refusal(approvalLinkKey(client, name));
    expect(error.message).toBe(
      `the approval-link key secret ${name} could not be read (ResourceNotFoundException)`,
    );
    await client.send(new CreateSecretCommand({ Name: name, SecretString: key.toString('hex') }));
    expect(Buffer.from(await approvalLinkKey(client, name))).toEqual(key);
  });
});
