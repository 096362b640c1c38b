/**
 * The UDP seam used by the DHCP and TFTP servers. Servers receive a `UdpSocket` (or a
 * `UdpFactory` when they open per-transfer sockets, as TFTP does for its TIDs, RFC 1350
 * section 4) so tests can run them over loopback or fakes; only `main.ts` opens real ones.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIPv4 } from 'node:net';
import { MetalseedError } from './errors.ts';
import { type NativeDhcpBatch, native, nativeDhcpBatch } from './native.ts';
import { ipToString, parseIPv4 } from './net.ts';

export interface Peer {
  address: string;
  port: number;
}

export interface UdpSocket {
  readonly port: number;
  send(buf: Uint8Array, port: number, address: string): void;
  onMessage(handler: (msg: Uint8Array, from: Peer) => void): void;
  close(): void;
  /**
   * UDP segmentation offload (native setUdpSegment): from now on a send longer than `bytes`
   * leaves as datagrams of `bytes` each. False when the kernel or the addon cannot; absent on
   * fakes. Callers then send one datagram per call, as before.
   */
  setSegmentSize?(bytes: number): boolean;
  /**
   * Several datagrams in one system call (sendmmsg, socket opened with `batched` and the
   * native addon built); absent otherwise: callers then call `send` for each.
   */
  sendMany?(msgs: readonly OutDatagram[]): void;
  /**
   * Datagrams the socket could not read whole (longer than BATCH_DATAGRAM_MAX, on a socket
   * read by the native batch reader): never given to `onMessage`, reported here with their
   * length, so that dropping them is counted like any other bad packet. Absent on sockets
   * that read every datagram whole.
   */
  onOversize?(handler: (from: Peer, bytes: number) => void): void;
}

export interface OutDatagram {
  bytes: Uint8Array;
  port: number;
  address: string;
}

export interface UdpOptions {
  port: number;
  /** Local address; default 0.0.0.0 (needed to receive broadcasts, RFC 2131 section 4.1). */
  address?: string;
  /** SO_BINDTODEVICE: receive from and send through this interface only. */
  device?: string;
  broadcast?: boolean;
  reuseAddr?: boolean;
  /**
   * SO_RCVBUF in bytes; default LISTENER_RECV_BUFFER for a fixed port, the kernel's default for
   * an ephemeral one. The kernel caps it at net.core.rmem_max (socket(7)).
   */
  recvBufferSize?: number;
  /**
   * Read with the native batch reader (native/dhcp_batch.c) when it is built: the socket is
   * drained on every readable event instead of 32 datagrams per event-loop turn, and
   * `sendMany` sends with sendmmsg; datagrams longer than BATCH_DATAGRAM_MAX go to
   * `onOversize`. Without the addon the socket works as without this flag.
   */
  batched?: boolean;
}

/**
 * The longest datagram the native batch reader reads whole (its SLOT, exported as `slot`).
 * A DHCP message needs 576 bytes (RFC 2131 section 2) and fits one Ethernet frame (1500).
 */
export const BATCH_DATAGRAM_MAX = 2048;

/**
 * Receive buffer of a listener (DHCP 67, TFTP 69). A boot storm powers racks on together:
 * thousands of DISCOVERs and RRQs arrive within milliseconds, and the kernel's default buffer
 * (208 KiB, ~250 DHCP datagrams at their 768-byte truesize) drops the rest, which the
 * firmware retries only after 4 s (PXE 2.1 section 2.2.1). 4 MiB holds ~5,000.
 */
export const LISTENER_RECV_BUFFER = 4 << 20;

export type UdpFactory = (opts: UdpOptions) => Promise<UdpSocket>;

/**
 * dgram resolves every destination through dns.lookup, which for an address literal still
 * costs a check and a deferred callback per datagram (a TFTP transfer sends one per block).
 * Servers here only send to addresses, so literals are answered at once; names still resolve.
 */
const literalLookup = ((
  host: string,
  opts: unknown,
  cb: (err: Error | null, a: string, f: number) => void,
) => {
  if (isIPv4(host)) cb(null, host, 4);
  else dns.lookup(host, opts as dns.LookupOptions, cb as never);
}) as unknown as typeof dns.lookup;

interface DgramHandle {
  fd?: number;
  recvStop?: () => number;
}

/** Node's UDP handle, kept on an internal symbol; there is no public accessor (Node 20). */
function dgramHandle(sock: dgram.Socket): DgramHandle | undefined {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    const h = (sock as unknown as Record<symbol, { handle?: DgramHandle } | undefined>)[sym]?.handle;
    if (h && typeof h.fd === 'number') return h;
  }
  return undefined;
}

function socketFd(sock: dgram.Socket): number {
  const fd = dgramHandle(sock)?.fd;
  if (fd === undefined || fd < 0) {
    throw new MetalseedError('INTERFACE', 'cannot find the file descriptor of a dgram socket');
  }
  return fd;
}

export const openUdp: UdpFactory = (opts) =>
  new Promise((resolve, reject) => {
    const recvBufferSize = opts.recvBufferSize ?? (opts.port !== 0 ? LISTENER_RECV_BUFFER : undefined);
    const sock = dgram.createSocket({
      type: 'udp4',
      reuseAddr: opts.reuseAddr ?? false,
      ...(recvBufferSize !== undefined ? { recvBufferSize } : {}),
      lookup: literalLookup,
    });
    const fail = (err: Error): void => {
      sock.close();
      reject(
        new MetalseedError(
          'INTERFACE',
          `cannot bind UDP ${opts.address ?? '0.0.0.0'}:${opts.port}${opts.device ? ` on ${opts.device}` : ''}: ${err.message}`,
          'is another DHCP/TFTP server (dnsmasq, tftpd) running, or are you not root?',
          err, // its errno code (EMFILE, EADDRINUSE...) for callers that decide on it
        ),
      );
    };
    sock.once('error', fail);
    sock.bind({ port: opts.port, address: opts.address ?? '0.0.0.0', exclusive: true }, () => {
      sock.off('error', fail);
      try {
        if (opts.device) native().bindToDevice(socketFd(sock), opts.device);
        if (opts.broadcast) sock.setBroadcast(true);
      } catch (err) {
        sock.close();
        reject(
          err instanceof MetalseedError
            ? err
            : new MetalseedError(
                'INTERFACE',
                `cannot bind to interface ${opts.device}: ${(err as Error).message}`,
              ),
        );
        return;
      }
      sock.on('error', () => {}); // send errors (EHOSTUNREACH...) are per-packet; never fatal
      const addon = opts.batched ? nativeDhcpBatch() : null;
      resolve(addon ? batchedSocket(sock, wrap(sock), addon) : wrap(sock));
    });
  });

function wrap(sock: dgram.Socket): UdpSocket {
  let segment = 0; // > 0: sends longer than this are cut into datagrams of this size
  let byKernel = false;
  /** Cuts one long send into its datagrams here: the kernel refused (EIO, no checksum offload). */
  const split = (buf: Uint8Array, port: number, address: string): void => {
    for (let at = 0; at < buf.length; at += segment) sock.send(buf.subarray(at, at + segment), port, address);
  };
  return {
    port: sock.address().port,
    send: (buf, port, address) => {
      if (segment === 0 || buf.length <= segment) sock.send(buf, port, address);
      else if (!byKernel) split(buf, port, address);
      else
        sock.send(buf, port, address, (err) => {
          if (!err) return;
          byKernel = false;
          try {
            native().setUdpSegment?.(socketFd(sock), 0);
          } catch {}
          split(buf, port, address);
        });
    },
    onMessage: (handler) =>
      sock.on('message', (msg, r) => handler(msg, { address: r.address, port: r.port })),
    setSegmentSize: (bytes) => {
      try {
        const set = native().setUdpSegment;
        if (!set) return false; // an addon built before setUdpSegment existed
        set(socketFd(sock), bytes);
      } catch {
        return false;
      }
      segment = bytes;
      byKernel = true;
      return true;
    },
    close: () => {
      try {
        sock.close();
      } catch {}
    },
  };
}

const RECORD_HEADER = 8; // u32 address, u16 port, u16 length (native/dhcp_batch.c)

/**
 * A socket read by the native batch reader: dgram stops reading (recvStop) and the addon
 * drains the descriptor with recvmmsg on each readable event; sends are unchanged, plus
 * `sendMany` (sendmmsg). When Node's handle cannot be found the plain socket is returned.
 */
function batchedSocket(sock: dgram.Socket, plain: UdpSocket, addon: NativeDhcpBatch): UdpSocket {
  const handle = dgramHandle(sock);
  const recvStop = handle?.recvStop?.bind(handle);
  const fd = handle?.fd ?? -1;
  if (!recvStop || fd < 0) return plain;
  const handlers: ((msg: Uint8Array, from: Peer) => void)[] = [];
  const oversize: ((from: Peer, bytes: number) => void)[] = [];
  const names = new Map<number, string>(); // address → dotted string, for the few peers a listener has
  let reader = 0;
  const onBatch = (buf: Buffer, count: number): void => {
    let at = 0;
    for (let i = 0; i < count; i++) {
      const ip = buf.readUInt32BE(at);
      const port = buf.readUInt16BE(at + 4);
      const len = buf.readUInt16BE(at + 6);
      const carried = len > BATCH_DATAGRAM_MAX ? 0 : len; // longer: the header alone (MSG_TRUNC)
      const msg = buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + carried);
      at += RECORD_HEADER + ((carried + 3) & ~3);
      let address = names.get(ip);
      if (address === undefined) {
        address = ipToString(ip);
        if (names.size >= 4096) names.clear();
        names.set(ip, address);
      }
      const from = { address, port };
      if (carried < len) for (const h of oversize) h(from, len);
      else for (const h of handlers) h(msg, from);
    }
  };
  return {
    ...plain,
    onMessage: (handler) => {
      handlers.push(handler);
      if (reader !== 0) return;
      recvStop();
      reader = addon.start(fd, onBatch);
    },
    onOversize: (handler) => {
      oversize.push(handler);
    },
    sendMany: (msgs) => {
      let size = 0;
      for (const m of msgs) size += RECORD_HEADER + ((m.bytes.length + 3) & ~3);
      const out = Buffer.alloc(size);
      let at = 0;
      let packed = 0;
      const ips = msgs.map((m) => parseIPv4(m.address)); // null: a name, sent through dgram
      for (const [i, m] of msgs.entries()) {
        const ip = ips[i];
        if (ip == null) continue;
        packed++;
        out.writeUInt32BE(ip, at);
        out.writeUInt16BE(m.port, at + 4);
        out.writeUInt16BE(m.bytes.length, at + 6);
        out.set(m.bytes, at + RECORD_HEADER);
        at += RECORD_HEADER + ((m.bytes.length + 3) & ~3);
      }
      let sent = 0;
      try {
        sent = addon.sendMany(fd, out.subarray(0, at), packed);
      } catch {} // a socket error: the rest go through dgram, which reports nothing either
      // what sendmmsg did not take (socket full, or not an address literal) goes through dgram
      let k = 0;
      for (const [i, m] of msgs.entries()) {
        if (ips[i] != null && k++ < sent) continue;
        plain.send(m.bytes, m.port, m.address);
      }
    },
    close: () => {
      if (reader !== 0) addon.stop(reader);
      reader = 0;
      plain.close();
    },
  };
}
