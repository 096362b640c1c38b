/**
 * One read transfer on its own socket (a new TID, RFC 1350 section 4): optional OACK
 * (RFC 2347), then windows of DATA (RFC 7440) paced by ACKs, retransmitted with exponential
 * backoff when the client goes quiet.
 */
import { DecodeError } from '../lib/errors.ts';
import type { Peer, UdpSocket } from '../lib/udp.ts';
import type { OpenFile } from './files.ts';
import type { TransferParams } from './options.ts';
import {
  decode,
  encode,
  errorName,
  type Packet,
  TftpErrorCode,
  TftpOpcode,
  type TftpOptions,
} from './packet.ts';
import type { DropReason } from './stats.ts';
import { blockCount, SendWindow, wireBlock } from './window.ts';

export type TransferOutcome = 'done' | 'aborted' | 'timeout' | 'error';

export interface TransferEvent {
  peer: Peer;
  file: string;
  /** File bytes the client acknowledged. */
  bytes: number;
  ms: number;
  blksize: number;
  windowsize: number;
  outcome: TransferOutcome;
  reason?: string;
  /** Packets (OACK or DATA windows) sent again after a timeout. */
  retransmits?: number;
}

export interface TransferContext {
  socket: UdpSocket;
  peer: Peer;
  file: string;
  source: OpenFile;
  params: TransferParams;
  oack: TftpOptions | null;
  /** First retransmission timeout when the client did not negotiate one. */
  defaultTimeoutMs: number;
  /** Cap on the doubled timeout, so one transfer cannot linger for minutes. */
  maxTimeoutMs: number;
  /** Retransmissions of the same packet(s) before giving up. */
  maxRetries: number;
  now: () => number;
  drop(reason: DropReason, peer: Peer, detail?: string): void;
  /** Called once; `afterOack` marks a client that declined the OACK (the UEFI pattern). */
  onEnd(ev: TransferEvent, afterOack: boolean): void;
}

export interface Transfer {
  /** Whether a valid packet (ACK or ERROR) has come from the client's TID yet. */
  readonly heard: boolean;
  /** Whether an ACK moved the window within the last retransmission timeout. */
  readonly progressing: boolean;
  /** Ends the transfer (server shutdown), telling the client why. */
  abort(reason: string): void;
  /**
   * Adds drops counted but not yet reported (the native pump reports them when the transfer
   * ends), so stats are current while it runs. Absent when every drop is reported at once.
   */
  addPendingDrops?(into: Record<DropReason, number>): void;
}

const sendTo = (socket: UdpSocket, buf: Uint8Array, to: Peer): void => socket.send(buf, to.port, to.address);

/** Close after pending sends left: Node resolves the address on the next tick before sending. */
const closeSoon = (socket: UdpSocket): void => {
  setImmediate(() => socket.close());
};

/**
 * UDP segmentation: datagrams of one send are cut at 4 + blksize bytes, so consecutive DATA
 * packets can share a send. A send carries at most 64 segments (UDP_MAX_SEGMENTS in older
 * kernels) and 65,507 bytes (the largest UDP payload). Returns 1 when the socket cannot.
 */
function segmentedBlocks(socket: UdpSocket, blksize: number): number {
  const per = Math.min(64, Math.floor(65_507 / (4 + blksize)));
  if (per < 2 || !socket.setSegmentSize?.(4 + blksize)) return 1;
  return per;
}

/**
 * `count` DATA packets (RFC 1350 section 5: opcode, block, data) for absolute blocks from
 * `block`, back to back in one buffer; their data starts at `offset` in `data`. Only the
 * file's last block is shorter than blksize, so every packet but the last is 4 + blksize long.
 */
function dataPackets(
  data: Uint8Array,
  offset: number,
  block: number,
  count: number,
  blksize: number,
): Uint8Array {
  const bytes = Math.min(count * blksize, data.length - offset);
  const out = Buffer.allocUnsafe(bytes + 4 * count);
  for (let i = 0; i < count; i++) {
    const at = i * (4 + blksize);
    const from = offset + i * blksize;
    out.writeUInt16BE(TftpOpcode.DATA, at);
    out.writeUInt16BE(wireBlock(block + i), at + 2);
    out.set(data.subarray(from, Math.min(from + blksize, data.length)), at + 4);
  }
  return out;
}

export function startTransfer(ctx: TransferContext): Transfer {
  const { socket, peer, source, params } = ctx;
  const window = new SendWindow(blockCount(source.size, params.blksize), params.windowsize);
  // DATA packets per send: a whole window leaves in one send when the socket segments
  const perSend = params.windowsize > 1 ? segmentedBlocks(socket, params.blksize) : 1;
  const started = ctx.now();
  const baseMs = params.timeoutMs ?? ctx.defaultTimeoutMs;
  let phase: 'oack' | 'data' | 'ended' = ctx.oack ? 'oack' : 'data';
  let retries = 0;
  let retransmits = 0;
  let timer: NodeJS.Timeout | undefined;
  let heard = false;
  let progressAt = Number.NEGATIVE_INFINITY; // when an ACK last moved the window
  let generation = 0; // bumps on every burst, so a burst whose read finished late is discarded

  const end = (outcome: TransferOutcome, reason?: string): void => {
    if (phase === 'ended') return;
    const afterOack = phase === 'oack' && outcome === 'aborted';
    phase = 'ended';
    clearTimeout(timer);
    closeSoon(socket);
    source.close().catch(() => {});
    const bytes = Math.min(window.acked * params.blksize, source.size);
    const ev: TransferEvent = {
      peer,
      file: ctx.file,
      bytes,
      ms: Math.round(ctx.now() - started),
      blksize: params.blksize,
      windowsize: params.windowsize,
      outcome,
      ...(reason === undefined ? {} : { reason }),
      retransmits,
    };
    ctx.onEnd(ev, afterOack);
  };

  const sendError = (code: number, message: string): void =>
    sendTo(socket, encode({ op: 'ERROR', code, message }), peer);

  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(onTimeout, Math.min(baseMs * 2 ** retries, ctx.maxTimeoutMs));
  };

  const sendBurst = async (): Promise<void> => {
    const gen = ++generation;
    arm();
    const { first, last } = window.burst();
    const offset = (first - 1) * params.blksize;
    const length = Math.max(0, Math.min((last - first + 1) * params.blksize, source.size - offset));
    let data: Uint8Array;
    try {
      data = await source.read(offset, length);
    } catch (err) {
      if (phase === 'ended') return;
      sendError(TftpErrorCode.NOT_DEFINED, 'read error');
      end('error', `read failed: ${(err as Error).message}`);
      return;
    }
    if (gen !== generation || phase === 'ended') return;
    for (let b = first; b <= last; b += perSend) {
      const n = Math.min(perSend, last - b + 1);
      sendTo(socket, dataPackets(data, (b - first) * params.blksize, b, n, params.blksize), peer);
    }
    window.markSent(last);
  };

  // Nothing may escape into the event loop: a send that throws ends this transfer only.
  const burst = (): void => {
    sendBurst().catch((err: unknown) => end('error', `send failed: ${(err as Error).message}`));
  };

  const sendOack = (): void => {
    arm();
    sendTo(socket, encode({ op: 'OACK', options: ctx.oack ?? new Map() }), peer);
  };

  function onTimeout(): void {
    if (phase === 'ended') return;
    if (++retries > ctx.maxRetries) {
      end('timeout', `no ACK after ${ctx.maxRetries} retransmissions`);
      return;
    }
    retransmits++;
    try {
      if (phase === 'oack') sendOack();
      else burst();
    } catch (err) {
      end('error', `send failed: ${(err as Error).message}`);
    }
  }

  const onAck = (block: number): void => {
    if (phase === 'oack') {
      // RFC 2347: the client acknowledges an OACK with ACK block 0.
      if (block !== 0) {
        ctx.drop('stale_ack', peer, `ACK ${block} while waiting for ACK 0 of the OACK`);
        return;
      }
      phase = 'data';
    } else {
      const r = window.ack(block);
      if (r === 'stale') {
        ctx.drop('stale_ack', peer, `ACK ${block}, last acknowledged ${window.acked}`);
        return;
      }
      if (r === 'complete') {
        end('done');
        return;
      }
      progressAt = ctx.now();
    }
    retries = 0;
    burst();
  };

  /** RFC 1350 section 4: tell a stray sender, without disturbing the transfer. */
  const rejectStranger = (msg: Uint8Array, from: Peer): void => {
    ctx.drop('unknown_tid', from, `transfer of ${ctx.file} belongs to ${peer.address}:${peer.port}`);
    // Never answer an ERROR with an ERROR, or two confused hosts ping-pong forever.
    if (msg.length >= 2 && msg[0] === 0 && msg[1] === TftpOpcode.ERROR) return;
    sendTo(
      socket,
      encode({ op: 'ERROR', code: TftpErrorCode.UNKNOWN_TID, message: 'Unknown transfer ID' }),
      from,
    );
  };

  const onMessage = (msg: Uint8Array, from: Peer): void => {
    if (phase === 'ended') return;
    if (from.address !== peer.address || from.port !== peer.port) {
      rejectStranger(msg, from);
      return;
    }
    let p: Packet;
    try {
      p = decode(msg);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      ctx.drop('malformed', from, err.message);
      return;
    }
    if (p.op === 'ACK' || p.op === 'ERROR') heard = true;
    if (p.op === 'ACK') onAck(p.block);
    else if (p.op === 'ERROR') {
      // The UEFI pattern (lab findings): ERROR right after the OACK, then a new RRQ without
      // tsize. The reason says so, for `onTransfer` consumers that only see the event.
      const what = `client sent ${errorName(p.code)}: ${p.message}`;
      end('aborted', phase === 'oack' ? `aborted_after_oack (${what})` : what);
    } else ctx.drop('unexpected_opcode', from, `${p.op} on a read transfer`);
  };

  socket.onMessage((msg, from) => {
    try {
      onMessage(msg, from);
    } catch (err) {
      ctx.drop('malformed', from, `handler failed: ${(err as Error).message}`);
    }
  });
  try {
    if (phase === 'oack') sendOack();
    else burst();
  } catch (err) {
    end('error', `send failed: ${(err as Error).message}`);
  }

  return {
    get heard() {
      return heard;
    },
    get progressing() {
      return phase !== 'ended' && ctx.now() - progressAt < baseMs;
    },
    abort(reason) {
      if (phase === 'ended') return;
      try {
        sendError(TftpErrorCode.NOT_DEFINED, reason);
      } catch {}
      end('error', reason);
    },
  };
}
