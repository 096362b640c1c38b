/**
 * Reading certificates back and checking that stored pieces still belong together: a cert
 * parses, a CA is a CA (RFC 5280 4.2.1.9), a key is the one the certificate certifies, a leaf
 * carries its CA's signature. Every failure names the file (`what`) so the operator knows which
 * one to look at.
 */
import { MetalseedError } from '../../lib/errors.ts';
import { spkiDer } from './keys.ts';
import { decodePem, PemLabel } from './pem.ts';
import { x509 } from './x509.ts';

export function parseCertificate(certPem: string, what: string): x509.X509Certificate {
  const der = decodePem(PemLabel.certificate, certPem, what);
  try {
    return new x509.X509Certificate(der);
  } catch (err) {
    throw invalid(`${what} is not a readable X.509 certificate: ${(err as Error).message}`);
  }
}

/** The IP addresses in the certificate's subjectAltName (RFC 5280 4.2.1.6). */
export function certificateIps(certPem: string, what: string): string[] {
  const san = parseCertificate(certPem, what).getExtension(x509.SubjectAlternativeNameExtension);
  return san?.names.items.filter((n) => n.type === 'ip').map((n) => n.value) ?? [];
}

export function assertCa(certPem: string, what: string): void {
  const cert = parseCertificate(certPem, what);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw invalid(`${what} is not a CA certificate (basicConstraints CA:TRUE missing)`);
}

/** The private key must be the one whose public half the certificate (or public key) carries. */
export function assertKeyMatches(
  publicPem: string,
  keyPem: string,
  publicWhat: string,
  keyWhat: string,
): void {
  let same: boolean;
  try {
    same = spkiDer(publicPem).equals(spkiDer(keyPem));
  } catch (err) {
    throw invalid(`cannot compare ${keyWhat} with ${publicWhat}: ${(err as Error).message}`);
  }
  if (!same) throw invalid(`${keyWhat} does not belong to ${publicWhat} (the public keys differ)`);
}

/** Checks the signature only (not dates): expiry is the caller's policy, renewal or refusal. */
export async function assertSignedBy(
  certPem: string,
  caPem: string,
  what: string,
  caWhat: string,
): Promise<void> {
  const cert = parseCertificate(certPem, what);
  const ca = parseCertificate(caPem, caWhat);
  const ok = await cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  if (!ok) throw invalid(`${what} is not signed by ${caWhat}`);
}

function invalid(message: string): MetalseedError {
  return new MetalseedError('CONFIG_INVALID', message);
}
