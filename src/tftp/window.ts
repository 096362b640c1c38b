/**
 * The sender side of a windowed read transfer (RFC 7440) as pure state, with no sockets or
 * timers, so roll-over and ACK handling are testable without sending 65536 packets.
 *
 * Blocks are counted absolutely from 1; the wire carries the low 16 bits, so block 65536
 * goes out as 0 (roll-over to 0, as tftp-hpa, atftp, curl and iPXE expect).
 */

/** The 16-bit block number on the wire for absolute block `abs` (RFC 1350 section 5). */
export const wireBlock = (abs: number): number => abs % 0x10000;

/** A file of `size` bytes is floor(size / blksize) + 1 blocks: the last one is short, maybe empty. */
export const blockCount = (size: number, blksize: number): number => Math.floor(size / blksize) + 1;

export type AckResult = 'advance' | 'complete' | 'stale';

export class SendWindow {
  /** Highest block the client has acknowledged (absolute). */
  acked = 0;
  /** Highest block sent so far (absolute). */
  sent = 0;

  constructor(
    readonly total: number,
    readonly windowsize: number,
  ) {}

  get done(): boolean {
    return this.acked >= this.total;
  }

  /**
   * The blocks to send now: a full window starting after the last acknowledged block. After
   * an ACK for a block inside the window (the client saw a gap, RFC 7440 section 4) or a
   * timeout, this resends from there; blocks already acknowledged are never resent.
   */
  burst(): { first: number; last: number } {
    const first = this.acked + 1;
    const last = Math.min(this.acked + this.windowsize, this.total);
    return { first, last };
  }

  markSent(last: number): void {
    if (last > this.sent) this.sent = last;
  }

  /**
   * Applies an ACK carrying wire block `block`. Only an ACK for a block that was sent and not
   * yet acknowledged moves the window; a duplicate or older ACK is stale and must not cause a
   * retransmission, or every delayed ACK doubles the traffic: the Sorcerer's Apprentice bug,
   * RFC 1123 section 4.2.3.1. The window never exceeds 65535 blocks, so the 16-bit distance
   * from the last ACK identifies the block uniquely across roll-over.
   */
  ack(block: number): AckResult {
    const delta = (block - wireBlock(this.acked) + 0x10000) % 0x10000;
    if (delta === 0 || delta > this.sent - this.acked) return 'stale';
    this.acked += delta;
    return this.done ? 'complete' : 'advance';
  }
}
