/**
 * The DHCPv4 server: a receive loop that decodes, dispatches by message type and sends the
 * reply. Address decisions are the pool's; boot decisions are the caller's `boot` hook. One
 * bad packet never stops it: it is counted by reason, logged at debug, and dropped.
 */
import { DecodeError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { ipToString, type Mac } from '../lib/net.ts';
import { BATCH_DATAGRAM_MAX, type Peer, type UdpSocket } from '../lib/udp.ts';
import { authoritative } from './authoritative.ts';
import { type MessageTypeName, Op, Opt, PXE_PORT } from './constants.ts';
import { clientMac, type DhcpPacket, decode, encode, messageType } from './packet.ts';
import type { Pool } from './pool.ts';
import { proxy } from './proxy.ts';
import { type Answer, Answers } from './repeats.ts';
import { type BootParams, destination } from './reply.ts';

export type DhcpMode = 'authoritative' | 'proxy';

/**
 * When a reply that depends on a lease change may leave (`dhcp.leaseSync`):
 * - `before-reply`: after the change is fdatasync'd; a power loss loses no lease a client holds;
 * - `after-reply`: once the change is written to the journal file (the kernel's page cache), so a
 *   crash or `kill -9` of the seed loses nothing; the fdatasync follows within
 *   BACKGROUND_SYNC_MS, and a power loss or kernel crash can lose the changes of that window
 *   (Kea's memfile, which never syncs, gives this guarantee and less).
 */
export type LeaseSync = 'before-reply' | 'after-reply';

/** after-reply: how long written changes wait for their fdatasync (one per window at most). */
export const BACKGROUND_SYNC_MS = 10;
/** after-reply: the wait before a failed background sync is tried again (no log flood). */
const SYNC_RETRY_MS = 1000;

/** What the boot hook is told about a request. */
export interface BootQuery {
  mac: Mac;
  type: MessageTypeName;
  packet: DhcpPacket;
  /** The reply is a proxyDHCP offer/ack (no address), RFC 4578 / PXE 2.1. */
  proxy: boolean;
}
export type BootHook = (q: BootQuery) => BootParams | null;

/**
 * One per client message: its answer (`dhcp.offer`, `dhcp.ack`, `dhcp.nak`, `dhcp.proxy_*`),
 * what stopped one (`dhcp.ignored`, `dhcp.pool_exhausted`), or, when the handler said nothing,
 * the message itself (`dhcp.release`, `dhcp.decline`, a REQUEST for another server).
 */
export interface DhcpEvent {
  event: string;
  /** The client message this event is about. */
  request: MessageTypeName;
  mac: Mac;
  xid: number;
  ip?: string;
  bootFile?: string;
  firmware?: string;
  relay?: string;
  reason?: string;
  /** The client's message, for listeners that read more facts (never logged). */
  packet?: DhcpPacket;
}

export interface DhcpServerOptions {
  mode: DhcpMode;
  /** Option 54 and siaddr default: the seed's address on the provisioning network. */
  serverId: number;
  socket: UdpSocket;
  /** proxy mode: the PXE port 4011 socket. */
  pxeSocket?: UdpSocket;
  pool?: Pool;
  subnetMask: number;
  router?: number;
  dns?: readonly number[];
  domain?: string;
  leaseSeconds: number;
  /** Default `before-reply`. */
  leaseSync?: LeaseSync;
  boot: BootHook;
  logger: Logger;
  onEvent?: (e: DhcpEvent) => void;
}

/** Per-message context handed to the mode handlers. */
export interface Exchange {
  o: DhcpServerOptions;
  req: DhcpPacket;
  mac: Mac;
  type: MessageTypeName;
  from: Peer;
  viaPxePort: boolean;
  emit(event: string, extra?: Partial<DhcpEvent>): void;
}

/** A handler returns the reply to send, or null (the message needs no answer). */
export type ModeHandler = (x: Exchange) => DhcpPacket | null;

export interface DhcpStats {
  received: Record<string, number>;
  sent: Record<string, number>;
  dropped: Record<string, number>;
  /** Retransmitted requests answered again with the remembered reply, by request type. */
  repeated: Record<string, number>;
  /**
   * Lease journal operations: `sync` (fdatasync), `write` (after-reply's write before the
   * replies), and their `sync_failed` / `write_failed`.
   */
  journal: Record<string, number>;
}

const MAX_HOPS = 16; // RFC 1542 section 4.1.1: relays discard beyond a configured limit (<=16)
/**
 * The longest message served: what the native batch reader reads whole. No client sends more
 * than one Ethernet frame (576 bytes suffice, RFC 2131 section 2); a longer datagram is dropped
 * as `oversize` whichever way the socket reads, not answered on the dgram path only.
 */
const MAX_MESSAGE = BATCH_DATAGRAM_MAX;

export class DhcpServer {
  readonly stats: DhcpStats = { received: {}, sent: {}, dropped: {}, repeated: {}, journal: {} };
  private readonly outbox: Outgoing[] = [];
  /** Replies gathered while one batch of datagrams is handled (sockets with `sendMany`). */
  private sending: Outgoing[] = [];
  /** Authoritative mode: replies to remember for retransmitted requests (see repeats.ts). */
  private readonly answers: Answers | undefined;
  private committing = false; // a sync is scheduled or running; the outbox is the next group
  private readonly handler: ModeHandler;
  private readonly afterReply: boolean;
  /** after-reply: the background sync's timer, and whether that sync runs now. */
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private closed = false;

  constructor(private readonly o: DhcpServerOptions) {
    if (o.mode === 'authoritative' && !o.pool) throw new Error('authoritative mode needs a pool');
    this.handler = o.mode === 'authoritative' ? authoritative : proxy;
    if (o.mode === 'authoritative') this.answers = new Answers();
    this.afterReply = o.leaseSync === 'after-reply';
    o.socket.onMessage((msg, from) => this.receive(msg, from, o.socket, false));
    o.pxeSocket?.onMessage((msg, from) => this.receive(msg, from, o.pxeSocket!, true));
    const oversize = (from: Peer, bytes: number): void => void this.oversize(from, bytes);
    o.socket.onOversize?.(oversize);
    o.pxeSocket?.onOversize?.(oversize);
  }

  /** Closes the sockets; the journal's owner syncs it on close (FileJournal.close). */
  close(): void {
    this.closed = true;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.o.socket.close();
    this.o.pxeSocket?.close();
  }

  /** Handles one datagram; exposed for in-process tests and benchmarks. */
  receive(msg: Uint8Array, from: Peer, socket: UdpSocket, viaPxePort: boolean): DhcpPacket | null {
    try {
      return this.handle(msg, from, socket, viaPxePort);
    } catch (err) {
      const reason = err instanceof DecodeError ? 'malformed' : 'internal_error';
      this.drop(reason, from, err instanceof Error ? err.message : String(err));
      if (!(err instanceof DecodeError)) this.o.logger.error({ err, from }, 'DHCP handler failed');
      return null;
    }
  }

  private handle(msg: Uint8Array, from: Peer, socket: UdpSocket, viaPxePort: boolean): DhcpPacket | null {
    if (msg.length > MAX_MESSAGE) return this.oversize(from, msg.length);
    const req = decode(msg);
    if (req.op !== Op.BOOTREQUEST) return this.drop('not_a_request', from);
    const mac = clientMac(req);
    if (!mac) return this.drop('not_ethernet', from, `htype ${req.htype} hlen ${req.hlen}`);
    if (req.hops > MAX_HOPS) return this.drop('too_many_hops', from);
    const type = messageType(req);
    if (!type) return this.drop('no_message_type', from);
    if (type === 'OFFER' || type === 'ACK' || type === 'NAK') return this.drop('server_message', from, type);
    this.count(this.stats.received, type);
    if (this.answers) {
      if (type === 'DISCOVER' || type === 'REQUEST') {
        const repeat = viaPxePort ? undefined : this.answers.find(mac, req.xid, msg, from);
        if (repeat && this.stillTrue(repeat, mac, type, req))
          return this.answerAgain(repeat, mac, type, from);
      } else {
        this.answers.forget(mac); // DECLINE, RELEASE, INFORM: the exchange is over
      }
    }
    let told = false;
    const x: Exchange = {
      o: this.o,
      req,
      mac,
      type,
      from,
      viaPxePort,
      emit: (event, extra) => {
        told = true;
        this.emit({ event, request: type, mac, xid: req.xid, ...relayOf(req), ...extra, packet: req });
      },
    };
    const reply = this.handler(x);
    if (!told) x.emit(`dhcp.${type.toLowerCase()}`);
    if (!reply) return null;
    const to = viaPxePort
      ? { address: from.address, port: from.port || PXE_PORT }
      : destination(req, reply, from);
    const bytes = encode(reply);
    const replyType = messageType(reply);
    // Remembered once sent (after the sync for a deferred ACK), never while it still waits.
    const then =
      this.answers && !viaPxePort && (replyType === 'OFFER' || replyType === 'ACK')
        ? () =>
            this.answers!.remember(mac, {
              xid: req.xid,
              request: msg,
              from,
              type: replyType,
              yiaddr: reply.yiaddr,
              bytes,
              socket,
              to,
            })
        : undefined;
    // Only replies after a lease change wait; an OFFER (not journaled) never queues behind a sync.
    const pool = this.o.pool;
    const r: Outgoing = { socket, bytes, to, ...(then ? { then } : {}) };
    if (!pool || !(this.afterReply ? pool.unwritten : pool.unsynced)) this.send(r);
    else if (!this.afterReply) this.defer(r);
    // after-reply: the journal write goes first, in the batch's send on a batching socket
    else if (socket.sendMany) this.send({ ...r, written: true });
    else this.defer({ ...r, written: true });
    this.count(this.stats.sent, replyType ?? 'unknown');
    return reply;
  }

  /**
   * Whether a remembered reply still holds: the pool still offers (DISCOVER) or has bound
   * (REQUEST) that address to this client. Otherwise the request takes the full path.
   */
  private stillTrue(a: Answer, mac: Mac, type: 'DISCOVER' | 'REQUEST', req: DhcpPacket): boolean {
    const pool = this.o.pool!;
    const ip = a.yiaddr;
    if (type === 'DISCOVER') return pool.offer(mac, req.options.ip(Opt.REQUESTED_IP)) === ip;
    const l = pool.lease(mac);
    return l?.state === 'bound' && l.ip === ip;
  }

  /**
   * A retransmission of an exchange already answered gets the same reply again. It is not a
   * new boot step: the boot hook and `onEvent` are not called again (the first request's
   * steps are on record), and it is logged at debug.
   */
  private answerAgain(a: Answer, mac: Mac, type: MessageTypeName, from: Peer): DhcpPacket {
    a.socket.send(a.bytes, a.to.port, a.to.address);
    this.count(this.stats.sent, a.type);
    this.count(this.stats.repeated, type);
    this.o.logger.debug(
      { event: 'dhcp.repeat', mac, xid: a.xid, type, from: `${from.address}:${from.port}` },
      'retransmitted request answered again',
    );
    return decode(a.bytes); // for the caller of `receive`; a repeat is rare
  }

  /**
   * Group commit: replies that depend on lease changes wait until the end of this event-loop
   * turn, when one sync makes all changes durable; then they all leave (a crash before the
   * sync loses only replies nobody received). The sync runs off the event loop, so requests
   * keep being answered meanwhile; their ACKs form the next group, synced when this one is done.
   */
  private defer(r: Outgoing): void {
    this.outbox.push(r);
    if (this.committing) return;
    this.committing = true;
    setImmediate(() => this.commit());
  }

  private commit(): void {
    const out = this.outbox.splice(0);
    const pool = this.o.pool;
    if (out.length === 0 || !pool) {
      this.committing = false;
      return;
    }
    if (this.afterReply) {
      this.committing = false;
      sendAll(this.writeFirst(out)); // every deferred reply waits for the write
      return;
    }
    pool.syncAsync((err) => {
      this.count(this.stats.journal, err ? 'sync_failed' : 'sync');
      if (err) {
        this.o.logger.error(
          { event: 'dhcp.sync_failed', err: err.message },
          'lease journal sync failed; replies dropped',
        );
      } else {
        sendAll(out);
      }
      this.commit(); // the group that gathered during this sync
    });
  }

  /**
   * after-reply: one fdatasync per BACKGROUND_SYNC_MS at most covers every change written
   * before it starts; changes written while it runs get the next one.
   */
  private syncSoon(delayMs = BACKGROUND_SYNC_MS): void {
    if (this.syncTimer || this.syncing || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      const pool = this.o.pool!;
      this.syncing = true;
      pool.syncAsync((err) => {
        this.syncing = false;
        this.count(this.stats.journal, err ? 'sync_failed' : 'sync');
        if (err) {
          this.o.logger.error(
            { event: 'dhcp.sync_failed', err: err.message, retryMs: SYNC_RETRY_MS },
            'lease journal sync failed; retrying',
          );
        }
        if (pool.unsynced) this.syncSoon(err ? SYNC_RETRY_MS : BACKGROUND_SYNC_MS);
      });
    }, delayMs);
  }

  /**
   * An immediate reply. A socket that sends many datagrams per system call (`sendMany`, the
   * native batch reader) gets the replies of one batch of requests together: they are sent
   * when the batch's callback returns (a microtask), not one system call each.
   */
  private send(r: Outgoing): void {
    if (!r.socket.sendMany) {
      r.socket.send(r.bytes, r.to.port, r.to.address);
      r.then?.();
      return;
    }
    this.sending.push(r);
    if (this.sending.length === 1) {
      queueMicrotask(() => {
        const out = this.sending;
        this.sending = [];
        sendAll(out.some((o) => o.written) ? this.writeFirst(out) : out);
      });
    }
  }

  /**
   * after-reply: writes the lease changes of a batch before its replies leave; when the write
   * fails, the replies that depended on it are dropped (the clients ask again).
   */
  private writeFirst(out: Outgoing[]): Outgoing[] {
    try {
      this.o.pool!.write();
      this.count(this.stats.journal, 'write');
    } catch (err) {
      this.count(this.stats.journal, 'write_failed');
      this.o.logger.error(
        { event: 'dhcp.write_failed', err: (err as Error).message },
        'lease journal write failed; replies dropped',
      );
      return out.filter((o) => !o.written);
    }
    this.syncSoon();
    return out;
  }

  /** Sends replies still waiting for a sync, and syncs (tests and shutdown). */
  flush(): void {
    const out = this.outbox.splice(0);
    this.o.pool?.sync();
    sendAll(out);
  }

  private emit(e: DhcpEvent): void {
    const { packet: _packet, ...fields } = e;
    this.o.logger.info(fields, e.event);
    this.o.onEvent?.(e);
  }

  private drop(reason: string, from: Peer, detail?: string): null {
    this.count(this.stats.dropped, reason);
    this.o.logger.debug(
      { event: 'dhcp.drop', reason, detail, from: `${from.address}:${from.port}` },
      'dropped DHCP packet',
    );
    return null;
  }

  private oversize(from: Peer, bytes: number): null {
    return this.drop('oversize', from, `${bytes} bytes, more than ${MAX_MESSAGE}`);
  }

  private count(table: Record<string, number>, key: string): void {
    table[key] = (table[key] ?? 0) + 1;
  }
}

interface Outgoing {
  socket: UdpSocket;
  bytes: Uint8Array;
  to: Peer;
  then?: () => void;
  /** after-reply: sent only once the journal write before it succeeded. */
  written?: boolean;
}

/** Sends replies in order, with one `sendMany` per run of replies on a socket that has it. */
function sendAll(out: readonly Outgoing[]): void {
  for (let i = 0; i < out.length; ) {
    const socket = out[i]!.socket;
    let j = i + 1;
    while (j < out.length && out[j]!.socket === socket) j++;
    // one reply too: the addon's sendmmsg costs less than dgram's send (no lookup, no send
    // request, no callback), and most batches are of one at moderate rates
    if (socket.sendMany) {
      socket.sendMany(
        out.slice(i, j).map((r) => ({ bytes: r.bytes, port: r.to.port, address: r.to.address })),
      );
    } else {
      for (let k = i; k < j; k++) socket.send(out[k]!.bytes, out[k]!.to.port, out[k]!.to.address);
    }
    for (let k = i; k < j; k++) out[k]!.then?.();
    i = j;
  }
}

function relayOf(req: DhcpPacket): { relay?: string } {
  return req.giaddr !== 0 ? { relay: ipToString(req.giaddr) } : {};
}
