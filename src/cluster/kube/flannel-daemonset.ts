/**
 * The kube-flannel-ds DaemonSet, as in upstream's Documentation/kube-flannel.yml v0.28.9: two
 * init containers put the flannel CNI binary into /opt/cni/bin and the CNI config into
 * /etc/cni/net.d, then flanneld runs with --kube-subnet-mgr (subnets from Node.spec.podCIDR)
 * and --ip-masq on the host network.
 */
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';

export interface FlannelDaemonSetOptions {
  namespace: string;
  configMap: string;
  serviceAccount: string;
  image: string;
  cniPluginImage: string;
  labels: Record<string, string>;
}

export function flannelDaemonSet(o: FlannelDaemonSetOptions): DaemonSet {
  return new DaemonSet({
    metadata: { name: 'kube-flannel-ds', namespace: o.namespace, labels: { ...o.labels } },
    spec: {
      selector: { matchLabels: { app: 'flannel', 'k8s-app': 'flannel' } },
      template: {
        metadata: { labels: { ...o.labels } },
        spec: {
          affinity: linuxOnly(),
          hostNetwork: true,
          // A node without its CNI cannot run any other pod: schedule flannel first.
          priorityClassName: 'system-node-critical',
          serviceAccountName: o.serviceAccount,
          // Runs on every node, control planes (tainted NoSchedule) included.
          tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
          initContainers: [
            copy('install-cni-plugin', o.cniPluginImage, '/flannel', '/opt/cni/bin/flannel', [
              { name: 'cni-plugin', mountPath: '/opt/cni/bin' },
            ]),
            copy(
              'install-cni',
              o.image,
              '/etc/kube-flannel/cni-conf.json',
              '/etc/cni/net.d/10-flannel.conflist',
              [
                { name: 'cni', mountPath: '/etc/cni/net.d' },
                { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
              ],
            ),
          ],
          containers: [flanneld(o.image)],
          volumes: [
            { name: 'run', hostPath: { path: '/run/flannel' } },
            { name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } },
            { name: 'cni', hostPath: { path: '/etc/cni/net.d' } },
            { name: 'flannel-cfg', configMap: { name: o.configMap } },
            { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock', type: 'FileOrCreate' } },
          ],
        },
      },
    },
  });
}

function linuxOnly(): IAffinity {
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
        ],
      },
    },
  };
}

function copy(
  name: string,
  image: string,
  from: string,
  to: string,
  volumeMounts: IVolumeMount[],
): IContainer {
  return { name, image, command: ['cp'], args: ['-f', from, to], volumeMounts };
}

function flanneld(image: string): IContainer {
  return {
    name: 'kube-flannel',
    image,
    command: ['/opt/bin/flanneld'],
    args: ['--ip-masq', '--kube-subnet-mgr'],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
      // Keep running when the API server closes a watch (upstream default since v0.28.0).
      { name: 'CONT_WHEN_CACHE_NOT_READY', value: 'false' },
    ],
    resources: { requests: { cpu: '100m', memory: '50Mi' } },
    // Routes, vxlan device and iptables rules: NET_ADMIN and NET_RAW, not a privileged container.
    securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
    volumeMounts: [
      { name: 'run', mountPath: '/run/flannel' },
      { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' },
      // Shares iptables' lock with kube-proxy on the host.
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
    ],
  };
}
