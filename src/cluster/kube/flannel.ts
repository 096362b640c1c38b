/**
 * The kube-flannel manifest, applied on the first controller after `kubeadm init`.
 *
 * Our own rendering of upstream's Documentation/kube-flannel.yml at v0.28.9
 * (https://github.com/flannel-io/flannel/blob/master/Documentation/kubernetes.md,
 * Documentation/configuration.md, Documentation/backends.md; summarised in k8s-bootstrap.md
 * section 4): same objects, names, labels, images and arguments, except that net-conf.json's
 * `Network` is the cluster's podCIDR (kubeadm podSubnet) instead of 10.244.0.0/16. The backend
 * is vxlan (VNI 1, UDP 8472 on Linux).
 *
 * Every object is built as a kubernetes-models class and validated before it is written.
 */
import type { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { cidrToString, parseCidr } from '../../lib/cidr.ts';
import { MetalseedError } from '../../lib/errors.ts';
import { flannelDaemonSet } from './flannel-daemonset.ts';
import { renderYamlDocuments } from './yaml.ts';

/** flannel v0.28.9 (2026-08-07), the image upstream's kube-flannel.yml names (k8s-bootstrap.md section 0). */
export const FLANNEL_IMAGE = 'ghcr.io/flannel-io/flannel:v0.28.9';
/** The CNI plugin image the v0.28.9 manifest pairs with it (k8s-bootstrap.md section 0). */
export const FLANNEL_CNI_PLUGIN_IMAGE = 'ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3';

export const FLANNEL_NAMESPACE = 'kube-flannel';
const NAME = 'flannel';
const CONFIG_MAP = 'kube-flannel-cfg';
const APP_LABELS = { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' } as const;

/** Upstream cni-conf.json: the flannel plugin delegating to bridge, then portmap for hostPort. */
const CNI_CONF = {
  name: 'cbr0',
  cniVersion: '0.3.1',
  plugins: [
    { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};

export type FlannelObject =
  | Namespace
  | ServiceAccount
  | ClusterRole
  | ClusterRoleBinding
  | ConfigMap
  | DaemonSet;

/** The manifest's objects in apply order, each already validated. */
export function flannelObjects(podCIDR: string): FlannelObject[] {
  const network = parseCidr(podCIDR);
  if (network === null) throw new MetalseedError('INVALID_INPUT', `flannel: bad podCIDR ${podCIDR}`);
  const objects: FlannelObject[] = [
    namespace(),
    new ServiceAccount({
      metadata: { name: NAME, namespace: FLANNEL_NAMESPACE, labels: { 'k8s-app': 'flannel' } },
    }),
    clusterRole(),
    clusterRoleBinding(),
    configMap(cidrToString(network)),
    flannelDaemonSet({
      namespace: FLANNEL_NAMESPACE,
      configMap: CONFIG_MAP,
      serviceAccount: NAME,
      image: FLANNEL_IMAGE,
      cniPluginImage: FLANNEL_CNI_PLUGIN_IMAGE,
      labels: { ...APP_LABELS },
    }),
  ];
  for (const o of objects) o.validate();
  return objects;
}

/** Multi-document YAML, byte-stable for a given podCIDR. */
export function renderFlannelManifest(cluster: { podCIDR: string }): string {
  return renderYamlDocuments(flannelObjects(cluster.podCIDR).map((o) => o.toJSON() as object));
}

/** flanneld needs host networking and NET_ADMIN, which the restricted Pod Security levels refuse. */
function namespace(): Namespace {
  return new Namespace({
    metadata: {
      name: FLANNEL_NAMESPACE,
      labels: { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' },
    },
  });
}

/** --kube-subnet-mgr reads its Node's spec.podCIDR and writes its public IP into Node annotations. */
function clusterRole(): ClusterRole {
  return new ClusterRole({
    metadata: { name: NAME, labels: { 'k8s-app': 'flannel' } },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ],
  });
}

function clusterRoleBinding(): ClusterRoleBinding {
  return new ClusterRoleBinding({
    metadata: { name: NAME, labels: { 'k8s-app': 'flannel' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
    subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: FLANNEL_NAMESPACE }],
  });
}

function configMap(network: string): ConfigMap {
  // EnableNFTables false: flanneld programs iptables, as upstream's default manifest does.
  const netConf = { Network: network, EnableNFTables: false, Backend: { Type: 'vxlan' } };
  return new ConfigMap({
    metadata: { name: CONFIG_MAP, namespace: FLANNEL_NAMESPACE, labels: { ...APP_LABELS } },
    data: { 'cni-conf.json': json(CNI_CONF), 'net-conf.json': json(netConf) },
  });
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
