/**
 * The CA pin kubeadm join takes as `discovery.bootstrapToken.caCertHashes` /
 * `--discovery-token-ca-cert-hash`: "sha256:" + hex SHA-256 of the CA certificate's DER
 * SubjectPublicKeyInfo (kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join, "Token-based
 * discovery with CA pinning"; RFC 7469 pin format; Go: sha256.Sum256(cert.RawSubjectPublicKeyInfo)).
 * The bytes hashed are the SPKI exactly as it appears inside the certificate, not a re-encoding.
 */
import { createHash } from 'node:crypto';
import { parseCertificate } from './inspect.ts';

export const CA_HASH_PREFIX = 'sha256:';

export function caCertHash(caCertPem: string): string {
  const spki = new Uint8Array(parseCertificate(caCertPem, 'CA certificate').publicKey.rawData);
  return CA_HASH_PREFIX + createHash('sha256').update(spki).digest('hex');
}
