/**
 * From a boot target to what goes into the DHCP reply: the BOOTP file and next-server for a
 * binary, or the script URL plus iPXE's "do not wait for ProxyDHCP" flag for iPXE.
 */
import { type BootParams, encodeSubOptions, IpxeOpt, Opt } from '../dhcp/index.ts';
import type { BootTarget } from './binary.ts';

export interface ParamInputs {
  target: BootTarget;
  /** The TFTP server's address (siaddr). */
  nextServer: number;
  /**
   * Sends option 175.176 = 1 so iPXE does not wait ~3 s for ProxyDHCP offers (lab-findings).
   * Only when the seed is the network's sole DHCP server: in proxy mode iPXE must wait for us.
   */
  ipxeNoProxyWait: boolean;
  hostname?: string;
  /** Label for events: "ipxe", or the firmware kind of a PXE client. */
  firmware?: string;
}

export function dhcpBootParams(i: ParamInputs): BootParams | null {
  const extra: (readonly [number, Uint8Array])[] = [];
  const label = i.firmware ? { firmware: i.firmware } : {};
  if (i.hostname) extra.push([Opt.HOSTNAME, new TextEncoder().encode(i.hostname)]);
  switch (i.target.kind) {
    case 'none':
      return extra.length > 0 || i.firmware ? { options: extra, ...label } : null;
    case 'binary':
      return { file: i.target.file, siaddr: i.nextServer, options: extra, ...label };
    case 'script':
      if (i.ipxeNoProxyWait)
        extra.push([Opt.IPXE_ENCAP, encodeSubOptions([[IpxeOpt.NO_PXEDHCP, Uint8Array.of(1)]])]);
      return { file: i.target.url, siaddr: i.nextServer, options: extra, ...label };
  }
}
