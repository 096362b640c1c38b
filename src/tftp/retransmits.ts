/**
 * Recognises a client's retransmitted RRQ. A client that hears nothing within its timeout
 * sends the same RRQ again (RFC 1350 section 2: "the requesting host ... retransmits"); under
 * load, that often happens while the first transfer is already on its way. Serving the copy
 * would start a second transfer from another TID, which the client rejects with ERROR 5 or
 * simply ignores until it times out, so the copy is dropped and the first transfer's own
 * retransmission answers it.
 *
 * A request is a copy only when it comes from the same host and port, has the same bytes of
 * meaning (file, mode, options) and the first transfer has not heard from the client yet.
 * A different request (UEFI asking again without tsize after declining the OACK) never is.
 */
import type { Peer } from '../lib/udp.ts';
import type { RequestPacket } from './packet.ts';
import type { Transfer } from './transfer.ts';

export interface Attempt {
  readonly signature: string;
  /** Set once the transfer has started; undefined while the file and socket open. */
  transfer: Transfer | undefined;
}

const peerKey = (p: Peer): string => `${p.address}:${p.port}`;

export function signature(req: RequestPacket): string {
  return JSON.stringify([req.op, req.filename, req.mode, [...req.options]]);
}

export class AttemptTable {
  private readonly byPeer = new Map<string, Attempt>();

  get size(): number {
    return this.byPeer.size;
  }

  /** The attempt that `req` repeats, or undefined when `req` deserves a transfer of its own. */
  repeated(from: Peer, req: RequestPacket): Attempt | undefined {
    const a = this.byPeer.get(peerKey(from));
    return a && a.signature === signature(req) && !a.transfer?.heard ? a : undefined;
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

  end(from: Peer, a: Attempt): void {
    if (this.isCurrent(from, a)) this.byPeer.delete(peerKey(from));
  }
}
