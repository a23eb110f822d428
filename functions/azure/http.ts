// The HTTP catch-all's bridge between Azure Functions and the shared Hono app. @azure/functions (v4) hands
// the handler an HttpRequest (fetch-like: method, url, Headers, the body's bytes); the app is given a fetch
// Request rebuilt from them, and its Response goes back as an HttpResponseInit: status, headers, body bytes.
// Set-Cookie is the exception: the Functions host carries response headers as a map (one value per name),
// so two Set-Cookie headers would become one; it carries cookies as a list of their own, so each Set-Cookie
// the app writes is parsed into a Cookie (name, value and the attributes RFC 6265 names). An attribute the
// host cannot carry is the app's bug, refused loudly rather than dropped.
import type { Cookie, HttpRequest, HttpResponseInit } from '@azure/functions';

/** The fetch Request the app reads, rebuilt from the Functions request. */
export async function fetchRequest(req: HttpRequest): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of req.headers) headers.append(name, value);
  const bodyless = req.method === 'GET' || req.method === 'HEAD';
  const body = bodyless ? undefined : new Uint8Array(await req.arrayBuffer());
  return new Request(req.url, {
    method: req.method,
    headers,
    ...(body === undefined || body.byteLength === 0 ? {} : { body }),
  });
}

const SAME_SITE: Record<string, Cookie['sameSite']> = { strict: 'Strict', lax: 'Lax', none: 'None' };

/** One Set-Cookie header as the Functions host's Cookie; throws on what the host cannot carry. */
export function parseSetCookie(header: string): Cookie {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new Error(`Set-Cookie without a cookie name: ${pair.slice(0, 40)}`);
  const cookie: Cookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim() };
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === '') continue;
    if (key === 'path') cookie.path = value;
    else if (key === 'domain') cookie.domain = value;
    else if (key === 'expires') cookie.expires = new Date(value);
    else if (key === 'max-age') cookie.maxAge = Number(value);
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'samesite' && SAME_SITE[value.toLowerCase()] !== undefined)
      cookie.sameSite = SAME_SITE[value.toLowerCase()];
    else throw new Error(`Set-Cookie ${cookie.name}: the Functions host cannot carry '${attribute.trim()}'`);
  }
  return cookie;
}

/** Statuses whose response has no body (the fetch spec's null body statuses). */
const NO_BODY = new Set([101, 204, 205, 304]);

/** The app's Response as the Functions host takes it: status, headers, each Set-Cookie as a Cookie, the body. */
export async function responseInit(answer: Response): Promise<HttpResponseInit> {
  const headers: Record<string, string> = {};
  for (const [name, value] of answer.headers) if (name !== 'set-cookie') headers[name] = value;
  const cookies = answer.headers.getSetCookie().map(parseSetCookie);
  const body = NO_BODY.has(answer.status) ? undefined : new Uint8Array(await answer.arrayBuffer());
  return {
    status: answer.status,
    headers,
    ...(cookies.length === 0 ? {} : { cookies }),
    ...(body === undefined ? {} : { body }),
  };
}
