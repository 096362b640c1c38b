/**
 * Where each piece lives, under kubeadm's own names (kubernetes.io/docs/setup/best-practices/
 * certificates, "Certificate paths"), relative to the seed's `dataDir/pki` and to a controller's
 * /etc/kubernetes/pki alike. The control-plane set is exactly the "manual certificate
 * distribution" list (high-availability.md#manual-certs; k8s-bootstrap.md 3c option b): CA
 * certs and keys plus the SA pair, nothing else. Workers get none of it, only the CA pin.
 */
import type { ClusterIdentity } from './cluster-pki.ts';

/** Private keys: owner-only, as kubeadm writes them (pkiutil.WriteKey uses 0600). */
export const SECRET_MODE = 0o600;
/** Certificates and public keys are public. */
export const PUBLIC_MODE = 0o644;

export interface PkiFile {
  /** Relative path, e.g. `etcd/ca.key`. */
  path: string;
  contents: string;
  mode: number;
}

type Identity = Omit<ClusterIdentity, 'clusterName'>;

const CONTROL_PLANE_FILES: readonly { path: string; mode: number; get: (p: Identity) => string }[] = [
  { path: 'ca.crt', mode: PUBLIC_MODE, get: (p) => p.ca.certPem },
  { path: 'ca.key', mode: SECRET_MODE, get: (p) => p.ca.keyPem },
  { path: 'sa.key', mode: SECRET_MODE, get: (p) => p.serviceAccount.keyPem },
  { path: 'sa.pub', mode: PUBLIC_MODE, get: (p) => p.serviceAccount.publicKeyPem },
  { path: 'front-proxy-ca.crt', mode: PUBLIC_MODE, get: (p) => p.frontProxyCa.certPem },
  { path: 'front-proxy-ca.key', mode: SECRET_MODE, get: (p) => p.frontProxyCa.keyPem },
  { path: 'etcd/ca.crt', mode: PUBLIC_MODE, get: (p) => p.etcdCa.certPem },
  { path: 'etcd/ca.key', mode: SECRET_MODE, get: (p) => p.etcdCa.keyPem },
];

export const CONTROL_PLANE_PKI_PATHS: readonly string[] = CONTROL_PLANE_FILES.map((f) => f.path);

/** The files a controller needs in /etc/kubernetes/pki before `kubeadm init` / control-plane join. */
export function controlPlanePkiFiles(pki: Identity): PkiFile[] {
  return CONTROL_PLANE_FILES.map((f) => ({ path: f.path, contents: f.get(pki), mode: f.mode }));
}
