// A self-signed certificate for 127.0.0.1, made once per test process with openssl, for https fakes of
// Azure services whose clients send a bearer token over TLS only (core-rest-pipeline's bearer policy refuses
// plain http). The client under test trusts it explicitly (its pipeline's `tlsOptions.ca`), so nothing turns
// certificate checks off: the fake is reached the way the real service is, over checked TLS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoopbackCertificate {
  /** PEM: the certificate, also the CA a client trusts. */
  cert: string;
  /** PEM: its private key (made here, used only by the fake). */
  key: string;
}

let made: LoopbackCertificate | undefined;

/** The certificate (made on first use, valid for a day, for IP 127.0.0.1 and the name localhost). */
export function loopbackCertificate(): LoopbackCertificate {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), 'stepgate-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'pipe' },
    );
    made = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    return made;
  } catch (error) {
    throw new Error(`openssl could not make the loopback test certificate: ${String(error)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
