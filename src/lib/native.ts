/**
 * The native addon (native/sockopt.c, built by `npm install` through node-gyp): socket options
 * Node's dgram lacks. Loaded lazily; callers get an actionable error when it was not built.
 */
import { createRequire } from 'node:module';
import { MetalseedError } from './errors.ts';

export interface Native {
  bindToDevice(fd: number, ifname: string): void;
  sendIcmp6Multicast(ifname: string, group: string, payload: Uint8Array): void;
  /** UDP_SEGMENT (udp(7)); optional: an addon built by an older checkout lacks it. */
  setUdpSegment?(fd: number, size: number): void;
  /** sendfile(2) driven by the socket's writability (src/http/zero-copy.ts); optional too. */
  sendFileAsync?(
    outFd: number,
    inFd: number,
    offset: number,
    count: number,
    done: (err: string | null, sent: number, waits: number) => void,
  ): number;
  sendFileCancel?(id: number): void;
}

const loaded = new Map<string, unknown>();

/**
 * The addon build/Release/NAME.node, loaded once; null when it was not built. The path is
 * relative to this file in the sources (src/lib) and in a tsc output (dist/src/lib).
 */
function addon<T>(name: string): T | null {
  if (!loaded.has(name)) {
    const require = createRequire(import.meta.url);
    let found: unknown = null;
    for (const dir of ['../../build/Release', '../../../build/Release']) {
      try {
        found = require(`${dir}/${name}.node`);
        break;
      } catch {}
    }
    loaded.set(name, found);
  }
  return loaded.get(name) as T | null;
}

export function native(): Native {
  const n = addon<Native>('sockopt');
  if (!n) {
    throw new MetalseedError(
      'INTERFACE',
      'the native addon build/Release/sockopt.node is missing (needed to bind DHCP to an interface)',
      'run `npm install` in the metalseed directory (it builds the addon with node-gyp)',
    );
  }
  return n;
}

/**
 * The TFTP data pump (native/tftp_pump.c, its own addon build/Release/tftp_pump.node): one
 * native thread runs the DATA/ACK phase of TFTP read transfers. See src/tftp/pump.ts.
 */
export interface NativeTftpPump {
  start(
    onEnd: (
      id: number,
      outcome: 'done' | 'aborted' | 'timeout' | 'error',
      ackedBlocks: number,
      reason: string | undefined,
      afterOack: boolean,
      retransmits: number,
      stale: number,
      unknownTid: number,
      malformed: number,
      unexpected: number,
      ms: number,
    ) => void,
  ): void;
  transfer(
    id: number,
    bindAddress: string | null,
    device: string | null,
    peerAddress: string,
    peerPort: number,
    data: Uint8Array | null,
    fd: number,
    size: number,
    blksize: number,
    windowsize: number,
    timeoutMs: number,
    maxTimeoutMs: number,
    maxRetries: number,
    first: Uint8Array | null,
    state: Int32Array,
  ): number;
  abort(id: number, message: string): void;
  active(): number;
}

/** The TFTP pump addon, or null when it was not built (callers then keep transfers in JS). */
export function nativeTftpPump(): NativeTftpPump | null {
  return addon<NativeTftpPump>('tftp_pump');
}

/**
 * DHCP socket batching (native/dhcp_batch.c, its own addon build/Release/dhcp_batch.node):
 * the listener drained with recvmmsg on every readable event, one call per chunk of
 * datagrams, and replies sent with sendmmsg. See src/lib/udp.ts `batched`.
 */
export interface NativeDhcpBatch {
  /**
   * The longest datagram a received record carries (SLOT); a record whose length exceeds it
   * stands for a longer datagram: the length is the datagram's and no bytes follow. Equal to
   * BATCH_DATAGRAM_MAX (udp.ts), which the reader compares with; batch.test.ts checks both agree.
   */
  readonly slot: number;
  /** Records: u32 address (network order), u16 port (network order), u16 length, bytes padded to 4. */
  start(fd: number, onBatch: (records: Buffer, count: number) => void): number;
  stop(id: number): void;
  /**
   * Sends `count` records (same layout); returns how many left (fewer when the socket is full,
   * or an error stopped it after some left). Throws when the first one fails otherwise.
   */
  sendMany(fd: number, records: Uint8Array, count: number): number;
}

/** The DHCP batching addon, or null when it was not built (callers then use dgram as before). */
export function nativeDhcpBatch(): NativeDhcpBatch | null {
  return addon<NativeDhcpBatch>('dhcp_batch');
}
