// The outbound-URL guard: every way of naming an internal address is refused, public addresses pass.
import { describe, expect, it } from 'vitest';
import { checkOutboundUrl, classify, createSsrfGuard, SsrfError } from '../../functions/core/notify/ssrf.js';

// Names the fake resolver knows; anything else fails to resolve (no network in tests).
const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.216.34'],
  'internal.example.com': ['10.0.0.5'],
  'mixed.example.com': ['93.184.216.34', '192.168.1.10'],
  'metadata.example.com': ['169.254.169.254'],
  'v6.example.com': ['2606:4700:4700::1111'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
  localhost: ['127.0.0.1', '::1'],
};
const resolve = async (host: string): Promise<string[]> => {
  const answer = DNS[host];
  if (answer === undefined)
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return answer;
};

describe('checkOutboundUrl', () => {
  it.each([
    ['loopback', 'https://127.0.0.1/hook'],
    ['localhost', 'https://localhost/hook'],
    ['localhost with a trailing dot', 'https://localhost./hook'],
    ['IPv6 loopback', 'https://[::1]/hook'],
    ['10/8', 'https://10.1.2.3/hook'],
    ['172.16/12', 'https://172.16.0.1/hook'],
    ['172.31 (end of 172.16/12)', 'https://172.31.255.255/hook'],
    ['192.168/16', 'https://192.168.0.1/hook'],
    ['cloud metadata', 'https://169.254.169.254/latest/meta-data/'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook'],
    ['IPv4-mapped metadata', 'https://[::ffff:169.254.169.254]/hook'],
    ['IPv4-compatible loopback', 'https://[::127.0.0.1]/hook'],
    ['NAT64 of loopback', 'https://[64:ff9b::127.0.0.1]/hook'],
    ['unspecified 0.0.0.0', 'https://0.0.0.0/hook'],
    ['unspecified ::', 'https://[::]/hook'],
    ['decimal 2130706433', 'https://2130706433/'],
    ['hex-dotted 0x7f.1', 'https://0x7f.1/'],
    ['octal 017700000001', 'https://017700000001/'],
    ['short 127.1', 'https://127.1/'],
    ['bare 0', 'https://0/'],
    ['unique local fd00::', 'https://[fd12:3456::1]/hook'],
    ['link-local fe80::', 'https://[fe80::1]/hook'],
    ['multicast', 'https://224.0.0.1/hook'],
    ['IPv6 multicast', 'https://[ff02::1]/hook'],
    ['broadcast', 'https://255.255.255.255/hook'],
    ['carrier-grade NAT', 'https://100.100.100.200/hook'],
    ['documentation range', 'https://192.0.2.10/hook'],
    ['a name resolving to a private address', 'https://internal.example.com/hook'],
    ['a name with one private address among public ones', 'https://mixed.example.com/hook'],
    ['a name resolving to the metadata address', 'https://metadata.example.com/hook'],
    ['a name resolving to IPv4-mapped loopback', 'https://mapped.example.com/hook'],
    ['http to a public host', 'http://hooks.example.com/hook'],
    ['credentials in the URL', 'https://user:secret@hooks.example.com/hook'],
    ['another scheme', 'ftp://hooks.example.com/hook'],
    ['file URL', 'file:///etc/passwd'],
  ])('refuses %s (%s)', async (_name, url) => {
    await expect(checkOutboundUrl(url, { resolve })).rejects.toBeInstanceOf(SsrfError);
  });

  it('documents what the WHATWG parser makes of numeric hosts', () => {
    expect(new URL('http://2130706433/').hostname).toBe('127.0.0.1');
    expect(new URL('http://0x7f.1/').hostname).toBe('127.0.0.1');
    expect(new URL('http://017700000001/').hostname).toBe('127.0.0.1');
    expect(new URL('http://0/').hostname).toBe('0.0.0.0');
    expect(new URL('http://[::ffff:127.0.0.1]/').hostname).toBe('[::ffff:7f00:1]');
  });

  it.each([
    ['a public IPv4 literal', 'https://93.184.216.34/hook'],
    ['a public name', 'https://hooks.example.com/services/T0/B0/xyz'],
    ['a public IPv6 name', 'https://v6.example.com/hook'],
    ['a public IPv6 literal', 'https://[2606:4700:4700::1111]/hook'],
  ])('allows %s', async (_name, url) => {
    const checked = await checkOutboundUrl(url, { resolve });
    expect(checked.addresses.length).toBeGreaterThan(0);
  });

  it('names the host, never the path (webhook paths are secrets)', async () => {
    const error = (await checkOutboundUrl('https://internal.example.com/services/T0/B0/SECRETPATH', {
      resolve,
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('internal.example.com');
    expect(error.message).toContain('10.0.0.5');
    expect(error.message).not.toContain('SECRETPATH');
  });

  it('treats a name that does not resolve as retryable', async () => {
    const error = await checkOutboundUrl('https://nowhere.example.com/', { resolve }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SsrfError);
    expect((error as SsrfError).retryable).toBe(true);
  });

  it('allowPrivate admits loopback, RFC 1918 and http, but not link-local or unspecified', async () => {
    await expect(checkOutboundUrl('http://127.0.0.1:8080/x', { allowPrivate: true })).resolves.toBeTruthy();
    await expect(checkOutboundUrl('http://10.0.0.1/x', { allowPrivate: true })).resolves.toBeTruthy();
    await expect(checkOutboundUrl('http://169.254.169.254/', { allowPrivate: true })).rejects.toThrow(
      /linkLocal/,
    );
    await expect(checkOutboundUrl('http://0.0.0.0/', { allowPrivate: true })).rejects.toThrow(/unspecified/);
    await expect(checkOutboundUrl('https://user:pw@127.0.0.1/', { allowPrivate: true })).rejects.toThrow(
      /credentials/,
    );
  });

  it('allowHosts admits a listed host over http whatever it resolves to', async () => {
    await expect(
      checkOutboundUrl('http://internal.example.com/hook', { resolve, allowHosts: ['internal.example.com'] }),
    ).resolves.toMatchObject({ host: 'internal.example.com', addresses: ['10.0.0.5'] });
    await expect(
      checkOutboundUrl('http://other.example.com/', { resolve, allowHosts: ['x'] }),
    ).rejects.toThrow();
  });

  it('resolves through dns.lookup by default (localhost is loopback)', async () => {
    await expect(checkOutboundUrl('https://localhost/')).rejects.toThrow(/loopback|private/);
  });

  it('a guard checks other schemes when told to (SMTP servers)', async () => {
    const guard = createSsrfGuard({ resolve });
    await expect(
      guard.check('smtp://hooks.example.com:587', { schemes: ['smtp', 'smtps'] }),
    ).resolves.toBeTruthy();
    await expect(
      guard.check('smtp://internal.example.com:25', { schemes: ['smtp', 'smtps'] }),
    ).rejects.toThrow(/10\.0\.0\.5/);
    await expect(guard.check('https://hooks.example.com', { schemes: ['smtp'] })).rejects.toThrow(/smtp/);
  });

  it('classifies addresses', () => {
    expect(classify('8.8.8.8')).toBe('public');
    expect(classify('127.0.0.1')).toBe('private');
    expect(classify('::ffff:10.0.0.1')).toBe('private');
    expect(classify('169.254.169.254')).toBe('linkLocal');
    expect(classify('::ffff:169.254.169.254')).toBe('linkLocal');
    expect(classify('::808:808')).toBe('IPv4-compatible');
    expect(classify('::7f00:1')).toBe('private');
    expect(classify('not an ip')).toBe('malformed');
  });
});
