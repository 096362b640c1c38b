/**
 * Answers to retransmitted requests. A client that hears nothing within its timeout sends the
 * same DISCOVER or REQUEST again with the same xid (RFC 2131 section 4.1); under a boot storm
 * the first answer is often merely late, so the server sees each exchange several times. The
 * reply already built for it is remembered per hardware address, so a repeat costs a lookup and
 * a send instead of the pool's and the boot hook's work (and its timeline steps) again.
 *
 * Policy-free like the rest of the server: the caller decides whether a remembered reply is
 * still true (the pool still holds that address for that client) before sending it again.
 */
import type { Mac } from '../lib/net.ts';
import type { Peer, UdpSocket } from '../lib/udp.ts';

/** Longer than a PXE ROM's whole DHCP retry schedule (4 + 8 + 16 + 32 s, PXE 2.1 section 2.2.1). */
export const REPEAT_TTL_MS = 64_000;
/** Remembered exchanges at most; the oldest go first (a storm of 10,000 machines fits). */
export const REPEAT_LIMIT = 16_384;

/** The `secs` field (RFC 2131 section 2): the only field a retransmission may change. */
const SECS_START = 8;
const SECS_END = 10;

export interface Answer {
  xid: number;
  /** The request as received. */
  request: Uint8Array;
  from: Peer;
  /**
   * The reply: its type, the address it gave, its bytes and where it went. Not the decoded
   * packet: answers live for a minute, and each object kept is copied by every young-generation
   * GC until it is old (with the packet, 40 % of the scavenges' time in the DHCP probe).
   */
  type: 'OFFER' | 'ACK';
  yiaddr: number;
  bytes: Uint8Array;
  socket: UdpSocket;
  to: Peer;
  at: number;
}

function sameRequest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length || a.length < SECS_END) return false;
  const A = Buffer.from(a.buffer, a.byteOffset, a.length);
  const B = Buffer.from(b.buffer, b.byteOffset, b.length);
  return A.compare(B, 0, SECS_START, 0, SECS_START) === 0 && A.compare(B, SECS_END, a.length, SECS_END) === 0;
}

export class Answers {
  private readonly byMac = new Map<Mac, Answer>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly ttlMs = REPEAT_TTL_MS,
    private readonly limit = REPEAT_LIMIT,
  ) {}

  /** The answer remembered for this exact request (same xid, bytes and sender), if recent. */
  find(mac: Mac, xid: number, request: Uint8Array, from: Peer): Answer | undefined {
    const a = this.byMac.get(mac);
    if (!a || a.xid !== xid) return undefined;
    if (this.now() - a.at >= this.ttlMs) {
      this.byMac.delete(mac);
      return undefined;
    }
    if (a.from.address !== from.address || a.from.port !== from.port) return undefined;
    return sameRequest(a.request, request) ? a : undefined;
  }

  remember(mac: Mac, a: Omit<Answer, 'at' | 'request'> & { request: Uint8Array }): void {
    this.byMac.delete(mac);
    if (this.byMac.size >= this.limit) this.byMac.delete(this.byMac.keys().next().value!);
    // Every field named, in one order: a spread of `a` gave each remembered answer a hidden
    // class of its own (a map and a descriptor array, 312 bytes a client, found in a heap
    // snapshot), copied by every young-generation GC until old. The request is copied: it
    // may be a view into a batch of datagrams that would stay alive with it.
    this.byMac.set(mac, {
      xid: a.xid,
      request: Buffer.from(a.request),
      from: a.from,
      type: a.type,
      yiaddr: a.yiaddr,
      bytes: a.bytes,
      socket: a.socket,
      to: a.to,
      at: this.now(),
    });
  }

  forget(mac: Mac): void {
    this.byMac.delete(mac);
  }

  get size(): number {
    return this.byMac.size;
  }
}
