/** `metalseed serve`: run the seed until SIGINT/SIGTERM. */
import { Command } from 'commander';
import { type ConfigFlags, configFrom } from './load.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the seed: DHCP, TFTP and HTTP on the provisioning interface')
    .option('-c, --config <file>', 'YAML config file (every key has a default)')
    .option('-i, --interface <name>', 'provisioning interface (overrides "interface")')
    .option('-d, --data-dir <dir>', 'data directory (overrides "dataDir")')
    .option('--http-port <port>', 'HTTP port (overrides http.port)')
    .option('--dhcp-mode <mode>', 'authoritative | proxy | off (overrides dhcp.mode)')
    .option('--log-level <level>', 'debug | info | warn | error (overrides log.level)')
    .action(async (flags: ConfigFlags) => {
      // loaded here, not at the top: it pulls in every server, which the API commands never need
      const { createLogger, startSeed } = await import('../main.ts');
      const config = configFrom(flags);
      const logger = createLogger(config);
      const seed = await startSeed(config, logger);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ event: 'seed.stopping', signal }, 'stopping');
          seed.close().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
