/** The provisioning interface's IPv4 address and netmask, from the OS. */
import os from 'node:os';
import { MetalseedError } from './errors.ts';
import { mustIPv4 } from './net.ts';

export interface InterfaceAddress {
  name: string;
  address: number;
  netmask: number;
}

export function interfaceAddress(name: string, all = os.networkInterfaces()): InterfaceAddress {
  const addrs = all[name];
  if (!addrs) {
    const known = Object.keys(all).join(', ') || 'none';
    throw new MetalseedError(
      'INTERFACE',
      `interface "${name}" does not exist`,
      `set "interface" to one of: ${known}`,
    );
  }
  const v4 = addrs.find((a) => a.family === 'IPv4');
  if (!v4) {
    throw new MetalseedError(
      'INTERFACE',
      `interface "${name}" has no IPv4 address`,
      `give it one (ip addr add 192.168.0.254/24 dev ${name}) or set "advertise"`,
    );
  }
  return { name, address: mustIPv4(v4.address), netmask: mustIPv4(v4.netmask) };
}
