/**
 * The native data pump (native/tftp_pump.c) over loopback, driven by a raw dgram client so
 * every packet is visible: windows and their restart, stale ACKs, foreign TIDs, client
 * ERRORs, the UEFI OACK decline, timeouts, shutdown, descriptor-backed files, block
 * roll-over, and a process that must exit while the pump thread exists.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { type LogRecord, recordingLogger } from '../lib/log.ts';
import { nativeTftpPump } from '../lib/native.ts';
import { openUdp } from '../lib/udp.ts';
import { type FileSource, memoryFileSource, rootFileSource } from './files.ts';
import { type Packet, TftpErrorCode } from './packet.ts';
import { createTftpServer, type TftpLimits, type TftpServer } from './server.ts';
import { type Received, strangerGetsError5, TestPeer, tftpGet, waitFor } from './testing.ts';
import type { TransferEvent } from './transfer.ts';

const skip =
  nativeTftpPump() === null || process.env.METALSEED_TFTP_PUMP === '0'
    ? 'build/Release/tftp_pump.node is not built (npm install)'
    : false;

const FILE = randomBytes(20_000);
const rrq = (options: Record<string, string> = {}, filename = 'ipxe.efi'): Packet => ({
  op: 'RRQ',
  filename,
  mode: 'octet',
  options: new Map(Object.entries(options)),
});
const blockOf = (r: Received | null): number | null => (r?.packet.op === 'DATA' ? r.packet.block : null);

interface PumpServer {
  server: TftpServer;
  port: number;
  events: TransferEvent[];
  records: LogRecord[];
}

/** A server whose transfer sockets are real (`openUdp`), which is what selects the pump. */
async function startPumpServer(files: FileSource, limits: Partial<TftpLimits> = {}): Promise<PumpServer> {
  const socket = await openUdp({ port: 0, address: '127.0.0.1' });
  const events: TransferEvent[] = [];
  const records: LogRecord[] = [];
  const server = createTftpServer({
    socket,
    openTransferSocket: async () => {
      throw new Error('a pumped transfer opens no dgram socket');
    },
    transferPump: true,
    transferSocket: { address: '127.0.0.1' },
    files,
    limits,
    logger: recordingLogger(records),
    onTransfer: (ev) => events.push(ev),
  });
  return { server, port: socket.port, events, records };
}

/** Runs `script` as an ES module in a child Node (tsx); its exit code (null: killed after 15 s) and stdout. */
async function runModule(script: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, 15_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, out };
}

describe('tftp native pump', { skip }, () => {
  let t: PumpServer | undefined;
  const peers: TestPeer[] = [];
  const peer = async (): Promise<TestPeer> => {
    const p = await TestPeer.open();
    peers.push(p);
    return p;
  };
  const files = memoryFileSource({ 'ipxe.efi': FILE });
  /** Runs `fn` with a fresh directory, then closes the server it started and removes the directory. */
  const inTempDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
    const dir = await mkdtemp(join(tmpdir(), 'metalseed-pump-'));
    try {
      await fn(dir);
    } finally {
      t?.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
  afterEach(() => {
    t?.server.close();
    t = undefined;
    for (const p of peers.splice(0)) p.close();
  });

  it('serves lock-step and windowed transfers byte for byte', async () => {
    t = await startPumpServer(files);
    for (const options of [
      {},
      { blksize: '1468' },
      { blksize: '1468', windowsize: '8' },
      { windowsize: '64' },
    ]) {
      const r = await tftpGet(t.port, 'ipxe.efi', { options });
      assert.deepEqual(r.data, FILE, JSON.stringify(options));
      assert.equal(r.duplicates, 0);
    }
    await waitFor(() => t!.events.length === 4);
    assert.deepEqual(
      t.events.map((e) => [e.outcome, e.bytes, e.blksize, e.windowsize]),
      [
        ['done', 20_000, 512, 1],
        ['done', 20_000, 1468, 1],
        ['done', 20_000, 1468, 8],
        ['done', 20_000, 512, 64],
      ],
    );
    const s = t.server.stats();
    assert.equal(s.transfers.ok, 4);
    assert.equal(s.bytes, 80_000);
    assert.equal(s.active, 0);
  });

  it('admits requests while the event loop runs late: pumped transfers do not load the loop', async () => {
    // the same limits under which a loop transfer would be dropped (server-faults.test.ts)
    t = await startPumpServer(files, { maxLoopDelayMs: 50, minTransfers: 1, timeoutMs: 5000 });
    const a = await peer();
    const b = await peer();
    a.send(rrq(), t.port);
    assert.equal(blockOf(await a.expect()), 1);
    const end = performance.now() + 300;
    while (performance.now() < end); // this turn runs 300 ms: the loop is late
    b.send(rrq(), t.port);
    assert.equal(blockOf(await b.expect()), 1, 'served although the loop was late');
    assert.equal(t.server.stats().dropped.busy, 0);
  });

  it('restarts the window after an ACK for an earlier block (RFC 7440 section 4)', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq({ windowsize: '4' }), t.port);
    const oack = await c.expect();
    assert.equal(oack.packet.op, 'OACK');
    c.send({ op: 'ACK', block: 0 }, oack.from.port);
    assert.deepEqual((await c.expectMany(4)).map(blockOf), [1, 2, 3, 4]);
    // block 3 was "lost": the client acknowledges 2, the window restarts at 3
    c.send({ op: 'ACK', block: 2 }, oack.from.port);
    assert.deepEqual((await c.expectMany(4)).map(blockOf), [3, 4, 5, 6]);
    // an older ACK, and the same one again, change nothing (RFC 1123 section 4.2.3.1)
    c.send({ op: 'ACK', block: 1 }, oack.from.port);
    c.send({ op: 'ACK', block: 2 }, oack.from.port);
    assert.equal(await c.next(200), null, 'stale ACKs bring no DATA');
    assert.equal(t.server.stats().dropped.stale_ack, 2, 'counted while the transfer runs');
    c.send({ op: 'ACK', block: 6 }, oack.from.port);
    assert.deepEqual((await c.expectMany(4)).map(blockOf), [7, 8, 9, 10]);
  });

  it('recovers lost ACKs by retransmitting the window', async () => {
    t = await startPumpServer(files, { timeoutMs: 30 });
    const lost = new Set<number>();
    const loseAck = (block: number): boolean => {
      if ([0, 4, 12].includes(block) && !lost.has(block)) return lost.add(block) && true;
      return false;
    };
    const r = await tftpGet(t.port, 'ipxe.efi', { options: { windowsize: '4' }, loseAck, waitMs: 2000 });
    assert.deepEqual(r.data, FILE);
    assert.ok(r.duplicates > 0, 'the pump resent a window');
    await waitFor(() => t!.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'done');
    assert.ok((t.events[0]?.retransmits ?? 0) >= 3, `retransmits ${t.events[0]?.retransmits}`);
  });

  it('answers a foreign TID with ERROR 5 without disturbing the transfer', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    await strangerGetsError5(t.port, t.server);
  });

  it('ends on a client ERROR mid-transfer with the bytes acknowledged so far', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    c.send({ op: 'ACK', block: 1 }, d1.from.port);
    assert.equal(blockOf(await c.expect()), 2);
    c.send({ op: 'ERROR', code: TftpErrorCode.DISK_FULL, message: 'no room' }, d1.from.port);
    await waitFor(() => t!.events.length === 1);
    const ev = t.events[0]!;
    assert.equal(ev.outcome, 'aborted');
    assert.equal(ev.reason, 'client sent DISK_FULL: no room');
    assert.equal(ev.bytes, 512);
    assert.equal(t.server.stats().transfers.failed, 1);
    c.send({ op: 'ACK', block: 2 }, d1.from.port);
    const after = await c.next(200);
    assert.ok(after === null || after.packet.op === 'ERROR', 'the TID is gone');
  });

  it('counts the UEFI decline of the OACK as aborted_after_oack, and serves the retry', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq({ tsize: '0', blksize: '1468' }), t.port);
    const oack = await c.expect();
    assert.equal(oack.packet.op, 'OACK');
    c.send({ op: 'ERROR', code: TftpErrorCode.OPTION_REFUSED, message: 'tsize only' }, oack.from.port);
    await waitFor(() => t!.events.length === 1);
    assert.match(t.events[0]!.reason ?? '', /^aborted_after_oack \(client sent OPTION_REFUSED: tsize only\)/);
    // the firmware asks again without tsize, from the same port: a new transfer
    c.send(rrq({ blksize: '1468' }), t.port);
    const oack2 = await c.expect();
    assert.equal(oack2.packet.op, 'OACK');
    assert.notEqual(oack2.from.port, oack.from.port, 'a new TID');
    const s = t.server.stats();
    assert.equal(s.transfers.aborted_after_oack, 1);
    assert.equal(s.transfers.failed, 0);
  });

  it('drops a retransmitted RRQ while the first transfer has not heard from the client', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    assert.equal(blockOf(d1), 1);
    assert.equal(await c.next(300), null, 'one DATA 1 only: the copy started nothing');
    assert.equal(t.server.stats().dropped.duplicate_request, 1);
    assert.equal(t.server.stats().active, 1);
  });

  it('drops copies of the RRQ while ACKs move the window and just after the end', async () => {
    t = await startPumpServer(files, { timeoutMs: 1000 });
    const c = await peer();
    c.send(rrq(), t.port);
    let r = await c.expect();
    const tid = r.from.port;
    c.send({ op: 'ACK', block: 1 }, tid);
    assert.equal(blockOf(await c.expect()), 2);
    c.send(rrq(), t.port); // a copy that waited in the listener's queue
    c.send({ op: 'ACK', block: 2 }, tid);
    r = await c.expect();
    assert.equal(blockOf(r), 3);
    assert.equal(r.from.port, tid);
    assert.equal(await c.next(100), null, 'no second transfer');
    for (let b = 3; b <= 39; b++) {
      c.send({ op: 'ACK', block: b }, tid);
      r = await c.expect();
      assert.equal(blockOf(r), b + 1);
    }
    c.send({ op: 'ACK', block: 40 }, tid); // the file's 40 blocks: 39 full, one of 32 bytes
    await waitFor(() => t!.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'done');
    c.send(rrq(), t.port); // late copy, within the timeout after the end
    assert.equal(await c.next(150), null, 'absorbed');
    assert.equal(t.server.stats().dropped.duplicate_request, 2);
    await new Promise((res) => setTimeout(res, 1100));
    c.send(rrq(), t.port); // a timeout later: a new download
    assert.equal(blockOf(await c.expect()), 1);
  });

  it('gives up after maxRetries retransmissions with the doubled timeout', async () => {
    t = await startPumpServer(files, { timeoutMs: 40, maxTimeoutMs: 80, maxRetries: 3 });
    const c = await peer();
    const start = performance.now();
    c.send(rrq(), t.port);
    const seen: number[] = [];
    for (let r = await c.next(1000); r; r = await c.next(1000)) seen.push(blockOf(r) ?? -1);
    assert.deepEqual(seen, [1, 1, 1, 1], 'DATA 1 and three retransmissions');
    await waitFor(() => t!.events.length === 1);
    const ev = t.events[0]!;
    assert.equal(ev.outcome, 'timeout');
    assert.equal(ev.reason, 'no ACK after 3 retransmissions');
    assert.equal(ev.retransmits, 3);
    // 40 + 80 + 80 + 80 ms (capped): at least 280 ms from the RRQ
    assert.ok(performance.now() - start >= 270, 'backoff respected');
    assert.ok(ev.ms >= 270 && ev.ms < 10_000, `ms ${ev.ms}`);
  });

  it('aborts running transfers on close: ERROR to the client, an error event', async () => {
    t = await startPumpServer(files, { timeoutMs: 5000 });
    const c = await peer();
    c.send(rrq(), t.port);
    const d1 = await c.expect();
    c.send({ op: 'ACK', block: 1 }, d1.from.port);
    assert.equal(blockOf(await c.expect()), 2);
    t.server.close();
    assert.equal(t.events.length, 1, 'the event leaves at close, as with transfer.ts');
    assert.equal(t.events[0]?.outcome, 'error');
    assert.equal(t.events[0]?.bytes, 512);
    const e = await c.expect();
    assert.deepEqual(e.packet, { op: 'ERROR', code: 0, message: 'server shutting down' });
    assert.equal(e.from.port, d1.from.port);
  });

  it('ends with an ERROR when a file read by descriptor shrinks under a transfer (its tsize went out)', async () => {
    await inTempDir(async (dir) => {
      await writeFile(join(dir, 'vmlinuz'), randomBytes(300_001));
      t = await startPumpServer(rootFileSource(dir, { cacheFileBytes: 1000 }), { timeoutMs: 5000 });
      const c = await peer();
      c.send(rrq({ tsize: '0' }, 'vmlinuz'), t.port);
      const oack = await c.expect();
      assert.equal(oack.packet.op, 'OACK');
      await truncate(join(dir, 'vmlinuz'), 1000); // replaced by a shorter file mid-transfer
      c.send({ op: 'ACK', block: 0 }, oack.from.port);
      const r = await c.expect();
      assert.deepEqual(r.packet, { op: 'ERROR', code: 0, message: 'read error' }, 'not a short DATA block');
      await waitFor(() => t!.events.length === 1);
      assert.equal(t.events[0]?.outcome, 'error');
      assert.match(t.events[0]?.reason ?? '', /shrank/);
    });
  });

  it('reads files larger than the cache through their descriptor', async () => {
    await inTempDir(async (dir) => {
      const big = randomBytes(300_001);
      await writeFile(join(dir, 'vmlinuz'), big);
      t = await startPumpServer(rootFileSource(dir, { cacheFileBytes: 1000 }));
      for (const options of [{ blksize: '1468' }, { blksize: '1468', windowsize: '16' }]) {
        const r = await tftpGet(t.port, 'vmlinuz', { options });
        assert.deepEqual(r.data, big);
      }
      await waitFor(() => t!.events.length === 2);
      assert.deepEqual(
        t.events.map((e) => [e.outcome, e.bytes]),
        [
          ['done', 300_001],
          ['done', 300_001],
        ],
      );
    });
  });

  it('ends empty and block-multiple files with an empty DATA block (RFC 1350 section 6), from memory and descriptor', async () => {
    await inTempDir(async (dir) => {
      const content: Record<string, Uint8Array> = {
        empty: new Uint8Array(0),
        two: randomBytes(1024), // 2 x 512: blocks 1, 2 and an empty 3
        three: randomBytes(3 * 1468), // at blksize 1468 the empty block closes a window of 4
      };
      for (const [name, bytes] of Object.entries(content)) await writeFile(join(dir, name), bytes);
      for (const source of [memoryFileSource(content), rootFileSource(dir, { cacheFileBytes: 0 })]) {
        t = await startPumpServer(source);
        for (const name of Object.keys(content)) {
          for (const options of [{}, { windowsize: '2' }, { blksize: '1468', windowsize: '4' }]) {
            const r = await tftpGet(t.port, name, { options });
            assert.equal(r.error, null);
            assert.deepEqual(
              Buffer.from(r.data),
              Buffer.from(content[name]!),
              `${name} ${JSON.stringify(options)}`,
            );
          }
        }
        await waitFor(() => t!.events.length === 9);
        assert.deepEqual(
          t.events.map((e) => e.outcome),
          Array(9).fill('done'),
        );
        t.server.close();
        t = undefined;
      }
      // the empty last block itself, lock-step, seen by a raw client
      t = await startPumpServer(memoryFileSource(content));
      const c = await peer();
      c.send(rrq({}, 'two'), t.port);
      const d1 = await c.expect();
      c.send({ op: 'ACK', block: 1 }, d1.from.port);
      c.send({ op: 'ACK', block: 2 }, (await c.expect()).from.port);
      const d3 = await c.expect();
      assert.equal(blockOf(d3), 3);
      assert.equal(d3.packet.op === 'DATA' ? d3.packet.data.length : -1, 0);
    });
  });

  it('rolls the block number over to 0 past block 65535 (a > 32 MiB file at blksize 512)', async () => {
    const big = randomBytes(512 * 65_536 + 1000); // blocks 1..65538: wire blocks 65535, 0, 1, 2
    t = await startPumpServer(memoryFileSource({ big }));
    const r = await tftpGet(t.port, 'big', { options: { windowsize: '64' } });
    assert.equal(r.data.length, big.length);
    assert.ok(Buffer.from(r.data).equals(big), 'byte-identical across the roll-over');
    await waitFor(() => t!.events.length === 1);
    assert.equal(t.events[0]?.outcome, 'done');
    assert.equal(t.events[0]?.bytes, big.length);
  });

  it('lets the process exit once its transfers are done, server open or closed', async () => {
    for (const closeIt of [false, true]) {
      const script = `
        import { createTftpServer, memoryFileSource } from './src/tftp/index.ts';
        import { openUdp } from './src/lib/udp.ts';
        import { tftpGet } from './src/tftp/testing.ts';
        const socket = await openUdp({ port: 0, address: '127.0.0.1' });
        const server = createTftpServer({ socket, openTransferSocket: openUdp,
          transferSocket: { address: '127.0.0.1' }, files: memoryFileSource({ f: new Uint8Array(5000) }) });
        const r = await tftpGet(socket.port, 'f');
        if (r.data.length !== 5000) process.exit(3);
        ${closeIt ? 'server.close();' : 'socket.close(); // the listener alone would keep Node alive'}
        console.log('done');
      `;
      const { code, out } = await runModule(script);
      assert.equal(code, 0, `child exits by itself (close: ${closeIt})`);
      assert.equal(out.trim(), 'done');
    }
  });

  it('runs transfers in a realm that starts the pump after a worker thread had it and exited', async () => {
    // The pump is one per process (native statics): a worker that started it stops it when
    // the worker's environment is torn down; the next start must get a working pump.
    const script = `
      import { Worker } from 'node:worker_threads';
      import { resolve } from 'node:path';
      import { createTftpServer, memoryFileSource } from './src/tftp/index.ts';
      import { openUdp } from './src/lib/udp.ts';
      import { tftpGet } from './src/tftp/testing.ts';
      import { nativeTftpPump } from './src/lib/native.ts';
      nativeTftpPump(); // loaded here first: the worker's exit does not unload the module
      const addon = resolve('build/Release/tftp_pump.node');
      const w = new Worker(\`require(\${JSON.stringify(addon)}).start(() => {});\`, { eval: true, execArgv: [] });
      await new Promise((r) => w.on('exit', r));
      const socket = await openUdp({ port: 0, address: '127.0.0.1' });
      const events = [];
      const server = createTftpServer({ socket, openTransferSocket: openUdp, transferPump: true,
        transferSocket: { address: '127.0.0.1' }, files: memoryFileSource({ f: new Uint8Array(5000) }),
        onTransfer: (ev) => events.push(ev.outcome) });
      const r = await tftpGet(socket.port, 'f');
      for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      server.close();
      console.log(JSON.stringify({ bytes: r.data.length, error: r.error, events }));
    `;
    const { code, out } = await runModule(script);
    assert.deepEqual(JSON.parse(out.trim() || 'null'), { bytes: 5000, error: null, events: ['done'] });
    assert.equal(code, 0, 'the child exits by itself');
  });
});
