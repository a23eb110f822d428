// OIDC bearer tokens verified with real jose against a JWKS served by an in-process HTTP server: the
// valid token, and wrong issuer / audience / expired / bad signature / unverified email refused.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcVerifier, OidcConfigSchema } from '../../functions/core/auth.js';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let server: Server;
let issuer: string;
let signing: Key;
let stranger: Key;
let jwksRequests = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signing = pair.privateKey;
  stranger = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/jwks.json') {
      jwksRequests++;
      res.end(JSON.stringify({ keys: [jwk] }));
    } else if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

interface TokenOptions {
  key?: Key;
  kid?: string;
  iss?: string;
  aud?: string;
  exp?: number;
  claims?: JWTPayload;
}

async function token(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: 'Alice@Example.com', email_verified: true, ...options.claims })
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'key-1' })
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? 'stepgate')
    .setSubject('user-1')
    .setIssuedAt(now)
    .setExpirationTime(options.exp ?? now + 300)
    .sign(options.key ?? signing);
}

describe('createOidcVerifier', () => {
  it('accepts a valid token and returns the email lower-cased with the claims', async () => {
    const verifier = createOidcVerifier({ issuer, audience: 'stepgate', jwksUri: `${issuer}/jwks.json` });
    const result = await verifier.verify(await token());
    expect(result.email).toBe('alice@example.com');
    expect(result.claims.sub).toBe('user-1');
    expect(result.role).toBeUndefined();
  });

  it('discovers the JWKS from the issuer when no jwksUri is given', async () => {
    const verifier = createOidcVerifier({ issuer, audience: ['other', 'stepgate'] });
    expect((await verifier.verify(await token())).email).toBe('alice@example.com');
  });

  it('caches the keys between tokens', async () => {
    const verifier = createOidcVerifier({ issuer, audience: 'stepgate', jwksUri: `${issuer}/jwks.json` });
    const before = jwksRequests;
    await verifier.verify(await token());
    await verifier.verify(await token());
    expect(jwksRequests - before).toBe(1);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const rejected: [string, () => Promise<string>][] = [
    ['a wrong issuer', () => token({ iss: 'https://evil.example.com' })],
    ['a wrong audience', () => token({ aud: 'someone-else' })],
    ['an expired token', () => token({ exp: now() - 120 })],
    ['a bad signature', () => token({ key: stranger })],
    ['an unknown key id', () => token({ key: stranger, kid: 'key-2' })],
    ['no email', () => token({ claims: { email: undefined } })],
    ['an unverified email', () => token({ claims: { email_verified: false } })],
    [
      'a tampered payload',
      async () => {
        const [h, p, s] = (await token()).split('.') as [string, string, string];
        const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
        payload.email = 'mallory@example.com';
        return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
      },
    ],
    [
      'alg none',
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${enc({ alg: 'none' })}.${enc({ iss: issuer, aud: 'stepgate', email: 'a@b.c', exp: now() + 60 })}.`;
      },
    ],
    ['garbage', async () => 'not-a-jwt'],
  ];
  it.each(rejected)('rejects %s', async (_label, make) => {
    const verifier = createOidcVerifier({ issuer, audience: 'stepgate', jwksUri: `${issuer}/jwks.json` });
    await expect(verifier.verify(await make())).rejects.toThrow();
  });

  it('allows 30 seconds of clock skew, not more', async () => {
    const verifier = createOidcVerifier({ issuer, audience: 'stepgate', jwksUri: `${issuer}/jwks.json` });
    expect((await verifier.verify(await token({ exp: now() - 10 }))).email).toBe('alice@example.com');
    await expect(verifier.verify(await token({ exp: now() - 45 }))).rejects.toThrow();
  });

  it('reads email, role and groups from configured (nested) claims, as plain data', async () => {
    const verifier = createOidcVerifier({
      issuer,
      audience: 'stepgate',
      jwksUri: `${issuer}/jwks.json`,
      emailClaim: 'upn',
      roleClaim: 'realm_access.roles',
      groupsClaim: 'https://stepgate.dev/groups',
    });
    const result = await verifier.verify(
      await token({
        claims: {
          upn: 'Bob@Example.com',
          realm_access: { roles: ['offline_access', 'member', 'manager'] },
          'https://stepgate.dev/groups': ['finance', '__proto__', 3],
        },
      }),
    );
    expect(result.email).toBe('bob@example.com');
    expect(result.role).toBe('manager');
    expect(result.groups).toEqual(['finance', '__proto__']);
    const sneaky = createOidcVerifier({
      issuer,
      audience: 'stepgate',
      jwksUri: `${issuer}/jwks.json`,
      roleClaim: '__proto__.role',
      groupsClaim: 'constructor.name',
    });
    const plain = await sneaky.verify(await token());
    expect(plain.role).toBeUndefined();
    expect(plain.groups).toBeUndefined();
  });

  it('rejects a configured algorithm list the key does not match', async () => {
    const verifier = createOidcVerifier({
      issuer,
      audience: 'stepgate',
      jwksUri: `${issuer}/jwks.json`,
      algorithms: ['ES256'],
    });
    await expect(verifier.verify(await token())).rejects.toThrow();
  });
});

describe('OidcConfigSchema', () => {
  it('defaults the email claim and checks URLs', () => {
    expect(OidcConfigSchema.parse({ issuer: 'https://login.example.com', audience: 'stepgate' })).toEqual({
      issuer: 'https://login.example.com',
      audience: 'stepgate',
      emailClaim: 'email',
    });
    expect(OidcConfigSchema.safeParse({ issuer: 'http://login.example.com', audience: 'x' }).success).toBe(
      false,
    );
    expect(OidcConfigSchema.safeParse({ issuer: 'http://localhost:8080', audience: 'x' }).success).toBe(true);
    expect(OidcConfigSchema.safeParse({ issuer: 'https://a.example.com' }).success).toBe(false);
    expect(
      OidcConfigSchema.safeParse({ issuer: 'https://a.example.com', audience: 'x', extra: 1 }).success,
    ).toBe(false);
  });
});
