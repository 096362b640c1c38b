/**
 * From a parsed YAML value to a validated `Config`. Every key has a default; a wrong value
 * throws a `ConfigError` with its key path (the loader adds file and line).
 */

import fs from 'node:fs';
import nodePath from 'node:path';
import type { Rule } from '../inventory/index.ts';
import { validateRule } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { parseIPv4 } from '../lib/net.ts';
import { parseClusterSpec } from './cluster.ts';
import * as d from './defaults.ts';
import { ConfigError } from './errors.ts';
import * as f from './fields.ts';
import type { Config, MachineConfig, ProfileConfig } from './types.ts';

const TOP_KEYS = [
  'dataDir',
  'interface',
  'advertise',
  'http',
  'dhcp',
  'tftp',
  'ra',
  'log',
  'machines',
  'defaultRole',
  'profiles',
  'rules',
  'cluster',
] as const;

/** `baseDir`: where relative paths in the config (profile template files) are resolved. */
export function parseConfig(raw: unknown, source: string, baseDir = process.cwd()): Config {
  const top = f.obj(raw, []);
  f.knownKeys(top, [], TOP_KEYS);
  const http = f.obj(top.http, ['http']);
  f.knownKeys(http, ['http'], ['port', 'address', 'tlsPort']);
  const log = f.obj(top.log, ['log']);
  f.knownKeys(log, ['log'], ['level', 'format']);
  const ra = f.obj(top.ra, ['ra']);
  f.knownKeys(ra, ['ra'], ['enabled']);
  const config: Config = {
    source,
    dataDir: f.str(top.dataDir, ['dataDir'], d.DEFAULT_DATA_DIR),
    interface: f.optStr(top.interface, ['interface']),
    advertise: f.optIpv4(top.advertise, ['advertise']),
    http: {
      port: f.int(http.port, ['http', 'port'], d.DEFAULT_HTTP_PORT, 1, 65535),
      address: f.str(http.address, ['http', 'address'], d.DEFAULT_HTTP_ADDRESS),
      tlsPort: f.int(http.tlsPort, ['http', 'tlsPort'], d.DEFAULT_HTTPS_PORT, 0, 65535),
    },
    dhcp: parseDhcp(top.dhcp),
    tftp: parseTftp(top.tftp),
    ra: {
      enabled:
        ra.enabled === undefined || ra.enabled === 'auto'
          ? 'auto'
          : f.bool(ra.enabled, ['ra', 'enabled'], false),
    },
    log: {
      level: f.oneOf(log.level, ['log', 'level'], ['debug', 'info', 'warn', 'error'], 'info'),
      format: f.oneOf(log.format, ['log', 'format'], ['json', 'pretty'], 'json'),
    },
    machines: f.list(top.machines, ['machines']).map((m, i) => parseMachine(m, ['machines', i])),
    defaultRole: f.str(top.defaultRole, ['defaultRole'], d.DEFAULT_ROLE),
    profiles: parseProfiles(top.profiles, baseDir),
    rules: f.list(top.rules, ['rules']).map((r, i) => parseRule(r, ['rules', i])),
    cluster: parseClusterSpec(top.cluster),
  };
  checkMachines(config.machines);
  return config;
}

function parseDhcp(v: unknown): Config['dhcp'] {
  const p = ['dhcp'];
  const o = f.obj(v, p);
  f.knownKeys(o, p, [
    'mode',
    'range',
    'leaseTime',
    'leaseSync',
    'netmask',
    'router',
    'dns',
    'domain',
    'ipxeNoProxyWait',
  ]);
  const range = o.range === undefined || o.range === null ? null : parseRange(o.range, [...p, 'range']);
  const netmask = f.optIpv4(o.netmask, [...p, 'netmask']);
  if (netmask !== null && !isContiguousMask(netmask)) {
    throw new ConfigError([...p, 'netmask'], 'expected a contiguous netmask like 255.255.255.0');
  }
  return {
    mode: f.oneOf(o.mode, [...p, 'mode'], ['authoritative', 'proxy', 'off'], 'authoritative'),
    range,
    leaseTime: f.duration(o.leaseTime, [...p, 'leaseTime'], d.DEFAULT_LEASE_SECONDS),
    leaseSync: f.oneOf(o.leaseSync, [...p, 'leaseSync'], ['before-reply', 'after-reply'], 'before-reply'),
    netmask,
    router: f.optIpv4(o.router, [...p, 'router']),
    dns: f.list(o.dns, [...p, 'dns']).map((x, i) => f.ipv4(x, [...p, 'dns', i])),
    domain: f.optStr(o.domain, [...p, 'domain']),
    ipxeNoProxyWait: f.bool(o.ipxeNoProxyWait, [...p, 'ipxeNoProxyWait'], true),
  };
}

function parseRange(v: unknown, path: f.Path): { start: number; end: number } {
  const m = typeof v === 'string' ? /^\s*([\d.]+)\s*-\s*([\d.]+)\s*$/.exec(v) : null;
  const start = m ? parseIPv4(m[1]!) : null;
  const end = m ? parseIPv4(m[2]!) : null;
  if (start === null || end === null) {
    throw new ConfigError(
      path,
      `expected FIRST-LAST like 192.168.0.100-192.168.0.199, got ${JSON.stringify(v)}`,
    );
  }
  if (start > end) throw new ConfigError(path, 'the first address is after the last');
  if (end - start >= 1 << 20) throw new ConfigError(path, 'range is larger than 1,048,576 addresses');
  return { start, end };
}

function parseTftp(v: unknown): Config['tftp'] {
  const p = ['tftp'];
  const o = f.obj(v, p);
  f.knownKeys(o, p, ['enabled', 'root', 'port', 'blksizeMax', 'windowsizeMax', 'binaries']);
  const b = f.obj(o.binaries, [...p, 'binaries']);
  f.knownKeys(b, [...p, 'binaries'], ['bios', 'efi', 'snponly', 'arm64']);
  return {
    enabled: f.bool(o.enabled, [...p, 'enabled'], true),
    root: f.str(o.root, [...p, 'root'], d.DEFAULT_TFTP_ROOT),
    port: f.int(o.port, [...p, 'port'], d.DEFAULT_TFTP_PORT, 1, 65535),
    blksizeMax: f.int(o.blksizeMax, [...p, 'blksizeMax'], d.DEFAULT_TFTP_BLKSIZE_MAX, 512, 65464),
    windowsizeMax: f.int(o.windowsizeMax, [...p, 'windowsizeMax'], d.DEFAULT_TFTP_WINDOWSIZE_MAX, 1, 65535),
    binaries: {
      bios: f.str(b.bios, [...p, 'binaries', 'bios'], d.DEFAULT_BINARIES.bios),
      efi: f.str(b.efi, [...p, 'binaries', 'efi'], d.DEFAULT_BINARIES.efi),
      snponly: f.str(b.snponly, [...p, 'binaries', 'snponly'], d.DEFAULT_BINARIES.snponly),
      arm64: f.str(b.arm64, [...p, 'binaries', 'arm64'], d.DEFAULT_BINARIES.arm64),
    },
  };
}

function parseMachine(v: unknown, path: f.Path): MachineConfig {
  const o = f.obj(v, path);
  f.knownKeys(o, path, ['mac', 'ip', 'hostname', 'role', 'profile']);
  if (o.mac === undefined) throw new ConfigError(path, 'a machine needs a "mac"');
  const m: MachineConfig = { mac: f.mac(o.mac, [...path, 'mac']) };
  if (o.ip !== undefined) m.ip = f.ipv4(o.ip, [...path, 'ip']);
  if (o.hostname !== undefined) m.hostname = hostname(o.hostname, [...path, 'hostname']);
  if (o.role !== undefined) m.role = f.str(o.role, [...path, 'role'], '');
  if (o.profile !== undefined) m.profile = f.str(o.profile, [...path, 'profile'], '');
  return m;
}

/** RFC 1123 section 2.1 host names: labels of letters, digits and inner hyphens. */
function hostname(v: unknown, path: f.Path): string {
  const s = f.str(v, path, '');
  if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(s)) {
    throw new ConfigError(path, `"${s}" is not a valid host name (letters, digits, inner hyphens; RFC 1123)`);
  }
  return s.toLowerCase();
}

function checkMachines(machines: MachineConfig[]): void {
  const macs = new Map<string, number>();
  const ips = new Map<number, number>();
  machines.forEach((m, i) => {
    const dupMac = macs.get(m.mac);
    if (dupMac !== undefined)
      throw new ConfigError(['machines', i, 'mac'], `${m.mac} is also machines[${dupMac}]`);
    macs.set(m.mac, i);
    if (m.ip === undefined) return;
    const dupIp = ips.get(m.ip);
    if (dupIp !== undefined)
      throw new ConfigError(['machines', i, 'ip'], `address is also machines[${dupIp}].ip`);
    ips.set(m.ip, i);
  });
}

function parseProfiles(v: unknown, baseDir: string): Record<string, ProfileConfig> {
  const o = f.obj(v, ['profiles']);
  const out: Record<string, ProfileConfig> = {};
  for (const [name, pv] of Object.entries(o)) {
    const p = ['profiles', name];
    const po = f.obj(pv, p);
    f.knownKeys(po, p, ['kernel', 'initrd', 'initrds', 'args', 'efiBinary', 'template']);
    if (po.initrd !== undefined && po.initrds !== undefined) {
      throw new ConfigError([...p, 'initrd'], 'give either "initrd" or "initrds", not both');
    }
    out[name] = {
      kernel: f.str(po.kernel, [...p, 'kernel'], d.DEFAULT_PROFILE.kernel),
      initrds: f.strings(
        po.initrds ?? po.initrd,
        [...p, po.initrd !== undefined ? 'initrd' : 'initrds'],
        d.DEFAULT_PROFILE.initrds,
      ),
      args: f.strings(po.args, [...p, 'args'], d.DEFAULT_PROFILE.args),
      efiBinary: f.oneOf(po.efiBinary, [...p, 'efiBinary'], ['ipxe', 'snponly'], d.DEFAULT_PROFILE.efiBinary),
      config:
        po.template === undefined
          ? { kind: 'ignition-role' }
          : parseTemplate(po.template, [...p, 'template'], baseDir),
    };
  }
  return out;
}

/** `template: { format: cloud-config, file: worker.yaml }` (or `text:` inline). */
function parseTemplate(v: unknown, path: f.Path, baseDir: string): ProfileConfig['config'] {
  const o = f.obj(v, path);
  f.knownKeys(o, path, ['format', 'file', 'text']);
  const format = f.oneOf(o.format, [...path, 'format'], ['ignition', 'cloud-config', 'plain'], 'ignition');
  if ((o.file === undefined) === (o.text === undefined))
    throw new ConfigError(path, 'give exactly one of "file" or "text"');
  if (o.text !== undefined)
    return { kind: 'template', format, template: f.str(o.text, [...path, 'text'], '') };
  const file = nodePath.resolve(baseDir, f.str(o.file, [...path, 'file'], ''));
  try {
    return { kind: 'template', format, template: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    throw new ConfigError([...path, 'file'], `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Rules are validated by the inventory's validator; its message already names the field. */
function parseRule(v: unknown, path: f.Path): Rule {
  const at = `rules[${path[1]}]`;
  try {
    return validateRule(v, at);
  } catch (err) {
    if (!(err instanceof MetalseedError)) throw err;
    // "rules[3].match.cidr[1]: problem" → key path ['rules', 3, 'match', 'cidr', 1], for the line
    const m = /^rules\[\d+\]\.?([^:]*): ([\s\S]*)$/.exec(err.message);
    if (!m) throw new ConfigError(path, err.message);
    const sub = m[1]!.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== '');
    throw new ConfigError([...path, ...sub.map((x) => (/^\d+$/.test(x) ? Number(x) : x))], m[2]!);
  }
}

function isContiguousMask(m: number): boolean {
  const inv = ~m >>> 0;
  return (inv & (inv + 1)) === 0;
}
