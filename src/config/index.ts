export * as defaults from './defaults.ts';
export { ConfigError, formatPath } from './errors.ts';
export { loadConfigFile, parseConfigText } from './load.ts';
export { parseConfig } from './parse.ts';
export type { Config, DhcpModeSetting, LogLevel, MachineConfig, ProfileConfig } from './types.ts';
