/**
 * Everything kubeadm's pre-generated PKI needs from the seed (kubernetes.io/docs/setup/
 * best-practices/certificates, "Single root CA" and "All certificates"; kubeadm-init.md "Using
 * custom certificates"; k8s-bootstrap.md 3c): three CAs, the service-account key pair, the CA pin
 * for joins, a bootstrap token and the operator's admin client certificate. kubeadm issues every
 * other certificate (apiserver, kubelet, etcd peers) itself on the nodes from these CAs.
 */
import { BootstrapToken } from './bootstrap-token.ts';
import { caCertHash } from './ca-hash.ts';
import { type CertAndKey, createCa, issueCertificate, type Subject } from './certificate.ts';
import { generateKeyPair, type KeyPairPem } from './keys.ts';

/** kubeadm's CA subjects (cmd/kubeadm/app/phases/certs/certlist.go: KubeadmCertRootCA etc.). */
export const CA_SUBJECTS = {
  ca: { commonName: 'kubernetes' },
  frontProxyCa: { commonName: 'front-proxy-ca' },
  etcdCa: { commonName: 'etcd-ca' },
} as const satisfies Record<string, Subject>;

/**
 * The operator's credential, as kubeadm ≥1.29 writes admin.conf (KEP-4214, kubernetes/kubeadm#2414):
 * group `kubeadm:cluster-admins`, which kubeadm init binds to `cluster-admin` with a
 * ClusterRoleBinding, so it can be revoked. Not `system:masters` ("super-admin"): that group
 * bypasses RBAC and cannot be revoked short of rotating the CA, and kubeadm init already writes a
 * break-glass /etc/kubernetes/super-admin.conf on the first controller. Consequence: this
 * certificate is only authorised once `kubeadm init` has created the binding.
 */
export const ADMIN_SUBJECT = {
  commonName: 'kubernetes-admin',
  organizations: ['kubeadm:cluster-admins'],
} as const satisfies Subject;

export interface ClusterPki {
  clusterName: string;
  /** `ca.crt` / `ca.key`: signs the API server, kubelets, clients. */
  ca: CertAndKey;
  /** `front-proxy-ca.*`: the aggregation layer's request-header CA. */
  frontProxyCa: CertAndKey;
  /** `etcd/ca.*`: stacked etcd's server, peer and client certificates. */
  etcdCa: CertAndKey;
  /** `sa.key` / `sa.pub`: signs and verifies service-account tokens. */
  serviceAccount: KeyPairPem;
  /** Client certificate for the operator's kubeconfig (`metalseed kubeconfig`). */
  admin: CertAndKey;
  bootstrapToken: BootstrapToken;
  /** `sha256:<hex>` for `caCertHashes` (see ca-hash.ts). */
  caCertHash: string;
}

export interface CreateOptions {
  clusterName: string;
  now: Date;
  tokenTtlMs?: number;
}

/** The part that defines the cluster: three CAs and the service-account key pair. */
export type ClusterIdentity = Pick<
  ClusterPki,
  'clusterName' | 'ca' | 'frontProxyCa' | 'etcdCa' | 'serviceAccount'
>;

export async function createClusterIdentity(opts: CreateOptions): Promise<ClusterIdentity> {
  return {
    clusterName: opts.clusterName,
    ca: await createCa({ subject: CA_SUBJECTS.ca, now: opts.now }),
    frontProxyCa: await createCa({ subject: CA_SUBJECTS.frontProxyCa, now: opts.now }),
    etcdCa: await createCa({ subject: CA_SUBJECTS.etcdCa, now: opts.now }),
    serviceAccount: generateKeyPair(),
  };
}

export async function createClusterPki(opts: CreateOptions): Promise<ClusterPki> {
  const identity = await createClusterIdentity(opts);
  return {
    ...identity,
    admin: await issueAdminCert(identity.ca, opts.now),
    bootstrapToken: newBootstrapToken(opts.now, opts.tokenTtlMs),
    caCertHash: caCertHash(identity.ca.certPem),
  };
}

/** kubeadm's admin.conf client certificate: clientAuth only, no SANs, one year. */
export function issueAdminCert(ca: CertAndKey, now: Date): Promise<CertAndKey> {
  return issueCertificate({ ca, subject: ADMIN_SUBJECT, usages: ['clientAuth'], now });
}

export function newBootstrapToken(now: Date, ttlMs?: number): BootstrapToken {
  return BootstrapToken.generate({
    now,
    ...(ttlMs !== undefined ? { ttlMs } : {}),
    description: 'created by metalseed for kubeadm init/join',
  });
}
