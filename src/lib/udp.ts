/**
 * The UDP seam used by the DHCP and TFTP servers. Servers receive a `UdpSocket` (or a
 * `UdpFactory` when they open per-transfer sockets, as TFTP does for its TIDs, RFC 1350
 * section 4) so tests can run them over loopback or fakes; only `main.ts` opens real ones.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIPv4 } from 'node:net';
import { MetalseedError } from './errors.ts';
import { native } from './native.ts';

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
}

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

/** Node keeps the descriptor on an internal handle; there is no public accessor (Node 20). */
function socketFd(sock: dgram.Socket): number {
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    const state = (sock as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym];
    const fd = state?.handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  throw new MetalseedError('INTERFACE', 'cannot find the file descriptor of a dgram socket');
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
      resolve(wrap(sock));
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
