/** An in-memory UdpSocket: records what a server sends, lets a test deliver datagrams. */
import type { Peer, UdpSocket } from '../../src/lib/udp.ts';

export interface Sent {
  bytes: Uint8Array;
  to: Peer;
}

export class FakeUdp implements UdpSocket {
  readonly sent: Sent[] = [];
  private handler: ((msg: Uint8Array, from: Peer) => void) | null = null;
  closed = false;
  constructor(readonly port: number) {}
  send(buf: Uint8Array, port: number, address: string): void {
    this.sent.push({ bytes: Uint8Array.from(buf), to: { address, port } });
  }
  onMessage(handler: (msg: Uint8Array, from: Peer) => void): void {
    this.handler = handler;
  }
  close(): void {
    this.closed = true;
  }
  deliver(msg: Uint8Array, from: Peer): void {
    this.handler?.(msg, from);
  }
  take(): Sent[] {
    return this.sent.splice(0);
  }
}
