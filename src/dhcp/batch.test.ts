/**
 * The DHCP socket's batch path: the native reader (native/dhcp_batch.c) drains a burst that
 * dgram would read 32 datagrams per event-loop turn, and the server sends the replies of one
 * batch with one sendMany. Real UDP sockets on loopback; skipped where the addon is not built.
 * A datagram longer than the reader reads whole is dropped and counted on both read paths.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { clientPacket } from '../../test/helpers/dhcp-packets.ts';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import { silentLogger } from '../lib/log.ts';
import { nativeDhcpBatch } from '../lib/native.ts';
import { mustIPv4 as ip } from '../lib/net.ts';
import { BATCH_DATAGRAM_MAX, type OutDatagram, openUdp, type Peer, type UdpSocket } from '../lib/udp.ts';
import { createMetrics } from '../metrics.ts';
import { memoryJournal } from './lease.ts';
import { type DhcpPacket, decode, encode, messageType } from './packet.ts';
import { Pool } from './pool.ts';
import { DhcpServer } from './server.ts';

const built = nativeDhcpBatch() !== null;

function client(): Promise<dgram.Socket> {
  const c = dgram.createSocket('udp4');
  return new Promise((resolve) => c.bind(0, '127.0.0.1', () => resolve(c)));
}

/** An authoritative server on `socket` with a fresh pool of 100 addresses. */
function testServer(socket: UdpSocket, serverId: number): DhcpServer {
  return new DhcpServer({
    mode: 'authoritative',
    serverId,
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
}

/** Waits until `done` holds, polling every 10 ms (loopback delivery is asynchronous). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let t = 0; !done(); t++) {
    assert.ok(t < 500, `no ${what} within 5 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
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
    testServer(socket, ip('10.1.0.1'));
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

for (const batched of [true, false])
  describe(`a datagram longer than ${BATCH_DATAGRAM_MAX} bytes on the DHCP socket (${batched ? 'native batch reader' : 'dgram'})`, {
    skip: batched && !built && 'dhcp_batch addon not built',
  }, () => {
    it('is dropped and counted as oversize, in the stats and /metrics; the next DISCOVER is answered', async () => {
      const socket = await openUdp({ port: 0, address: '127.0.0.1', batched });
      assert.equal(typeof socket.sendMany === 'function', batched, 'the read path under test');
      const loopback = ip('127.0.0.1');
      const server = testServer(socket, loopback);
      const reported: number[] = []; // what the socket itself says it could not read whole
      socket.onOversize?.((_from, bytes) => reported.push(bytes));
      const { p } = await testProvisioner();
      const { registry } = createMetrics({ provisioner: p, dhcp: server });
      const c = await client();
      const replies: DhcpPacket[] = [];
      c.on('message', (m) => replies.push(decode(m)));
      // with ciaddr set the OFFER goes to ciaddr and the request's port (reply.ts): this client
      const discover = (mac: string, xid: number): Uint8Array =>
        encode(clientPacket({ mac, type: 'DISCOVER', xid, ciaddr: loopback }));
      // A DISCOVER that decodes (zeros after its END option) but is 3000 bytes long: read whole,
      // as dgram reads it, the server would answer it; the batch reader cannot read it whole.
      const big = Buffer.alloc(3000);
      big.set(discover('52:54:00:cc:00:01', 1));
      c.send(big, socket.port, '127.0.0.1');
      c.send(discover('52:54:00:cc:00:02', 2), socket.port, '127.0.0.1');
      try {
        await until(() => replies.length > 0, 'OFFER');
        await new Promise((r) => setTimeout(r, 50)); // a reply to the long one would be here by now
        assert.deepEqual(
          replies.map((r) => [messageType(r), r.xid]),
          [['OFFER', 2]],
        );
        assert.deepEqual(server.stats.dropped, { oversize: 1 });
        // the batch reader reports the datagram's real length (MSG_TRUNC); dgram reads it whole
        assert.deepEqual(reported, batched ? [3000] : []);
        assert.deepEqual(server.stats.received, { DISCOVER: 1 });
        assert.match(await registry.metrics(), /^metalseed_dhcp_dropped_total\{reason="oversize"\} 1$/m);
      } finally {
        server.close();
        c.close();
      }
    });

    if (batched)
      it('the reader reads BATCH_DATAGRAM_MAX bytes whole (its exported slot)', () => {
        assert.equal(nativeDhcpBatch()!.slot, BATCH_DATAGRAM_MAX);
      });
  });
