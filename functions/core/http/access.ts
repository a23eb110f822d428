// Who may call which route, in one table: every operation of the OpenAPI document (openapi.ts and the
// route modules' *_PATHS) declares its access with `requires(role, scope)` or `open(...)`, and its body
// class. Two middlewares read that table and nothing else:
//   limitBodies  first of all, before anything reads a body or authenticates: the route's body limit is
//                enforced while reading (Content-Length checked first, 413 without buffering); a path under
//                /api that the table does not declare is a 404, so a route without a declaration is dead.
//   authorize    after authentication: 401 without a caller, 403 below the route's role or without its
//                scope (an API token's scopes, a login's whole role set: functions/core/auth.ts SCOPES),
//                403 on a session without its CSRF token for a state-changing method.
// Handlers keep only the object-level rules (members see their own runs, a schedule's creator, ...).
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Role } from '../../../translator/definition.js';
import { closestMatch } from '../../../translator/diagnostics.js';
import {
  type ApiScope,
  CSRF_HEADER,
  checkCsrf,
  type FixedScope,
  hasScope,
  type Principal,
  roleAtLeast,
  WEBHOOK_SCOPE_PREFIX,
} from '../auth.js';
import { HttpError } from '../http-error.js';
import { LimitsConfigSchema } from '../limits.js';
import type { Env } from './types.js';

/** How large a request body a route reads (the config's `limits.bodyBytes`). */
export type BodyClass = 'default' | 'login' | 'definition' | 'webhook';
export type BodyLimits = Record<BodyClass, number>;

/** The config's defaults (functions/core/limits.ts), for an app made without a config. */
export const DEFAULT_BODY_LIMITS: BodyLimits = LimitsConfigSchema.parse({}).bodyBytes;

/**
 * A route's access as the table declares it. `scope` is a fixed scope, or a list of alternatives where
 * `webhook:{id}` stands for the webhook scope of the workflow in the path.
 */
export interface Access {
  public: boolean;
  role: Role;
  scopes: readonly (FixedScope | 'webhook:{id}')[];
  body: BodyClass;
}

const ACCESS = 'x-stepgate-access';

/** An operation only a caller with `role` and one of `scope` reaches (spread into the OpenAPI operation). */
export function requires(
  role: Role,
  scope: FixedScope | readonly (FixedScope | 'webhook:{id}')[],
  body: BodyClass = 'default',
) {
  const access: Access = { public: false, role, scopes: typeof scope === 'string' ? [scope] : scope, body };
  return { [ACCESS]: access };
}

/** An operation anyone may call (login, health, approval-link pages); `security: []` in the document. */
export function open(body: BodyClass = 'login') {
  const access: Access = { public: true, role: 'viewer', scopes: [], body };
  return { security: [], [ACCESS]: access };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export interface RouteRule {
  method: string;
  /** The OpenAPI path, `/api/runs/{id}`. */
  path: string;
  pattern: RegExp;
  params: string[];
  access: Access;
}

/** The table: every operation of an OpenAPI `paths` object with its access. Throws on an undeclared one. */
export function routeTable(paths: Record<string, Record<string, unknown>>): RouteRule[] {
  const rules: RouteRule[] = [];
  for (const [path, item] of Object.entries(paths)) {
    const params: string[] = [];
    const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
    for (const method of METHODS) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (operation === undefined) continue;
      const access = operation[ACCESS] as Access | undefined;
      if (access === undefined) throw new Error(`${method.toUpperCase()} ${path} declares no access`);
      rules.push({ method: method.toUpperCase(), path, pattern: new RegExp(`^${source}$`), params, access });
    }
  }
  // Literal segments before parameters: /api/workflows/validate is not /api/workflows/{id}.
  return rules.sort((a, b) => a.params.length - b.params.length);
}

/** The rule of a request, with its path parameters; HEAD is GET. */
export function matchRoute(
  rules: readonly RouteRule[],
  method: string,
  path: string,
): { rule: RouteRule; params: Record<string, string> } | undefined {
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const rule of rules) {
    if (rule.method !== wanted) continue;
    const match = rule.pattern.exec(path);
    if (match === null) continue;
    const params: Record<string, string> = {};
    rule.params.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1] as string);
    });
    return { rule, params };
  }
  return undefined;
}

const matched = new WeakMap<Context, ReturnType<typeof matchRoute>>();

/** The request's rule, matched once per request: the body limit and the authorization share it. */
function routeOf(rules: readonly RouteRule[], c: Context) {
  if (!matched.has(c)) matched.set(c, matchRoute(rules, c.req.method, c.req.path));
  return matched.get(c);
}

/** The methods the rules have for this path (none: a 404, else a 405). */
function methodsOf(rules: readonly RouteRule[], path: string): string[] {
  return [...new Set(rules.filter((rule) => rule.pattern.test(path)).map((rule) => rule.method))];
}

/**
 * The declared route one misspelt literal segment away from the path ("POST /api/workflows/{id}/run" for
 * POST /api/workflows/x/runs), the request's method first; route shapes are public (the OpenAPI document).
 */
function nearRoute(rules: readonly RouteRule[], method: string, path: string): string | undefined {
  const segments = path.split('/');
  const near = (rule: RouteRule): boolean => {
    const declared = rule.path.split('/');
    if (declared.length !== segments.length) return false;
    let misses = 0;
    for (const [i, part] of declared.entries()) {
      const given = segments[i] ?? '';
      if (part === given || (part.startsWith('{') && given !== '')) continue;
      if (part.startsWith('{') || closestMatch(given, [part]) === undefined) return false;
      misses++;
    }
    return misses === 1;
  };
  const rule = rules.find((r) => r.method === method && near(r)) ?? rules.find(near);
  return rule === undefined ? undefined : `${rule.method} ${rule.path}`;
}

/**
 * The body limit of the request's route, before anything else. Under /api an undeclared route is a 404
 * (405 for a declared path with another method); outside /api (the dashboard, approval pages) an
 * undeclared route gets the login limit.
 */
export function limitBodies(rules: readonly RouteRule[], limits: BodyLimits): MiddlewareHandler {
  const guards = new Map<number, MiddlewareHandler>();
  const guard = (bytes: number) => {
    let handler = guards.get(bytes);
    if (handler === undefined) {
      handler = bodyLimit({
        maxSize: bytes,
        onError: () => {
          throw new HttpError(413, 'Content too large', `the body of this request is at most ${bytes} bytes`);
        },
      });
      guards.set(bytes, handler);
    }
    return handler;
  };
  return async (c, next) => {
    const found = routeOf(rules, c);
    if (found === undefined && c.req.path.startsWith('/api/')) {
      const methods = methodsOf(rules, c.req.path);
      if (c.req.method !== 'OPTIONS' && methods.length > 0)
        throw new HttpError(
          405,
          'Method not allowed',
          `no route ${c.req.method} ${c.req.path}: this path takes ${methods.join(', ')}`,
        );
      const near = nearRoute(rules, c.req.method, c.req.path);
      throw new HttpError(
        404,
        'Not found',
        `no route ${c.req.method} ${c.req.path}${near === undefined ? '' : ` (did you mean ${near}?)`}`,
      );
    }
    return guard(limits[found?.rule.access.body ?? 'login'])(c, next);
  };
}

/**
 * Authentication and the table's rule for every declared route that is not open: the caller, the role,
 * one of the scopes, CSRF. Sets the `principal` for the handlers.
 */
export function authorize(
  rules: readonly RouteRule[],
  authenticate: (c: Context) => Promise<Principal | null>,
): MiddlewareHandler<Env> {
  return async (c, next) => {
    const found = routeOf(rules, c);
    if (found === undefined || found.rule.access.public) return next();
    const principal = await authenticate(c);
    if (principal === null) throw new HttpError(401, 'Unauthenticated', 'log in or send an API token');
    const { access } = found.rule;
    if (!roleAtLeast(principal.identity, access.role))
      throw new HttpError(
        403,
        'Forbidden',
        `this needs the role ${access.role} or above; you are ${principal.identity.role}`,
      );
    const scopes = access.scopes.map(
      (scope): ApiScope =>
        scope === 'webhook:{id}' ? `${WEBHOOK_SCOPE_PREFIX}${found.params.id ?? ''}` : scope,
    );
    // No scope listed: any credential (GET /api/me).
    if (scopes.length > 0 && !scopes.some((scope) => hasScope(principal, scope)))
      throw new HttpError(
        403,
        'Forbidden',
        principal.scopes == null
          ? `this needs the ${scopes.join(' or ')} scope, which the ${principal.identity.role} role does not hold`
          : `this API token lacks the ${scopes.join(' or ')} scope`,
        { field: 'scope' },
      );
    checkCsrf(principal, c.req.header(CSRF_HEADER), c.req.method);
    c.set('principal', principal);
    await next();
  };
}
