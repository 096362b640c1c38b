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
 * UDP; the DHCP message is read with src/dhcp's decoder (xid, option 53). A request answered
 * twice counts its first answer.
 */
import { readFileSync } from 'node:fs';
import { decode, type MessageTypeName, messageType } from '../../src/dhcp/index.ts';
import { DecodeError } from '../../src/lib/errors.ts';
import { percentile } from './stats.ts';

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const UDP_HEADER = 8;
/** The request each reply answers. */
const ANSWERS: Partial<Record<MessageTypeName, MessageTypeName>> = { OFFER: 'DISCOVER', ACK: 'REQUEST' };

export interface WireLatency {
  offer: number[];
  ack: number[];
}

/** The message type and xid of a captured frame (the project's own decoder), or undefined if not DHCPv4. */
function dhcpOf(frame: Buffer): { type: MessageTypeName; xid: number } | undefined {
  if (frame.length < ETH_HEADER + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ihl = (frame[ETH_HEADER]! & 0x0f) * 4;
  try {
    const p = decode(frame.subarray(ETH_HEADER + ihl + UDP_HEADER));
    const type = messageType(p);
    return type ? { type, xid: p.xid } : undefined;
  } catch (err) {
    if (err instanceof DecodeError) return undefined; // not DHCP, or cut short by the snap length
    throw err;
  }
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
    if (m.type === 'DISCOVER' || m.type === 'REQUEST') {
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
    (m.type === 'OFFER' ? out.offer : out.ack).push((at - t0) * 1000);
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
