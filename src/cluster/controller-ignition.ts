/**
 * What a controller gets, in two stages (k8s-bootstrap.md section 6 rule 3, target shapes
 * k8s-examples/controlplane.ign.json and cp-01-secrets.ign.json):
 *
 * - stage 1, public, over plain http: the node config every role gets, the persistent root
 *   filesystem, the seed's CA pinned in `ignition.security.tls` and a merge of the secret stage
 *   at an https URL with a one-time bearer token;
 * - stage 2, the secret child, over https only: the shared CA set kubeadm expects in
 *   /etc/kubernetes/pki (3c option b), the kubeadm config (it carries the bootstrap token) and
 *   the unit that runs `kubeadm init` (first controller, then flannel) or `kubeadm join
 *   --control-plane` (the others).
 *
 * Pure: the provisioner decides who is first, issues the token and serves the stages.
 */
import type { IgnitionFile, IgnitionSpec, IgnitionUnit } from './ignition.ts';
import { CERTIFICATES_DIR } from './kube/kubeadm.ts';
import { CONTROL_PLANE_JOIN_UNIT, JOIN_CONFIG_PATH } from './node-ignition.ts';
import type { ClusterIdentity } from './pki/index.ts';

/** Flatcar mounts a local root by label when the kernel line says `root=LABEL=ROOT` (booting-with-pxe.md). */
export const ROOT_LABEL = 'ROOT';
export const INIT_CONFIG_PATH = '/etc/kubernetes/kubeadm-init.yaml';
export const FLANNEL_MANIFEST_PATH = '/etc/kubernetes/addons/kube-flannel.yml';
const PUBLIC = 0o644;
const SECRET = 0o600;

export interface Stage1Input {
  /** `nodeIgnition({ role: 'controller', … })`. */
  node: IgnitionSpec;
  /** Whole disk that holds the controller's root (cluster.controllerDisk). */
  rootDisk: string;
  /** The CA that signed the seed's https certificate. */
  seedCaPem: string;
  secretUrl: string;
  bearer: string;
  /** First controller only: the flannel manifest it applies after `kubeadm init`. */
  flannelManifest?: string;
}

export function controllerStage1(i: Stage1Input): IgnitionSpec {
  const files = [...i.node.files];
  if (i.flannelManifest !== undefined) {
    files.push({ path: FLANNEL_MANIFEST_PATH, mode: PUBLIC, contents: i.flannelManifest });
  }
  return {
    ...i.node,
    files,
    tlsCertificateAuthorities: [i.seedCaPem],
    merge: [{ source: i.secretUrl, bearer: i.bearer }],
    // wipeFilesystem false: an existing ROOT is kept (etcd, PKI); Ignition fails rather than
    // reformat a disk that holds another filesystem (spec 3.3.0 "wipeFilesystem").
    filesystems: [
      ...(i.node.filesystems ?? []),
      { device: i.rootDisk, format: 'ext4', label: ROOT_LABEL, wipeFilesystem: false },
    ],
  };
}

export type SecretStageInput =
  | { kind: 'init'; identity: ClusterIdentity; initConfig: string }
  | { kind: 'join'; identity: ClusterIdentity; joinConfig: string };

/** The secret child: the shared CA set plus the kubeadm config and its unit. */
export function controllerSecrets(i: SecretStageInput): IgnitionSpec {
  const files = caSetFiles(i.identity);
  let unit: IgnitionUnit;
  if (i.kind === 'init') {
    files.push({ path: INIT_CONFIG_PATH, mode: SECRET, contents: i.initConfig });
    unit = KUBEADM_INIT_UNIT;
  } else {
    files.push({ path: JOIN_CONFIG_PATH, mode: SECRET, contents: i.joinConfig });
    unit = CONTROL_PLANE_JOIN_UNIT; // the config file's `controlPlane:` makes it a control-plane join
  }
  return { files, units: [unit], users: [] };
}

/**
 * Exactly the list kubeadm's manual-certs HA guide names ("Copy only the certificates in the
 * above list"): kubeadm makes every leaf from these.
 */
export function caSetFiles(id: ClusterIdentity): IgnitionFile[] {
  const pki = (name: string, contents: string, mode: number): IgnitionFile => ({
    path: `${CERTIFICATES_DIR}/${name}`,
    mode,
    contents,
  });
  return [
    pki('ca.crt', id.ca.certPem, PUBLIC),
    pki('ca.key', id.ca.keyPem, SECRET),
    pki('sa.key', id.serviceAccount.keyPem, SECRET),
    pki('sa.pub', id.serviceAccount.publicKeyPem, PUBLIC),
    pki('front-proxy-ca.crt', id.frontProxyCa.certPem, PUBLIC),
    pki('front-proxy-ca.key', id.frontProxyCa.keyPem, SECRET),
    pki('etcd/ca.crt', id.etcdCa.certPem, PUBLIC),
    pki('etcd/ca.key', id.etcdCa.keyPem, SECRET),
  ];
}

/**
 * Runs once per cluster: admin.conf exists afterwards, on the persistent root. flannel is
 * applied right after init (k8s-bootstrap.md section 4, "Apply it from cp-01").
 */
const KUBEADM_INIT_UNIT: IgnitionUnit = {
  name: 'kubeadm-init.service',
  enabled: true,
  contents: [
    '[Unit]',
    'Description=kubeadm init',
    'Requires=containerd.service',
    'After=containerd.service network-online.target systemd-sysext.service',
    'Wants=network-online.target',
    'ConditionPathExists=!/etc/kubernetes/admin.conf',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/usr/bin/kubeadm init --config ${INIT_CONFIG_PATH}`,
    `ExecStartPost=/usr/bin/kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f ${FLANNEL_MANIFEST_PATH}`,
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n'),
};
