/**
 * The machines the seed knows, for now from the config file (issue 3 moves them into the
 * store). A machine not listed is an unknown machine that gets `defaultRole`.
 */
import type { Config, MachineConfig } from '../config/index.ts';
import type { Mac } from '../lib/net.ts';

export interface MachineView {
  mac: Mac;
  role: string;
  hostname?: string;
  profile?: string;
  known: boolean;
}

export class ConfigMachines {
  private readonly byMac: Map<Mac, MachineConfig>;
  constructor(private readonly config: Config) {
    this.byMac = new Map(config.machines.map((m) => [m.mac, m]));
  }

  get(mac: Mac): MachineView {
    const m = this.byMac.get(mac);
    const view: MachineView = { mac, role: m?.role ?? this.config.defaultRole, known: m !== undefined };
    if (m?.hostname !== undefined) view.hostname = m.hostname;
    if (m?.profile !== undefined) view.profile = m.profile;
    return view;
  }

  /** Fixed addresses for the DHCP pool. */
  reservations(): Map<Mac, number> {
    return new Map(this.config.machines.filter((m) => m.ip !== undefined).map((m) => [m.mac, m.ip!]));
  }
}
