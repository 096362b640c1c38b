/**
 * The DHCP socket's batch path: the native reader (native/dhcp_batch.c) drains a burst that
 * dgram would read 32 datagrams per event-loop turn, and the server sends the replies of one
 * batch with one sendMany. Real UDP sockets on loopback; skipped where the addon is not built.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { clientPacket } from '../../test/helpers/dhcp-packets.ts';
import { silentLogger } from '../lib/log.ts';
import { nativeDhcpBatch } from '../lib/native.ts';
import { mustIPv4 as ip } from '../lib/net.ts';
import { type OutDatagram, openUdp, type Peer, type UdpSocket } from '../lib/udp.ts';
import { memoryJournal } from './lease.ts';
import { decode, encode, messageType } from './packet.ts';
import { Pool } from './pool.ts';
import { DhcpServer } from './server.ts';

const built = nativeDhcpBatch() !== null;

function client(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  return new Promise((resolve) => c.bind(0, '127.0.0.1', () => resolve(c)));
}

describe('DHCP batch socket (native recvmmsg/sendmmsg)', {
  skip: !built && 'dhcp_batch addon not built',
}, () => {
  it('bursts of 100 datagrams arrive whole, in order, with their sender; sendMany answers each', async () => {
    const s = await openUdp({ port: 0, address: '127.0.0.1', batched: true });
    assert.equal(typeof s.sendMany, 'function');
    const c = await client();
    const got: { n: number; from: Peer }[] = [];
    const turns = new Set<number>();
    let turn = 0;
    let tick: NodeJS.Immediate;
    const next = (): void => {
      turn++; // one per event-loop iteration (the check phase)
      tick = setImmediate(next);
    };
    next();
    s.onMessage((msg, from) => {
      got.push({ n: Buffer.from(msg).readUInt32BE(0), from });
      turns.add(turn);
    });
    const N = 1000;
    const BURST = 100; // fits the kernel's default receive buffer (208 KiB) on loopback
    const replies: number[] = [];
    const done = new Promise<void>((resolve) =>
      c.on('message', (m) => {
        replies.push(m.readUInt32BE(0));
        if (replies.length === N) resolve();
      }),
    );
    for (let i = 0; i < N; i++) {
      const b = Buffer.alloc(300 + (i % 7)); // lengths not a multiple of 4: the records pad
      b.writeUInt32BE(i, 0);
      c.send(b, s.port, '127.0.0.1');
      if (i % BURST === BURST - 1) {
        const want = i + 1;
        for (let t = 0; got.length < want; t++) {
          assert.ok(t < 500, `only ${got.length} of ${want} datagrams arrived`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }
    clearImmediate(tick!);
    assert.deepEqual(
      got.map((g) => g.n),
      Array.from({ length: N }, (_, i) => i),
    );
    assert.deepEqual(got[0]!.from, { address: '127.0.0.1', port: c.address().port });
    // dgram reads 32 per turn: each burst would take >= 4 turns, 40 in all; one drain each here
    assert.ok(turns.size <= 2 * (N / BURST), `read in ${turns.size} event-loop turns`);
    const out: OutDatagram[] = got.map((g) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(g.n, 0);
      return { bytes: b, port: g.from.port, address: g.from.address };
    });
    for (let i = 0; i < N; i += 100) {
      s.sendMany!(out.slice(i, i + 100));
      await new Promise((r) => setTimeout(r, 5));
    }
    const late = setTimeout(() => assert.fail(`only ${replies.length} of ${N} replies arrived`), 10_000);
    await done;
    clearTimeout(late);
    assert.deepEqual(
      replies,
      Array.from({ length: N }, (_, i) => i),
    );
    s.close();
    c.close();
  });

  it('the server sends the OFFERs of one batch with one sendMany, in request order', () => {
    const sent: OutDatagram[][] = [];
    let handler: ((msg: Uint8Array, from: Peer) => void) | undefined;
    const socket: UdpSocket = {
      port: 67,
      send: () => assert.fail('a sendMany socket sends through sendMany'),
      sendMany: (msgs) => void sent.push([...msgs]),
      onMessage: (h) => {
        handler = h;
      },
      close: () => {},
    };
    const seed = ip('10.1.0.1');
    new DhcpServer({
      mode: 'authoritative',
      serverId: seed,
      socket,
      pool: new Pool({
        start: ip('10.1.0.100'),
        end: ip('10.1.0.199'),
        reservations: new Map(),
        journal: memoryJournal(),
        now: Date.now,
      }),
      subnetMask: ip('255.255.255.0'),
      leaseSeconds: 600,
      boot: () => null,
      logger: silentLogger,
    });
    const from = { address: '0.0.0.0', port: 68 };
    for (let i = 0; i < 5; i++) {
      const mac = `52:54:00:aa:00:0${i}`;
      handler!(encode(clientPacket({ mac, type: 'DISCOVER', xid: i })), from);
    }
    assert.equal(sent.length, 0, 'replies wait for the end of the batch');
    return new Promise<void>((resolve) =>
      queueMicrotask(() => {
        assert.equal(sent.length, 1);
        const offers = sent[0]!.map((m) => decode(m.bytes));
        assert.deepEqual(
          offers.map((p) => messageType(p)),
          ['OFFER', 'OFFER', 'OFFER', 'OFFER', 'OFFER'],
        );
        assert.deepEqual(
          offers.map((p) => p.xid),
          [0, 1, 2, 3, 4],
        );
        resolve();
      }),
    );
  });
});
