/**
 * Cluster awareness for `serve`: with the seed's own admin kubeconfig, watch the Nodes and let
 * the provisioner's ClusterNodes turn them into timeline events (joined, stale-Node cleanup).
 * Off when `cluster.watchNodes` is false or the control-plane endpoint is not known yet. The
 * API server being down (before `kubeadm init`, during upgrades) is normal: the watcher
 * retries with backoff and logs once per outage; it never stops the seed.
 */
import { operatorKubeconfig } from './cluster/index.ts';
import type { PkiStore } from './cluster/pki/index.ts';
import type { Config } from './config/index.ts';
import { KubeClient, KubeNodeOps, NodeWatcher, parseKubeconfig } from './kube/index.ts';
import type { Logger } from './lib/log.ts';
import { ClusterNodes, type Provisioner } from './provisioner/index.ts';

export interface NodeWatch {
  watcher: NodeWatcher;
  close(): Promise<void>;
}

export function startNodeWatch(
  config: Config,
  pki: PkiStore,
  provisioner: Provisioner,
  logger: Logger,
  tuning: { staleCheckMs?: number } = {},
): NodeWatch | null {
  if (!config.cluster.watchNodes) return null;
  let kubeconfig: string;
  try {
    kubeconfig = operatorKubeconfig(config, pki);
  } catch (err) {
    logger.info(
      { event: 'kube.watch_off', reason: (err as Error).message },
      'node watch off: no control-plane endpoint (set cluster.controlPlaneEndpoint)',
    );
    return null;
  }
  const log = logger.child({ component: 'nodes' });
  const client = new KubeClient(parseKubeconfig(kubeconfig, 'the seed admin kubeconfig', pki.dir));
  const nodes = new ClusterNodes({
    registry: provisioner.registry,
    timeline: provisioner.timeline,
    logger: log,
    ops: new KubeNodeOps(client),
    ...tuning,
  });
  // called inside the DHCP path: a fault here must cost a log line, never a reply
  const off = provisioner.timeline.onNewRound((m, from) => {
    try {
      nodes.onNewRound(m, from);
    } catch (err) {
      log.error(
        { event: 'node.round_failed', machine: m.id, err: (err as Error).message },
        'stale-Node check not started',
      );
    }
  });
  const watcher = new NodeWatcher({ source: client, listener: nodes, logger: log });
  watcher.start();
  log.info({ event: 'kube.watch', server: client.server }, 'watching cluster Nodes');
  return {
    watcher,
    close: async () => {
      off();
      await watcher.stop();
      await nodes.close();
      client.close();
    },
  };
}
