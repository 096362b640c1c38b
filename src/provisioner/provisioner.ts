/**
 * The provisioner: the one place that decides what a machine gets. The DHCP server asks it
 * for boot parameters (its `BootHook`), the HTTP routes ask it for scripts; it records which
 * address belongs to which MAC so TFTP and HTTP events of a boot carry the machine's MAC.
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
import type { Config } from '../config/index.ts';
import type { BootParams, BootQuery } from '../dhcp/index.ts';
import type { Logger } from '../lib/log.ts';
import { ipToString, type Mac, parseMac } from '../lib/net.ts';
import { ConfigMachines, type MachineView } from './machines.ts';
import { resolveProfile } from './profiles.ts';
import { render } from './template.ts';

export interface ProvisionerOptions {
  config: Config;
  /** The seed's address on the provisioning network (siaddr, URLs). */
  advertise: number;
  /** Whether a file exists under the TFTP root. */
  tftpExists: (file: string) => boolean;
  logger: Logger;
  /** Called when iPXE starts DHCP on the provisioning link (main sends a Router Advertisement). */
  onIpxeDhcp?: (mac: Mac) => void;
}

/** What iPXE reported in the `/ipxe` query (see boot/ipxe.ts IPXE_FACTS). */
export type IpxeFacts = Readonly<Record<string, string | undefined>>;

export interface ScriptResult {
  script: string;
  mac: Mac;
  machine: MachineView;
  profile: string;
}

const NEIGHBOR_LIMIT = 65536; // bounded memory, far above any provisioning network

export class Provisioner {
  readonly seedUrl: string;
  private readonly machines: ConfigMachines;
  private readonly neighbors = new Map<string, Mac>();

  constructor(private readonly o: ProvisionerOptions) {
    this.seedUrl = `http://${ipToString(o.advertise)}:${o.config.http.port}`;
    this.machines = new ConfigMachines(o.config);
  }

  reservations(): Map<Mac, number> {
    return this.machines.reservations();
  }

  /** The DHCP server's boot hook. */
  readonly dhcpBoot = (q: BootQuery): BootParams | null => {
    const firmware = detectFirmware(q.packet);
    const machine = this.machines.get(q.mac);
    if (firmware.ipxe && (q.type === 'DISCOVER' || q.type === 'REQUEST')) this.o.onIpxeDhcp?.(q.mac);
    const target = this.target(machine, firmware);
    if (target.kind === 'none' && (firmware.pxe || firmware.ipxe) && q.type === 'DISCOVER') {
      this.o.logger.info({ event: 'boot.no_target', mac: q.mac, reason: target.reason }, target.reason);
    }
    const params = dhcpBootParams({
      target,
      nextServer: this.o.advertise,
      ipxeNoProxyWait: this.o.config.dhcp.ipxeNoProxyWait && !q.proxy,
      ...(machine.hostname ? { hostname: machine.hostname } : {}),
      ...(firmware.ipxe ? { firmware: 'ipxe' } : firmware.pxe ? { firmware: firmware.kind } : {}),
    });
    if (q.type !== 'RELEASE' && q.type !== 'DECLINE') {
      const ip = q.packet.ciaddr;
      if (ip) this.observe(ipToString(ip), q.mac);
    }
    return params;
  };

  private target(machine: MachineView, firmware: FirmwareFacts): BootTarget {
    const { spec } = resolveProfile(this.o.config, machine.role, machine.profile);
    return chooseTarget({
      firmware,
      binaries: this.o.config.tftp.binaries,
      efiBinary: spec.efiBinary,
      bootScriptUrl: `${this.seedUrl}/boot.ipxe`,
      exists: this.o.tftpExists,
      tftpEnabled: this.o.config.tftp.enabled,
    });
  }

  /** Remembers that `ip` is `mac` (from DHCP ACKs and PXE requests). */
  observe(ip: string, mac: Mac): void {
    if (this.neighbors.size >= NEIGHBOR_LIMIT) this.neighbors.delete(this.neighbors.keys().next().value!);
    this.neighbors.delete(ip);
    this.neighbors.set(ip, mac);
  }

  macOf(ip: string): Mac | undefined {
    return this.neighbors.get(ip.replace(/^::ffff:/, ''));
  }

  bootScript(): string {
    return bootScript(this.seedUrl);
  }

  /** The per-machine iPXE script; null when the query names no valid MAC. */
  machineScript(facts: IpxeFacts): ScriptResult | null {
    const mac = parseMac(facts.mac ?? '');
    if (!mac) return null;
    const machine = this.machines.get(mac);
    if (machine.role === 'none') {
      return {
        mac,
        machine,
        profile: '',
        script: waitScript(`${mac} is waiting for approval`, this.seedUrl),
      };
    }
    const profile = resolveProfile(this.o.config, machine.role, machine.profile);
    const vars = {
      seed: this.seedUrl,
      mac,
      role: machine.role,
      hostname: machine.hostname ?? '',
      uuid: facts.uuid ?? '',
      profile: profile.name,
    };
    const where = `profiles.${profile.name}`;
    const script = kernelScript({
      title: `${machine.hostname ?? mac} (role ${machine.role}, profile ${profile.name})`,
      kernel: render(profile.spec.kernel, vars, `${where}.kernel`),
      initrds: profile.spec.initrds.map((x, i) => render(x, vars, `${where}.initrds[${i}]`)),
      args: profile.spec.args.map((x, i) => render(x, vars, `${where}.args[${i}]`)),
      seedUrl: this.seedUrl,
    });
    return { mac, machine, profile: profile.name, script };
  }
}
