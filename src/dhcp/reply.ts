/**
 * Building a reply to a client message and choosing where it goes (RFC 2131 section 4.1).
 */

import { ipToString } from '../lib/net.ts';
import type { Peer } from '../lib/udp.ts';
import {
  CLIENT_PORT,
  FLAG_BROADCAST,
  MessageType,
  type MessageTypeName,
  Op,
  Opt,
  SERVER_PORT,
} from './constants.ts';
import { Options } from './options.ts';
import type { DhcpPacket } from './packet.ts';

/** What the boot policy adds to a reply: BOOTP file/next-server and extra options. */
export interface BootParams {
  file?: string;
  /** Next server (siaddr), the TFTP server for `file`. */
  siaddr?: number;
  options?: readonly (readonly [number, Uint8Array])[];
  /** What the policy saw (e.g. "bios", "uefi-x64", "ipxe"); only copied into events. */
  firmware?: string;
}

export function newReply(req: DhcpPacket, type: MessageTypeName, serverId: number): DhcpPacket {
  const options = new Options().setU8(Opt.MESSAGE_TYPE, MessageType[type]).setIp(Opt.SERVER_ID, serverId);
  return {
    op: Op.BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: req.giaddr,
    chaddr: req.chaddr,
    sname: '',
    file: '',
    options,
  };
}

const FILE_FIELD_MAX = 127;

/**
 * Puts boot parameters into a reply. The file goes in the BOOTP `file` field, which every
 * PXE ROM reads; option 67 carries it too when the client asked for 67 or the name is too
 * long for the field (RFC 2132 section 9.5).
 */
export function applyBoot(reply: DhcpPacket, req: DhcpPacket, boot: BootParams | null): void {
  if (!boot) return;
  if (boot.siaddr !== undefined) reply.siaddr = boot.siaddr;
  if (boot.file !== undefined) {
    const asked = req.options.get(Opt.PARAMETER_LIST)?.includes(Opt.BOOTFILE_NAME) ?? false;
    const fits = Buffer.byteLength(boot.file, 'utf8') <= FILE_FIELD_MAX;
    if (fits) reply.file = boot.file;
    if (asked || !fits) reply.options.setString(Opt.BOOTFILE_NAME, boot.file);
  }
  for (const [code, value] of boot.options ?? []) reply.options.set(code, value);
}

/** RFC 2131 section 4.1, "If the 'giaddr' field ... is non-zero" and the paragraphs after it. */
export function destination(req: DhcpPacket, reply: DhcpPacket, from: Peer): Peer {
  const isNak = reply.options.u8(Opt.MESSAGE_TYPE) === MessageType.NAK;
  if (req.giaddr !== 0) {
    if (isNak) reply.flags |= FLAG_BROADCAST; // the relay must broadcast a NAK to the client
    return { address: ipToString(req.giaddr), port: SERVER_PORT };
  }
  if (isNak) return { address: '255.255.255.255', port: CLIENT_PORT };
  if (req.ciaddr !== 0) return { address: ipToString(req.ciaddr), port: from.port || CLIENT_PORT };
  // Unicast to yiaddr before the client has its address needs an ARP entry we cannot add
  // from user space without raw sockets; RFC 2131 allows broadcasting instead.
  return { address: '255.255.255.255', port: CLIENT_PORT };
}

/** The policy's firmware label, for events. */
export function firmwareOf(boot: BootParams | null): { firmware?: string } {
  return boot?.firmware ? { firmware: boot.firmware } : {};
}
