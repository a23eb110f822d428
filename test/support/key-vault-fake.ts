// A stand-in for Azure Key Vault's REST API (no emulator exists), serving exactly what the Azure adapters'
// clients call: keys (get a key, wrapkey, unwrapkey) for @azure/keyvault-keys and secrets (get a secret)
// for @azure/keyvault-secrets, recording every request as it arrived (method, path, query, headers, JSON
// body) for the tests to check.
//
// It behaves as the service does where the clients depend on it:
// - https only, at a real vault host (`https://<name>.vault.azure.net`): the certificate is self-signed for
//   `*.vault.azure.net` (test/support/self-signed-cert.ts) and the clients reach the loopback port through
//   `agent` (an ordinary pipeline option of every Azure SDK client), which connects there and trusts that
//   certificate; the URL, the Host header, SNI and certificate checks stay those of the real service.
// - the challenge: a request without a bearer token gets 401 with `WWW-Authenticate: Bearer
//   authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`, and
//   the client retries with the token it got for `https://vault.azure.net/.default` (the TokenCredential
//   here records the scopes and tenant asked); a wrong token is refused (401) too.
// - every request must carry an `api-version`; keys are real RSA key pairs (node:crypto), each version its
//   own, wrapping with RSA-OAEP-256 (or RSA-OAEP) as Key Vault does, values base64url; a missing key,
//   version or secret is a 404 with Key Vault's error codes; `refuse(status)` makes every authorised
//   request fail as a missing role assignment does (403 Forbidden, ForbiddenByRbac).
import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { selfSignedCert } from './self-signed-cert.js';

/** The token the fake credential gives and the fake accepts. */
export const KEY_VAULT_TOKEN = 'fake-key-vault-token';
export const KEY_VAULT_TENANT = '00000000-0000-0000-0000-0000000000aa';
/** Key Vault's audience: the resource its challenge names. */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

export interface KeyVaultRequest {
  method: string;
  /** The path without the query, e.g. `/keys/vault/3f0c…/wrapkey`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when empty. */
  body: unknown;
  /** The body as sent. */
  raw: Buffer;
}

interface KeyVersion {
  version: string;
  privateKey: KeyObject;
  jwk: { n: string; e: string };
  keyOps: string[];
  created: number;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface KeyVaultFake {
  /** `https://<name>.vault.azure.net` */
  vaultUrl: string;
  /** Every request received, oldest first (the unauthenticated first tries included). */
  requests: KeyVaultRequest[];
  /** A TokenCredential answering KEY_VAULT_TOKEN; `scopes` records what each call asked for. */
  credential: TokenCredential & { asked: Array<{ scopes: string[]; tenantId?: string }> };
  /** Pipeline options that make an Azure SDK client reach this fake (and trust its certificate). */
  clientOptions(): { agent: Agent };
  /**
   * Creates a key (or a new version of it, which becomes the latest) allowing `keyOps` (by default wrapKey,
   * unwrapKey, encrypt and decrypt); answers the version.
   */
  createKey(name: string, keyOps?: string[]): string;
  /** The private key of a key's version, for a test to check what was wrapped. */
  privateKey(name: string, version: string): KeyObject;
  /** Sets a secret (a new version, which becomes the latest). */
  setSecret(name: string, value: string): void;
  /**
   * Answers every authorised request (only those whose `METHOD path` matches `only`, when given) with this
   * status, Key Vault's refusal, until called with undefined.
   */
  refuse(status: number | undefined, only?: RegExp): void;
  close(): Promise<void>;
}

/** Starts the fake for the vault `name` (a Key Vault name: its URL is `https://<name>.vault.azure.net`). */
export async function startKeyVaultFake(name = 'stepgate-test'): Promise<KeyVaultFake> {
  const host = `${name}.vault.azure.net`;
  const vaultUrl = `https://${host}`;
  const tls = selfSignedCert([host, '*.vault.azure.net']);
  const keys = new Map<string, KeyVersion[]>();
  const secrets = new Map<string, Array<{ version: string; value: string; created: number }>>();
  const requests: KeyVaultRequest[] = [];
  let refusal: { status: number; only?: RegExp } | undefined;
  const state = { vaultUrl, keys, secrets, refusal: () => refusal };
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, async (req, res) => {
    const request = await record(req);
    requests.push(request);
    const answer = answerRequest(state, request);
    res.writeHead(answer.status, {
      'content-type': 'application/json; charset=utf-8',
      'x-ms-keyvault-service-version': '1.9.0.0',
      ...answer.headers,
    });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ ca: tls.cert, keepAlive: false });
  // Every connection goes to the loopback port, the TLS session still made for (and checked against) `host`.
  agent.createConnection = (options: { servername?: string; host?: string | null }) =>
    connect({ ...options, host: '127.0.0.1', port, servername: options.servername ?? host, ca: tls.cert });
  const asked: Array<{ scopes: string[]; tenantId?: string }> = [];
  return {
    vaultUrl,
    requests,
    credential: {
      asked,
      async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
        asked.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
        return { token: KEY_VAULT_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    },
    clientOptions: () => ({ agent }),
    createKey(keyName, keyOps = ['wrapKey', 'unwrapKey', 'encrypt', 'decrypt']) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
      const version = randomBytes(16).toString('hex');
      const all = keys.get(keyName) ?? [];
      const created = Math.floor(Date.now() / 1000);
      all.push({ version, privateKey, jwk: { n: jwk.n, e: jwk.e }, keyOps, created });
      keys.set(keyName, all);
      return version;
    },
    privateKey(keyName, version) {
      const found = keys.get(keyName)?.find((v) => v.version === version);
      if (found === undefined) throw new Error(`no key ${keyName}/${version}`);
      return createPrivateKey(found.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    },
    setSecret(secretName, value) {
      const all = secrets.get(secretName) ?? [];
      all.push({ version: randomBytes(16).toString('hex'), value, created: Math.floor(Date.now() / 1000) });
      secrets.set(secretName, all);
    },
    refuse(status, only) {
      refusal = status === undefined ? undefined : { status, only };
    },
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function record(req: IncomingMessage): Promise<KeyVaultRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const url = new URL(req.url ?? '/', 'https://fake');
  let body: unknown;
  if (raw.length > 0) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = raw.toString('utf8');
    }
  }
  return {
    method: req.method ?? '',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body,
    raw,
  };
}

interface State {
  vaultUrl: string;
  keys: Map<string, KeyVersion[]>;
  secrets: Map<string, Array<{ version: string; value: string; created: number }>>;
  refusal(): { status: number; only?: RegExp } | undefined;
}

const error = (status: number, code: string, message: string, inner?: string): Answer => ({
  status,
  body: { error: { code, message, ...(inner === undefined ? {} : { innererror: { code: inner } }) } },
});

/** Authentication, then the route. */
function answerRequest(state: State, request: KeyVaultRequest): Answer {
  const authorization = request.headers.authorization;
  if (authorization === undefined || authorization !== `Bearer ${KEY_VAULT_TOKEN}`)
    return {
      ...error(
        401,
        'Unauthorized',
        authorization === undefined
          ? 'AKV10000: Request is missing a Bearer or PoP token.'
          : 'AKV10022: Invalid audience.',
      ),
      headers: {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${KEY_VAULT_TENANT}", resource="${KEY_VAULT_RESOURCE}"`,
      },
    };
  if (request.query['api-version'] === undefined)
    return error(400, 'BadParameter', 'The request URI contains an invalid or missing api-version.');
  const refusal = state.refusal();
  if (refusal !== undefined && (refusal.only?.test(`${request.method} ${request.path}`) ?? true))
    return error(
      refusal.status,
      'Forbidden',
      'Caller is not authorized to perform action on resource. (fake)',
      'ForbiddenByRbac',
    );
  const key = /^\/keys\/([0-9A-Za-z-]+)\/([0-9a-f]*)(?:\/(wrapkey|unwrapkey))?$/.exec(request.path);
  if (key !== null) return keyRoute(state, request, key[1] as string, key[2] as string, key[3]);
  const secret = /^\/secrets\/([0-9A-Za-z-]+)\/?([0-9a-f]*)$/.exec(request.path);
  if (secret !== null && request.method === 'GET')
    return secretRoute(state, secret[1] as string, secret[2] as string);
  return error(404, 'NotFound', `the fake serves no ${request.method} ${request.path}`);
}

function keyRoute(
  state: State,
  request: KeyVaultRequest,
  name: string,
  version: string,
  operation: string | undefined,
): Answer {
  const all = state.keys.get(name);
  const found = version === '' ? all?.at(-1) : all?.find((v) => v.version === version);
  if (found === undefined)
    return error(
      404,
      'KeyNotFound',
      `A key with (name/id) ${name}${version === '' ? '' : `/${version}`} was not found in this key vault.`,
    );
  const kid = `${state.vaultUrl}/keys/${name}/${found.version}`;
  if (operation === undefined && request.method === 'GET')
    return {
      status: 200,
      body: {
        key: {
          kid,
          kty: 'RSA',
          key_ops: found.keyOps,
          n: found.jwk.n,
          e: found.jwk.e,
        },
        attributes: {
          enabled: true,
          created: found.created,
          updated: found.created,
          recoveryLevel: 'Recoverable',
          recoverableDays: 90,
        },
      },
    };
  if (request.method !== 'POST' || operation === undefined)
    return error(405, 'BadParameter', 'method not allowed');
  const allowed = operation === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
  if (!found.keyOps.includes(allowed))
    return error(
      403,
      'Forbidden',
      `Operation ${allowed} is not permitted on this key.`,
      'KeyOperationForbidden',
    );
  const body = request.body as { alg?: unknown; value?: unknown } | undefined;
  const oaepHash = body?.alg === 'RSA-OAEP-256' ? 'sha256' : body?.alg === 'RSA-OAEP' ? 'sha1' : undefined;
  if (oaepHash === undefined || typeof body?.value !== 'string')
    return error(
      400,
      'BadParameter',
      'Property alg and value are required; alg must be RSA-OAEP-256 or RSA-OAEP here.',
    );
  const value = Buffer.from(body.value, 'base64url');
  const padding = constants.RSA_PKCS1_OAEP_PADDING;
  try {
    const result =
      operation === 'wrapkey'
        ? publicEncrypt({ key: found.privateKey, padding, oaepHash }, value)
        : privateDecrypt({ key: found.privateKey, padding, oaepHash }, value);
    return { status: 200, body: { kid, value: result.toString('base64url') } };
  } catch {
    return error(400, 'BadParameter', 'Error while decrypting: the ciphertext is not valid for this key.');
  }
}

function secretRoute(state: State, name: string, version: string): Answer {
  const all = state.secrets.get(name);
  const found = version === '' ? all?.at(-1) : all?.find((v) => v.version === version);
  if (found === undefined)
    return error(
      404,
      'SecretNotFound',
      `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
    );
  return {
    status: 200,
    body: {
      value: found.value,
      id: `${state.vaultUrl}/secrets/${name}/${found.version}`,
      attributes: {
        enabled: true,
        created: found.created,
        updated: found.created,
        recoveryLevel: 'Recoverable',
        recoverableDays: 90,
      },
    },
  };
}
