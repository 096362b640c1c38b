/**
 * The seed's own https identity for the secret stage: a private "metalseed seed CA" (not the
 * cluster CA: a seed certificate must never be able to impersonate the API server) and a
 * server certificate for the advertise address. Stage-1 Ignition pins the CA, so the
 * controller's Ignition trusts exactly this seed (k8s-bootstrap.md section 6 rule 3).
 *
 * Files in `dataDir/pki/seed/`: ca.crt, ca.key, server.crt, server.key. The CA is made once;
 * the server certificate is re-issued when the address changes or a month before it lapses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import {
  assertCa,
  assertKeyMatches,
  type CertAndKey,
  certificateIps,
  createCa,
  ensurePrivateDir,
  issueCertificate,
  parseCertificate,
  writeFileAtomic,
} from './pki/index.ts';

export const SEED_TLS_DIR = 'seed';
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

export interface SeedTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export async function loadOrCreateSeedTls(pkiDir: string, address: string, now: Date): Promise<SeedTls> {
  const dir = path.join(pkiDir, SEED_TLS_DIR);
  ensurePrivateDir(dir, 0o700);
  const p = (n: string) => path.join(dir, n);
  let ca: CertAndKey;
  if (fs.existsSync(p('ca.crt'))) {
    ca = { certPem: read(p('ca.crt')), keyPem: read(p('ca.key')) };
    assertCa(ca.certPem, p('ca.crt'));
    assertKeyMatches(ca.certPem, ca.keyPem, p('ca.crt'), p('ca.key'));
  } else {
    ca = await createCa({ subject: { commonName: 'metalseed seed CA' }, now });
    writeFileAtomic(p('ca.key'), ca.keyPem, 0o600, { replace: false });
    writeFileAtomic(p('ca.crt'), ca.certPem, 0o644, { replace: false });
  }
  if (fs.existsSync(p('server.crt')) && fs.existsSync(p('server.key'))) {
    const server = { certPem: read(p('server.crt')), keyPem: read(p('server.key')) };
    if (serverStillGood(server, address, now, p('server.crt'))) {
      return { caPem: ca.certPem, ...server };
    }
  }
  const server = await issueCertificate({
    ca,
    subject: { commonName: `metalseed ${address}` },
    usages: ['serverAuth'],
    ipAddresses: [address],
    now,
  });
  writeFileAtomic(p('server.key'), server.keyPem, 0o600, { replace: true });
  writeFileAtomic(p('server.crt'), server.certPem, 0o644, { replace: true });
  return { caPem: ca.certPem, ...server };
}

function serverStillGood(server: CertAndKey, address: string, now: Date, what: string): boolean {
  const cert = parseCertificate(server.certPem, what);
  if (cert.notAfter.getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
  return certificateIps(server.certPem, what).includes(address);
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `cannot read ${file}: ${(err as Error).message}`,
      `restore it, or delete ${path.dirname(file)} to make a new seed CA (controllers not yet provisioned pick it up)`,
    );
  }
}
