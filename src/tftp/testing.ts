/**
 * Test helpers, not exported from index.ts: `TestPeer` scripts exact packet exchanges,
 * `tftpGet` is a tiny client (options, RFC 7440 receiver rules, a hook that loses ACKs on
 * purpose), `startTestServer` runs a server on loopback, `strangerGetsError5` is a scenario
 * both transfer implementations (transfer.ts, the pump) must pass.
 */
import assert from 'node:assert/strict';
import { DecodeError } from '../lib/errors.ts';
import { type LogRecord, recordingLogger } from '../lib/log.ts';
import { openUdp, type Peer, type UdpSocket } from '../lib/udp.ts';
import { type FileSource, memoryFileSource } from './files.ts';
import { decode, encode, type Packet, TftpErrorCode, type TftpOptions } from './packet.ts';
import { createTftpServer, type TftpLimits, type TftpServer } from './server.ts';
import type { TransferEvent } from './transfer.ts';

export interface Received {
  packet: Packet;
  from: Peer;
}

export class TestPeer {
  private queue: Received[] = [];
  private waiter: ((r: Received) => void) | undefined;

  private constructor(readonly socket: UdpSocket) {
    socket.onMessage((msg, from) => {
      let packet: Packet;
      try {
        packet = decode(msg);
      } catch (err) {
        if (err instanceof DecodeError) return;
        throw err;
      }
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w({ packet, from });
      else this.queue.push({ packet, from });
    });
  }

  static async open(): Promise<TestPeer> {
    return new TestPeer(await openUdp({ port: 0, address: '127.0.0.1' }));
  }

  send(p: Packet | Uint8Array, port: number): void {
    this.socket.send(p instanceof Uint8Array ? p : encode(p), port, '127.0.0.1');
  }

  /** The next packet, or null when none arrives within `ms`. */
  next(ms = 2000): Promise<Received | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        resolve(null);
      }, ms);
      this.waiter = (r) => {
        clearTimeout(t);
        resolve(r);
      };
    });
  }

  /** The next packet, failing the test when there is none. */
  async expect(ms = 2000): Promise<Received> {
    const r = await this.next(ms);
    if (!r) throw new Error(`no packet within ${ms} ms`);
    return r;
  }

  /** The next `n` packets, in order. */
  async expectMany(n: number, ms = 2000): Promise<Received[]> {
    const out: Received[] = [];
    while (out.length < n) out.push(await this.expect(ms));
    return out;
  }

  /** Closes after pending sends left (Node sends on the next tick). */
  close(): void {
    setImmediate(() => this.socket.close());
  }
}

export interface GetOptions {
  options?: Record<string, string>;
  mode?: string;
  /** Client-side wait before re-sending its last ACK (or the RRQ). */
  waitMs?: number;
  maxWaits?: number;
  /** Return true to lose this ACK (block is absolute; 0 acknowledges the OACK). */
  loseAck?: (block: number) => boolean;
}

export interface GetResult {
  data: Uint8Array;
  oack: TftpOptions | null;
  error: { code: number; message: string } | null;
  serverPort: number;
  /** DATA packets that arrived again or out of order (retransmissions). */
  duplicates: number;
}

export async function tftpGet(port: number, file: string, opts: GetOptions = {}): Promise<GetResult> {
  const peer = await TestPeer.open();
  const options: TftpOptions = new Map(Object.entries(opts.options ?? {}));
  const res: GetResult = { data: new Uint8Array(0), oack: null, error: null, serverPort: 0, duplicates: 0 };
  const chunks: Uint8Array[] = [];
  let blksize = 512;
  let windowsize = 1;
  let next = 1; // absolute number of the block expected next
  let inWindow = 0;
  let lastAck: number | null = null;
  const ack = (block: number): void => {
    lastAck = block;
    inWindow = 0;
    if (!opts.loseAck?.(block)) peer.send({ op: 'ACK', block: block % 0x10000 }, res.serverPort);
  };
  const request = (): void =>
    peer.send({ op: 'RRQ', filename: file, mode: opts.mode ?? 'octet', options }, port);
  try {
    request();
    let waits = 0;
    for (;;) {
      const r = await peer.next(opts.waitMs ?? 1000);
      if (!r) {
        if (++waits > (opts.maxWaits ?? 5)) throw new Error(`download of ${file} stalled at block ${next}`);
        if (lastAck === null) request();
        else ack(lastAck);
        continue;
      }
      waits = 0;
      if (res.serverPort === 0) res.serverPort = r.from.port;
      if (r.from.port !== res.serverPort) continue;
      const p = r.packet;
      if (p.op === 'ERROR') {
        res.error = { code: p.code, message: p.message };
        return res;
      }
      if (p.op === 'OACK') {
        res.oack = p.options;
        blksize = Number(p.options.get('blksize') ?? 512);
        windowsize = Number(p.options.get('windowsize') ?? 1);
        ack(0);
        continue;
      }
      if (p.op !== 'DATA') continue;
      if (p.block !== next % 0x10000) {
        // RFC 7440 section 4: on a gap or a repeat, acknowledge the last block in order.
        res.duplicates++;
        ack(next - 1);
        continue;
      }
      chunks.push(p.data);
      next++;
      inWindow++;
      if (p.data.length < blksize) {
        ack(next - 1);
        break;
      }
      if (inWindow >= windowsize) ack(next - 1);
    }
  } finally {
    peer.close();
  }
  res.data = Buffer.concat(chunks);
  return res;
}

type Handler = (msg: Uint8Array, from: Peer) => void;

/** A real socket whose message handler the test can also call directly, to fix ordering. */
function tapped(sock: UdpSocket, handlers: Handler[]): UdpSocket {
  return {
    port: sock.port,
    send: (buf, port, address) => sock.send(buf, port, address),
    onMessage: (h) => {
      handlers.push(h);
      sock.onMessage(h);
    },
    close: () => sock.close(),
    // windows then leave as one segmented send, as in production
    ...(sock.setSegmentSize ? { setSegmentSize: (bytes: number) => sock.setSegmentSize!(bytes) } : {}),
  };
}

export interface TestServer {
  server: TftpServer;
  port: number;
  records: LogRecord[];
  events: TransferEvent[];
  /** Delivers a datagram synchronously, as if it came from the network. */
  inject: {
    listener: (p: Packet, from: Peer) => void;
    transfer: (port: number, p: Packet, from: Peer) => void;
  };
  close(): void;
}

/** A server on 127.0.0.1, random port, recording its log and transfer events. */
export async function startTestServer(
  files: FileSource | Record<string, Uint8Array>,
  limits: Partial<TftpLimits> = {},
): Promise<TestServer> {
  const listenerHandlers: Handler[] = [];
  const transferHandlers = new Map<number, Handler[]>();
  const socket = tapped(await openUdp({ port: 0, address: '127.0.0.1' }), listenerHandlers);
  const records: LogRecord[] = [];
  const events: TransferEvent[] = [];
  const server = createTftpServer({
    socket,
    openTransferSocket: async (o) => {
      const s = await openUdp(o);
      const hs: Handler[] = [];
      transferHandlers.set(s.port, hs);
      return tapped(s, hs);
    },
    transferSocket: { address: '127.0.0.1' },
    files:
      typeof files.open === 'function'
        ? (files as FileSource)
        : memoryFileSource(files as Record<string, Uint8Array>),
    logger: recordingLogger(records),
    limits,
    onTransfer: (ev) => events.push(ev),
  });
  const deliver = (hs: Handler[] | undefined, p: Packet, from: Peer): void => {
    for (const h of hs ?? []) h(encode(p), from);
  };
  return {
    server,
    port: socket.port,
    records,
    events,
    inject: {
      listener: (p, from) => deliver(listenerHandlers, p, from),
      transfer: (port, p, from) => deliver(transferHandlers.get(port), p, from),
    },
    close: () => server.close(),
  };
}

/** Polls until `cond` holds; transfer events land just after the client's last ACK. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * RFC 1350 section 4: a packet from a stranger to a running transfer (port `port` of `server`)
 * gets ERROR 5, an ERROR from the stranger is never answered, and the client's transfer goes on
 * as if nothing happened.
 */
export async function strangerGetsError5(port: number, server: TftpServer): Promise<void> {
  const c = await TestPeer.open();
  const stranger = await TestPeer.open();
  try {
    c.send({ op: 'RRQ', filename: 'ipxe.efi', mode: 'octet', options: new Map() }, port);
    const d1 = await c.expect();
    assert.equal(d1.packet.op === 'DATA' && d1.packet.block, 1);
    stranger.send({ op: 'ACK', block: 1 }, d1.from.port);
    assert.deepEqual((await stranger.expect()).packet, {
      op: 'ERROR',
      code: TftpErrorCode.UNKNOWN_TID,
      message: 'Unknown transfer ID',
    });
    stranger.send({ op: 'ERROR', code: 0, message: 'go away' }, d1.from.port);
    assert.equal(await stranger.next(200), null, 'an ERROR is never answered');
    assert.equal(await c.next(50), null, 'the real client saw nothing');
    c.send({ op: 'ACK', block: 1 }, d1.from.port);
    const d2 = await c.expect();
    assert.equal(d2.packet.op === 'DATA' && d2.packet.block, 2);
    assert.equal(server.stats().dropped.unknown_tid, 2);
  } finally {
    c.close();
    stranger.close();
  }
}
