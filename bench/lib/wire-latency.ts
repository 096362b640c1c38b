/**
 * The DHCP server's own time per exchange, read from a capture on its interface: from when a
 * DISCOVER (REQUEST) passed the server's end of the link to when the OFFER (ACK) with the same
 * xid passed it back. perfdhcp's latency adds its own side (its scheduling, its receive loop,
 * the client namespace), which on a host with 2 shared cores is as noisy as the server; this
 * leaves only what the server's process and kernel stack add.
 *
 *   node --import tsx bench/lib/wire-latency.ts CAPTURE.pcap   -> "offer P50 P99 N", "ack P50 P99 N"
 *
 * Reads classic pcap (tcpdump -w; microsecond or nanosecond timestamps), Ethernet + IPv4 +
 * UDP. Message types from option 53 (RFC 2132 section 9.6); the xid is at offset 4 of the
 * BOOTP header (RFC 2131 section 2). A request answered twice counts its first answer.
 */
import { readFileSync } from 'node:fs';
import { percentile } from './stats.ts';

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const UDP_HEADER = 8;
const BOOTP_FIXED = 236; // up to the options' magic cookie (RFC 2131 section 2)
const COOKIE = 4;
const OPT_PAD = 0;
const OPT_END = 255;
const OPT_MESSAGE_TYPE = 53;
/** DHCP message types (RFC 2132 section 9.6) and the request each reply answers. */
const DISCOVER = 1;
const OFFER = 2;
const REQUEST = 3;
const ACK = 5;
const ANSWERS: Record<number, number> = { [OFFER]: DISCOVER, [ACK]: REQUEST };

export interface WireLatency {
  offer: number[];
  ack: number[];
}

/** The message type (option 53) and xid of a captured frame, or undefined if not DHCPv4. */
function dhcpOf(frame: Buffer): { type: number; xid: number } | undefined {
  if (frame.length < ETH_HEADER + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ihl = (frame[ETH_HEADER]! & 0x0f) * 4;
  const bootp = ETH_HEADER + ihl + UDP_HEADER;
  if (frame.length < bootp + BOOTP_FIXED + COOKIE) return undefined;
  const xid = frame.readUInt32BE(bootp + 4);
  for (let i = bootp + BOOTP_FIXED + COOKIE; i < frame.length; ) {
    const code = frame[i]!;
    if (code === OPT_END) break;
    if (code === OPT_PAD) {
      i++;
      continue;
    }
    if (i + 2 >= frame.length) break;
    if (code === OPT_MESSAGE_TYPE) return { type: frame[i + 2]!, xid };
    i += 2 + frame[i + 1]!;
  }
  return undefined;
}

/** Milliseconds from each request to its first reply, per reply type, in capture order. */
export function wireLatency(pcap: Buffer): WireLatency {
  const magic = pcap.readUInt32LE(0);
  if (magic !== PCAP_US && magic !== PCAP_NS)
    throw new Error(
      `not a little-endian classic pcap file (magic 0x${magic.toString(16)}); capture with tcpdump -w`,
    );
  const fraction = magic === PCAP_NS ? 1e-9 : 1e-6;
  const asked = new Map<string, number>();
  const out: WireLatency = { offer: [], ack: [] };
  for (let o = 24; o + 16 <= pcap.length; ) {
    const at = pcap.readUInt32LE(o) + pcap.readUInt32LE(o + 4) * fraction;
    const len = pcap.readUInt32LE(o + 8);
    const m = dhcpOf(pcap.subarray(o + 16, o + 16 + len));
    o += 16 + len;
    if (!m) continue;
    if (m.type === DISCOVER || m.type === REQUEST) {
      const key = `${m.xid}:${m.type}`;
      if (!asked.has(key)) asked.set(key, at);
      continue;
    }
    const request = ANSWERS[m.type];
    if (request === undefined) continue;
    const key = `${m.xid}:${request}`;
    const t0 = asked.get(key);
    if (t0 === undefined) continue;
    asked.delete(key);
    (m.type === OFFER ? out.offer : out.ack).push((at - t0) * 1000);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: wire-latency.ts CAPTURE.pcap');
    process.exit(2);
  }
  const lat = wireLatency(readFileSync(file));
  for (const k of ['offer', 'ack'] as const) {
    const xs = [...lat[k]].sort((a, b) => a - b);
    console.log(`${k} ${percentile(xs, 50).toFixed(3)} ${percentile(xs, 99).toFixed(3)} ${xs.length}`);
  }
}
