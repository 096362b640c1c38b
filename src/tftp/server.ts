/**
 * A read-only TFTP server (RFC 1350 with RFC 2347/2348/2349/7440 options). It knows files,
 * not machines: the caller passes a `FileSource`, the port-69 socket and a factory for the
 * per-transfer sockets, and maps the peer address of each `onTransfer` event to a machine.
 *
 * Mode "netascii" is accepted and served byte for byte like "octet": boot files are binary,
 * and every firmware that asks for netascii by mistake wants the raw bytes anyway.
 */
import { DecodeError, MetalseedError } from '../lib/errors.ts';
import { type Logger, silentLogger } from '../lib/log.ts';
import { openUdp, type Peer, type UdpFactory, type UdpOptions, type UdpSocket } from '../lib/udp.ts';
import type { FileSource, OpenFile } from './files.ts';
import { loopProbe } from './loop-probe.ts';
import { DEFAULT_BLKSIZE, DEFAULT_NEGOTIATION_LIMITS, type NegotiationLimits, negotiate } from './options.ts';
import { decode, encode, type Packet, type RequestPacket, TftpErrorCode } from './packet.ts';
import { pumpCan, startPumpTransfer } from './pump.ts';
import { type Attempt, AttemptTable } from './retransmits.ts';
import {
  DROP_REASONS,
  type DropReason,
  emptyStats,
  type RefusalReason,
  snapshot,
  type TftpStats,
} from './stats.ts';
import { startTransfer, type Transfer, type TransferEvent } from './transfer.ts';

export interface TftpLimits extends NegotiationLimits {
  /** Concurrent transfers; requests beyond it are dropped so the client retransmits later. */
  maxTransfers: number;
  /**
   * Event-loop delay (ms) above which new transfers wait: RRQs are dropped as busy while the
   * loop runs late, unless fewer than `minTransfers` run. libuv reads at most 32 datagrams from
   * one socket per loop turn, but one from each of thousands of transfer sockets, so every
   * running transfer lengthens the turn and the DHCP listener (one socket) falls behind its
   * clients' timeouts; this keeps the turn short. Transfers in the native pump (pump.ts) read
   * their sockets on the pump's thread, not in the loop, so only transfers run in JavaScript
   * count towards the check. 0 turns the check off.
   */
  maxLoopDelayMs: number;
  /** Transfers (run in JavaScript) admitted whatever the loop delay. */
  minTransfers: number;
  /** First retransmission timeout when the client negotiates none (RFC 2349 option absent). */
  timeoutMs: number;
  /** Ceiling of the doubled timeout. */
  maxTimeoutMs: number;
  /** Retransmissions before a transfer is abandoned. */
  maxRetries: number;
}

export const DEFAULT_TFTP_LIMITS: TftpLimits = {
  ...DEFAULT_NEGOTIATION_LIMITS,
  /**
   * A boot storm of thousands of machines, each fetching one file at a time (PXE ROMs fetch
   * lock-step, so a transfer lasts 50+ round trips and thousands overlap). A transfer costs one
   * UDP socket (a descriptor: Node raises the soft RLIMIT_NOFILE to the hard one at start) and
   * a few hundred bytes of state; small files are shared from the file source's memory cache.
   * Beyond it RRQs are dropped and the client retries after its timeout.
   */
  maxTransfers: 4096,
  maxLoopDelayMs: 100,
  minTransfers: 64,
  /** tftp-hpa's server default (`-T 1000000` µs); LAN round trips are far below it. */
  timeoutMs: 1000,
  /** 1, 2, 4, 8, 16 s: doubling stops here. */
  maxTimeoutMs: 16_000,
  /** 1+2+4+8+16+16 = 47 s of silence: that client has given up or rebooted. */
  maxRetries: 5,
};

export interface TftpServerOptions {
  /** The port-69 listener. The server owns it from now on and closes it in `close()`. */
  socket: UdpSocket;
  /** Opens the ephemeral socket of each transfer (its TID, RFC 1350 section 4). */
  openTransferSocket: UdpFactory;
  /** Bind options for transfer sockets (address, device); the port is always 0. */
  transferSocket?: Omit<UdpOptions, 'port'>;
  files: FileSource;
  logger?: Logger;
  limits?: Partial<TftpLimits>;
  /**
   * Called once for every request that was answered: when its transfer ends, or with outcome
   * 'error' and the refusal reason (`not_found`, `access_denied`...) when it was refused.
   * Requests dropped unanswered (malformed, busy) produce no event.
   */
  onTransfer?: (ev: TransferEvent) => void;
  /** Extra log fields for a peer (the caller maps addresses to machines, e.g. `{ mac }`). */
  describePeer?: (peer: Peer) => object;
  /** Milliseconds clock for event durations; `performance.now` by default. */
  now?: () => number;
  /**
   * Run the DATA/ACK phase in the native pump (src/tftp/pump.ts) instead of on the event
   * loop. Default: when the addon is built and the transfer sockets are real (`openUdp`);
   * fakes always use transfer.ts.
   */
  transferPump?: boolean;
}

export interface TftpServer {
  /** Aborts running transfers and closes every socket, the listener included. */
  close(): void;
  stats(): TftpStats;
}

const MODES = new Set(['octet', 'netascii']);
/** errno codes of a socket that could not open for want of resources (socket(2), bind(2)). */
const SHORTAGES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

export function createTftpServer(opts: TftpServerOptions): TftpServer {
  const log = opts.logger ?? silentLogger;
  const limits: TftpLimits = { ...DEFAULT_TFTP_LIMITS, ...opts.limits };
  const now = opts.now ?? (() => performance.now());
  const stats = emptyStats();
  const transfers = new Set<Transfer>();
  // a retransmitted RRQ reaches the listener at most one client timeout after the original
  const attempts = new AttemptTable(now, limits.timeoutMs);
  let closed = false;

  const usePump = opts.transferPump ?? opts.openTransferSocket === openUdp;
  let inLoop = 0; // transfers whose sockets the event loop reads (transfer.ts)

  const drop = (reason: DropReason, from: Peer, detail?: string, count = 1): void => {
    stats.dropped[reason] += count;
    log.debug(
      { event: 'tftp.drop', reason, peer: from.address, port: from.port, detail, count },
      DROP_REASONS[reason],
    );
  };

  const emit = (ev: TransferEvent): void => {
    try {
      opts.onTransfer?.(ev);
    } catch (err) {
      log.error({ event: 'tftp.callback_failed', err: (err as Error).message }, 'onTransfer threw');
    }
  };

  // Errors for refused requests go out from the listener rather than a new TID: the clients in
  // test/e2e/tftp.test.ts (tftp-hpa, atftp, curl) take the first reply's port, whichever it is.
  const refuse = (reason: RefusalReason, to: Peer, code: number, message: string, file: string): void => {
    stats.refused[reason]++;
    log.info(
      {
        event: 'tftp.refused',
        ...opts.describePeer?.(to),
        reason,
        file,
        peer: to.address,
        port: to.port,
        message,
      },
      'TFTP request refused',
    );
    if (!closed) opts.socket.send(encode({ op: 'ERROR', code, message }), to.port, to.address);
    emit({
      peer: to,
      file,
      bytes: 0,
      ms: 0,
      blksize: DEFAULT_BLKSIZE,
      windowsize: 1,
      outcome: 'error',
      reason,
    });
  };

  const onEnd = (ev: TransferEvent, afterOack: boolean): void => {
    stats.active--;
    stats.bytes += ev.bytes;
    const fields = {
      ...opts.describePeer?.(ev.peer),
      file: ev.file,
      bytes: ev.bytes,
      ms: Math.round(ev.ms),
      blksize: ev.blksize,
      windowsize: ev.windowsize,
      peer: ev.peer.address,
      port: ev.peer.port,
      retransmits: ev.retransmits ?? 0,
    };
    if (ev.outcome === 'done') {
      stats.transfers.ok++;
      log.info({ event: 'tftp.done', ...fields }, 'TFTP transfer done');
    } else if (afterOack) {
      stats.transfers.aborted_after_oack++;
      log.debug({ event: 'tftp.aborted_after_oack', ...fields, reason: ev.reason }, 'client declined OACK');
    } else {
      stats.transfers.failed++;
      const level = ev.outcome === 'error' ? 'warn' : 'info';
      log[level](
        { event: 'tftp.failed', outcome: ev.outcome, reason: ev.reason, ...fields },
        'TFTP transfer failed',
      );
    }
    emit(ev);
  };

  const openFile = async (file: string, from: Peer): Promise<OpenFile | null> => {
    try {
      const f = await opts.files.open(file);
      if (!f) refuse('not_found', from, TftpErrorCode.FILE_NOT_FOUND, 'File not found', file);
      return f;
    } catch (err) {
      if (err instanceof MetalseedError && err.code === 'ACCESS_DENIED') {
        refuse('access_denied', from, TftpErrorCode.ACCESS_VIOLATION, 'Access violation', file);
      } else {
        log.warn({ event: 'tftp.open_failed', file, err: (err as Error).message }, 'cannot open file');
        refuse('read_error', from, TftpErrorCode.NOT_DEFINED, 'Cannot read file', file);
      }
      return null;
    }
  };

  /**
   * A transfer socket that would not open. Out of descriptors or buffers (a boot storm against
   * a low RLIMIT_NOFILE) is a passing shortage: the request is dropped as busy and the client's
   * retransmission comes back later, where an ERROR would end its boot (PXE ROMs give up on
   * one). Anything else is refused with an ERROR.
   */
  const socketFailed = (err: unknown, req: RequestPacket, from: Peer): void => {
    const e = err as NodeJS.ErrnoException;
    log.warn({ event: 'tftp.socket_failed', err: e.message }, 'cannot open transfer socket');
    // openUdp wraps the errno error (its `cause`); the pump's errors carry the code themselves
    const code = (e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.code;
    if (code !== undefined && SHORTAGES.has(code)) drop('busy', from, `${req.filename} (${code})`);
    else refuse('read_error', from, TftpErrorCode.NOT_DEFINED, 'Server error', req.filename);
  };

  /** The DATA/ACK phase on the native pump's thread; null when its socket could not open. */
  const servePumped = async (
    req: RequestPacket,
    from: Peer,
    source: OpenFile,
    begin: (ev: TransferEvent, afterOack: boolean) => void,
  ): Promise<Transfer | null> => {
    const { params, oack } = negotiate(req.options, source.size, limits);
    stats.active++;
    try {
      return startPumpTransfer({
        peer: from,
        file: req.filename,
        source,
        params,
        oack,
        ...(opts.transferSocket ? { bind: opts.transferSocket } : {}),
        defaultTimeoutMs: limits.timeoutMs,
        maxTimeoutMs: limits.maxTimeoutMs,
        maxRetries: limits.maxRetries,
        now,
        drop,
        onEnd: begin,
      });
    } catch (err) {
      stats.active--;
      await source.close().catch(() => {});
      socketFailed(err, req, from);
      return null;
    }
  };

  const serve = async (req: RequestPacket, from: Peer, attempt: Attempt): Promise<void> => {
    const source = await openFile(req.filename, from);
    if (!source) return;
    let transfer: Transfer | undefined | null;
    let ended = false;
    const finished = (ev: TransferEvent, afterOack: boolean): void => {
      ended = true;
      if (transfer) transfers.delete(transfer);
      attempts.end(from, attempt, ev.outcome === 'done');
      onEnd(ev, afterOack);
    };
    if (usePump && pumpCan(source)) {
      if (closed) {
        await source.close().catch(() => {});
        return;
      }
      transfer = await servePumped(req, from, source, finished);
      if (!transfer || ended) return;
      transfers.add(transfer);
      attempt.transfer = transfer;
      return;
    }
    let socket: UdpSocket;
    try {
      socket = await opts.openTransferSocket({ ...opts.transferSocket, port: 0 });
    } catch (err) {
      await source.close().catch(() => {});
      socketFailed(err, req, from);
      return;
    }
    if (closed) {
      socket.close();
      await source.close().catch(() => {});
      return;
    }
    const { params, oack } = negotiate(req.options, source.size, limits);
    stats.active++;
    inLoop++;
    transfer = startTransfer({
      socket,
      peer: from,
      file: req.filename,
      source,
      params,
      oack,
      defaultTimeoutMs: limits.timeoutMs,
      maxTimeoutMs: limits.maxTimeoutMs,
      maxRetries: limits.maxRetries,
      now,
      drop,
      onEnd: (ev, afterOack) => {
        inLoop--;
        finished(ev, afterOack);
      },
    });
    if (ended) return;
    transfers.add(transfer);
    attempt.transfer = transfer;
  };

  let pending = 0; // requests between RRQ and transfer start, so the limit holds during opens
  // the loop's lateness, measured only while the check below may ask for it (loop-probe.ts)
  const loopTransfers = (): number => (usePump ? inLoop : stats.active + pending);
  const loop =
    limits.maxLoopDelayMs > 0
      ? loopProbe(
          () => performance.now(),
          () => loopTransfers() + 1 >= limits.minTransfers,
        )
      : undefined;
  const start = (req: RequestPacket, from: Peer): void => {
    const running = stats.active + pending;
    if (running >= limits.maxTransfers) {
      drop('busy', from, req.filename);
      return;
    }
    // with the pump, requests still opening will mostly run there: only loop transfers count
    loop?.keep();
    if (loop && loopTransfers() >= limits.minTransfers && loop.delay() > limits.maxLoopDelayMs) {
      drop('busy', from, `${req.filename} (event loop ${Math.round(loop.delay())} ms late)`);
      return;
    }
    pending++;
    const attempt = attempts.begin(from, req);
    serve(req, from, attempt)
      .catch((err: unknown) =>
        log.error({ event: 'tftp.internal', err: (err as Error).message }, 'request failed'),
      )
      .finally(() => {
        pending--;
        if (!attempt.transfer) attempts.end(from, attempt); // refused, or the server closed
      });
  };

  const onRequest = (req: RequestPacket, from: Peer): void => {
    stats.requests++;
    if (req.op === 'WRQ') {
      refuse('write_request', from, TftpErrorCode.ACCESS_VIOLATION, 'read-only server', req.filename);
    } else if (!MODES.has(req.mode)) {
      refuse('bad_mode', from, TftpErrorCode.ILLEGAL_OPERATION, `unsupported mode ${req.mode}`, req.filename);
    } else if (attempts.repeated(from, req)) {
      // Decided after this poll phase: an ERROR the client sent to the first transfer just
      // before asking again may still be waiting on that transfer's socket.
      setImmediate(() => {
        if (closed) return;
        if (attempts.repeated(from, req)) drop('duplicate_request', from, req.filename);
        else start(req, from);
      });
    } else {
      start(req, from);
    }
  };

  const onListenerMessage = (msg: Uint8Array, from: Peer): void => {
    if (closed) return;
    let p: Packet;
    try {
      p = decode(msg);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      drop('malformed', from, err.message);
      return;
    }
    if (p.op === 'RRQ' || p.op === 'WRQ') onRequest(p, from);
    else drop('unexpected_opcode', from, `${p.op} on the listener`);
  };

  opts.socket.onMessage((msg, from) => {
    try {
      onListenerMessage(msg, from);
    } catch (err) {
      log.error({ event: 'tftp.internal', err: (err as Error).message }, 'listener handler failed');
    }
  });

  return {
    close() {
      if (closed) return;
      closed = true;
      loop?.stop();
      for (const t of [...transfers]) t.abort('server shutting down');
      opts.socket.close();
    },
    stats: () => {
      const s = snapshot(stats);
      for (const t of transfers) t.addPendingDrops?.(s.dropped);
      return s;
    },
  };
}
