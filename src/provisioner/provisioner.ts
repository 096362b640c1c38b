/**
 * The provisioner: the one place that decides what a machine gets. The DHCP server asks it
 * for boot parameters (its `BootHook`) and tells it every step (`onDhcpEvent`); the HTTP
 * routes ask it for scripts and configs; TFTP reports transfers. Each step enrols or updates
 * the machine and lands on its timeline.
 */
import {
  type BootTarget,
  bootScript,
  chooseTarget,
  detectFirmware,
  dhcpBootParams,
  type FirmwareFacts,
  kernelScript,
  waitScript,
} from '../boot/index.ts';
import type { Config, Endpoint } from '../config/index.ts';
import type { BootParams, BootQuery, DhcpEvent, DhcpPacket } from '../dhcp/index.ts';
import type { Machine, ProfileSpec, Rule, Store } from '../inventory/index.ts';
import type { Logger } from '../lib/log.ts';
import { ipToString, type Mac, parseMac } from '../lib/net.ts';
import {
  type ClusterRuntime,
  IGNITION_TYPE,
  knownEndpoint,
  type RoleConfig,
  roleConfig,
  secretStage,
} from './cluster-configs.ts';
import { type RenderedConfig, renderConfig } from './configs.ts';
import { enrol, PENDING_ROLE } from './enrol.ts';
import type { MachineFacts } from './facts.ts';
import { persistentRootArgs } from './persistent-root.ts';
import { resolveProfile } from './profiles.ts';
import { Registry } from './registry.ts';
import { ALARMS } from './secret-gate.ts';
import { render } from './template.ts';
import { Timeline } from './timeline.ts';

export interface ProvisionerOptions {
  config: Config;
  /** The seed's address on the provisioning network (siaddr, URLs). */
  advertise: number;
  store: Store;
  /** Whether a file exists under the TFTP root. */
  tftpExists: (file: string) => boolean;
  logger: Logger;
  now?: () => Date;
  /** Called when iPXE starts DHCP on the provisioning link (main sends a Router Advertisement). */
  onIpxeDhcp?: (mac: Mac) => void;
  /** The cluster this seed provisions; without it every role gets the minimal config. */
  cluster?: ClusterRuntime;
}

/** A config for /ignition or the secret stage, or why the machine does not get one. */
export type ConfigOutcome =
  /** `facts`: what the config holds, for the timeline (kubeadm role, sysext, endpoint). */
  | { ok: true; contentType: string; body: string; facts?: Record<string, unknown> }
  | { ok: false; status: number; code: string; message: string; hint?: string };

/** What iPXE reported in the `/ipxe` query (see boot/ipxe.ts IPXE_FACTS). */
export type IpxeFacts = Readonly<Record<string, string | undefined>>;

export interface ScriptResult {
  script: string;
  machine: Machine;
  profile: string;
}

const NEIGHBOR_LIMIT = 65536; // bounded memory, far above any provisioning network
const REFUSAL_EVERY_MS = 60_000;

export class Provisioner {
  readonly seedUrl: string;
  readonly timeline: Timeline;
  private readonly neighbors = new Map<string, Mac>();
  private readonly discoverAt = new Map<string, number>();
  private readonly refusedAt = new Map<string, number>();
  rules: Rule[] = [];
  profiles = new Map<string, ProfileSpec>();
  /**
   * The packet the boot hook last enrolled a machine for, and that machine. The server calls
   * the hook and then `onDhcpEvent` for the same message in one go, with the same facts, so
   * the event reuses the machine instead of enrolling it again (unless an ACK adds an address).
   */
  private bootedPacket: DhcpPacket | undefined;
  private bootedId = '';
  /** detectFirmware(bootedPacket): its event needs the same facts. */
  private bootedFirmware: FirmwareFacts | undefined;

  private constructor(
    readonly o: ProvisionerOptions,
    readonly registry: Registry,
  ) {
    this.seedUrl = `http://${ipToString(o.advertise)}:${o.config.http.port}`;
    this.timeline = new Timeline(o.store, registry, o.logger, this.now);
  }

  static async create(o: ProvisionerOptions): Promise<Provisioner> {
    const p = new Provisioner(o, await Registry.load(o.store, o.logger));
    await p.reloadCatalog();
    return p;
  }

  readonly now = (): Date => (this.o.now ? this.o.now() : new Date());

  /** Resolves when every machine change and timeline event so far is in the store. */
  async flush(): Promise<void> {
    await this.registry.flush();
    await this.timeline.flush();
  }

  /** Re-reads rules and profiles from the store (after the API changed them). */
  async reloadCatalog(): Promise<void> {
    this.rules = await this.o.store.listRules();
    this.profiles = new Map((await this.o.store.listProfiles()).map((p) => [p.name, p]));
  }

  /** Facts → the machine, enrolled or updated. */
  machineFor(facts: MachineFacts): Machine {
    return enrol(facts, {
      config: this.o.config,
      rules: this.rules,
      registry: this.registry,
      now: this.now(),
    }).machine;
  }

  profileOf(m: Machine): ProfileSpec {
    return resolveProfile(this.profiles, m.role, m.profile);
  }

  /**
   * The DHCP server's event listener: one event per client message (its answer, or the
   * message itself when it got none) lands on the timeline.
   */
  readonly onDhcpEvent = (e: DhcpEvent): void => {
    const booted = e.packet !== undefined && this.bootedPacket === e.packet;
    const fw = booted ? this.bootedFirmware : e.packet ? detectFirmware(e.packet) : undefined;
    const acked = e.event === 'dhcp.ack' && e.ip ? e.ip : undefined;
    const same = !acked && booted;
    const m = (same && this.registry.get(this.bootedId)) || this.machineFor(packetFacts(e.mac, fw, acked));
    this.bootedPacket = undefined;
    // written out rather than looped over: every DHCP message passes here
    const data: Record<string, unknown> = { xid: e.xid };
    // the other events name the message they answer (offer: DISCOVER; ack, nak: REQUEST)
    if (e.event === 'dhcp.ignored') data['request'] = e.request;
    if (e.ip) data['ip'] = e.ip;
    if (e.bootFile) data['bootFile'] = e.bootFile;
    if (e.firmware) data['firmware'] = e.firmware;
    if (e.relay) data['relay'] = e.relay;
    if (e.reason) data['reason'] = e.reason;
    const key = `${e.mac}:${e.xid}`;
    let durationMs: number | undefined;
    const discover = e.request === 'DISCOVER';
    if (discover) this.remember(key);
    if (acked) {
      this.observe(acked, e.mac);
      const t0 = this.discoverAt.get(key);
      if (t0 !== undefined) durationMs = this.now().getTime() - t0;
      // Used once: the map holds exchanges in flight, not an entry per client ever seen
      // (each a key string and a number that young-generation GCs copy until promoted).
      this.discoverAt.delete(key);
    }
    const netbootStart = discover && !!fw && (fw.pxe || fw.ipxe);
    this.timeline.record(m, e.event, data, {
      mac: e.mac,
      netbootStart,
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
  };

  /** The DHCP server's boot hook. */
  readonly dhcpBoot = (q: BootQuery): BootParams | null => {
    const firmware = detectFirmware(q.packet);
    if (firmware.ipxe && (q.type === 'DISCOVER' || q.type === 'REQUEST')) this.o.onIpxeDhcp?.(q.mac);
    const m = this.machineFor(packetFacts(q.mac, firmware));
    this.bootedPacket = q.packet; // fields, not an object per DHCP message
    this.bootedId = m.id;
    this.bootedFirmware = firmware;
    const target = this.target(m, firmware);
    return dhcpBootParams({
      target,
      nextServer: this.o.advertise,
      ipxeNoProxyWait: this.o.config.dhcp.ipxeNoProxyWait && !q.proxy,
      ...(m.hostnameSource !== 'generated' ? { hostname: m.hostname } : {}),
      ...(firmware.ipxe ? { firmware: 'ipxe' } : firmware.pxe ? { firmware: firmware.kind } : {}),
    });
  };

  private target(m: Machine, firmware: FirmwareFacts): BootTarget {
    return chooseTarget({
      firmware,
      binaries: this.o.config.tftp.binaries,
      efiBinary: this.profileOf(m).efiBinary,
      bootScriptUrl: `${this.seedUrl}/boot.ipxe`,
      exists: this.o.tftpExists,
      tftpEnabled: this.o.config.tftp.enabled,
    });
  }

  /** Remembers that `ip` is `mac`, so TFTP and HTTP steps (which carry no MAC) find the machine. */
  observe(ip: string, mac: Mac): void {
    if (this.neighbors.size >= NEIGHBOR_LIMIT) this.neighbors.delete(this.neighbors.keys().next().value!);
    this.neighbors.delete(ip);
    this.neighbors.set(ip, mac);
  }

  macOf(ip: string): Mac | undefined {
    return this.neighbors.get(ip.replace(/^::ffff:/, ''));
  }

  private remember(key: string): void {
    if (this.discoverAt.size >= NEIGHBOR_LIMIT) this.discoverAt.delete(this.discoverAt.keys().next().value!);
    this.discoverAt.set(key, this.now().getTime());
  }

  /** A machine-less step reported by address (TFTP transfer, /boot.ipxe). */
  stepByAddress(
    ip: string,
    type: string,
    data: Record<string, unknown>,
    durationMs?: number,
  ): Mac | undefined {
    const mac = this.macOf(ip);
    if (!mac) return undefined;
    const m = this.machineFor({ mac, address: ip.replace(/^::ffff:/, '') });
    this.timeline.record(m, type, data, { mac, ...(durationMs !== undefined ? { durationMs } : {}) });
    return mac;
  }

  bootScript(): string {
    return bootScript(this.seedUrl);
  }

  /** The per-machine iPXE script; null when the query names no valid MAC. */
  machineScript(facts: IpxeFacts, address?: string): ScriptResult | null {
    const mac = parseMac(facts.mac ?? '');
    if (!mac) return null;
    if (address) this.observe(address, mac);
    const hardware: Record<string, string> = {};
    for (const k of ['manufacturer', 'product', 'asset'] as const) if (facts[k]) hardware[k] = facts[k];
    const m = this.machineFor({
      mac,
      ...(facts.uuid ? { uuid: facts.uuid } : {}),
      ...(facts.serial ? { serial: facts.serial } : {}),
      ...(address ? { address } : {}),
      hardware,
    });
    const result = this.renderScript(m);
    this.timeline.record(
      m,
      'http.ipxe',
      { profile: result.profile, ...hardware, ...pick(facts, ['buildarch', 'platform', 'chip']) },
      { mac },
    );
    return result;
  }

  renderScript(m: Machine): ScriptResult {
    if (m.state === 'pending' || m.role === PENDING_ROLE) {
      return {
        machine: m,
        profile: '',
        script: waitScript(`${m.hostname} (${m.macs[0]}) is waiting for approval`, this.seedUrl),
      };
    }
    const profile = this.profileOf(m);
    const vars = this.varsOf(m, profile);
    const where = `profiles.${profile.name}`;
    const script = kernelScript({
      title: `${m.hostname} (role ${m.role}, profile ${profile.name})`,
      kernel: render(profile.kernel, vars, `${where}.kernel`),
      initrds: profile.initrds.map((x, i) => render(x, vars, `${where}.initrds[${i}]`)),
      args: this.kernelArgs(m, profile, vars),
      seedUrl: this.seedUrl,
    });
    return { machine: m, profile: profile.name, script };
  }

  private kernelArgs(m: Machine, profile: ProfileSpec, vars: Record<string, string>): string[] {
    const args = profile.args.map((x, i) => render(x, vars, `profiles.${profile.name}.args[${i}]`));
    // the built-in generator's controllers keep a persistent root; template profiles decide themselves
    return profile.config.kind === 'ignition-role' && this.o.cluster ? persistentRootArgs(m, args) : args;
  }

  /** What /ignition would serve, without issuing a secret-stage token (API preview). */
  renderConfigFor(m: Machine): RenderedConfig | null {
    const out = this.configOutcome(m, m.addresses[0] ?? '0.0.0.0', true);
    return out.ok ? { contentType: out.contentType, body: out.body } : null;
  }

  /**
   * The config at /ignition for `m` asking from `address`; every outcome lands on the
   * timeline (http.ignition, or the refusal's event).
   */
  configFor(m: Machine, address: string): ConfigOutcome {
    const out = this.configOutcome(m, address, false);
    if (out.ok) {
      const data = { bytes: out.body.length, profile: this.profileOf(m).name, ...out.facts };
      this.timeline.record(m, 'http.ignition', data);
    }
    return out;
  }

  private configOutcome(m: Machine, address: string, preview: boolean): ConfigOutcome {
    if (m.state === 'pending' || m.role === PENDING_ROLE) {
      if (!preview) this.timeline.record(m, 'http.ignition_refused', { reason: 'pending approval' });
      return refusal(403, 'ACCESS_DENIED', `${m.hostname} is waiting for approval`);
    }
    const profile = this.profileOf(m);
    const cluster = this.o.cluster;
    if (cluster && profile.config.kind === 'ignition-role') {
      const r = roleConfig(cluster, this.roleInput(m, address), preview);
      if (r !== null) return this.outcome(m, r, preview);
    }
    const vars = this.varsOf(m, profile);
    const ssh = this.o.config.cluster.sshAuthorizedKeys;
    return { ok: true, ...renderConfig({ machine: m, profile, vars, sshAuthorizedKeys: ssh }) };
  }

  /**
   * The secret stage of controller `id` (https only): the bearer token its stage 1 carried,
   * from the address that fetched stage 1, once, while armed. Refusals by someone else are
   * alarms: on the machine's timeline and in the log at warn.
   */
  secretStageFor(id: string, bearer: string, address: string): ConfigOutcome {
    const cluster = this.o.cluster;
    const m = this.registry.get(id);
    if (!cluster || !m || m.role !== 'controller') {
      this.o.logger.warn(
        { event: 'secrets.refused', id, peer: address, reason: 'unknown machine', alarm: true },
        'alarm',
      );
      return refusal(404, 'NOT_FOUND', `no controller ${id}`);
    }
    const redeemed = cluster.gate.redeem(id, bearer, address);
    if (!redeemed.ok) {
      const alarm = ALARMS.has(redeemed.reason);
      this.timeline.record(m, 'secrets.refused', { reason: redeemed.reason, peer: address, alarm });
      this.o.logger.warn(
        { event: 'secrets.refused', id, hostname: m.hostname, peer: address, reason: redeemed.reason, alarm },
        alarm ? 'alarm: secret stage refused' : 'secret stage refused',
      );
      return refusal(403, 'ACCESS_DENIED', `secret stage refused: ${redeemed.reason}`);
    }
    const r = secretStage(cluster, this.roleInput(m, address));
    if (!r.ok) return this.outcome(m, r, false);
    this.timeline.record(m, 'secrets.served', { ...r.data, peer: address });
    return { ok: true, contentType: IGNITION_TYPE, body: r.body };
  }

  /**
   * Whether to put a refusal on the timeline: Ignition retries a 503 every 5 s, so a repeat
   * of the same refusal is recorded once a minute, not 12 times.
   */
  private noteRefusal(id: string, event: string): boolean {
    const key = `${id} ${event}`;
    const now = this.now().getTime();
    const last = this.refusedAt.get(key);
    if (last !== undefined && now - last < REFUSAL_EVERY_MS) return false;
    if (this.refusedAt.size >= NEIGHBOR_LIMIT) this.refusedAt.clear();
    this.refusedAt.set(key, now);
    return true;
  }

  /** The control-plane endpoint as known now (configured, or the first controller's address). */
  knownEndpoint(): Endpoint | null {
    if (!this.o.cluster) return null;
    return knownEndpoint(this.o.cluster.spec, this.o.config.machines, this.registry.withRole('controller'));
  }

  private roleInput(m: Machine, address: string) {
    return {
      machine: m,
      address,
      reportUrl: `${this.seedUrl}/report?mac=${m.macs[0]}`,
      controllers: this.registry.withRole('controller'),
      configMachines: this.o.config.machines,
      now: this.now(),
    };
  }

  private outcome(m: Machine, r: RoleConfig, preview: boolean): ConfigOutcome {
    if (r.ok) return { ok: true, contentType: IGNITION_TYPE, body: r.body, facts: r.data };
    if (!preview && this.noteRefusal(m.id, r.event)) {
      this.timeline.record(m, r.event, { message: r.message, hint: r.hint });
    }
    return r.retry
      ? refusal(503, 'UNAVAILABLE', r.message, r.hint)
      : refusal(403, 'ACCESS_DENIED', r.message, r.hint);
  }

  private varsOf(m: Machine, profile: ProfileSpec): Record<string, string> {
    return {
      seed: this.seedUrl,
      mac: m.macs[0]!,
      id: m.id,
      role: m.role,
      hostname: m.hostname,
      uuid: m.uuid ?? '',
      profile: profile.name,
    };
  }
}

function refusal(status: number, code: string, message: string, hint?: string): ConfigOutcome {
  return { ok: false, status, code, message, ...(hint ? { hint } : {}) };
}

/** What a DHCP message tells about its machine: firmware facts only from PXE or iPXE. */
function packetFacts(mac: Mac, fw: FirmwareFacts | undefined, address?: string): MachineFacts {
  const f: MachineFacts = { mac };
  if (fw && (fw.pxe || fw.ipxe)) {
    f.firmware = fw.ipxe && fw.kind === 'unknown' ? 'ipxe' : fw.kind;
    if (fw.arch) f.arch = fw.arch;
    if (fw.uuid) f.uuid = fw.uuid;
  }
  if (address) f.address = address;
  return f;
}

/** Only facts iPXE actually filled in (an unset setting expands to the empty string). */
function pick(facts: IpxeFacts, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = facts[k];
    if (v) out[k] = v;
  }
  return out;
}
