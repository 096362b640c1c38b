/**
 * The `metalseed` command tree. Errors print one actionable line (what, where, how to fix)
 * and exit with the code of their error class (lib/errors.ts).
 */
import { Command } from 'commander';
import { ConfigError } from '../config/index.ts';
import { exitCode, MetalseedError } from '../lib/errors.ts';
import { armCommand } from './arm.ts';
import { assetsCommand } from './assets.ts';
import { previewCommand, profilesCommand, rulesCommand } from './catalog.ts';
import { checkCommand } from './check.ts';
import { ApiError } from './client.ts';
import { initCommand, kubeconfigCommand } from './cluster.ts';
import { eventsCommand } from './events.ts';
import { labCommand } from './lab.ts';
import { machinesCommand } from './machines.ts';
import { serveCommand } from './serve.ts';
import { smokeCommand } from './smoke.ts';

const program = new Command()
  .name('metalseed')
  .description('Seed of a bare-metal Kubernetes cluster: DHCP, TFTP, HTTP/iPXE and per-machine configs')
  .version('0.1.0')
  .enablePositionalOptions() // so `assets fetch --version X` is the subcommand's, not the root's
  .showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(checkCommand());
program.addCommand(assetsCommand());
program.addCommand(initCommand());
program.addCommand(kubeconfigCommand());
program.addCommand(smokeCommand());
program.addCommand(labCommand());
// operator commands: they talk to a running seed's API (--server), never to its data directly
program.addCommand(machinesCommand());
program.addCommand(rulesCommand());
program.addCommand(profilesCommand());
program.addCommand(previewCommand());
program.addCommand(eventsCommand());
program.addCommand(armCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}

export function report(err: unknown): number {
  if (err instanceof ApiError) {
    // the server's code, so an operator can look it up even when this CLI is older
    console.error(`metalseed: ${err.message} (${err.wireCode})${err.hint ? `\n  hint: ${err.hint}` : ''}`);
  } else if (err instanceof ConfigError) {
    console.error(`metalseed: invalid config: ${err.toString()}`);
  } else if (err instanceof MetalseedError) {
    console.error(`metalseed: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ''}`);
  } else {
    console.error('metalseed: unexpected error:', err);
  }
  return exitCode(err);
}
