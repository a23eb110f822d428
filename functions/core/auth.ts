// Who is calling, and what they may do: authentication of HTTP requests (session cookie, API token, OIDC
// bearer token), role and scope checks, and CSRF protection. Pure logic over the ports — the host's HTTP
// app reads the headers, calls `authenticate`, and turns a thrown HttpError into a problem response.
//
// Credentials, in the order `authenticate` looks at them:
//   Authorization: Bearer sg_<id>_<secret>  an API token (adapters: SHA-256 hash at rest, looked up by id)
//   Authorization: Bearer <JWT>             an OIDC ID/access token, when an issuer is configured
//   Cookie: stepgate_session=<token>        a login session (SHA-256 hash at rest), with a CSRF token
// An Authorization header, when present, decides alone: a bad one is not rescued by a cookie. Every way in
// ends at the directory: a user who is not (or no longer, or disabled) in it is nobody, whatever they hold;
// so is a service account (a webhook's `runAs`): nobody logs in as one.
//
// What a caller may do is two things, both declared per route in one table (the OpenAPI document, see
// http/access.ts) and enforced by one middleware: the role the route needs, and the scope. Scopes are the
// SCOPES table below; a role holds every scope whose `role` it reaches. Sessions and OIDC logins carry
// their role's full set; an API token carries the scopes it was minted with, never more than its owner's
// role holds (checked when it is minted, and again on every request against the owner's role then).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { z } from 'zod';
import { ROLES, type Role, WORKFLOW_ID_PATTERN } from '../../translator/definition.js';
import { ranksAtLeast, roleRank } from '../../translator/roles.js';
import { HttpError } from './http-error.js';
import { isEmail } from './identity.js';
import type { ApiTokenStore, Directory, SessionStore } from './ports.js';
import type { Identity } from './protocol.js';

export const SESSION_COOKIE = 'stepgate_session';
export const CSRF_HEADER = 'x-csrf-token';
export const API_TOKEN_PREFIX = 'sg_';

// ---- scopes ----

/**
 * Every scope, the lowest role that holds it, and what it allows. `account` (your own password, tokens and
 * session) is held by every login and never by an API token: a token cannot mint tokens or change passwords.
 */
export const SCOPES = {
  'workflows:read': {
    role: 'viewer',
    description: 'read workflow definitions, their versions and the template gallery',
  },
  'workflows:write': {
    role: 'lead',
    description: 'create, update, delete and validate workflow definitions; install templates',
  },
  'runs:read': {
    role: 'viewer',
    description: 'read runs (yours; leads and above every run), their view and audit trail',
  },
  'runs:start': {
    role: 'viewer',
    description: "start runs of the workflows whose manual trigger's minRole you hold",
  },
  'runs:cancel': { role: 'viewer', description: 'cancel runs you started (managers and above: any run)' },
  'approvals:read': { role: 'viewer', description: 'list the approval requests addressed to you' },
  'approvals:decide': { role: 'viewer', description: 'approve or reject the requests addressed to you' },
  'schedules:read': { role: 'member', description: 'read your schedules (admins: every schedule)' },
  'schedules:write': {
    role: 'member',
    description: 'create, pause and delete schedules, within the scope rules',
  },
  chat: { role: 'member', description: 'start workflows by chat' },
  'vault:read': {
    role: 'member',
    description: 'list the names of the vault entries you may use (never values)',
  },
  'vault:write': { role: 'member', description: 'set and delete vault entries, within the scope rules' },
  'users:read': { role: 'viewer', description: 'read your own user record (managers and above: every user)' },
  'users:write': { role: 'admin', description: 'create, change and delete users' },
  'mcp:read': { role: 'member', description: 'list the MCP servers and their tools' },
  'inbox:read': {
    role: 'viewer',
    description: 'read your mail in the development inbox (admins: all of it)',
  },
  account: { role: 'viewer', description: 'your own session, password and API tokens (never an API token)' },
} as const satisfies Record<string, { role: Role; description: string }>;

export type FixedScope = keyof typeof SCOPES;
export type ApiScope = FixedScope | `webhook:${string}`;
/** The one-workflow scope: call that workflow's webhook (`auth: token` trigger), and nothing else. */
export const WEBHOOK_SCOPE_PREFIX = 'webhook:';
const MAX_SCOPES = 50;

/** The scopes an API token may be minted with (everything but `account`). */
export const API_SCOPES = (Object.keys(SCOPES) as FixedScope[]).filter((s) => s !== 'account');

/** Every fixed scope the role holds: a login's full set. */
export function roleScopes(role: string): FixedScope[] {
  return (Object.keys(SCOPES) as FixedScope[]).filter((scope) => roleAtLeast({ role }, SCOPES[scope].role));
}

/** Whether `role` holds `scope` (`webhook:<id>`: whoever may start runs). */
export function roleHolds(role: string, scope: ApiScope): boolean {
  const fixed = scope.startsWith(WEBHOOK_SCOPE_PREFIX) ? 'runs:start' : (scope as FixedScope);
  return Object.hasOwn(SCOPES, fixed) && roleAtLeast({ role }, SCOPES[fixed].role);
}

export function isApiScope(scope: unknown): scope is ApiScope {
  if (typeof scope !== 'string') return false;
  if ((API_SCOPES as readonly string[]).includes(scope)) return true;
  return (
    scope.startsWith(WEBHOOK_SCOPE_PREFIX) &&
    WORKFLOW_ID_PATTERN.test(scope.slice(WEBHOOK_SCOPE_PREFIX.length))
  );
}

/** A token's scopes checked (HttpError 400, field `scopes`) and de-duplicated in order. */
export function checkScopes(scopes: unknown): ApiScope[] {
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > MAX_SCOPES)
    throw new HttpError(400, 'Bad Request', `scopes must be a list of 1-${MAX_SCOPES} scopes`, {
      field: 'scopes',
    });
  const out: ApiScope[] = [];
  for (const scope of scopes) {
    if (!isApiScope(scope))
      throw new HttpError(
        400,
        'Bad Request',
        `unknown scope ${JSON.stringify(scope)}; scopes are ${API_SCOPES.join(', ')} and webhook:<workflow id>`,
        { field: 'scopes' },
      );
    if (!out.includes(scope)) out.push(scope);
  }
  return out;
}

/** 403 (field `scopes`) unless `holder` holds every one of `scopes`: nobody grants what they do not hold. */
export function requireGrantable(holder: Principal, scopes: readonly ApiScope[]): void {
  const missing = scopes.filter((scope) => !hasScope(holder, scope));
  if (missing.length > 0)
    throw new HttpError(
      403,
      'Forbidden',
      `you cannot grant ${missing.join(', ')}: ${holder.via === 'token' ? 'this token does not hold' : `the ${holder.identity.role} role does not hold`} ${missing.length === 1 ? 'it' : 'them'}`,
      { field: 'scopes' },
    );
}

// ---- secrets and hashes ----

/** A random token: `bytes` random bytes, base64url (43 characters for 32 bytes). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Constant-time string equality (both sides hashed first, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

const API_TOKEN = /^sg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** The parts of `sg_<id>_<secret>` (id: 16 hex digits, secret: 32 bytes base64url), or null. */
export function parseApiToken(text: string): { id: string; secret: string } | null {
  const match = typeof text === 'string' ? API_TOKEN.exec(text) : null;
  return match === null ? null : { id: match[1] as string, secret: match[2] as string };
}

/** A new API token's id, secret, text and the hash to store. */
export function newApiToken(): { id: string; secret: string; token: string; hash: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomToken(32);
  return { id, secret, token: `${API_TOKEN_PREFIX}${id}_${secret}`, hash: sha256Hex(secret) };
}

/** A new session's token, its hash (the stored id) and CSRF token. */
export function newSessionToken(): { token: string; id: string; csrf: string } {
  const token = randomToken(32);
  return { token, id: sha256Hex(token), csrf: randomToken(32) };
}

// ---- cookies ----

/** The value of cookie `name` in a Cookie header (the first one when repeated), or undefined. */
export function readCookie(header: string | null | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}

export interface CookieOptions {
  /** `Secure` (HTTPS only); off only for plain-HTTP localhost development. */
  secure?: boolean;
  path?: string;
}

/** The Set-Cookie value for a new session: HttpOnly, SameSite=Lax, Secure unless told otherwise. */
export function sessionCookie(token: string, expiresAt: number, options: CookieOptions = {}): string {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    `Path=${options.path ?? '/'}`,
    `Expires=${new Date(expiresAt).toUTCString()}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (options.secure !== false) parts.push('Secure');
  return parts.join('; ');
}

/** The Set-Cookie value that removes the session cookie (logout). */
export function clearSessionCookie(options: CookieOptions = {}): string {
  return sessionCookie('', 0, options).replace(
    /Expires=[^;]*/,
    'Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0',
  );
}

// ---- OIDC ----

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** https everywhere; http only for a server on this machine (development, tests). */
const SecureUrl = z.url({ protocol: /^https?$/ }).refine(
  (value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || LOCAL_HOSTS.has(url.hostname);
  },
  { message: 'must be an https URL (http only for localhost)' },
);

const ClaimName = z.string().min(1).max(200);

/** The `oidc:` section of stepgate.config.yaml. */
export const OidcConfigSchema = z
  .strictObject({
    issuer: SecureUrl.meta({ description: "The issuer URL; tokens' `iss` must equal it exactly." }),
    audience: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .meta({ description: 'The client id(s) tokens must be issued for (`aud`).' }),
    jwksUri: SecureUrl.optional().meta({
      description: "The issuer's signing keys; by default from its /.well-known/openid-configuration.",
    }),
    emailClaim: ClaimName.default('email').meta({ description: 'The claim holding the user email.' }),
    roleClaim: ClaimName.optional().meta({
      description: 'A claim holding a Stepgate role (or a list: the highest known role counts).',
    }),
    groupsClaim: ClaimName.optional().meta({ description: 'A claim holding the list of group names.' }),
    algorithms: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: "Accepted signature algorithms; by default whatever the issuer's key is for." }),
  })
  .meta({ description: 'Sign-in with an OpenID Connect provider: bearer tokens it signed are accepted.' });

export type OidcConfig = z.infer<typeof OidcConfigSchema>;
export type OidcConfigInput = z.input<typeof OidcConfigSchema>;

/** What a verified OIDC token says about its holder; the caller maps the email to a directory user. */
export interface OidcClaims {
  email: string;
  /** From `roleClaim`, when configured and the claim names a known role. */
  role?: Role;
  /** From `groupsClaim`, when configured and present. */
  groups?: string[];
  claims: JWTPayload;
}

export interface OidcVerifier {
  readonly config: OidcConfig;
  /** The token's claims, or throws (bad signature, issuer, audience, expired, no email, ...). */
  verify(jwt: string): Promise<OidcClaims>;
}

export class OidcError extends Error {
  override name = 'OidcError';
}

const CLOCK_TOLERANCE_S = 30;

/** A claim by name, or by dotted path (`realm_access.roles`); own properties only. */
function claim(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const key of name.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key))
      return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function highestRole(value: unknown): Role | undefined {
  const candidates = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  let best = -1;
  for (const c of candidates) best = typeof c === 'string' ? Math.max(best, roleRank(c)) : best;
  return best < 0 ? undefined : ROLES[best];
}

export interface OidcVerifierOptions {
  /** For discovery of the JWKS URI; global fetch by default. */
  fetch?: typeof fetch;
}

/**
 * Verifies bearer tokens signed by an OIDC provider: signature against the provider's JWKS (fetched and
 * cached by jose, refreshed when an unknown key id shows up), `iss` and `aud` exactly, `exp` required,
 * 30 s of clock tolerance. A token whose `email_verified` is false is refused.
 */
export function createOidcVerifier(input: OidcConfigInput, options: OidcVerifierOptions = {}): OidcVerifier {
  const config = OidcConfigSchema.parse(input);
  const doFetch = options.fetch ?? fetch;
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const discover = async (): Promise<URL> => {
    if (config.jwksUri !== undefined) return new URL(config.jwksUri);
    const url = `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await doFetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new OidcError(`OIDC discovery at ${url} answered ${response.status}`);
    const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== config.issuer)
      throw new OidcError(
        `OIDC discovery at ${url} names issuer ${String(document.issuer)}, not ${config.issuer}`,
      );
    const uri = SecureUrl.safeParse(document.jwks_uri);
    if (!uri.success) throw new OidcError(`OIDC discovery at ${url} has no usable jwks_uri`);
    return new URL(uri.data);
  };
  const keys = () => {
    if (jwks === undefined) {
      const pending = discover().then((url) => createRemoteJWKSet(url));
      // A failed discovery is retried on the next token, not remembered for ever.
      pending.catch(() => {
        if (jwks === pending) jwks = undefined;
      });
      jwks = pending;
    }
    return jwks;
  };

  return {
    config,
    async verify(jwt: string): Promise<OidcClaims> {
      const { payload } = await jwtVerify(jwt, await keys(), {
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
        ...(config.algorithms === undefined ? {} : { algorithms: config.algorithms }),
      });
      const email = claim(payload, config.emailClaim);
      if (typeof email !== 'string' || !isEmail(email))
        throw new OidcError(`the token has no email in its ${config.emailClaim} claim`);
      if (payload.email_verified === false) throw new OidcError('the token says its email is not verified');
      const result: OidcClaims = { email: email.toLowerCase(), claims: payload };
      if (config.roleClaim !== undefined) {
        const role = highestRole(claim(payload, config.roleClaim));
        if (role !== undefined) result.role = role;
      }
      if (config.groupsClaim !== undefined) {
        const groups = claim(payload, config.groupsClaim);
        if (typeof groups === 'string') result.groups = [groups];
        else if (Array.isArray(groups))
          result.groups = groups.filter((g): g is string => typeof g === 'string');
      }
      return result;
    },
  };
}

// ---- authentication ----

export interface Principal {
  identity: Identity;
  via: 'session' | 'token' | 'oidc';
  /** What an API token may do; null or absent: everything the user's role allows (a login). */
  scopes?: string[] | null;
  /** The session's CSRF token (session cookies only). */
  csrf?: string;
  /** The API token's id (tokens only), for audit. */
  tokenId?: string;
}

export interface AuthRequest {
  cookie?: string | null;
  authorization?: string | null;
}

export interface AuthDeps {
  directory: Directory;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  /** Absent: bearer tokens other than API tokens are refused. */
  oidc?: OidcVerifier | null;
  /**
   * Maps a verified OIDC login to a user: by default the directory's user with the token's email (unknown
   * emails are refused). Provide it to create users on first login, or to take roles from the token.
   */
  oidcIdentity?: (claims: OidcClaims) => Identity | undefined | Promise<Identity | undefined>;
}

const BEARER = /^Bearer +(\S+) *$/i;

/** The caller of a request, or null when it carries no valid credential. Store failures propagate. */
export async function authenticate(request: AuthRequest, deps: AuthDeps): Promise<Principal | null> {
  const authorization = request.authorization?.trim();
  if (authorization) {
    const bearer = BEARER.exec(authorization)?.[1];
    if (bearer === undefined) return null;
    if (bearer.startsWith(API_TOKEN_PREFIX)) {
      const token = await deps.tokens.verifyApiToken(bearer);
      const identity = token === null ? undefined : person(await deps.directory.user(token.email));
      return token === null || identity === undefined
        ? null
        : { identity, via: 'token', scopes: [...token.scopes], tokenId: token.id };
    }
    if (!deps.oidc) return null;
    let claims: OidcClaims;
    try {
      claims = await deps.oidc.verify(bearer);
    } catch {
      return null;
    }
    const identity = person(
      deps.oidcIdentity ? await deps.oidcIdentity(claims) : await deps.directory.user(claims.email),
    );
    return identity === undefined ? null : { identity, via: 'oidc', scopes: null };
  }
  const token = readCookie(request.cookie, SESSION_COOKIE);
  if (!token) return null;
  const session = await deps.sessions.getSession(token);
  const identity = session === null ? undefined : person(await deps.directory.user(session.email));
  return session === null || identity === undefined
    ? null
    : { identity, via: 'session', scopes: null, csrf: session.csrf };
}

/** The identity, unless it is a service account's: those are never a request's caller. */
function person(identity: Identity | undefined): Identity | undefined {
  return identity?.service === true ? undefined : identity;
}

// ---- authorization ----

/** Whether the identity's role is `role` or above (viewer < member < lead < manager < director < admin). */
export function roleAtLeast(identity: Pick<Identity, 'role'>, role: Role): boolean {
  return ranksAtLeast(identity.role, role);
}

/** 401 without a principal, 403 when its role is below `role`. */
export function requireRole(
  principal: Principal | null | undefined,
  role: Role,
): asserts principal is Principal {
  if (!principal) throw new HttpError(401, 'Unauthorized', 'sign in first');
  if (!roleAtLeast(principal.identity, role))
    throw new HttpError(
      403,
      'Forbidden',
      `this needs the ${role} role or above; ${principal.identity.email} is ${principal.identity.role}`,
    );
}

/**
 * Whether the principal may use `scope`: its role must hold it, and an API token must also have been
 * minted with it (`webhook:<id>` is also allowed by `runs:start`).
 */
export function hasScope(principal: Principal, scope: ApiScope): boolean {
  if (!roleHolds(principal.identity.role, scope)) return false;
  if (principal.scopes == null) return true;
  if (principal.scopes.includes(scope)) return true;
  return scope.startsWith(WEBHOOK_SCOPE_PREFIX) && principal.scopes.includes('runs:start');
}

/** 401 without a principal, 403 when its role or API token lacks `scope`. */
export function requireScope(
  principal: Principal | null | undefined,
  scope: ApiScope,
): asserts principal is Principal {
  if (!principal) throw new HttpError(401, 'Unauthorized', 'sign in first');
  if (!hasScope(principal, scope))
    throw new HttpError(
      403,
      'Forbidden',
      principal.scopes == null || !roleHolds(principal.identity.role, scope)
        ? `this needs the ${scope} scope, which the ${principal.identity.role} role does not hold`
        : `this API token lacks the ${scope} scope`,
    );
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: a state-changing request authenticated by the session cookie must carry the session's CSRF token
 * in `x-csrf-token` (compared in constant time). API tokens and OIDC bearer tokens are not sent by browsers
 * on their own, so they are exempt; so are GET, HEAD and OPTIONS when `method` is given. Throws 401 without
 * a principal and 403 on a missing or wrong token.
 */
export function checkCsrf(
  principal: Principal | null | undefined,
  headerValue: string | null | undefined,
  method?: string,
): asserts principal is Principal {
  if (!principal) throw new HttpError(401, 'Unauthorized', 'sign in first');
  if (method !== undefined && SAFE_METHODS.has(method.toUpperCase())) return;
  if (principal.via !== 'session') return;
  if (typeof headerValue !== 'string' || !principal.csrf || !safeEqual(headerValue, principal.csrf))
    throw new HttpError(
      403,
      'Forbidden',
      `the ${CSRF_HEADER} header is missing or does not match this session`,
      {
        field: CSRF_HEADER,
      },
    );
}
