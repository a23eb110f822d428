// The platform's own secrets on Google Cloud, in Secret Manager: the one 32-byte platform secret that the
// approval-link signing key, the callback-sealing key and chat's confirmation key are derived from
// (functions/core/platform-keys.ts, as the AWS deployment derives them from its Secrets Manager secret and
// the local server from its master key), and any other platform value kept as text (the SMTP relay's URL,
// which holds its password). A secret is named by its resource name, `projects/<project>/secrets/<secret>`,
// and read at `…/versions/latest` (accessSecretVersion), so a new version reaches new instances.
//
// The key is the payload as it is when it is 32 bytes, else its text written as 64 hex digits or 44 base64
// characters (as the local master key is written); anything else is refused, naming the secret and what
// was wrong — never the value. When Secret Manager sends the payload's CRC32C, a payload that does not match
// it is refused (damaged on the way). Each value is read once per instance and cached by resource name, so a
// warm request makes no call; a failed read is not cached, the next one tries again.
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { type ApprovalKeys, approvalKeys, chatConfirmKey } from '../../functions/core/platform-keys.js';
import { parseMasterKey } from '../local/vault.js';
import { crc32c } from './crc32c.js';

const KEY_BYTES = 32;
const SECRET_NAME = /^projects\/[^/]+\/secrets\/[^/]+$/;
/** gRPC status names by code (statusName). */
const STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The gRPC status names of the HTTP statuses Google's REST APIs answer (google.rpc.Code's mapping). */
const HTTP_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The keys the platform secret derives: the approval keys and chat's confirmation key. */
export type GcpPlatformKeys = ApprovalKeys & { chatKey: Uint8Array };

/** Payload reads in this instance, by secret resource name. */
const cache = new Map<string, Promise<Uint8Array>>();

/**
 * The platform secret held by `secret` (see the header), cached per instance. Throws an Error naming the
 * secret when it cannot be read or is not a 32-byte key.
 */
export async function platformSecret(
  client: SecretManagerServiceClient,
  secret: string,
): Promise<Uint8Array> {
  const what = `the platform key secret ${secret}`;
  const payload = await readPayload(client, secret, what);
  if (payload.length === KEY_BYTES) return new Uint8Array(payload);
  return new Uint8Array(parseMasterKey(Buffer.from(payload).toString('utf8'), what));
}

/** The approval keys and chat's key, derived from the platform secret `secret` (read once per instance). */
export async function platformKeys(
  client: SecretManagerServiceClient,
  secret: string,
): Promise<GcpPlatformKeys> {
  const key = await platformSecret(client, secret);
  return { ...approvalKeys(key), chatKey: chatConfirmKey(key) };
}

/**
 * A platform value kept as text in `secret` (e.g. the SMTP relay's URL), without the trailing newline a
 * file-made version often has; `what` names it in errors. Cached per instance; an empty value is refused.
 */
export async function platformSecretText(
  client: SecretManagerServiceClient,
  secret: string,
  what: string,
): Promise<string> {
  const described = `${what} (secret ${secret})`;
  const text = Buffer.from(await readPayload(client, secret, described))
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (text.trim().length === 0) throw new Error(`${described} is empty`);
  return text;
}

/** Forgets the values read (tests; an instance that must see a rotated secret). */
export function forgetPlatformSecrets(): void {
  cache.clear();
}

function readPayload(client: SecretManagerServiceClient, secret: string, what: string): Promise<Uint8Array> {
  if (!SECRET_NAME.test(secret))
    throw new Error(`${what}: the secret must be named projects/<project>/secrets/<secret>`);
  const cached = cache.get(secret);
  if (cached !== undefined) return cached;
  const read = accessLatest(client, secret, what);
  cache.set(secret, read);
  read.catch(() => cache.delete(secret));
  return read;
}

async function accessLatest(
  client: SecretManagerServiceClient,
  secret: string,
  what: string,
): Promise<Uint8Array> {
  let payload: { data?: Uint8Array | string | null; dataCrc32c?: unknown } | null | undefined;
  try {
    [{ payload }] = await client.accessSecretVersion({ name: `${secret}/versions/latest` });
  } catch (error) {
    throw new Error(`${what} could not be read (${statusName(error)})`);
  }
  const data = payload?.data;
  if (data === undefined || data === null || data.length === 0) throw new Error(`${what} has no value`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const expected = payload?.dataCrc32c;
  if (
    expected !== undefined &&
    expected !== null &&
    Number(String(checksumValue(expected))) !== crc32c(bytes)
  )
    throw new Error(`${what} arrived damaged: its CRC32C is not the one Secret Manager sent`);
  return bytes;
}

/**
 * What went wrong, by its status name only (never the server's message): the gRPC status of the default
 * transport, or over REST (whose errors carry only the HTTP status) the status that HTTP status stands for.
 */
function statusName(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'number') return 'error';
  return (code < 100 ? STATUS[code] : HTTP_STATUS[code]) ?? `HTTP ${code}`;
}

/** The checksum as sent: an Int64Value (`{ value }`) or its value, a number, a string of digits or a Long. */
function checksumValue(sent: unknown): unknown {
  return typeof sent === 'object' && sent !== null && 'value' in sent ? sent.value : sent;
}
