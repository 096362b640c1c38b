/** `metalseed init` and `metalseed kubeconfig`: the cluster's PKI in the data directory. */
import { Command } from 'commander';
import { type ConfigFlags, configFrom } from './load.ts';

export function initCommand(): Command {
  return new Command('init')
    .description(
      'create the cluster state (CAs, service-account keys, bootstrap token) in the data directory',
    )
    .option('-c, --config <file>', 'YAML config file')
    .option('-d, --data-dir <dir>', 'data directory (overrides "dataDir")')
    .action(async (flags: ConfigFlags) => {
      const { openClusterPki, PKI_DIR } = await import('../cluster/index.ts');
      const config = configFrom(flags);
      const pki = await openClusterPki(config);
      const made =
        pki.written.length > 0 ? `created ${pki.written.join(', ')}` : 'already initialised; nothing changed';
      process.stdout.write(`cluster "${config.cluster.name}" in ${config.dataDir}/${PKI_DIR}: ${made}\n`);
      process.stdout.write(`CA certificate hash: ${pki.pki.caCertHash}\n`);
    });
}

export function kubeconfigCommand(): Command {
  return new Command('kubeconfig')
    .description("print the operator's admin kubeconfig (signed by the cluster CA)")
    .option('-c, --config <file>', 'YAML config file')
    .option('-d, --data-dir <dir>', 'data directory (overrides "dataDir")')
    .action(async (flags: ConfigFlags) => {
      const { openClusterPki, operatorKubeconfig } = await import('../cluster/index.ts');
      const config = configFrom(flags);
      process.stdout.write(operatorKubeconfig(config, await openClusterPki(config)));
    });
}
