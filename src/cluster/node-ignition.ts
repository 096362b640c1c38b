/**
 * The Ignition config of a Flatcar Kubernetes node (reference k8s-bootstrap.md sections 2–3,
 * target shapes k8s-examples/worker.ign.json). Pure: the caller resolves the machine, the
 * sysext hash and the join configuration; this only arranges them.
 *
 * Every node: hostname, core's SSH keys, the kernel modules and sysctls flannel needs, the
 * Kubernetes sysext, containerd enabled, locksmithd masked (the seed rolls versions by
 * re-provisioning, section 6.4), the optional scratch disk for /var/lib/containerd, and the
 * first-boot report. Workers also get their JoinConfiguration and a retrying kubeadm-join unit.
 * Controllers get no kubeadm unit yet: `kubeadm init` needs the secret stage (section 6.3).
 */
import type { ClusterSpec } from '../config/cluster.ts';
import { MetalseedError } from '../lib/errors.ts';
import type { IgnitionFile, IgnitionSpec, IgnitionUnit } from './ignition.ts';
import { REPORT_UNIT, reportScriptFile } from './node-report.ts';

export interface NodeIgnitionInput {
  hostname: string;
  role: 'worker' | 'controller';
  cluster: ClusterSpec;
  sshAuthorizedKeys: readonly string[];
  /**
   * The Kubernetes sysext image as the seed serves it under /assets/, with the SHA-256 of its
   * bytes. Absent: no sysext file or link is written, so kubeadm/kubelet must come from
   * elsewhere (a profile template, or a Flatcar image that already carries them).
   */
  sysext?: { url: string; sha256: string };
  /** Block device formatted on every boot and mounted at /var/lib/containerd. */
  scratchDisk?: string;
  /** The seed's `/report?mac=…` URL for this machine. */
  reportUrl: string;
  /** Worker JoinConfiguration YAML (`renderWorkerJoinConfig`); required for workers only. */
  joinConfig?: string;
}

/** The bakery's naming (k8s-bootstrap.md 3a); the seed only PXE-boots amd64 Flatcar. */
export const SYSEXT_ARCH = 'x86-64';
export const SYSEXT_DIR = '/opt/extensions/kubernetes';
/** systemd-sysext merges images linked here (systemd-sysext(8), "/etc/extensions/"). */
export const SYSEXT_LINK = '/etc/extensions/kubernetes.raw';
export const JOIN_CONFIG_PATH = '/etc/kubernetes/kubeadm-join.yaml';
/** The scratch filesystem's label; the mount unit finds the disk by it, not by device name. */
export const SCRATCH_LABEL = 'CONTAINERD';
export const CONTAINERD_DIR = '/var/lib/containerd';

/** flannel needs br_netfilter (kubeadm >= 1.30 no longer checks it); containerd needs overlay. */
const MODULES = 'br_netfilter\noverlay\n';
const SYSCTLS = 'net.ipv4.ip_forward=1\nnet.bridge.bridge-nf-call-iptables=1\n';
const PEM_PRIVATE_KEY = 'PRIVATE KEY';

export function nodeIgnition(input: NodeIgnitionInput): IgnitionSpec {
  checkRole(input);
  const files: IgnitionFile[] = [
    { path: '/etc/hostname', mode: 0o644, contents: `${input.hostname}\n` },
    { path: '/etc/modules-load.d/k8s.conf', mode: 0o644, contents: MODULES },
    { path: '/etc/sysctl.d/90-k8s.conf', mode: 0o644, contents: SYSCTLS },
    reportScriptFile(input.reportUrl),
  ];
  const units: IgnitionUnit[] = [
    containerdUnit(input.scratchDisk !== undefined),
    { name: 'locksmithd.service', mask: true },
    REPORT_UNIT,
  ];
  const spec: IgnitionSpec = {
    files,
    units,
    users: [{ name: 'core', sshAuthorizedKeys: [...input.sshAuthorizedKeys] }],
  };
  if (input.sysext !== undefined) {
    const raw = `${SYSEXT_DIR}/kubernetes-${input.cluster.kubernetesVersion}-${SYSEXT_ARCH}.raw`;
    spec.remoteFiles = [{ path: raw, mode: 0o644, url: input.sysext.url, sha256: input.sysext.sha256 }];
    spec.links = [{ path: SYSEXT_LINK, target: raw }];
  }
  if (input.scratchDisk !== undefined) {
    spec.filesystems = [
      {
        device: input.scratchDisk,
        format: 'ext4',
        label: SCRATCH_LABEL,
        wipeFilesystem: true,
        path: CONTAINERD_DIR,
      },
    ];
    units.push(SCRATCH_MOUNT_UNIT);
  }
  if (input.role === 'worker' && input.joinConfig !== undefined) {
    files.push({ path: JOIN_CONFIG_PATH, mode: 0o600, contents: input.joinConfig });
    units.push(KUBEADM_JOIN_UNIT);
    refusePrivateKeys(input.hostname, files);
  }
  return spec;
}

function checkRole(input: NodeIgnitionInput): void {
  if (input.role === 'worker' && input.joinConfig === undefined) {
    throw new MetalseedError('INVALID_INPUT', `worker ${input.hostname}: a JoinConfiguration is required`);
  }
  if (input.role === 'controller' && input.joinConfig !== undefined) {
    throw new MetalseedError('INVALID_INPUT', `controller ${input.hostname}: joinConfig is for workers only`);
  }
}

/**
 * Workers are served over plain http and get only the token and CA pin, never a key
 * (k8s-bootstrap.md section 6.2); a PEM private key here is a bug upstream, so refuse it.
 */
function refusePrivateKeys(hostname: string, files: readonly IgnitionFile[]): void {
  const bad = files.find((f) => f.contents.includes(PEM_PRIVATE_KEY));
  if (bad !== undefined) {
    throw new MetalseedError('INVALID_INPUT', `worker ${hostname}: ${bad.path} contains a private key`);
  }
}

/** Flatcar ships containerd built in; enabling it makes the dependency explicit (3b). */
function containerdUnit(scratch: boolean): IgnitionUnit {
  if (!scratch) return { name: 'containerd.service', enabled: true };
  return {
    name: 'containerd.service',
    enabled: true,
    dropins: [
      {
        name: '10-wait-disk.conf',
        contents: '[Unit]\nRequires=var-lib-containerd.mount\nAfter=var-lib-containerd.mount\n',
      },
    ],
  };
}

/** Ignition's `filesystems.path` mounts only while Ignition runs; this mounts it afterwards. */
const SCRATCH_MOUNT_UNIT: IgnitionUnit = {
  name: 'var-lib-containerd.mount',
  enabled: true,
  contents: [
    '[Unit]',
    'Before=containerd.service',
    '[Mount]',
    `What=/dev/disk/by-label/${SCRATCH_LABEL}`,
    `Where=${CONTAINERD_DIR}`,
    'Type=ext4',
    '[Install]',
    'RequiredBy=containerd.service',
    'WantedBy=local-fs.target',
    '',
  ].join('\n'),
};

/**
 * Retries until the API server answers (Restart=on-failure); skipped once the node has joined
 * (kubelet.conf exists). Pattern from the Flatcar getting-started and HA guides (3c). `pre`
 * runs before every attempt.
 */
function joinUnit(pre: string[]): IgnitionUnit {
  return {
    name: 'kubeadm-join.service',
    enabled: true,
    contents: [
      '[Unit]',
      'Description=kubeadm join',
      'Requires=containerd.service',
      'After=containerd.service network-online.target systemd-sysext.service',
      'Wants=network-online.target',
      'ConditionPathExists=!/etc/kubernetes/kubelet.conf',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      'Restart=on-failure',
      'RestartSec=15',
      ...pre,
      `ExecStart=/usr/bin/kubeadm join --config ${JOIN_CONFIG_PATH}`,
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
  };
}

/**
 * A worker's join. A failed attempt leaves /etc/kubernetes/pki/ca.crt behind (kubeadm writes
 * it before its kubelet-start phase, where a stale Ready Node stops it), and the next
 * attempt's preflight refuses that file; so every attempt starts from `kubeadm reset`. A
 * worker holds nothing else there (its config file is not among what reset removes).
 */
export const KUBEADM_JOIN_UNIT: IgnitionUnit = joinUnit(['ExecStartPre=-/usr/bin/kubeadm reset --force']);

/**
 * A controller's control-plane join: no reset, which would delete the pre-distributed CA set
 * in /etc/kubernetes/pki (k8s-bootstrap.md 3c option b).
 */
export const CONTROL_PLANE_JOIN_UNIT: IgnitionUnit = joinUnit([]);
