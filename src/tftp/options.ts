/**
 * Option negotiation for a read request (RFC 2347): blksize (RFC 2348), tsize and timeout
 * (RFC 2349), windowsize (RFC 7440). Unknown or invalid options are left out of the OACK,
 * which RFC 2347 allows; when nothing is accepted no OACK is sent and the transfer starts
 * with DATA block 1 as in plain RFC 1350.
 */
import type { TftpOptions } from './packet.ts';

/** RFC 1350 section 2: data travels in 512-byte blocks unless blksize says otherwise. */
export const DEFAULT_BLKSIZE = 512;
/** RFC 2348: "Valid values range between 8 and 65464 octets, inclusive." */
export const MIN_BLKSIZE = 8;
export const MAX_BLKSIZE_RFC = 65464;
/** 1500 (Ethernet MTU) - 20 (IPv4) - 8 (UDP) - 4 (TFTP header): the largest unfragmented block. */
export const DEFAULT_MAX_BLKSIZE = 1468;
/** RFC 7440 section 3: windowsize is 1..65535. */
export const MAX_WINDOWSIZE_RFC = 65535;
/**
 * 64 blocks of 1468 bytes (~94 KB) in flight is plenty on a LAN and keeps a boot storm of
 * hundreds of clients from overrunning switch buffers.
 */
export const DEFAULT_MAX_WINDOWSIZE = 64;
/** RFC 2349 section "Timeout Interval Option": 1..255 seconds. */
export const MIN_TIMEOUT_S = 1;
export const MAX_TIMEOUT_S = 255;

export interface NegotiationLimits {
  /** Upper bound for blksize; requests above it are answered with this value (RFC 2348). */
  maxBlksize: number;
  /** Upper bound for windowsize; requests above it are answered with this value (RFC 7440). */
  maxWindowsize: number;
}

export const DEFAULT_NEGOTIATION_LIMITS: NegotiationLimits = {
  maxBlksize: DEFAULT_MAX_BLKSIZE,
  maxWindowsize: DEFAULT_MAX_WINDOWSIZE,
};

export interface TransferParams {
  blksize: number;
  windowsize: number;
  /** Retransmission timeout the client asked for, in ms; null when it did not negotiate one. */
  timeoutMs: number | null;
}

export interface Negotiation {
  params: TransferParams;
  /** Options to acknowledge, or null when none was accepted (then no OACK is sent). */
  oack: TftpOptions | null;
}

/** Strict unsigned decimal: "0x10", "1e3", " 8" and "" are not numbers on this wire. */
function parseUint(s: string | undefined): number | null {
  if (s === undefined || !/^\d{1,10}$/.test(s)) return null;
  return Number(s);
}

function clampTo(limitMax: number, rfcMax: number, v: number): number {
  return Math.min(v, limitMax, rfcMax);
}

/**
 * Negotiates the options of a read request for a file of `fileSize` bytes. Values above the
 * server's limits are lowered (RFC 2348/7440 let the server answer with a smaller value);
 * values below the RFC minimum, and any timeout outside 1..255 (RFC 2349 forbids the
 * server to change it), mean the option is ignored.
 */
export function negotiate(requested: TftpOptions, fileSize: number, limits: NegotiationLimits): Negotiation {
  const params: TransferParams = { blksize: DEFAULT_BLKSIZE, windowsize: 1, timeoutMs: null };
  const oack: TftpOptions = new Map();

  const blksize = parseUint(requested.get('blksize'));
  if (blksize !== null && blksize >= MIN_BLKSIZE) {
    params.blksize = clampTo(Math.max(limits.maxBlksize, MIN_BLKSIZE), MAX_BLKSIZE_RFC, blksize);
    oack.set('blksize', String(params.blksize));
  }

  // RFC 2349: in a read request tsize is sent as 0 and the server answers with the size.
  if (parseUint(requested.get('tsize')) !== null) oack.set('tsize', String(fileSize));

  const timeout = parseUint(requested.get('timeout'));
  if (timeout !== null && timeout >= MIN_TIMEOUT_S && timeout <= MAX_TIMEOUT_S) {
    params.timeoutMs = timeout * 1000;
    oack.set('timeout', String(timeout));
  }

  const windowsize = parseUint(requested.get('windowsize'));
  if (windowsize !== null && windowsize >= 1) {
    params.windowsize = clampTo(Math.max(limits.maxWindowsize, 1), MAX_WINDOWSIZE_RFC, windowsize);
    oack.set('windowsize', String(params.windowsize));
  }

  return { params, oack: oack.size > 0 ? oack : null };
}
