/**
 * The cluster's state in `dataDir/pki`: created by `metalseed init` or the first `serve`, loaded
 * afterwards (never regenerated: a new CA is a new cluster). The operator's kubeconfig points at
 * the control-plane endpoint: `cluster.controlPlaneEndpoint`, else the first controller's fixed
 * address from `machines`, port 6443.
 */
import path from 'node:path';
import { type Config, type Endpoint, formatEndpoint, resolveControlPlaneEndpoint } from '../config/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { ipToString } from '../lib/net.ts';
import { adminKubeconfig, PkiStore } from './pki/index.ts';

export const PKI_DIR = 'pki';

export function openClusterPki(config: Config, now = new Date()): Promise<PkiStore> {
  return PkiStore.loadOrCreate(path.join(config.dataDir, PKI_DIR), { clusterName: config.cluster.name, now });
}

/** `https://HOST:PORT` of the API server, or an error saying how to make it known. */
export function apiServerUrl(config: Config): string {
  const first = config.machines.find((m) => m.role === 'controller' && m.ip !== undefined);
  if (!config.cluster.controlPlaneEndpoint && !first) {
    throw new MetalseedError(
      'CONFIG_INVALID',
      'the control-plane endpoint is not known yet',
      'set cluster.controlPlaneEndpoint, or list the first controller under machines with a fixed ip',
    );
  }
  const endpoint = resolveControlPlaneEndpoint(
    config.cluster,
    first?.ip !== undefined ? ipToString(first.ip) : '',
  );
  return `https://${formatEndpoint(endpoint)}`;
}

/** `endpoint`: one the seed learned (the first controller to enrol) when the config names none. */
export function operatorKubeconfig(config: Config, pki: PkiStore, endpoint?: Endpoint): string {
  return adminKubeconfig({
    clusterName: config.cluster.name,
    server: endpoint ? `https://${formatEndpoint(endpoint)}` : apiServerUrl(config),
    caPem: pki.pki.ca.certPem,
    certPem: pki.pki.admin.certPem,
    keyPem: pki.pki.admin.keyPem,
  });
}
