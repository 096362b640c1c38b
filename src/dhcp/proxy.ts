/**
 * ProxyDHCP mode (PXE 2.1 spec section 2.2.5; RFC 4578): another server hands out addresses;
 * the seed answers only PXE clients, with boot information and no address. DISCOVERs on port
 * 67 get a proxy OFFER; REQUESTs on port 4011 (the PXE boot-server port, which iPXE and many
 * ROMs use after taking a proxy offer) get an ACK sent back to the sender.
 */
import { Opt, PxeOpt } from './constants.ts';
import { decodeUserClasses, encodeSubOptions } from './options.ts';
import type { DhcpPacket } from './packet.ts';
import { applyBoot, firmwareOf, newReply } from './reply.ts';
import type { Exchange, ModeHandler } from './server.ts';

const PXE_CLIENT = 'PXEClient';

export const proxy: ModeHandler = (x) => {
  if (!isPxeClient(x.req)) {
    if (x.type === 'DISCOVER') x.emit('dhcp.ignored', { reason: 'proxy mode answers PXE clients only' });
    return null;
  }
  if (x.type === 'DISCOVER' && !x.viaPxePort) return answer(x, 'OFFER');
  if (x.type === 'REQUEST' && x.viaPxePort) return answer(x, 'ACK');
  if (x.type === 'INFORM' && x.viaPxePort) return answer(x, 'ACK');
  return null; // REQUESTs on port 67 are for the network's own DHCP server
};

/** A PXE ROM sends vendor class "PXEClient:Arch:…" (PXE 2.1 section 2.2.1); iPXE adds user class "iPXE". */
export function isPxeClient(p: DhcpPacket): boolean {
  if (p.options.string(Opt.VENDOR_CLASS)?.startsWith(PXE_CLIENT)) return true;
  return decodeUserClasses(p.options.get(Opt.USER_CLASS)).includes('iPXE');
}

function answer(x: Exchange, type: 'OFFER' | 'ACK'): DhcpPacket | null {
  const boot = x.o.boot({ mac: x.mac, type: x.type, packet: x.req, proxy: true });
  if (!boot?.file) {
    x.emit('dhcp.ignored', { reason: 'no boot file for this client' });
    return null;
  }
  const reply = newReply(x.req, type, x.o.serverId);
  reply.siaddr = x.o.serverId;
  reply.options.setString(Opt.VENDOR_CLASS, PXE_CLIENT);
  // Discovery control 8: boot the file named here, skip boot-server discovery (PXE 2.1 2.2.6).
  reply.options.set(Opt.VENDOR_SPECIFIC, encodeSubOptions([[PxeOpt.DISCOVERY_CONTROL, Uint8Array.of(8)]]));
  const guid = x.req.options.get(Opt.CLIENT_UUID);
  if (guid) reply.options.set(Opt.CLIENT_UUID, guid); // PXE 2.1: echo the client machine identifier
  applyBoot(reply, x.req, boot);
  x.emit(`dhcp.proxy_${type.toLowerCase()}`, { bootFile: boot.file, ...firmwareOf(boot) });
  return reply;
}
