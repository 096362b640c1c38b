/**
 * DHCP options kept as raw bytes in arrival order, read through typed accessors grouped by
 * value shape (RFC 2132 section 2 defines the code/length/value format).
 */
import { ascii, fromBytes, Reader, toBytes, Writer } from '../lib/bytes.ts';
import { DecodeError } from '../lib/errors.ts';
import { BoundedMemo } from '../lib/memo.ts';
import { ipFromBytes, ipToBytes } from '../lib/net.ts';
import { Opt } from './constants.ts';

/**
 * Shared encodings of the values every reply repeats (message type, server id, lease times,
 * netmask, router): the same few numbers on every reply, so each is one array for the
 * server's life instead of a new one per reply (they were a tenth of a DORA's allocations).
 * Option values are never written in place (`set` replaces them), so sharing is safe.
 */
const U8_VALUES: readonly Uint8Array[] = Array.from({ length: 256 }, (_, v) => Uint8Array.of(v));
const u32Values = new BoundedMemo<Uint8Array, number>(64);

export class Options {
  private readonly map = new Map<number, Uint8Array>();

  static from(entries: Iterable<readonly [number, Uint8Array]>): Options {
    const o = new Options();
    for (const [code, value] of entries) o.set(code, value);
    return o;
  }

  has(code: number): boolean {
    return this.map.has(code);
  }
  get(code: number): Uint8Array | undefined {
    return this.map.get(code);
  }
  set(code: number, value: Uint8Array): this {
    if (code === Opt.PAD || code === Opt.END) throw new RangeError(`option ${code} cannot carry a value`);
    this.map.set(code, value);
    return this;
  }
  delete(code: number): void {
    this.map.delete(code);
  }
  codes(): number[] {
    return [...this.map.keys()];
  }
  entries(): [number, Uint8Array][] {
    return [...this.map.entries()];
  }

  /** RFC 3396 section 7: repeated instances of one code are concatenated in order. */
  append(code: number, value: Uint8Array): void {
    const prev = this.map.get(code);
    if (!prev) {
      this.map.set(code, value);
      return;
    }
    const joined = new Uint8Array(prev.length + value.length);
    joined.set(prev);
    joined.set(value, prev.length);
    this.map.set(code, joined);
  }

  u8(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length >= 1 ? v[0] : undefined;
  }
  u16(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length >= 2 ? (v[0]! << 8) | v[1]! : undefined;
  }
  u32(code: number): number | undefined {
    const v = this.map.get(code);
    return v && v.length >= 4 ? ipFromBytes(v) : undefined;
  }
  ip(code: number): number | undefined {
    return this.u32(code);
  }
  ips(code: number): number[] {
    const v = this.map.get(code);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i + 4 <= v.length; i += 4) out.push(ipFromBytes(v, i));
    return out;
  }
  u16s(code: number): number[] {
    const v = this.map.get(code);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i + 2 <= v.length; i += 2) out.push((v[i]! << 8) | v[i + 1]!);
    return out;
  }
  string(code: number): string | undefined {
    const v = this.map.get(code);
    if (!v) return undefined;
    const nul = v.indexOf(0); // some firmwares NUL-terminate strings (RFC 2132 says not to)
    return fromBytes(nul >= 0 ? v.subarray(0, nul) : v);
  }

  setU8(code: number, v: number): this {
    return this.set(code, U8_VALUES[v & 255]!);
  }
  setU16(code: number, v: number): this {
    return this.set(code, Uint8Array.of(v >>> 8, v & 255));
  }
  setU32(code: number, v: number): this {
    return this.set(code, u32Values.get(v >>> 0, ipToBytes));
  }
  setIp(code: number, v: number): this {
    return this.setU32(code, v);
  }
  setIps(code: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    for (const [i, v] of vs.entries()) b.set(ipToBytes(v), i * 4);
    return this.set(code, b);
  }
  setString(code: number, s: string): this {
    return this.set(code, toBytes(s));
  }

  /** Bytes needed by `encodeTo`, including the END option. */
  encodingLength(): number {
    let n = 1;
    for (const v of this.map.values()) n += v.length === 0 ? 2 : v.length + 2 * Math.ceil(v.length / 255);
    return n;
  }

  /** Writes all options then END; values over 255 bytes are split (RFC 3396 section 5). */
  encodeTo(w: Writer): void {
    for (const [code, v] of this.map) {
      if (v.length <= 255) {
        w.u8(code).u8(v.length).bytes(v);
        continue;
      }
      for (let i = 0; i < v.length; i += 255) {
        const part = v.subarray(i, i + 255);
        w.u8(code).u8(part.length).bytes(part);
      }
    }
    w.u8(Opt.END);
  }

  /** Reads options until END or the end of the buffer (RFC 2131 section 4.1 allows both). */
  static decodeInto(r: Reader, into: Options): void {
    while (r.remaining > 0) {
      const code = r.u8('option code');
      if (code === Opt.PAD) continue;
      if (code === Opt.END) return;
      const len = r.u8('option length');
      into.append(code, r.bytes(len, `option ${code}`));
    }
  }

  static decode(buf: Uint8Array): Options {
    const o = new Options();
    Options.decodeInto(new Reader(buf), o);
    return o;
  }
}

/**
 * RFC 3004 user class (option 77) is a list of length-prefixed strings; iPXE instead sends the
 * raw bytes "iPXE" (ipxe.org/howto/dhcpd). Accept both: when the bytes do not parse as a
 * well-formed length-prefixed list, the whole value is one class.
 */
export function decodeUserClasses(v: Uint8Array | undefined): string[] {
  if (!v || v.length === 0) return [];
  const out: string[] = [];
  try {
    const r = new Reader(v);
    while (r.remaining > 0) {
      const len = r.u8();
      if (len === 0) throw new DecodeError('empty user class');
      out.push(ascii(r.bytes(len)));
    }
    return out;
  } catch {
    return [ascii(v)];
  }
}

export function encodeUserClasses(classes: readonly string[]): Uint8Array {
  const parts = classes.map(toBytes);
  const w = new Writer(parts.reduce((n, p) => n + 1 + p.length, 0));
  for (const p of parts) w.u8(p.length).bytes(p);
  return w.done();
}

/** Encapsulated sub-options (options 43 and 175 use the same code/length/value format). */
export function encodeSubOptions(entries: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  const w = new Writer(entries.reduce((n, [, v]) => n + 2 + v.length, 0));
  for (const [code, v] of entries) w.u8(code).u8(v.length).bytes(v);
  return w.done();
}

export function decodeSubOptions(v: Uint8Array | undefined): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (!v) return out;
  const o = new Options();
  Options.decodeInto(new Reader(v), o);
  for (const [code, value] of o.entries()) out.set(code, value);
  return out;
}
