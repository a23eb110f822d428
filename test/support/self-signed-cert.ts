// A self-signed TLS certificate made with node:crypto alone (no openssl binary, no dependency), for the
// https fakes of Azure services whose clients send a bearer token over TLS only (core-rest-pipeline's
// bearer policy refuses plain http): Key Vault at its real host name, Communication Services at
// 127.0.0.1. An ECDSA P-256 key and an X.509 v3 certificate for the given names (DNS names, wildcards, IP
// addresses), written in DER by hand (the few ASN.1 types a certificate needs). The client trusts it by
// taking the certificate as its CA, so nothing turns certificate checks off: TLS is verified as it would
// be against the real service.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

export interface SelfSignedCert {
  /** The certificate, PEM: the server's `cert` and the client's `ca`. */
  cert: string;
  /** Its private key, PEM (PKCS#8): the server's `key`. */
  key: string;
}

/** ecdsa-with-SHA256, commonName, subjectAltName, basicConstraints. */
const OID = {
  ecdsaSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
};

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...content: Buffer[]) => der(0x30, ...content);

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A UTCTime (YYMMDDHHMMSSZ): good until 2049. */
function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return der(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

function name(commonName: string): Buffer {
  return sequence(der(0x31, sequence(oid(OID.commonName), der(0x0c, Buffer.from(commonName, 'utf8')))));
}

/** An IPv4 or IPv6 address as its bytes (a subjectAltName iPAddress). */
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: `::` stands for as many zero groups as make eight; each group is two bytes.
  const [head, tail] = ip.split('::').map((part) => (part === '' ? [] : part.split(':')));
  const groups =
    tail === undefined
      ? (head ?? [])
      : [...(head ?? []), ...Array(8 - (head ?? []).length - tail.length).fill('0'), ...tail];
  return Buffer.from(
    groups.flatMap((group) => [Number.parseInt(group, 16) >> 8, Number.parseInt(group, 16) & 0xff]),
  );
}

/** A subjectAltName entry: an iPAddress ([7]) for an address, a dNSName ([2]) for anything else. */
const altName = (name: string): Buffer =>
  isIP(name) === 0 ? der(0x82, Buffer.from(name, 'ascii')) : der(0x87, ipBytes(name));

/**
 * A certificate for `names` — DNS names (`*.vault.azure.net` too) and IP addresses (`127.0.0.1`), the
 * first one its subject — valid from an hour ago for a day.
 */
export function selfSignedCert(names: string[]): SelfSignedCert {
  const [subject] = names;
  if (subject === undefined) throw new Error('a certificate needs at least one name (a DNS name or an IP)');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = sequence(oid(OID.ecdsaSha256));
  const now = Date.now();
  const extensions = sequence(
    sequence(oid(OID.subjectAltName), der(0x04, sequence(...names.map(altName)))),
    // CA:TRUE, so the certificate is its own trust anchor.
    sequence(
      oid(OID.basicConstraints),
      der(0x01, Buffer.from([0xff])),
      der(0x04, sequence(der(0x01, Buffer.from([0xff])))),
    ),
  );
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, Buffer.from([0x01, ...randomBytes(8)])),
    algorithm,
    name(subject),
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name(subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    der(0xa3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, algorithm, der(0x03, Buffer.from([0]), signature));
  const base64 = certificate.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${base64.replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
