/**
 * Authoritative mode: the seed owns the provisioning network's addresses. Client states follow
 * RFC 2131 section 4.3.2 (SELECTING, INIT-REBOOT, RENEWING, REBINDING); NAKs are sent where
 * it says so. An authoritative server also NAKs an INIT-REBOOT for an address it knows is not
 * the client's (dnsmasq's `dhcp-authoritative` does the same), so moved machines recover fast.
 */
import { ipToString, sameSubnet } from '../lib/net.ts';
import { Opt } from './constants.ts';
import type { DhcpPacket } from './packet.ts';
import { applyBoot, firmwareOf, newReply } from './reply.ts';
import type { Exchange, ModeHandler } from './server.ts';

/** T1 = 0.5 and T2 = 0.875 of the lease, RFC 2131 section 4.4.5. */
const T1_FRACTION = 0.5;
const T2_FRACTION = 0.875;

export const authoritative: ModeHandler = (x) => {
  switch (x.type) {
    case 'DISCOVER':
      return discover(x);
    case 'REQUEST':
      return request(x);
    case 'DECLINE':
      x.o.pool!.decline(x.mac, x.req.options.ip(Opt.REQUESTED_IP) ?? 0);
      return null;
    case 'RELEASE':
      if (isOurs(x)) x.o.pool!.release(x.mac, x.req.ciaddr);
      return null;
    case 'INFORM':
      return inform(x);
    default:
      return null;
  }
};

function discover(x: Exchange): DhcpPacket | null {
  if (!onOurNetwork(x)) return null;
  const ip = x.o.pool!.offer(x.mac, x.req.options.ip(Opt.REQUESTED_IP));
  if (ip === null) {
    x.emit('dhcp.pool_exhausted', { reason: 'no free address in dhcp.range' });
    return null;
  }
  return grant(x, 'OFFER', ip);
}

function request(x: Exchange): DhcpPacket | null {
  const pool = x.o.pool!;
  const serverId = x.req.options.ip(Opt.SERVER_ID);
  const requested = x.req.options.ip(Opt.REQUESTED_IP);
  if (serverId !== undefined) {
    // SELECTING: the client chose a server. Not us: our offer is withdrawn (section 4.3.2).
    if (serverId !== x.o.serverId) {
      pool.withdraw(x.mac);
      return null;
    }
    const ip = requested ?? x.req.ciaddr;
    return pool.bind(x.mac, ip, x.o.leaseSeconds)
      ? grant(x, 'ACK', ip)
      : nak(x, 'offered address no longer available');
  }
  if (requested !== undefined && x.req.ciaddr === 0) {
    // INIT-REBOOT: verify the remembered address.
    if (!onOurNetwork(x, requested)) return nak(x, 'requested address is not on this network');
    return pool.bind(x.mac, requested, x.o.leaseSeconds)
      ? grant(x, 'ACK', requested)
      : nak(x, 'requested address belongs to another client');
  }
  if (x.req.ciaddr !== 0) {
    // RENEWING (unicast) or REBINDING (broadcast): extend the lease on ciaddr.
    return pool.bind(x.mac, x.req.ciaddr, x.o.leaseSeconds)
      ? grant(x, 'ACK', x.req.ciaddr)
      : nak(x, 'lease is not valid for this client');
  }
  x.emit('dhcp.ignored', { reason: 'REQUEST without server id, requested address or ciaddr' });
  return null;
}

function inform(x: Exchange): DhcpPacket {
  // RFC 2131 section 3.4: configuration only, no lease time and no yiaddr.
  const reply = newReply(x.req, 'ACK', x.o.serverId);
  reply.ciaddr = x.req.ciaddr;
  addNetworkOptions(x, reply);
  const boot = x.o.boot({ mac: x.mac, type: x.type, packet: x.req, proxy: false });
  applyBoot(reply, x.req, boot);
  x.emit('dhcp.ack', { ip: ipToString(x.req.ciaddr), ...bootFileOf(reply), ...firmwareOf(boot) });
  return reply;
}

function grant(x: Exchange, type: 'OFFER' | 'ACK', ip: number): DhcpPacket {
  const reply = newReply(x.req, type, x.o.serverId);
  reply.yiaddr = ip;
  reply.ciaddr = type === 'ACK' ? x.req.ciaddr : 0;
  const lease = x.o.leaseSeconds;
  reply.options
    .setU32(Opt.LEASE_TIME, lease)
    .setU32(Opt.RENEWAL_TIME, Math.floor(lease * T1_FRACTION))
    .setU32(Opt.REBINDING_TIME, Math.floor(lease * T2_FRACTION));
  addNetworkOptions(x, reply);
  const boot = x.o.boot({ mac: x.mac, type: x.type, packet: x.req, proxy: false });
  applyBoot(reply, x.req, boot);
  x.emit(`dhcp.${type.toLowerCase()}`, { ip: ipToString(ip), ...bootFileOf(reply), ...firmwareOf(boot) });
  return reply;
}

function nak(x: Exchange, reason: string): DhcpPacket {
  const reply = newReply(x.req, 'NAK', x.o.serverId);
  reply.options.setString(Opt.MESSAGE, reason); // RFC 2132 section 9.9
  x.emit('dhcp.nak', { reason });
  return reply;
}

function addNetworkOptions(x: Exchange, reply: DhcpPacket): void {
  reply.options.setIp(Opt.SUBNET_MASK, x.o.subnetMask);
  if (x.o.router !== undefined) reply.options.setIps(Opt.ROUTER, [x.o.router]);
  if (x.o.dns && x.o.dns.length > 0) reply.options.setIps(Opt.DNS_SERVERS, x.o.dns);
  if (x.o.domain) reply.options.setString(Opt.DOMAIN_NAME, x.o.domain);
}

/**
 * A request is for our network when it arrived directly (the socket is bound to the
 * provisioning interface) or through a relay whose giaddr lies in the pool's subnet.
 */
function onOurNetwork(x: Exchange, ip?: number): boolean {
  const net = x.o.pool!.first;
  const mask = x.o.subnetMask;
  if (x.req.giaddr !== 0 && !sameSubnet(x.req.giaddr, net, mask)) {
    x.emit('dhcp.ignored', { reason: `no pool for relay subnet of ${ipToString(x.req.giaddr)}` });
    return false;
  }
  return ip === undefined || sameSubnet(ip, net, mask) || x.o.pool!.isReservedFor(x.mac, ip);
}

function isOurs(x: Exchange): boolean {
  return x.req.options.ip(Opt.SERVER_ID) === undefined || x.req.options.ip(Opt.SERVER_ID) === x.o.serverId;
}

function bootFileOf(reply: DhcpPacket): { bootFile?: string } {
  const f = reply.file || reply.options.string(Opt.BOOTFILE_NAME);
  return f ? { bootFile: f } : {};
}
