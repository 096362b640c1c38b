/** `metalseed check --config FILE`: validate a config and print it with every default filled in. */
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { Config } from '../config/index.ts';
import { ipToString } from '../lib/net.ts';
import { type ConfigFlags, configFrom } from './load.ts';

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a config file and print the effective config (defaults filled in)')
    .option('-c, --config <file>', 'YAML config file')
    .action((flags: ConfigFlags) => {
      const config = configFrom(flags);
      process.stdout.write(`# ${config.source}: valid\n${stringify(printable(config))}`);
    });
}

/** Addresses back to dotted form, so the output is itself a valid config. */
function printable(c: Config): Record<string, unknown> {
  const ip = (v: number | null) => (v === null ? null : ipToString(v));
  const { source: _source, ...rest } = c;
  return {
    ...rest,
    advertise: ip(c.advertise),
    dhcp: {
      ...c.dhcp,
      range: c.dhcp.range ? `${ipToString(c.dhcp.range.start)}-${ipToString(c.dhcp.range.end)}` : null,
      netmask: ip(c.dhcp.netmask),
      router: ip(c.dhcp.router),
      dns: c.dhcp.dns.map(ipToString),
    },
    machines: c.machines.map((m) => ({ ...m, ...(m.ip !== undefined ? { ip: ipToString(m.ip) } : {}) })),
  };
}
