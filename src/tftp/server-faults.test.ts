import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { openUdp } from '../lib/udp.ts';
import { type FileSource, memoryFileSource } from './files.ts';
import { type Packet, TftpErrorCode } from './packet.ts';
import { createTftpServer } from './server.ts';
import {
  type Received,
  startTestServer,
  strangerGetsError5,
  TestPeer,
  type TestServer,
  tftpGet,
  waitFor,
} from './testing.ts';

const FILE = randomBytes(20_000);
const FILES = { 'ipxe.efi': FILE };
const rrq = (options: Record<string, string> = {}): Packet => ({
  op: 'RRQ',
  filename: 'ipxe.efi',
  mode: 'octet',
  options: new Map(Object.entries(options)),
});
const blockOf = (r: Received | null): number | null => (r?.packet.op === 'DATA' ? r.packet.block : null);

describe('tftp server under faults', () => {
  let t: TestServer;
  const peers: TestPeer[] = [];
  const peer = async (): Promise<TestPeer> => {
    const p = await TestPeer.open();
    peers.push(p);
    return p;
  };
  afterEach(() => {
    t.close();
    for (const p of peers.splice(0)) p.close();
  });

  it('retransmits from the last acknowledged block when ACKs are lost', async () => {
    t = await startTestServer(FILES, { timeoutMs: 30 });
    const lost = new Set<number>();
    const loseAck = (block: number): boolean => {
      if ([0, 4, 8].includes(block) && !lost.has(block)) return lost.add(block) && true;
      return false;
    };
    const r = await tftpGet(t.port, 'ipxe.efi', { options: { windowsize: '4' }, loseAck, waitMs: 2000 });
    assert.deepEqual(r.data, FILE);
    assert.ok(r.duplicates > 0, 'the server resent a window');
    await waitFor(() => t.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'done');
    assert.ok((t.events[0]?.retransmits ?? 0) >= 3, `retransmits ${t.events[0]?.retransmits}`);
  });

  it('ignores duplicate ACKs instead of resending (no Sorcerer’s Apprentice)', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    assert.equal(blockOf(d1), 1);
    for (let i = 0; i < 3; i++) c.send({ op: 'ACK', block: 1 }, d1.from.port);
    assert.equal(blockOf(await c.expect()), 2);
    assert.equal(await c.next(200), null, 'DATA 2 is sent exactly once');
    assert.equal(t.server.stats().dropped.stale_ack, 2);
  });

  it('answers a stranger with ERROR 5 and carries on', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    await strangerGetsError5(t.port, t.server);
  });

  it('treats the UEFI abort after OACK as normal and quiet', async () => {
    t = await startTestServer(FILES);
    const c = await peer();
    c.send(rrq({ tsize: '0', blksize: '1468', windowsize: '4' }), t.port);
    const oack = await c.expect();
    assert.equal(oack.packet.op, 'OACK');
    c.send({ op: 'ERROR', code: TftpErrorCode.OPTION_REFUSED, message: 'User aborted' }, oack.from.port);
    const r = await tftpGet(t.port, 'ipxe.efi', { options: { blksize: '1468', windowsize: '4' } });
    assert.deepEqual(r.data, FILE);
    await waitFor(() => t.events.length === 2);
    assert.deepEqual(
      t.events.map((e) => e.outcome),
      ['aborted', 'done'],
    );
    assert.equal(t.events[0]?.reason, 'aborted_after_oack (client sent OPTION_REFUSED: User aborted)');
    const s = t.server.stats();
    assert.deepEqual(s.transfers, { ok: 1, failed: 0, aborted_after_oack: 1 });
    const loud = t.records.filter((x) => x.level !== 'debug' && x['event'] !== 'tftp.done');
    assert.deepEqual(loud, [], 'nothing above debug but the done event');
    assert.ok(t.records.some((x) => x['event'] === 'tftp.aborted_after_oack' && x.level === 'debug'));
  });

  it('drops a retransmitted RRQ while the first transfer waits for its client', async () => {
    t = await startTestServer(FILES, { timeoutMs: 300 });
    const c = await peer();
    c.send(rrq({ blksize: '1468' }), t.port);
    const oack = await c.expect();
    c.send(rrq({ blksize: '1468' }), t.port);
    const again = await c.expect();
    assert.equal(again.packet.op, 'OACK', 'the first transfer retransmits its OACK');
    assert.equal(again.from.port, oack.from.port, 'from the same TID, no second transfer');
    assert.equal(t.server.stats().dropped.duplicate_request, 1);
    c.send({ op: 'ACK', block: 0 }, oack.from.port);
    assert.equal(blockOf(await c.expect()), 1);
    c.send(rrq({ blksize: '1468' }), t.port); // after an answer, the same RRQ is a restart
    const restart = await c.expect();
    assert.equal(restart.packet.op, 'OACK');
    assert.notEqual(restart.from.port, oack.from.port);
  });

  it('serves an identical RRQ handled just before its ERROR to the first transfer', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq({ tsize: '0' }), t.port);
    const oack = await c.expect();
    // Worst order, same tick: the new RRQ is handled before the ERROR to the first TID.
    const me = { address: '127.0.0.1', port: c.socket.port };
    t.inject.listener(rrq({ tsize: '0' }), me);
    t.inject.transfer(oack.from.port, { op: 'ERROR', code: 0, message: 'User aborted' }, me);
    const second = await c.expect(1000);
    assert.equal(second.packet.op, 'OACK');
    assert.notEqual(second.from.port, oack.from.port);
    assert.equal(t.server.stats().dropped.duplicate_request, 0);
  });

  it('counts a client error during the data phase as a failure', async () => {
    t = await startTestServer(FILES);
    const c = await peer();
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    c.send({ op: 'ERROR', code: 3, message: 'Disk full' }, d1.from.port);
    await waitFor(() => t.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'aborted');
    assert.match(t.events[0]?.reason ?? '', /DISK_FULL: Disk full/);
    assert.equal(t.server.stats().transfers.failed, 1);
  });

  it('backs off exponentially and gives up after the retry limit', async () => {
    t = await startTestServer(FILES, { timeoutMs: 40, maxRetries: 2 });
    const c = await peer();
    c.send(rrq(), t.port);
    const at: number[] = [];
    for (let r = await c.next(500); r; r = await c.next(500)) {
      assert.equal(blockOf(r), 1);
      at.push(performance.now());
    }
    assert.equal(at.length, 3, 'first send and two retransmissions');
    assert.ok(at[2]! - at[1]! > at[1]! - at[0]! + 15, `gaps grow: ${at.map((x) => Math.round(x - at[0]!))}`);
    await waitFor(() => t.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'timeout');
    assert.equal(t.server.stats().transfers.failed, 1);
  });

  it('drops malformed and unexpected packets on both sockets', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    for (let i = 0; i < 300; i++) {
      const junk = randomBytes(1 + (i % 40));
      junk[0] = 0;
      junk[1] = 7 + (i % 200); // no such opcode: malformed whichever socket it reaches
      c.send(junk, t.port);
      c.send(junk, d1.from.port);
      // Paced: a burst of hundreds of datagrams overflows loopback socket buffers.
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    c.send({ op: 'DATA', block: 1, data: new Uint8Array(4) }, t.port);
    c.send({ op: 'DATA', block: 1, data: new Uint8Array(4) }, d1.from.port);
    await waitFor(
      () => t.server.stats().dropped.malformed === 600 && t.server.stats().dropped.unexpected_opcode === 2,
    );
    c.send({ op: 'ACK', block: 1 }, d1.from.port);
    assert.equal(blockOf(await c.expect()), 2);
    assert.equal(t.server.stats().requests, 1);
    assert.ok(t.records.filter((x) => x['event'] === 'tftp.drop').every((x) => x.level === 'debug'));
  });

  it('drops a request as busy when the host is out of descriptors, and refuses on other socket errors', async () => {
    const socket = await openUdp({ port: 0, address: '127.0.0.1' });
    let code = 'EMFILE';
    const server = createTftpServer({
      socket,
      openTransferSocket: async () => {
        // what openUdp throws: the errno error as the cause of an INTERFACE error
        const errno = Object.assign(new Error(`socket: ${code}`), { code });
        throw new MetalseedError('INTERFACE', `cannot bind UDP 0.0.0.0:0: socket: ${code}`, undefined, errno);
      },
      transferPump: false,
      files: memoryFileSource(FILES),
    });
    try {
      const c = await peer();
      c.send(rrq(), socket.port);
      assert.equal(await c.next(300), null, 'no ERROR: the client retransmits later');
      assert.equal(server.stats().dropped.busy, 1);
      code = 'EACCES';
      c.send(rrq(), socket.port);
      assert.deepEqual((await c.expect()).packet, { op: 'ERROR', code: 0, message: 'Server error' });
    } finally {
      server.close();
    }
  });

  it('drops requests beyond the transfer limit', async () => {
    t = await startTestServer(FILES, { maxTransfers: 1, timeoutMs: 5000 });
    const a = await peer();
    const b = await peer();
    a.send(rrq(), t.port);
    await a.expect();
    b.send(rrq(), t.port);
    assert.equal(await b.next(200), null);
    assert.equal(t.server.stats().dropped.busy, 1);
  });

  it('drops new requests while the event loop runs late, and serves them once it catches up', async () => {
    t = await startTestServer(FILES, { maxLoopDelayMs: 50, minTransfers: 0, timeoutMs: 5000 });
    const a = await peer();
    a.send(rrq(), t.port);
    const end = performance.now() + 300;
    while (performance.now() < end); // this turn runs 300 ms: the loop is late
    assert.equal(await a.next(200), null, 'dropped while late');
    assert.equal(t.server.stats().dropped.busy, 1);
    await new Promise((r) => setTimeout(r, 100)); // the probe ticks on time again
    a.send(rrq(), t.port);
    assert.equal((await a.expect()).packet.op, 'DATA');
  });

  it('fails a transfer whose file cannot be read, and refuses one that cannot be opened', async () => {
    const files: FileSource = {
      open: async (name) => {
        if (name === 'broken') throw new Error('EIO');
        return { size: 10, read: () => Promise.reject(new Error('EIO')), close: async () => {} };
      },
    };
    t = await startTestServer(files);
    const c = await peer();
    c.send({ ...rrq(), filename: 'unreadable' } as Packet, t.port);
    assert.deepEqual((await c.expect()).packet, { op: 'ERROR', code: 0, message: 'read error' });
    c.send({ ...rrq(), filename: 'broken' } as Packet, t.port);
    assert.deepEqual((await c.expect()).packet, { op: 'ERROR', code: 0, message: 'Cannot read file' });
    await waitFor(() => t.events.length === 2);
    assert.deepEqual(
      t.events.map((e) => [e.outcome, e.reason?.split(':')[0]]),
      [
        ['error', 'read failed'],
        ['error', 'read_error'],
      ],
    );
    assert.equal(t.server.stats().refused.read_error, 1);
    assert.equal(t.server.stats().transfers.failed, 1);
  });

  it('aborts running transfers on close and stops listening', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    await c.expect();
    t.close();
    assert.deepEqual((await c.expect()).packet, { op: 'ERROR', code: 0, message: 'server shutting down' });
    c.send(rrq(), t.port);
    assert.equal(await c.next(200), null);
    assert.equal(t.events[0]?.outcome, 'error');
  });
});
