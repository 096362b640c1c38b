/**
 * kubeadm configuration files, API `kubeadm.k8s.io/v1beta4`
 * (https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/; Go types in
 * kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go):
 *
 * - first controller: InitConfiguration + ClusterConfiguration for `kubeadm init --config`;
 * - worker: JoinConfiguration with bootstrap-token discovery pinned by `caCertHashes`;
 * - more controllers: the same plus `controlPlane.localAPIEndpoint`.
 *
 * Inputs are plain values; nothing secret is generated here. The joins carry a bootstrap token
 * and the CA's public-key pin, never key material: extra controllers find the shared CA set
 * already in /etc/kubernetes/pki (k8s-bootstrap.md 3c option b), so there is no
 * `certificateKey` and no `--upload-certs` window.
 */

import {
  type ClusterSpec,
  DEFAULT_API_SERVER_PORT,
  DNS_SUBDOMAIN_RE,
  type Endpoint,
  formatEndpoint,
} from '../../config/index.ts';
import { MetalseedError } from '../../lib/errors.ts';
import { parseIPv4 } from '../../lib/net.ts';
import { renderYamlDocuments } from './yaml.ts';

export const KUBEADM_API_VERSION = 'kubeadm.k8s.io/v1beta4';
/** Flatcar's built-in containerd (k8s-bootstrap.md 3b). */
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';
/** kubeadm's default; the seed's PKI is written there before `kubeadm init`/`join` runs. */
export const CERTIFICATES_DIR = '/etc/kubernetes/pki';
/** Leaf keys kubeadm generates match the seed's ECDSA P-256 CAs (v1beta4 EncryptionAlgorithmType). */
export const ENCRYPTION_ALGORITHM = 'ECDSA-P256';
/** kubeadm's default DNS domain (Networking.dnsDomain), written out so the file says it. */
export const DNS_DOMAIN = 'cluster.local';
/**
 * Short-lived on purpose (k8s-bootstrap.md section 6 rule 1: one short-TTL token per node or
 * batch); kubeadm's own default is 24h.
 */
export const DEFAULT_TOKEN_TTL_SECONDS = 2 * 3600;
/** What `kubeadm token create` gives a join token (BootstrapToken usages and groups defaults). */
const TOKEN_USAGES = ['signing', 'authentication'] as const;
const TOKEN_GROUPS = ['system:bootstrappers:kubeadm:default-node-token'] as const;

/** The node being configured. `address` is its IPv4 on the cluster network. */
export interface NodeIdentity {
  hostname: string;
  address: string;
}

export interface InitInput {
  cluster: ClusterSpec;
  node: NodeIdentity;
  /** From `resolveControlPlaneEndpoint`. */
  endpoint: Endpoint;
  /** `[a-z0-9]{6}.[a-z0-9]{16}` */
  bootstrapToken: string;
  tokenTtlSeconds?: number;
  /** Names or addresses added to the API server certificate after the endpoint host. */
  extraCertSANs?: readonly string[];
}

export interface JoinInput {
  node: NodeIdentity;
  endpoint: Endpoint;
  bootstrapToken: string;
  /** `sha256:<64 hex>` of the cluster CA's SubjectPublicKeyInfo. */
  caCertHash: string;
}

export type KubeadmDocument = { apiVersion: typeof KUBEADM_API_VERSION; kind: string } & Record<
  string,
  unknown
>;

/** InitConfiguration then ClusterConfiguration, for the first controller. */
export function initDocuments(input: InitInput): KubeadmDocument[] {
  const { cluster, node, endpoint } = input;
  checkNode(node);
  checkToken(input.bootstrapToken);
  const init: KubeadmDocument = {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: input.bootstrapToken,
        ttl: goDuration(input.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS),
        usages: [...TOKEN_USAGES],
        groups: [...TOKEN_GROUPS],
      },
    ],
    nodeRegistration: nodeRegistration(node),
    localAPIEndpoint: localAPIEndpoint(node),
  };
  const clusterConfig: KubeadmDocument = {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'ClusterConfiguration',
    clusterName: cluster.name,
    kubernetesVersion: cluster.kubernetesVersion,
    controlPlaneEndpoint: formatEndpoint(endpoint),
    certificatesDir: CERTIFICATES_DIR,
    encryptionAlgorithm: ENCRYPTION_ALGORITHM,
    // podSubnet makes kubeadm run kube-controller-manager with --allocate-node-cidrs and
    // --cluster-cidr, which flannel's --kube-subnet-mgr needs (k8s-bootstrap.md 3c).
    networking: { podSubnet: cluster.podCIDR, serviceSubnet: cluster.serviceCIDR, dnsDomain: DNS_DOMAIN },
    apiServer: { certSANs: unique([endpoint.host, ...(input.extraCertSANs ?? [])]) },
  };
  return [init, clusterConfig];
}

/** JoinConfiguration for a worker: token and CA pin only. */
export function workerJoinDocuments(input: JoinInput): KubeadmDocument[] {
  return [joinConfiguration(input)];
}

/** JoinConfiguration for another controller; its PKI subset is pre-distributed, so no certificateKey. */
export function controlPlaneJoinDocuments(input: JoinInput): KubeadmDocument[] {
  return [{ ...joinConfiguration(input), controlPlane: { localAPIEndpoint: localAPIEndpoint(input.node) } }];
}

export function renderInitConfig(input: InitInput): string {
  return renderYamlDocuments(initDocuments(input));
}

export function renderWorkerJoinConfig(input: JoinInput): string {
  return renderYamlDocuments(workerJoinDocuments(input));
}

export function renderControlPlaneJoinConfig(input: JoinInput): string {
  return renderYamlDocuments(controlPlaneJoinDocuments(input));
}

function joinConfiguration(input: JoinInput): KubeadmDocument {
  checkNode(input.node);
  checkToken(input.bootstrapToken);
  if (!CA_HASH_RE.test(input.caCertHash)) {
    // Never fall back to unsafeSkipCAVerification (k8s-bootstrap.md section 6 rule 1).
    throw new MetalseedError('INVALID_INPUT', 'caCertHash must be sha256: and 64 lower-case hex digits');
  }
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: 'JoinConfiguration',
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: formatEndpoint(input.endpoint),
        token: input.bootstrapToken,
        caCertHashes: [input.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(input.node),
  };
}

function nodeRegistration(node: NodeIdentity): Record<string, unknown> {
  return {
    name: node.hostname,
    criSocket: CRI_SOCKET,
    // v1beta4 turned extraArgs maps into lists of {name, value} (v1beta4 doc.go, PR #125029).
    // node-ip: the kubelet would otherwise pick the default route's address.
    kubeletExtraArgs: [{ name: 'node-ip', value: node.address }],
  };
}

function localAPIEndpoint(node: NodeIdentity): Record<string, unknown> {
  return { advertiseAddress: node.address, bindPort: DEFAULT_API_SERVER_PORT };
}

/** Bootstrap token format (kubeadm BootstrapTokenString; k8s-bootstrap.md 3c). */
const TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const CA_HASH_RE = /^sha256:[0-9a-f]{64}$/;

function checkToken(token: string): void {
  if (!TOKEN_RE.test(token)) {
    throw new MetalseedError('INVALID_INPUT', 'bootstrap token must match [a-z0-9]{6}.[a-z0-9]{16}');
  }
}

function checkNode(node: NodeIdentity): void {
  // The Node object's name: a lower-case RFC 1123 subdomain.
  if (!DNS_SUBDOMAIN_RE.test(node.hostname)) {
    throw new MetalseedError('INVALID_INPUT', `not a valid Node name: ${JSON.stringify(node.hostname)}`);
  }
  if (parseIPv4(node.address) === null) {
    throw new MetalseedError('INVALID_INPUT', `not an IPv4 address: ${JSON.stringify(node.address)}`);
  }
}

/** Go's time.Duration.String for whole seconds, the form metav1.Duration writes: "2h0m0s". */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new MetalseedError('INVALID_INPUT', 'token TTL must be a positive whole number of seconds');
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
