/**
 * TFTP wire codec: RRQ/WRQ, DATA, ACK, ERROR (RFC 1350 section 5) and OACK (RFC 2347).
 * Every structure has `encode`, `decode` and `encodingLength`; decoding reads through the
 * bounds-checked `Reader`, so anything a client sends either decodes or throws `DecodeError`.
 */
import { fromBytes, Reader, toBytes, Writer } from '../lib/bytes.ts';
import { DecodeError } from '../lib/errors.ts';

/** Opcodes, RFC 1350 section 5; OACK is RFC 2347 ("Option Acknowledgment"). */
export const TftpOpcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
export type OpName = keyof typeof TftpOpcode;

/** Error codes, RFC 1350 appendix ("Error Codes"); 8 is RFC 2347 (options refused). */
export const TftpErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;
export type ErrorName = keyof typeof TftpErrorCode;

const OP_NAMES = new Map<number, OpName>(Object.entries(TftpOpcode).map(([k, v]) => [v, k as OpName]));
const ERROR_NAMES = new Map<number, ErrorName>(
  Object.entries(TftpErrorCode).map(([k, v]) => [v, k as ErrorName]),
);

/** A name for logs; codes outside the RFC tables show as `code_<n>`. */
export function errorName(code: number): string {
  return ERROR_NAMES.get(code) ?? `code_${code}`;
}

/**
 * Options keyed by lower-case name: RFC 2347 says option names are case-insensitive. A Map,
 * not an object, so a hostile name such as `__proto__` is just a key.
 */
export type TftpOptions = Map<string, string>;

export interface RequestPacket {
  op: 'RRQ' | 'WRQ';
  filename: string;
  /** Lower-cased: "octet", "netascii" (RFC 1350 section 5 says case does not matter). */
  mode: string;
  options: TftpOptions;
}

export type Packet =
  | RequestPacket
  | { op: 'DATA'; block: number; data: Uint8Array }
  | { op: 'ACK'; block: number }
  | { op: 'ERROR'; code: number; message: string }
  | { op: 'OACK'; options: TftpOptions };

/** More options than any real client sends (RFC 2347 lists a handful); a longer list is hostile. */
export const MAX_OPTIONS = 32;

function cstringLength(s: string): number {
  return toBytes(s).length + 1;
}

function optionsLength(opts: TftpOptions): number {
  let n = 0;
  for (const [k, v] of opts) n += cstringLength(k) + cstringLength(v);
  return n;
}

export function encodingLength(p: Packet): number {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return 2 + cstringLength(p.filename) + cstringLength(p.mode) + optionsLength(p.options);
    case 'DATA':
      return 4 + p.data.length;
    case 'ACK':
      return 4;
    case 'ERROR':
      return 4 + cstringLength(p.message);
    case 'OACK':
      return 2 + optionsLength(p.options);
  }
}

function writeCString(w: Writer, s: string): void {
  const b = toBytes(s);
  if (b.includes(0)) throw new TypeError(`TFTP string contains NUL: ${JSON.stringify(s)}`);
  w.bytes(b).u8(0);
}

function writeOptions(w: Writer, opts: TftpOptions): void {
  for (const [k, v] of opts) {
    writeCString(w, k);
    writeCString(w, v);
  }
}

export function encode(p: Packet): Uint8Array {
  const w = new Writer(encodingLength(p));
  w.u16(TftpOpcode[p.op]);
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      writeCString(w, p.filename);
      writeCString(w, p.mode);
      writeOptions(w, p.options);
      break;
    case 'DATA':
      w.u16(p.block).bytes(p.data);
      break;
    case 'ACK':
      w.u16(p.block);
      break;
    case 'ERROR':
      w.u16(p.code);
      writeCString(w, p.message);
      break;
    case 'OACK':
      writeOptions(w, p.options);
      break;
  }
  return w.done();
}

/**
 * Name/value pairs up to the end of the packet (RFC 2347 section "Packet Formats"). Trailing
 * NUL padding is tolerated; a name without a value, an empty name or too many pairs is not.
 */
function readOptions(r: Reader): TftpOptions {
  const opts: TftpOptions = new Map();
  let count = 0;
  while (r.remaining > 0) {
    if (r.buf.subarray(r.offset).every((b) => b === 0)) break;
    const name = fromBytes(r.cstring('option name')).toLowerCase();
    const value = fromBytes(r.cstring(`value of option ${name}`));
    if (name === '') throw new DecodeError('empty option name');
    if (++count > MAX_OPTIONS) throw new DecodeError(`more than ${MAX_OPTIONS} options`);
    // RFC 2347 does not define duplicates; the first one wins, as in tftp-hpa.
    if (!opts.has(name)) opts.set(name, value);
  }
  return opts;
}

function readRequest(r: Reader, op: 'RRQ' | 'WRQ'): Packet {
  const filename = fromBytes(r.cstring('filename'));
  if (filename === '') throw new DecodeError(`${op} without a filename`);
  // Mode is case-insensitive ("NetASCII", "OCTET"), RFC 1350 section 5.
  const mode = fromBytes(r.cstring('mode')).toLowerCase();
  if (mode === '') throw new DecodeError(`${op} without a mode`);
  return { op, filename, mode, options: readOptions(r) };
}

export function decode(buf: Uint8Array): Packet {
  const r = new Reader(buf);
  const code = r.u16('opcode');
  const op = OP_NAMES.get(code);
  switch (op) {
    case 'RRQ':
    case 'WRQ':
      return readRequest(r, op);
    case 'DATA':
      return { op, block: r.u16('block number'), data: r.rest() };
    case 'ACK':
      // Bytes after the block number are ignored: nothing in them changes the meaning.
      return { op, block: r.u16('block number') };
    case 'ERROR': {
      const errCode = r.u16('error code');
      // Some stacks omit the terminating NUL; the message is advisory (RFC 1350 section 5).
      const end = buf.indexOf(0, r.offset);
      const msg = r.bytes((end < 0 ? buf.length : end) - r.offset, 'error message');
      return { op, code: errCode, message: fromBytes(msg) };
    }
    case 'OACK':
      return { op, options: readOptions(r) };
    default:
      throw new DecodeError(`unknown TFTP opcode ${code}`);
  }
}
