/** Config for commands: the file when given, else embedded defaults, then flag overrides. */
import { type Config, loadConfigFile, parseConfig } from '../config/index.ts';

export interface ConfigFlags {
  config?: string;
  interface?: string;
  dataDir?: string;
  httpPort?: string;
  dhcpMode?: string;
  logLevel?: string;
}

export function configFrom(flags: ConfigFlags): Config {
  const base = flags.config ? loadConfigFile(flags.config) : parseConfig({}, '(embedded defaults)');
  const overrides: Record<string, unknown> = {};
  if (flags.interface) overrides.interface = flags.interface;
  if (flags.dataDir) overrides.dataDir = flags.dataDir;
  if (flags.httpPort || flags.dhcpMode || flags.logLevel) {
    // re-validate through the same parser, so a bad flag gets the same message as a bad key
    const merged = parseConfig(
      {
        http: { ...base.http, port: flags.httpPort ? Number(flags.httpPort) : base.http.port },
        dhcp: { mode: flags.dhcpMode ?? base.dhcp.mode },
        log: { level: flags.logLevel ?? base.log.level },
      },
      '--flags',
    );
    return {
      ...base,
      ...overrides,
      http: merged.http,
      dhcp: { ...base.dhcp, mode: merged.dhcp.mode },
      log: { ...base.log, level: merged.log.level },
    };
  }
  return { ...base, ...overrides } as Config;
}
