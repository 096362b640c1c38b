export {
  CLUSTER_KEYS,
  type ClusterSpec,
  DEFAULT_API_SERVER_PORT,
  DEFAULT_CLUSTER_NAME,
  DEFAULT_KUBERNETES_VERSION,
  DEFAULT_POD_CIDR,
  DEFAULT_SERVICE_CIDR,
  DNS_SUBDOMAIN_RE,
  type Endpoint,
  formatEndpoint,
  parseClusterSpec,
  resolveControlPlaneEndpoint,
} from './cluster.ts';
export * as defaults from './defaults.ts';
export { ConfigError, formatPath } from './errors.ts';
export { loadConfigFile, parseConfigText } from './load.ts';
export { parseConfig } from './parse.ts';
export type { Config, DhcpModeSetting, LogLevel, MachineConfig, ProfileConfig } from './types.ts';
