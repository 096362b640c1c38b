/**
 * The `cluster:` mapping of the seed config: what the kubeadm, flannel and Ignition generators
 * need to know about the cluster. Every key has a default; a wrong value throws
 * `ConfigError` (code CONFIG_INVALID) naming its key path, e.g. `cluster.podCIDR: …`.
 */

import { type Cidr, cidrsOverlap, cidrToString, indexedAddress, parseCidr } from '../lib/cidr.ts';
import { parseIPv4 } from '../lib/net.ts';
import { ConfigError } from './errors.ts';
import * as f from './fields.ts';

/**
 * Kubernetes 1.36.x is current (Typhoon v1.36.1, kube-* images v1.36.2) and Flatcar tests
 * 1.34–1.36 on every channel; the sysext bakery publishes `kubernetes-v1.36.2` (reference
 * k8s-bootstrap.md section 0, k8s-examples/).
 */
export const DEFAULT_KUBERNETES_VERSION = 'v1.36.2';
/** `kubeadm.k8s.io/v1beta4`, which we emit, was enabled in 1.31 (kubeadm v1beta4 doc.go). */
export const MIN_KUBERNETES_MINOR = 31;
/** kubeadm's own default cluster name (ClusterConfiguration.clusterName). */
export const DEFAULT_CLUSTER_NAME = 'kubernetes';
/** The classic setup's flannel network (k8s-bootstrap.md section 4: Typhoon's default until v1.32.0). */
export const DEFAULT_POD_CIDR = '10.2.0.0/16';
/** The classic setup's service network; its 10th address, 10.3.0.10, is cluster DNS. */
export const DEFAULT_SERVICE_CIDR = '10.3.0.0/24';
/** The first disk of most servers; a controller's persistent root (see controllerDisk). */
export const DEFAULT_CONTROLLER_DISK = '/dev/sda';
/** kube-apiserver's default secure port (kubeadm APIEndpoint.bindPort "Defaults to 6443"). */
export const DEFAULT_API_SERVER_PORT = 6443;

/**
 * kube-controller-manager gives every node a /24 of the pod network (--node-cidr-mask-size);
 * kubeadm's ValidatePodSubnetNodeMask wants the pod subnet no narrower than that and at most
 * 16 bits wider.
 */
const POD_PREFIX = { min: 8, max: 24 } as const;
/**
 * kubeadm (constants.MaximumBitsForServiceSubnet) and kube-apiserver allow at most 20 host bits;
 * at least 16 addresses so the 10th (cluster DNS) exists.
 */
const SERVICE_PREFIX = { min: 12, max: 28 } as const;
/** kubeadm constants.GetDNSIP: "Selects the 10th IP in service subnet CIDR range as dnsIP". */
const DNS_SERVICE_INDEX = 10;
/** kubeadm constants.GetAPIServerVirtualIP: the first address is the `kubernetes` Service. */
const KUBERNETES_SERVICE_INDEX = 1;

export const CLUSTER_KEYS = [
  'name',
  'kubernetesVersion',
  'podCIDR',
  'serviceCIDR',
  'controlPlaneEndpoint',
  'sshAuthorizedKeys',
  'scratchDisk',
  'controllerDisk',
  'arm',
  'watchNodes',
] as const;

export interface Endpoint {
  host: string;
  port: number;
}

export interface ClusterSpec {
  name: string;
  /** Always with the leading `v`, e.g. `v1.36.2`. */
  kubernetesVersion: string;
  /** Canonical spelling, host bits zero: kubeadm podSubnet and flannel `Network`. */
  podCIDR: string;
  serviceCIDR: string;
  /** null: the first controller's address and port 6443 (`resolveControlPlaneEndpoint`). */
  controlPlaneEndpoint: Endpoint | null;
  sshAuthorizedKeys: string[];
  /** Block device wiped on every boot and mounted at /var/lib/containerd; null: none. */
  scratchDisk: string | null;
  /**
   * Controllers keep etcd and their PKI, so their root is this disk, never tmpfs
   * (k8s-bootstrap.md 1c): Ignition creates an ext4 labelled ROOT on it if none is there
   * (never wiping one), and the kernel mounts it with `root=LABEL=ROOT`.
   */
  controllerDisk: string;
  /** Seconds controller enrolment stays armed after the seed starts; 0: only `metalseed arm`. */
  armSeconds: number;
  /**
   * Follow the cluster's Nodes with the admin kubeconfig (marks machines joined, clears a
   * rebooted diskless worker's stale Node); only when the control-plane endpoint is known.
   */
  watchNodes: boolean;
  /** Derived: the 10th address of serviceCIDR, where kubeadm puts CoreDNS. */
  dnsServiceIP: string;
  /** Derived: the first address of serviceCIDR, the `kubernetes` Service. */
  kubernetesServiceIP: string;
}

const P = 'cluster';

export function parseClusterSpec(raw: unknown): ClusterSpec {
  const o = f.obj(raw, [P]);
  f.knownKeys(o, [P], CLUSTER_KEYS);
  const pod = cidr(o.podCIDR, 'podCIDR', DEFAULT_POD_CIDR, POD_PREFIX);
  const svc = cidr(o.serviceCIDR, 'serviceCIDR', DEFAULT_SERVICE_CIDR, SERVICE_PREFIX);
  if (cidrsOverlap(pod, svc)) {
    throw new ConfigError(
      [P, 'serviceCIDR'],
      `${cidrToString(svc)} overlaps podCIDR ${cidrToString(pod)}; pod and service networks must be disjoint`,
    );
  }
  return {
    name: clusterName(o.name),
    kubernetesVersion: kubernetesVersion(o.kubernetesVersion),
    podCIDR: cidrToString(pod),
    serviceCIDR: cidrToString(svc),
    controlPlaneEndpoint: o.controlPlaneEndpoint == null ? null : endpoint(o.controlPlaneEndpoint),
    sshAuthorizedKeys: sshKeys(o.sshAuthorizedKeys),
    scratchDisk: device(o.scratchDisk, 'scratchDisk'),
    controllerDisk: device(o.controllerDisk, 'controllerDisk') ?? DEFAULT_CONTROLLER_DISK,
    armSeconds: f.duration(o.arm, [P, 'arm'], 0),
    watchNodes: f.bool(o.watchNodes, [P, 'watchNodes'], true),
    dnsServiceIP: indexedAddress(svc, DNS_SERVICE_INDEX),
    kubernetesServiceIP: indexedAddress(svc, KUBERNETES_SERVICE_INDEX),
  };
}

/** The endpoint every node talks to: the configured one, else the first controller's API server. */
export function resolveControlPlaneEndpoint(spec: ClusterSpec, firstControllerAddress: string): Endpoint {
  return spec.controlPlaneEndpoint ?? { host: firstControllerAddress, port: DEFAULT_API_SERVER_PORT };
}

export function formatEndpoint(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

function cidr(v: unknown, key: string, dflt: string, bounds: { min: number; max: number }): Cidr {
  const s = f.str(v, [P, key], dflt);
  const c = parseCidr(s);
  if (c === null) {
    throw new ConfigError(
      [P, key],
      `expected an IPv4 network like ${dflt} with the host bits zero, got ${JSON.stringify(s)}`,
    );
  }
  if (c.prefix < bounds.min || c.prefix > bounds.max) {
    throw new ConfigError([P, key], `prefix /${c.prefix} out of range /${bounds.min}–/${bounds.max}`);
  }
  return c;
}

/** Lower-case RFC 1123 subdomain: cluster names (kubeconfig), Node names, endpoint hosts. */
export const DNS_SUBDOMAIN_RE =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function clusterName(v: unknown): string {
  const s = f.str(v, [P, 'name'], DEFAULT_CLUSTER_NAME);
  if (!DNS_SUBDOMAIN_RE.test(s)) {
    throw new ConfigError(
      [P, 'name'],
      `expected lower-case letters, digits, '-' and '.', got ${JSON.stringify(s)}`,
    );
  }
  return s;
}

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)$/;

function kubernetesVersion(v: unknown): string {
  const s = f.str(v, [P, 'kubernetesVersion'], DEFAULT_KUBERNETES_VERSION);
  const m = VERSION_RE.exec(s);
  if (!m) {
    throw new ConfigError(
      [P, 'kubernetesVersion'],
      `expected a release like ${DEFAULT_KUBERNETES_VERSION}, got ${JSON.stringify(s)}`,
    );
  }
  if (Number(m[1]) !== 1 || Number(m[2]) < MIN_KUBERNETES_MINOR) {
    throw new ConfigError(
      [P, 'kubernetesVersion'],
      `${s} is too old: kubeadm.k8s.io/v1beta4 needs 1.${MIN_KUBERNETES_MINOR} or later`,
    );
  }
  return `v${m[1]}.${m[2]}.${m[3]}`;
}

const HOST_PORT_RE = /^([^:\s]+)(?::(\d{1,5}))?$/;

function endpoint(v: unknown): Endpoint {
  const path = [P, 'controlPlaneEndpoint'];
  const s = f.str(v, path, '');
  const m = HOST_PORT_RE.exec(s);
  const host = m?.[1] ?? '';
  const port = m?.[2] === undefined ? DEFAULT_API_SERVER_PORT : Number(m[2]);
  const hostOk = parseIPv4(host) !== null || (DNS_SUBDOMAIN_RE.test(host) && !/^[\d.]+$/.test(host));
  if (!m || !hostOk || port < 1 || port > 65535) {
    throw new ConfigError(
      path,
      `expected host[:port] with an IPv4 address or DNS name, like 10.0.0.10:6443, got ${JSON.stringify(s)}`,
    );
  }
  return { host, port };
}

/** One OpenSSH public key per entry: "type base64 [comment]". */
const SSH_KEY_RE =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-\S+) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$/;

function sshKeys(v: unknown): string[] {
  return f.list(v, [P, 'sshAuthorizedKeys']).map((k, i) => {
    const path = [P, 'sshAuthorizedKeys', i];
    const s = f.str(k, path, '').trim();
    if (s.includes('PRIVATE KEY')) throw new ConfigError(path, 'this is a private key; give the .pub line');
    if (!SSH_KEY_RE.test(s)) {
      throw new ConfigError(path, 'expected one OpenSSH public key line like "ssh-ed25519 AAAA… user@host"');
    }
    return s;
  });
}

/**
 * A whole-disk device node: /dev/sdb, /dev/nvme1n1, /dev/disk/by-id/…. Segments start with a
 * letter or digit, so `..` cannot climb out of /dev.
 */
const DEVICE_RE = /^\/dev\/[A-Za-z0-9][A-Za-z0-9._:+@-]*(\/[A-Za-z0-9][A-Za-z0-9._:+@-]*)*$/;

function device(v: unknown, key: string): string | null {
  const s = f.optStr(v, [P, key]);
  if (s !== null && !DEVICE_RE.test(s)) {
    throw new ConfigError(
      [P, key],
      `expected a device path like /dev/sdb or /dev/disk/by-id/…, got ${JSON.stringify(s)}`,
    );
  }
  return s;
}
