/**
 * ICMPv6 Router Advertisement, RFC 4861 section 4.2, with the source link-layer address option
 * (section 4.6.1). metalseed sends a minimal one: no prefixes, M and O flags clear and router
 * lifetime 0 ("not a default router", section 6.2.5), which tells listening hosts that IPv6
 * autoconfiguration has nothing more to offer. iPXE ends its IPv6 configurator on the first
 * such advertisement (iPXE src/net/ndp.c, ipv6conf_rx_router_advertisement) instead of waiting
 * 13-16 s for one (lab-findings.md).
 */
import { Reader, Writer } from '../lib/bytes.ts';
import { DecodeError } from '../lib/errors.ts';
import { type Mac, macFromBytes, macToBytes } from '../lib/net.ts';

export const ICMPV6_ROUTER_ADVERTISEMENT = 134;
const OPT_SOURCE_LL = 1;
const HEADER = 16;
const LL_OPTION = 8; // type, length (in 8-byte units), 6-byte MAC

export interface RouterAdvertisement {
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  routerLifetime: number; // seconds
  reachableTime: number; // ms
  retransTimer: number; // ms
  sourceMac?: Mac;
}

export function encodingLength(ra: RouterAdvertisement): number {
  return HEADER + (ra.sourceMac ? LL_OPTION : 0);
}

/** The checksum is left 0: the kernel computes it for raw ICMPv6 sockets (RFC 3542 3.1). */
export function encode(ra: RouterAdvertisement): Uint8Array {
  const w = new Writer(encodingLength(ra));
  w.u8(ICMPV6_ROUTER_ADVERTISEMENT).u8(0).u16(0);
  w.u8(ra.curHopLimit)
    .u8((ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0))
    .u16(ra.routerLifetime);
  w.u32(ra.reachableTime).u32(ra.retransTimer);
  if (ra.sourceMac) w.u8(OPT_SOURCE_LL).u8(1).bytes(macToBytes(ra.sourceMac));
  return w.done();
}

export function decode(buf: Uint8Array): RouterAdvertisement {
  const r = new Reader(buf);
  if (r.u8('type') !== ICMPV6_ROUTER_ADVERTISEMENT) throw new DecodeError('not a router advertisement');
  r.u8('code');
  r.u16('checksum');
  const curHopLimit = r.u8('hop limit');
  const flags = r.u8('flags');
  const ra: RouterAdvertisement = {
    curHopLimit,
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    routerLifetime: r.u16('router lifetime'),
    reachableTime: r.u32('reachable time'),
    retransTimer: r.u32('retrans timer'),
  };
  while (r.remaining > 0) {
    const type = r.u8('option type');
    const units = r.u8('option length');
    if (units === 0) throw new DecodeError('NDP option of length 0 (RFC 4861 4.6)');
    const body = r.bytes(units * 8 - 2, `NDP option ${type}`);
    if (type === OPT_SOURCE_LL && body.length >= 6) ra.sourceMac = macFromBytes(body);
  }
  return ra;
}

/** The advertisement metalseed sends: "no router, no prefixes, nothing to configure". */
export function quietAdvertisement(sourceMac?: Mac): RouterAdvertisement {
  const ra: RouterAdvertisement = {
    curHopLimit: 0,
    managed: false,
    other: false,
    routerLifetime: 0,
    reachableTime: 0,
    retransTimer: 0,
  };
  if (sourceMac) ra.sourceMac = sourceMac;
  return ra;
}
