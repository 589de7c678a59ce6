/**
 * A throwaway certificate authority and a server certificate signed by it, made at test time with
 * the openssl CLI in a temp dir (removed with the test file's other temp dirs). Nothing here is
 * ever committed: each run makes new keys.
 *
 *   const certs = makeTestCertificates();       // CA + server cert for 127.0.0.1 and localhost
 *   startServer({ args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile] });
 *   new SluiceClient({ endpoints, tls: { ca: certs.ca } });
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { makeTempDir } from './server-process.js';

export interface TestCertificates {
  /** PEM of the throwaway CA: what a client passes as `tls.ca`. */
  ca: Buffer;
  /** PEM files for the server's --tls-cert / --tls-key. */
  certFile: string;
  keyFile: string;
  /** The CA's own files, e.g. to sign more certificates. */
  caFile: string;
  caKeyFile: string;
}

/** Whether the openssl CLI can be run; tests that need certificates skip (saying why) without it. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/**
 * A CA (EC P-256, one day) and a server certificate it signs for `hosts` (IP addresses and DNS
 * names in subjectAltName; default 127.0.0.1 and localhost).
 */
export function makeTestCertificates(hosts: readonly string[] = ['127.0.0.1', 'localhost']): TestCertificates {
  const dir = makeTempDir('sluice-certs-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=Sluice test CA'], dir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${hosts[0] ?? 'localhost'}`], dir);
  const san = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? `IP:${host}` : `DNS:${host}`)).join(',');
  writeFileSync(
    path.join(dir, 'server.ext'),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext'],
    dir,
  );
  return {
    ca: readFileSync(path.join(dir, 'ca.pem')),
    certFile: path.join(dir, 'server.pem'),
    keyFile: path.join(dir, 'server.key'),
    caFile: path.join(dir, 'ca.pem'),
    caKeyFile: path.join(dir, 'ca.key'),
  };
}
