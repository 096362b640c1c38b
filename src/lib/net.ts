/** IPv4 and MAC helpers. IPv4 addresses are handled as unsigned 32-bit integers internally. */
import { MetalseedError } from './errors.ts';

export type Mac = string; // canonical: lower-case, colon-separated, e.g. "52:54:00:00:00:01"

const MAC_RE =
  /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

/** Parses "52:54:00:00:00:01", "52-54-00-00-00-01" or "525400000001"; null when invalid. */
export function parseMac(s: string): Mac | null {
  const m = MAC_RE.exec(s.trim());
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The first six bytes as `aa:bb:cc:dd:ee:ff` (every DHCP message's key: kept cheap). */
export function macFromBytes(b: Uint8Array): Mac {
  return `${HEX[b[0]!]}:${HEX[b[1]!]}:${HEX[b[2]!]}:${HEX[b[3]!]}:${HEX[b[4]!]}:${HEX[b[5]!]}`;
}

export function macToBytes(mac: Mac): Uint8Array {
  return Uint8Array.from(mac.split(':'), (h) => Number.parseInt(h, 16));
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIPv4(s: string): number | null {
  const m = IPV4_RE.exec(s.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function mustIPv4(s: string): number {
  const v = parseIPv4(s);
  if (v === null) throw new MetalseedError('CONFIG_INVALID', `not an IPv4 address: ${s}`);
  return v;
}

export function ipToString(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function ipToBytes(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

export function ipFromBytes(b: Uint8Array, at = 0): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function prefixToMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function maskToPrefix(mask: number): number {
  let n = 0;
  for (let m = mask; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

export function sameSubnet(a: number, b: number, mask: number): boolean {
  return ((a ^ b) & mask) >>> 0 === 0;
}
