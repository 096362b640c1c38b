/** The validated, defaulted configuration of a seed (see DESIGN.md "User-facing contract"). */
import type { ProfileSpec, Rule } from '../inventory/index.ts';
import type { Mac } from '../lib/net.ts';
import type { ClusterSpec } from './cluster.ts';

export type DhcpModeSetting = 'authoritative' | 'proxy' | 'off';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A profile as the config file gives it: the profile without its name (the mapping key). */
export type ProfileConfig = Omit<ProfileSpec, 'name'>;

export interface MachineConfig {
  mac: Mac;
  ip?: number;
  hostname?: string;
  role?: string;
  profile?: string;
}

export interface Config {
  /** The file the config was read from, for messages. */
  source: string;
  dataDir: string;
  interface: string | null;
  advertise: number | null;
  /**
   * `tlsPort`: the HTTPS listener that serves controllers their secret stage (0: off, and no
   * controller can be provisioned).
   */
  http: { port: number; address: string; tlsPort: number };
  dhcp: {
    mode: DhcpModeSetting;
    range: { start: number; end: number } | null;
    leaseTime: number;
    /**
     * Whether an ACK waits for its lease's fdatasync (`before-reply`) or only for its write to
     * the journal file (`after-reply`; synced within 10 ms). See dhcp/server.ts `LeaseSync`.
     */
    leaseSync: 'before-reply' | 'after-reply';
    netmask: number | null;
    router: number | null;
    dns: number[];
    domain: string | null;
    /** Send iPXE option 175.176 (do not wait for ProxyDHCP). */
    ipxeNoProxyWait: boolean;
  };
  tftp: {
    enabled: boolean;
    root: string;
    port: number;
    blksizeMax: number;
    windowsizeMax: number;
    /** iPXE binaries under `root`, by firmware. */
    binaries: { bios: string; efi: string; snponly: string; arm64: string };
  };
  /**
   * IPv6 Router Advertisements that end iPXE's IPv6 wait. `auto`: on in authoritative mode
   * (the seed owns the link), off in proxy mode (a real IPv6 router may be there).
   */
  ra: { enabled: boolean | 'auto' };
  log: { level: LogLevel; format: 'json' | 'pretty' };
  machines: MachineConfig[];
  defaultRole: string;
  profiles: Record<string, ProfileConfig>;
  /** Validated rules (inventory/rules.ts); ambiguity is checked against the store at start. */
  rules: Rule[];
  cluster: ClusterSpec;
}
