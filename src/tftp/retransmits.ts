/**
 * Recognises a client's retransmitted RRQ. A client that hears nothing within its timeout
 * sends the same RRQ again (RFC 1350 section 2: "the requesting host ... retransmits"); under
 * load, that often happens while the first transfer is already on its way. Serving the copy
 * would start a second transfer from another TID, which the client rejects with ERROR 5 or
 * simply ignores until it times out, so the copy is dropped and the first transfer's own
 * retransmission answers it.
 *
 * A request is a copy only when it comes from the same host and port, has the same bytes of
 * meaning (file, mode, options) and the first transfer
 *  - has not heard from the client yet, or
 *  - is progressing: an ACK moved its window within the last retransmission timeout (a client
 *    that is acknowledging DATA from the first TID is not starting over; the copy waited in
 *    the listener's queue while the transfer ran, which the native pump makes common: it can
 *    finish a boot file before the event loop reads the listener again), or
 *  - ended successfully less than a retransmission timeout ago (the same late copy).
 * A different request (UEFI asking again without tsize after declining the OACK) never is, and
 * the same request to a transfer that is stuck or failed is a restart.
 */
import type { Peer } from '../lib/udp.ts';
import type { RequestPacket } from './packet.ts';
import type { Transfer } from './transfer.ts';

export interface Attempt {
  readonly signature: string;
  /** Set once the transfer has started; undefined while the file and socket open. */
  transfer: Transfer | undefined;
  /** Set when the transfer ended successfully: copies are dropped until then. */
  lingerUntil?: number;
}

const peerKey = (p: Peer): string => `${p.address}:${p.port}`;

export function signature(req: RequestPacket): string {
  return JSON.stringify([req.op, req.filename, req.mode, [...req.options]]);
}

export class AttemptTable {
  private readonly byPeer = new Map<string, Attempt>();
  private ended = 0;

  /** `lingerMs`: how long a successful transfer still absorbs copies of its request. */
  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly lingerMs = 0,
  ) {}

  get size(): number {
    return this.byPeer.size;
  }

  /** The attempt that `req` repeats, or undefined when `req` deserves a transfer of its own. */
  repeated(from: Peer, req: RequestPacket): Attempt | undefined {
    const a = this.byPeer.get(peerKey(from));
    if (!a || a.signature !== signature(req)) return undefined;
    if (a.lingerUntil !== undefined) return a.lingerUntil > this.now() ? a : undefined;
    return !a.transfer?.heard || a.transfer.progressing ? a : undefined;
  }

  /** Registers the newest attempt of a peer; an older one keeps running but is forgotten. */
  begin(from: Peer, req: RequestPacket): Attempt {
    const a: Attempt = { signature: signature(req), transfer: undefined };
    this.byPeer.set(peerKey(from), a);
    return a;
  }

  isCurrent(from: Peer, a: Attempt): boolean {
    return this.byPeer.get(peerKey(from)) === a;
  }

  /** Forgets the attempt; one that `succeeded` lingers for `lingerMs` first. */
  end(from: Peer, a: Attempt, succeeded = false): void {
    if (!this.isCurrent(from, a)) return;
    if (succeeded && this.lingerMs > 0) {
      a.lingerUntil = this.now() + this.lingerMs;
      if (++this.ended % 256 === 0) this.sweep();
    } else this.byPeer.delete(peerKey(from));
  }

  /** Drops the lingering attempts whose time is up. */
  private sweep(): void {
    const now = this.now();
    for (const [k, a] of this.byPeer)
      if (a.lingerUntil !== undefined && a.lingerUntil <= now) this.byPeer.delete(k);
  }
}
