/**
 * `metalseed smoke`: deploys the classic nginx example to the running cluster, waits for its
 * pod, GETs the NodePort from this host, cleans up, and prints each step (kube/smoke.ts).
 * Credentials: --kubeconfig, else the admin kubeconfig built from the seed's data directory
 * (what `metalseed kubeconfig` prints). Ctrl-C stops waiting, cleans up, exits 130.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { KubeConnection } from '../kube/index.ts';
import { parseDuration } from '../lib/duration.ts';
import { MetalseedError } from '../lib/errors.ts';
import { type ConfigFlags, configFrom } from './load.ts';

interface SmokeFlags extends ConfigFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  timeout: string;
  image?: string;
}

/** Exit status of a run stopped by SIGINT (128 + 2), as shells report it. */
const EXIT_INTERRUPTED = 130;

export function smokeCommand(): Command {
  return new Command('smoke')
    .description(
      'deploy nginx (ReplicationController + NodePort Service) to the cluster, wait for it to run, GET its NodePort from here, clean up',
    )
    .option('-c, --config <file>', 'YAML config file (for the data directory and the API endpoint)')
    .option('-d, --data-dir <dir>', 'data directory (overrides "dataDir")')
    .option('--kubeconfig <file>', "kubeconfig to use instead of the seed's admin credentials")
    .option('--context <name>', 'kubeconfig context (default: current-context)')
    .option('-n, --namespace <ns>', 'namespace for the test objects', 'default')
    .option('--timeout <duration>', 'time for the pod to run and the NodePort to answer (90s, 5m)', '5m')
    .option('--image <ref>', 'nginx image (a mirror for air-gapped clusters)')
    .action(async (flags: SmokeFlags) => {
      const { KubeClient, runSmoke, SmokeError } = await import('../kube/index.ts');
      const timeoutS = parseDuration(flags.timeout);
      if (timeoutS === null || timeoutS <= 0) {
        throw new MetalseedError(
          'INVALID_INPUT',
          `--timeout: expected a duration like 90s or 5m, got "${flags.timeout}"`,
        );
      }
      const client = new KubeClient(await connection(flags));
      const abort = new AbortController();
      const onSigint = (): void => {
        process.stdout.write('interrupted: cleaning up (Ctrl-C again to leave the objects behind)\n');
        abort.abort();
        process.once('SIGINT', () => process.exit(EXIT_INTERRUPTED));
      };
      process.once('SIGINT', onSigint);
      try {
        const r = await runSmoke({
          client,
          namespace: flags.namespace,
          timeoutMs: timeoutS * 1000,
          signal: abort.signal,
          print: (line) => process.stdout.write(`${line}\n`),
          ...(flags.image ? { image: flags.image } : {}),
        });
        process.stdout.write(`smoke test passed: nginx answered on ${r.url} (node ${r.node})\n`);
      } catch (err) {
        if (err instanceof SmokeError && err.interrupted) {
          process.stderr.write(`metalseed: ${err.message}\n`);
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        throw err;
      } finally {
        process.removeListener('SIGINT', onSigint);
        client.close();
      }
    });
}

async function connection(flags: SmokeFlags): Promise<KubeConnection> {
  const { loadKubeconfigFile, parseKubeconfig } = await import('../kube/index.ts');
  if (flags.kubeconfig) return loadKubeconfigFile(flags.kubeconfig, flags.context);
  const { openClusterPki, operatorKubeconfig, PKI_DIR } = await import('../cluster/index.ts');
  const config = configFrom(flags);
  const dir = path.join(config.dataDir, PKI_DIR);
  // never create a cluster here: a fresh CA would not be the running cluster's
  if (!fs.existsSync(path.join(dir, 'ca.crt'))) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `no cluster state in ${dir}`,
      'run on the seed with its --config, or pass --kubeconfig FILE',
    );
  }
  const text = operatorKubeconfig(config, await openClusterPki(config));
  return parseKubeconfig(text, `the admin kubeconfig of ${config.dataDir}`, dir, flags.context);
}
