/**
 * The DHCPv4 message, RFC 2131 section 2 (figure 1), with the options field of section 4.1.
 * `decode` accepts any well-formed BOOTP/DHCP message; `encode` writes the fixed header, the
 * magic cookie and the options, padded to the 300-byte BOOTP minimum (RFC 1542 section 2.1)
 * that some PXE ROMs still require.
 */
import { fromBytes, Reader, toBytes, Writer } from '../lib/bytes.ts';
import { DecodeError } from '../lib/errors.ts';
import { BoundedMemo } from '../lib/memo.ts';
import { type Mac, macFromBytes } from '../lib/net.ts';
import { FLAG_BROADCAST, MAGIC_COOKIE, type MessageTypeName, messageTypeName, Opt } from './constants.ts';
import { Options } from './options.ts';

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  chaddr: Uint8Array; // 16 bytes
  sname: string;
  file: string;
  options: Options;
}

const FIXED_HEADER = 236; // op..file, RFC 2131 figure 1
const MIN_BOOTP_SIZE = 300;
const HTYPE_ETHERNET = 1;

/** sname and file may carry options instead of strings (option 52, RFC 2132 section 9.3). */
const OVERLOAD_FILE = 1;
const OVERLOAD_SNAME = 2;

export function decode(buf: Uint8Array): DhcpPacket {
  const r = new Reader(buf);
  const op = r.u8('op');
  const htype = r.u8('htype');
  const hlen = r.u8('hlen');
  if (hlen > 16) throw new DecodeError(`hlen ${hlen} exceeds the 16-byte chaddr field`);
  const pkt: DhcpPacket = {
    op,
    htype,
    hlen,
    hops: r.u8('hops'),
    xid: r.u32('xid'),
    secs: r.u16('secs'),
    flags: r.u16('flags'),
    ciaddr: r.u32('ciaddr'),
    yiaddr: r.u32('yiaddr'),
    siaddr: r.u32('siaddr'),
    giaddr: r.u32('giaddr'),
    chaddr: Uint8Array.from(r.bytes(16, 'chaddr')),
    sname: '',
    file: '',
    options: new Options(),
  };
  const sname = r.bytes(64, 'sname');
  const file = r.bytes(128, 'file');
  if (r.remaining < 4 || r.u32('magic cookie') !== MAGIC_COOKIE) {
    throw new DecodeError('not a DHCP message: missing magic cookie (plain BOOTP is not served)');
  }
  Options.decodeInto(r, pkt.options);
  const overload = pkt.options.u8(Opt.OVERLOAD) ?? 0;
  if (overload & OVERLOAD_FILE) Options.decodeInto(new Reader(file), pkt.options);
  else pkt.file = cstr(file);
  if (overload & OVERLOAD_SNAME) Options.decodeInto(new Reader(sname), pkt.options);
  else pkt.sname = cstr(sname);
  return pkt;
}

function cstr(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return fromBytes(nul >= 0 ? b.subarray(0, nul) : b);
}

export function encodingLength(p: DhcpPacket): number {
  return Math.max(MIN_BOOTP_SIZE, FIXED_HEADER + 4 + p.options.encodingLength());
}

export function encode(p: DhcpPacket): Uint8Array {
  const sname = fieldBytes(p.sname);
  const file = fieldBytes(p.file);
  if (sname.length > 63) throw new RangeError(`sname is ${sname.length} bytes; at most 63 fit`);
  if (file.length > 127) throw new RangeError(`file is ${file.length} bytes; at most 127 fit`);
  // From Node's shared buffer pool (a small view, not a backing store of its own each reply)
  const w = new Writer(Buffer.allocUnsafe(encodingLength(p)).fill(0));
  w.u8(p.op).u8(p.htype).u8(p.hlen).u8(p.hops).u32(p.xid).u16(p.secs).u16(p.flags);
  w.u32(p.ciaddr).u32(p.yiaddr).u32(p.siaddr).u32(p.giaddr);
  w.fixed(p.chaddr, 16).fixed(sname, 64).fixed(file, 128).u32(MAGIC_COOKIE);
  p.options.encodeTo(w);
  return w.buf; // zero-filled up to the minimum size (END then PAD is valid, RFC 2131 4.1)
}

/** sname/file as bytes. A server sends the same few boot file names to every client. */
const fieldCache = new BoundedMemo<Uint8Array>(256);
const EMPTY = new Uint8Array(0);
function fieldBytes(s: string): Uint8Array {
  return s === '' ? EMPTY : fieldCache.get(s, toBytes);
}

/** The client's hardware address; null for non-Ethernet hardware, which metalseed does not serve. */
export function clientMac(p: DhcpPacket): Mac | null {
  return p.htype === HTYPE_ETHERNET && p.hlen === 6 ? macFromBytes(p.chaddr) : null;
}

export function messageType(p: DhcpPacket): MessageTypeName | undefined {
  const t = p.options.u8(Opt.MESSAGE_TYPE);
  return t === undefined ? undefined : messageTypeName(t);
}

export const isBroadcast = (p: DhcpPacket): boolean => (p.flags & FLAG_BROADCAST) !== 0;
