/**
 * The join-token keeper for `serve`: rotates the batch token and registers it in the cluster
 * with the seed's admin kubeconfig (cluster/token-keeper.ts), at the control-plane endpoint as
 * the seed knows it (configured, or learned when the first controller enrolled). Before that
 * it only rotates; the first controller's InitConfiguration carries the token then.
 */

import { operatorKubeconfig, TokenKeeper } from './cluster/index.ts';
import type { PkiStore } from './cluster/pki/index.ts';
import type { Config, Endpoint } from './config/index.ts';
import { KubeClient, KubeTokenApi, parseKubeconfig } from './kube/index.ts';
import type { Logger } from './lib/log.ts';

export function startTokenKeeper(
  config: Config,
  pki: PkiStore,
  logger: Logger,
  endpoint: () => Endpoint | null,
): TokenKeeper & { close(): Promise<void> } {
  const keeper = new TokenKeeper({ dir: pki.dir, initial: pki.pki.bootstrapToken, logger });
  let client: KubeClient | null = null;
  let api: KubeTokenApi | null = null;
  const connect = (): KubeTokenApi | null => {
    if (api) return api;
    const e = endpoint();
    if (e === null) return null; // no controller yet: rotate only
    const kubeconfig = operatorKubeconfig(config, pki, e);
    client = new KubeClient(parseKubeconfig(kubeconfig, 'the seed admin kubeconfig', pki.dir));
    api = new KubeTokenApi(client);
    return api;
  };
  keeper.start(connect);
  return Object.assign(keeper, {
    close: async () => {
      await keeper.stop();
      client?.close();
    },
  });
}
