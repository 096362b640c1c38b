/**
 * Read transfers run by the native data pump (native/tftp_pump.c): one thread outside the
 * event loop does the DATA/ACK exchange of every transfer (RFC 1350, RFC 7440 windows,
 * retransmission with the same backoff as transfer.ts), so a lock-step block costs a few
 * syscalls instead of an event-loop turn. Everything that decides stays in the server: the
 * request, the file, the negotiated options, the limits, stats and events; the pump gets a
 * transfer whose first packet (OACK or DATA 1) is known and reports once when it ends.
 *
 * Used for real sockets only (the server's factory is `openUdp`) and files whose bytes are in
 * memory (`OpenFile.bytes`, the cached boot binaries) or behind a descriptor (`OpenFile.fd`,
 * larger files, read with pread on the pump thread). Fakes and other sources keep transfer.ts.
 * Set METALSEED_TFTP_PUMP=0 to keep every transfer in JavaScript (for comparisons).
 */
import { type NativeTftpPump, nativeTftpPump } from '../lib/native.ts';
import type { Peer, UdpOptions } from '../lib/udp.ts';
import type { OpenFile } from './files.ts';
import type { TransferParams } from './options.ts';
import { encode, type TftpOptions } from './packet.ts';
import type { DropReason } from './stats.ts';
import type { Transfer, TransferEvent, TransferOutcome } from './transfer.ts';

export interface PumpContext {
  peer: Peer;
  file: string;
  source: OpenFile;
  params: TransferParams;
  oack: TftpOptions | null;
  /** Where the transfer's socket binds (its port is always a new one). */
  bind?: Omit<UdpOptions, 'port'>;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  maxRetries: number;
  now: () => number;
  /** Packets the pump dropped, reported in one call per reason when the transfer ends. */
  drop(reason: DropReason, peer: Peer, detail: string, count: number): void;
  onEnd(ev: TransferEvent, afterOack: boolean): void;
}

type Finish = (
  outcome: TransferOutcome,
  ackedBlocks: number,
  reason: string | undefined,
  afterOack: boolean,
  counts: { retransmits: number; stale: number; unknownTid: number; malformed: number; unexpected: number },
  ms: number,
) => void;

const pending = new Map<number, Finish>();
let nextId = 1;
let started: NativeTftpPump | null | undefined;

/** The started pump, or null when the addon is absent or turned off. */
function pump(): NativeTftpPump | null {
  if (started !== undefined) return started;
  started = process.env.METALSEED_TFTP_PUMP === '0' ? null : nativeTftpPump();
  try {
    started?.start(
      (id, outcome, acked, reason, afterOack, retransmits, stale, unknownTid, malformed, unexpected, ms) => {
        const finish = pending.get(id);
        pending.delete(id);
        const counts = { retransmits, stale, unknownTid, malformed, unexpected };
        finish?.(outcome, acked, reason, afterOack, counts, ms);
      },
    );
  } catch {
    started = null; // one pump per process: another realm (a worker thread) owns it
  }
  return started;
}

/** Whether transfers of `source` can run in the pump. */
export function pumpCan(source: OpenFile): boolean {
  return (source.bytes !== undefined || source.fd !== undefined) && pump() !== null;
}

/** Starts a transfer in the pump; throws (like a socket factory) when its socket cannot open. */
export function startPumpTransfer(ctx: PumpContext): Transfer {
  const p = pump();
  if (!p) throw new Error('the TFTP pump addon is not available');
  const { peer, source, params } = ctx;
  const id = nextId++;
  // [0] heard from the client, [1] blocks acknowledged, [2..5] drops, [6] ms from the start to
  // the last ACK that moved the window, [7] retransmissions (see native/tftp_pump.c)
  const state = new Int32Array(8);
  const baseMs = params.timeoutMs ?? ctx.defaultTimeoutMs;
  const started = ctx.now();
  let ended = false;
  const event = (
    outcome: TransferOutcome,
    ackedBlocks: number,
    ms: number,
    reason: string | undefined,
    retransmits: number,
  ): TransferEvent => ({
    peer,
    file: ctx.file,
    bytes: Math.min(ackedBlocks * params.blksize, source.size),
    ms: Math.round(ms),
    blksize: params.blksize,
    windowsize: params.windowsize,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    retransmits,
  });
  pending.set(id, (outcome, acked, reason, afterOack, counts, ms) => {
    // The descriptor (large files) is closed only now: the pump reads it until it reports.
    source.close().catch(() => {});
    const detail = `transfer of ${ctx.file} with ${peer.address}:${peer.port}`;
    if (counts.stale) ctx.drop('stale_ack', peer, detail, counts.stale);
    if (counts.unknownTid) ctx.drop('unknown_tid', peer, detail, counts.unknownTid);
    if (counts.malformed) ctx.drop('malformed', peer, detail, counts.malformed);
    if (counts.unexpected) ctx.drop('unexpected_opcode', peer, detail, counts.unexpected);
    if (ended) return; // aborted from here: the event already went out
    ended = true;
    ctx.onEnd(event(outcome, acked, ms, reason, counts.retransmits), afterOack);
  });
  try {
    p.transfer(
      id,
      ctx.bind?.address ?? null,
      ctx.bind?.device ?? null,
      peer.address,
      peer.port,
      source.bytes ?? null,
      source.fd ?? -1,
      source.size,
      params.blksize,
      params.windowsize,
      baseMs,
      ctx.maxTimeoutMs,
      ctx.maxRetries,
      ctx.oack ? encode({ op: 'OACK', options: ctx.oack }) : null,
      state,
    );
  } catch (err) {
    pending.delete(id);
    throw err;
  }
  return {
    get heard() {
      return state[0] === 1;
    },
    get progressing() {
      const at = state[6] ?? 0;
      return !ended && at > 0 && ctx.now() - started - at < baseMs;
    },
    addPendingDrops(into) {
      into.stale_ack += state[2] ?? 0;
      into.unknown_tid += state[3] ?? 0;
      into.malformed += state[4] ?? 0;
      into.unexpected_opcode += state[5] ?? 0;
    },
    abort(reason) {
      if (ended) return;
      ended = true;
      // The pump sends ERROR 0 and closes the socket on its thread; the event leaves now, as
      // transfer.ts's does, with the blocks acknowledged so far.
      p.abort(id, reason);
      ctx.onEnd(event('error', state[1] ?? 0, ctx.now() - started, reason, state[7] ?? 0), false);
    },
  };
}
