/** Builds client DHCP messages for in-process server tests. */
import {
  type DhcpPacket,
  MessageType,
  type MessageTypeName,
  Op,
  Opt,
  Options,
} from '../../src/dhcp/index.ts';
import { macToBytes } from '../../src/lib/net.ts';

export interface ClientMsg {
  mac: string;
  type: MessageTypeName;
  xid?: number;
  ciaddr?: number;
  giaddr?: number;
  flags?: number;
  requested?: number;
  serverId?: number;
  vendorClass?: string;
  arch?: number;
  userClass?: Uint8Array;
  params?: number[];
}

export function clientPacket(m: ClientMsg): DhcpPacket {
  const chaddr = new Uint8Array(16);
  chaddr.set(macToBytes(m.mac));
  const o = new Options().setU8(Opt.MESSAGE_TYPE, MessageType[m.type]);
  if (m.requested !== undefined) o.setIp(Opt.REQUESTED_IP, m.requested);
  if (m.serverId !== undefined) o.setIp(Opt.SERVER_ID, m.serverId);
  if (m.vendorClass !== undefined) o.setString(Opt.VENDOR_CLASS, m.vendorClass);
  if (m.arch !== undefined) o.setU16(Opt.CLIENT_ARCH, m.arch);
  if (m.userClass !== undefined) o.set(Opt.USER_CLASS, m.userClass);
  if (m.params !== undefined) o.set(Opt.PARAMETER_LIST, Uint8Array.from(m.params));
  return {
    op: Op.BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: m.xid ?? 0x1234,
    secs: 0,
    flags: m.flags ?? 0,
    ciaddr: m.ciaddr ?? 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: m.giaddr ?? 0,
    chaddr,
    sname: '',
    file: '',
    options: o,
  };
}

export const IPXE_USER_CLASS = new TextEncoder().encode('iPXE');
