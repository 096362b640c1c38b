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
import type { Peer, UdpFactory, UdpOptions, UdpSocket } from '../lib/udp.ts';
import type { FileSource, OpenFile } from './files.ts';
import { DEFAULT_NEGOTIATION_LIMITS, type NegotiationLimits, negotiate } from './options.ts';
import { decode, encode, type Packet, type RequestPacket, TftpErrorCode } from './packet.ts';
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
  /** First retransmission timeout when the client negotiates none (RFC 2349 option absent). */
  timeoutMs: number;
  /** Ceiling of the doubled timeout. */
  maxTimeoutMs: number;
  /** Retransmissions before a transfer is abandoned. */
  maxRetries: number;
}

export const DEFAULT_TFTP_LIMITS: TftpLimits = {
  ...DEFAULT_NEGOTIATION_LIMITS,
  /** A boot storm of a few hundred machines, each fetching one file at a time. */
  maxTransfers: 512,
  /** 1 s is what tftp-hpa and most PXE ROMs use; LAN round trips are far below it. */
  timeoutMs: 1000,
  /** 1+2+4+8+16 s: five doublings from 1 s reach 16 s. */
  maxTimeoutMs: 16_000,
  /** About 30 s of silence from 1 s: longer than any firmware waits before it restarts. */
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
  onTransfer?: (ev: TransferEvent) => void;
  now?: () => number;
}

export interface TftpServer {
  /** Aborts running transfers and closes every socket, the listener included. */
  close(): void;
  stats(): TftpStats;
}

const MODES = new Set(['octet', 'netascii']);
const peerName = (p: Peer): string => `${p.address}:${p.port}`;

export function createTftpServer(opts: TftpServerOptions): TftpServer {
  const log = opts.logger ?? silentLogger;
  const limits: TftpLimits = { ...DEFAULT_TFTP_LIMITS, ...opts.limits };
  const now = opts.now ?? (() => performance.now());
  const stats = emptyStats();
  const transfers = new Set<Transfer>();
  let closed = false;

  const drop = (reason: DropReason, from: Peer, detail?: string): void => {
    stats.dropped[reason]++;
    log.debug({ event: 'tftp.drop', reason, peer: peerName(from), detail }, DROP_REASONS[reason]);
  };

  // Errors for refused requests go out from the listener rather than a new TID: the clients in
  // test/e2e/tftp.test.ts (tftp-hpa, atftp, curl) take the first reply's port, whichever it is.
  const refuse = (reason: RefusalReason, to: Peer, code: number, message: string, file: string): void => {
    stats.refused[reason]++;
    log.info({ event: 'tftp.refused', reason, file, peer: peerName(to), message }, 'TFTP request refused');
    opts.socket.send(encode({ op: 'ERROR', code, message }), to.port, to.address);
  };

  const onEnd = (ev: TransferEvent, afterOack: boolean): void => {
    stats.active--;
    stats.bytes += ev.bytes;
    const fields = { file: ev.file, bytes: ev.bytes, ms: ev.ms, peer: ev.peer.address, port: ev.peer.port };
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
    try {
      opts.onTransfer?.(ev);
    } catch (err) {
      log.error({ event: 'tftp.callback_failed', err: (err as Error).message }, 'onTransfer threw');
    }
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

  const serve = async (req: RequestPacket, from: Peer): Promise<void> => {
    const source = await openFile(req.filename, from);
    if (!source) return;
    let socket: UdpSocket;
    try {
      socket = await opts.openTransferSocket({ ...opts.transferSocket, port: 0 });
    } catch (err) {
      await source.close().catch(() => {});
      log.warn({ event: 'tftp.socket_failed', err: (err as Error).message }, 'cannot open transfer socket');
      refuse('read_error', from, TftpErrorCode.NOT_DEFINED, 'Server error', req.filename);
      return;
    }
    if (closed) {
      socket.close();
      await source.close().catch(() => {});
      return;
    }
    const { params, oack } = negotiate(req.options, source.size, limits);
    stats.active++;
    let transfer: Transfer | undefined;
    let ended = false;
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
        ended = true;
        if (transfer) transfers.delete(transfer);
        onEnd(ev, afterOack);
      },
    });
    if (!ended) transfers.add(transfer);
  };

  let pending = 0; // requests between RRQ and transfer start, so the limit holds during opens
  const onRequest = (req: RequestPacket, from: Peer): void => {
    stats.requests++;
    if (req.op === 'WRQ') {
      refuse('write_request', from, TftpErrorCode.ACCESS_VIOLATION, 'read-only server', req.filename);
    } else if (!MODES.has(req.mode)) {
      refuse('bad_mode', from, TftpErrorCode.ILLEGAL_OPERATION, `unsupported mode ${req.mode}`, req.filename);
    } else if (stats.active + pending >= limits.maxTransfers) {
      drop('busy', from, req.filename);
    } else {
      pending++;
      serve(req, from)
        .catch((err: unknown) =>
          log.error({ event: 'tftp.internal', err: (err as Error).message }, 'request failed'),
        )
        .finally(() => pending--);
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
      for (const t of [...transfers]) t.abort('server shutting down');
      opts.socket.close();
    },
    stats: () => snapshot(stats),
  };
}
