/**
 * Self-signed CAs and CA-signed leaf certificates, shaped the way kubeadm makes its own
 * (kubernetes.io/docs/setup/best-practices/certificates; cmd/kubeadm/app/util/pkiutil):
 * ECDSA P-256 with SHA-256, 10-year CAs, 1-year leaves, random serials, SKI/AKI.
 * Certificates are PEM strings everywhere outside this file.
 */
import { parseCertificate } from './inspect.ts';
import { ECDSA_SHA256, generateKeyPair, importSigningKey } from './keys.ts';
import { decodePem, encodePem, PemLabel } from './pem.ts';
import { randomSerial } from './serial.ts';
import { x509 } from './x509.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** kubeadm's CA lifetime (constants.CACertificateValidityPeriod = 10 years). */
export const CA_VALIDITY_MS = 3650 * DAY_MS;
/** kubeadm's leaf lifetime (constants.CertificateValidityPeriod = 1 year); renewed by the store. */
export const LEAF_VALIDITY_MS = 365 * DAY_MS;
/**
 * notBefore is set this far in the past, as kubeadm does (constants.CertificateBackdate): a node
 * that just PXE-booted may not have synced its clock yet and would reject a "future" certificate.
 */
export const NOT_BEFORE_BACKDATE_MS = 5 * 60 * 1000;

export interface Subject {
  commonName: string;
  /** Kubernetes reads O as the user's groups (x509 client certs, access-authn-authz/authentication). */
  organizations?: readonly string[];
}

export interface CertAndKey {
  certPem: string;
  /** PKCS #8 PEM. */
  keyPem: string;
}

/** Extended key usages (RFC 5280 section 4.2.1.12) this PKI issues. */
export type ExtendedUsage = 'serverAuth' | 'clientAuth';

export interface CaOptions {
  subject: Subject;
  now: Date;
  validityMs?: number;
}

export async function createCa(opts: CaOptions): Promise<CertAndKey> {
  const keys = generateKeyPair();
  const publicKey = spkiKey(keys.publicKeyPem);
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(opts.subject),
    issuer: distinguishedName(opts.subject),
    ...validity(opts.now, opts.validityMs ?? CA_VALIDITY_MS),
    publicKey,
    signingKey: await importSigningKey(keys.keyPem, 'new CA key'),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      // RFC 5280 4.2.1.9: CA certificates MUST mark basicConstraints critical
      new x509.BasicConstraintsExtension(true, undefined, true),
      // RFC 5280 4.2.1.3: keyCertSign and cRLSign for a CA; digitalSignature as kubeadm sets it
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      ski,
      // RFC 5280 4.2.1.1: MAY be omitted on a self-signed CA; present so chain builders need not guess
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return { certPem: encodePem(PemLabel.certificate, new Uint8Array(cert.rawData)), keyPem: keys.keyPem };
}

export interface LeafOptions {
  ca: CertAndKey;
  subject: Subject;
  usages: readonly ExtendedUsage[];
  dnsNames?: readonly string[];
  /** IPv4 or IPv6 literals. */
  ipAddresses?: readonly string[];
  now: Date;
  validityMs?: number;
}

export async function issueCertificate(opts: LeafOptions): Promise<CertAndKey> {
  const keys = generateKeyPair();
  const ca = parseCertificate(opts.ca.certPem, 'CA certificate');
  const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  const publicKey = spkiKey(keys.publicKeyPem);
  const v = validity(opts.now, opts.validityMs ?? LEAF_VALIDITY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: distinguishedName(opts.subject),
    issuer: ca.subjectName,
    notBefore: v.notBefore,
    // a leaf outliving its CA would fail validation anyway (RFC 5280 6.1.3 (a)(2))
    notAfter: new Date(Math.min(v.notAfter.getTime(), ca.notAfter.getTime())),
    publicKey,
    signingKey: await importSigningKey(opts.ca.keyPem, 'CA key'),
    signingAlgorithm: ECDSA_SHA256,
    extensions: leafExtensions(opts, await x509.SubjectKeyIdentifierExtension.create(publicKey), caSki),
  });
  return { certPem: encodePem(PemLabel.certificate, new Uint8Array(cert.rawData)), keyPem: keys.keyPem };
}

function leafExtensions(
  opts: LeafOptions,
  ski: x509.SubjectKeyIdentifierExtension,
  caSki: x509.SubjectKeyIdentifierExtension | null,
): x509.Extension[] {
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // RFC 5480 section 3: an ECDSA key signs; keyEncipherment (kubeadm sets it for RSA) does not apply
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(opts.usages.map((u) => x509.ExtendedKeyUsage[u])),
    ski,
  ];
  if (caSki) ext.push(new x509.AuthorityKeyIdentifierExtension(caSki.keyId));
  const names: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) ext.push(new x509.SubjectAlternativeNameExtension(names));
  return ext;
}

/** O before CN, the RDN order Go's pkix.Name produces, so our certs read like kubeadm's. */
function distinguishedName(s: Subject): x509.JsonName {
  return [...(s.organizations ?? []).map((o) => ({ O: [o] })), { CN: [s.commonName] }];
}

function validity(now: Date, validityMs: number): { notBefore: Date; notAfter: Date } {
  // X.509 times have one-second resolution; truncating keeps re-parsed dates equal to ours
  const t = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(t - NOT_BEFORE_BACKDATE_MS), notAfter: new Date(t + validityMs) };
}

function spkiKey(publicKeyPem: string): x509.PublicKey {
  return new x509.PublicKey(decodePem(PemLabel.publicKey, publicKeyPem, 'new public key'));
}
