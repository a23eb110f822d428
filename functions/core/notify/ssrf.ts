// The outbound-URL guard: what a URL that came from a user (a webhook URL or SMTP server in the vault)
// must satisfy before Stepgate connects to it, so a workflow cannot make the server reach its own
// network (the cloud metadata service, an admin port on loopback, a database on a private subnet).
//
//   - https only; http only when private addresses are allowed (dev, tests) or the host is allow-listed;
//   - no credentials in the URL (`https://user:pass@host/`);
//   - the host is resolved (every address, as `dns.lookup` answers) and every address must be public
//     unicast: loopback, private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with the metadata
//     service, fe80::/10), carrier-grade NAT, unspecified, broadcast, multicast and the reserved and
//     documentation ranges are refused, including their IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
//     (::a.b.c.d) and NAT64 (64:ff9b::/96) forms. Decimal, octal and hex IPv4 spellings
//     (http://2130706433/, http://0x7f.1/) are normalised by the WHATWG URL parser to 127.0.0.1 first.
//   - `allowPrivate` admits loopback, RFC 1918, fc00::/7 and carrier-grade NAT (local development), never
//     link-local, unspecified or multicast; `allowHosts` admits the listed hosts whatever they resolve to.
//
// The check returns the addresses it approved: a caller that can connect to one of them (SMTP does)
// avoids a second resolution that DNS rebinding could answer differently.
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export type Resolver = (host: string) => Promise<string[]>;

export interface SsrfOptions {
  /** Hosts (lower-case names or IP literals, no port) admitted over http and whatever they resolve to. */
  allowHosts?: string[];
  /** Admit loopback and private addresses, and plain http (local development and tests). */
  allowPrivate?: boolean;
  /** Host name → addresses; `dns.lookup(host, { all: true })` by default. */
  resolve?: Resolver;
}

/** A refused URL. `retryable` only when the host could not be resolved (DNS may recover). */
export class SsrfError extends Error {
  override name = 'SsrfError';
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

export interface CheckedUrl {
  url: URL;
  /** The host without IPv6 brackets or trailing dot, lower-case. */
  host: string;
  /** The approved addresses the host resolved to (the literal itself for an IP host). */
  addresses: string[];
}

/** Checks a URL as configured, for whoever sends to it. Error messages name the host, never the path. */
export interface SsrfGuard {
  check(url: string | URL, options?: { schemes?: string[] }): Promise<CheckedUrl>;
}

export function createSsrfGuard(options: SsrfOptions = {}): SsrfGuard {
  return { check: (url, extra) => checkUrl(url, options, extra?.schemes) };
}

/** Checks an http(s) URL (see the top of this file); resolves with the URL and its approved addresses. */
export function checkOutboundUrl(url: string | URL, options: SsrfOptions = {}): Promise<CheckedUrl> {
  return checkUrl(url, options);
}

async function checkUrl(raw: string | URL, options: SsrfOptions, schemes?: string[]): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(String(raw));
  } catch {
    throw new SsrfError('not a valid URL');
  }
  const host = normaliseHost(url.hostname);
  const allowListed = (options.allowHosts ?? []).some((h) => normaliseHost(h) === host);
  if (url.username !== '' || url.password !== '')
    throw new SsrfError(`URL for ${host} carries credentials: put them in the vault instead`);
  if (schemes === undefined) {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (allowListed || options.allowPrivate)))
      throw new SsrfError(`URL for ${host} must use https (got ${url.protocol.replace(/:$/, '')})`);
  } else if (!schemes.includes(url.protocol.replace(/:$/, '')))
    throw new SsrfError(`URL for ${host} must use ${schemes.join(' or ')}`);
  if (host === '') throw new SsrfError('URL has no host');
  const addresses = await checkHost(host, options, allowListed);
  return { url, host, addresses };
}

/** Resolves `host` (a name or IP literal) and refuses it unless every address may be reached. */
export async function checkHost(
  host: string,
  options: SsrfOptions = {},
  allowListed = false,
): Promise<string[]> {
  const name = normaliseHost(host);
  let addresses: string[];
  if (ipaddr.isValid(name)) addresses = [name];
  else {
    try {
      addresses = await (options.resolve ?? defaultResolve)(name);
    } catch {
      throw new SsrfError(`cannot resolve ${name}`, true);
    }
    if (addresses.length === 0) throw new SsrfError(`cannot resolve ${name}`, true);
  }
  if (allowListed) return addresses;
  for (const address of addresses) {
    const verdict = classify(address);
    if (verdict === 'public') continue;
    if (verdict === 'private' && options.allowPrivate) continue;
    throw new SsrfError(
      `${name} ${address === name ? 'is' : `resolves to ${address}, which is`} a ${verdict} address: outbound requests go to public addresses only`,
    );
  }
  return addresses;
}

/** 'public' for global unicast; 'private' for what `allowPrivate` admits; otherwise why it is refused. */
export function classify(address: string): 'public' | 'private' | string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    return 'malformed';
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return classify(v6.toIPv4Address().toString());
    const parts = v6.parts;
    // ::a.b.c.d (IPv4-compatible, deprecated) and 64:ff9b::a.b.c.d (NAT64) carry an IPv4 address.
    const embedded = parts.slice(0, 6).every((p) => p === 0) || (parts[0] === 0x64 && parts[1] === 0xff9b);
    if (embedded && v6.range() !== 'unspecified' && v6.range() !== 'loopback') {
      const [hi = 0, lo = 0] = parts.slice(6);
      const v4 = classify(`${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`);
      return v4 === 'public' && parts[0] === 0 ? 'IPv4-compatible' : v4;
    }
  }
  const range = parsed.range();
  switch (range) {
    case 'unicast':
      return 'public';
    case 'loopback':
    case 'private':
    case 'uniqueLocal':
    case 'carrierGradeNat':
      return 'private';
    default:
      return range;
  }
}

function normaliseHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

async function defaultResolve(host: string): Promise<string[]> {
  const answers = await lookup(host, { all: true, verbatim: true });
  return answers.map((a) => a.address);
}
