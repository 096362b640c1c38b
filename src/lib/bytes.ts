/**
 * Bounds-checked cursors over wire bytes. Every codec reads through `Reader` so that a
 * truncated or lying length field becomes a `DecodeError`, never an out-of-range read.
 */
import { DecodeError } from './errors.ts';

export class Reader {
  offset = 0;
  constructor(readonly buf: Uint8Array) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new DecodeError(
        `truncated ${what}: need ${n} bytes at offset ${this.offset}, have ${this.remaining}`,
      );
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = (this.buf[this.offset]! << 8) | this.buf[this.offset + 1]!;
    this.offset += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** Bytes up to (not including) the next NUL, consuming the NUL; throws when there is none. */
  cstring(what = 'string'): Uint8Array {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new DecodeError(`unterminated ${what} at offset ${this.offset}`);
    const v = this.buf.subarray(this.offset, end);
    this.offset = end + 1;
    return v;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}

export class Writer {
  readonly buf: Uint8Array;
  offset = 0;
  /** A new buffer of `size` bytes, or a zero-filled one to write into. */
  constructor(sizeOrBuf: number | Uint8Array) {
    this.buf = typeof sizeOrBuf === 'number' ? new Uint8Array(sizeOrBuf) : sizeOrBuf;
  }

  u8(v: number): this {
    this.buf[this.offset++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.buf[this.offset++] = (v >>> 8) & 0xff;
    this.buf[this.offset++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.u16(v >>> 16);
    return this.u16(v & 0xffff);
  }

  bytes(v: Uint8Array): this {
    this.buf.set(v, this.offset);
    this.offset += v.length;
    return this;
  }

  /** Writes `v` into exactly `width` bytes, NUL-padded (BOOTP sname/file fields). */
  fixed(v: Uint8Array, width: number): this {
    this.buf.set(v.subarray(0, width), this.offset);
    this.offset += width;
    return this;
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.offset);
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: false });
export const toBytes = (s: string): Uint8Array => utf8.encode(s);
export const fromBytes = (b: Uint8Array): string => utf8d.decode(b);
export const ascii = (b: Uint8Array): string => String.fromCharCode(...b);
