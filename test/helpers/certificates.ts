// Certificates made at run time with the openssl command line, for tests that need real TLS: a self-signed
// certificate (a server that is its own trust anchor), or a test CA and server certificates it signs.
// EC P-256 keys: quick to generate on a loaded machine. Valid for one day; nothing is kept after the test.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A PEM certificate with its key, as text and as files in the test's directory. */
export interface TestCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** Names a certificate is valid for (its subjectAltName). */
export interface CertificateNames {
  commonName: string;
  dnsNames?: string[];
  ips?: string[];
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore', timeout: 60_000 });
}

function subjectAltName({ dnsNames = [], ips = [] }: CertificateNames): string {
  return [...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
}

function read(certFile: string, keyFile: string): TestCertificate {
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

/** A self-signed certificate; `<dir>/<stem>.pem` and `<dir>/<stem>-key.pem`. */
export function selfSignedCertificate(dir: string, stem: string, names: CertificateNames): TestCertificate {
  const [certFile, keyFile] = [join(dir, `${stem}.pem`), join(dir, `${stem}-key.pem`)];
  const san = subjectAltName(names);
  openssl(
    ['req', '-x509', ...EC_KEY, '-days', '1', '-subj', `/CN=${names.commonName}`]
      .concat(san ? ['-addext', `subjectAltName=${san}`] : [])
      .concat(['-keyout', keyFile, '-out', certFile]),
  );
  return read(certFile, keyFile);
}

/** A certificate authority (basicConstraints CA:TRUE, the default of `openssl req -x509`). */
export function certificateAuthority(dir: string, stem: string, commonName: string): TestCertificate {
  return selfSignedCertificate(dir, stem, { commonName });
}

/** A server certificate signed by `ca`, valid for the given names. */
export function issueCertificate(
  dir: string,
  stem: string,
  ca: TestCertificate,
  names: CertificateNames,
): TestCertificate {
  const [certFile, keyFile] = [join(dir, `${stem}.pem`), join(dir, `${stem}-key.pem`)];
  const [csrFile, extFile] = [join(dir, `${stem}.csr`), join(dir, `${stem}.ext`)];
  openssl([
    'req',
    '-new',
    ...EC_KEY,
    '-subj',
    `/CN=${names.commonName}`,
    '-keyout',
    keyFile,
    '-out',
    csrFile,
  ]);
  writeFileSync(
    extFile,
    [
      `subjectAltName=${subjectAltName(names)}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ].join('\n'),
  );
  openssl(
    ['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial'].concat([
      '-days',
      '1',
      '-extfile',
      extFile,
      '-out',
      certFile,
    ]),
  );
  return read(certFile, keyFile);
}

/**
 * What the upstream TLS tests need: a test CA, a server certificate it signed for `upstream.test` and
 * 127.0.0.1, and a second CA that signed nothing the server presents (the wrong CA).
 */
export interface UpstreamPki {
  ca: TestCertificate;
  server: TestCertificate;
  otherCa: TestCertificate;
}

export const UPSTREAM_NAME = 'upstream.test';

export function upstreamPki(dir: string): UpstreamPki {
  const ca = certificateAuthority(dir, 'ca', 'Hunze Test CA');
  return {
    ca,
    server: issueCertificate(dir, 'server', ca, {
      commonName: UPSTREAM_NAME,
      dnsNames: [UPSTREAM_NAME],
      ips: ['127.0.0.1'],
    }),
    otherCa: certificateAuthority(dir, 'other-ca', 'Another Test CA'),
  };
}
