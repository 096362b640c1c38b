import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { TftpErrorCode } from './packet.ts';
import { startTestServer, TestPeer, type TestServer, tftpGet, waitFor } from './testing.ts';

const FILES = {
  'empty.bin': Buffer.alloc(0),
  'small.bin': randomBytes(1300),
  'exact.bin': randomBytes(1024), // a multiple of 512: ends with a zero-length block
  'ipxe.efi': randomBytes(200_000),
  'rollover.bin': randomBytes(600_000), // 75001 blocks of 8 bytes: wraps past 65535
};

describe('tftp server downloads', () => {
  let t: TestServer;
  afterEach(() => t.close());

  it('serves plain RFC 1350 transfers, including empty and block-multiple files', async () => {
    t = await startTestServer(FILES);
    for (const name of ['empty.bin', 'small.bin', 'exact.bin'] as const) {
      const r = await tftpGet(t.port, name);
      assert.equal(r.error, null);
      assert.equal(r.oack, null, 'no options asked, no OACK');
      assert.deepEqual(r.data, FILES[name], name);
    }
    await waitFor(() => t.events.length === 3);
    assert.deepEqual(
      t.events.map((e) => [e.file, e.outcome, e.bytes, e.blksize, e.windowsize]),
      [
        ['empty.bin', 'done', 0, 512, 1],
        ['small.bin', 'done', 1300, 512, 1],
        ['exact.bin', 'done', 1024, 512, 1],
      ],
    );
    const s = t.server.stats();
    assert.equal(s.transfers.ok, 3);
    assert.equal(s.bytes, 2324);
    assert.equal(s.active, 0);
  });

  it('negotiates blksize, tsize and windowsize and sends windows', async () => {
    t = await startTestServer(FILES);
    const r = await tftpGet(t.port, '/ipxe.efi', {
      options: { tsize: '0', blksize: '9000', windowsize: '100' },
    });
    assert.deepEqual(r.data, FILES['ipxe.efi']);
    assert.deepEqual(Object.fromEntries(r.oack ?? []), {
      tsize: '200000',
      blksize: '1468',
      windowsize: '64',
    });
    assert.equal(r.duplicates, 0);
    await waitFor(() => t.events.length === 1);
    assert.equal(t.events[0]?.windowsize, 64);
    const done = t.records.find((x) => x['event'] === 'tftp.done');
    assert.ok(done);
    assert.equal(done.level, 'info');
    assert.equal(done['file'], '/ipxe.efi');
    assert.equal(done['bytes'], 200_000);
    assert.equal(done['peer'], '127.0.0.1');
    assert.equal(typeof done['ms'], 'number');
  });

  it('serves netascii as octet', async () => {
    t = await startTestServer(FILES);
    const r = await tftpGet(t.port, 'small.bin', { mode: 'netascii' });
    assert.deepEqual(r.data, FILES['small.bin']);
  });

  it('rolls the block counter over past 65535', async () => {
    t = await startTestServer(FILES, { maxBlksize: 8 });
    const r = await tftpGet(t.port, 'rollover.bin', { options: { blksize: '8', windowsize: '64' } });
    assert.equal(r.error, null);
    assert.equal(r.data.length, FILES['rollover.bin'].length);
    assert.deepEqual(r.data, FILES['rollover.bin']);
  });

  it('resends from the last in-order block after a partial-window ACK', async () => {
    t = await startTestServer(FILES, { timeoutMs: 5000 });
    const peer = await TestPeer.open();
    try {
      const options = new Map([
        ['windowsize', '4'],
        ['blksize', '512'],
      ]);
      peer.send({ op: 'RRQ', filename: 'ipxe.efi', mode: 'octet', options }, t.port);
      const oack = await peer.expect();
      peer.send({ op: 'ACK', block: 0 }, oack.from.port);
      const first = await peer.expectMany(4);
      assert.deepEqual(
        first.map((r) => r.packet.op === 'DATA' && r.packet.block),
        [1, 2, 3, 4],
      );
      peer.send({ op: 'ACK', block: 2 }, oack.from.port); // "3 was lost"
      const again = await peer.expectMany(4);
      assert.deepEqual(
        again.map((r) => r.packet.op === 'DATA' && r.packet.block),
        [3, 4, 5, 6],
      );
    } finally {
      peer.close();
    }
  });

  it('refuses writes, missing files, traversal and unknown modes with TFTP errors', async () => {
    t = await startTestServer(FILES);
    const peer = await TestPeer.open();
    const ask = async (op: 'RRQ' | 'WRQ', filename: string, mode = 'octet'): Promise<number | null> => {
      peer.send({ op, filename, mode, options: new Map() }, t.port);
      const r = await peer.expect();
      return r.packet.op === 'ERROR' ? r.packet.code : null;
    };
    try {
      assert.equal(await ask('WRQ', 'small.bin'), TftpErrorCode.ACCESS_VIOLATION);
      assert.equal(await ask('RRQ', 'nope.bin'), TftpErrorCode.FILE_NOT_FOUND);
      assert.equal(await ask('RRQ', '../small.bin'), TftpErrorCode.ACCESS_VIOLATION);
      assert.equal(await ask('RRQ', 'small.bin', 'mail'), TftpErrorCode.ILLEGAL_OPERATION);
    } finally {
      peer.close();
    }
    const s = t.server.stats();
    assert.equal(s.requests, 4);
    assert.deepEqual(s.refused, {
      write_request: 1,
      bad_mode: 1,
      not_found: 1,
      access_denied: 1,
      read_error: 0,
    });
    assert.equal(s.transfers.failed, 0);
  });

  it('writes the read-only message for WRQ', async () => {
    t = await startTestServer(FILES);
    const peer = await TestPeer.open();
    try {
      peer.send({ op: 'WRQ', filename: 'x', mode: 'octet', options: new Map() }, t.port);
      assert.deepEqual((await peer.expect()).packet, { op: 'ERROR', code: 2, message: 'read-only server' });
    } finally {
      peer.close();
    }
  });

  it('runs many transfers at once, each on its own port', async () => {
    t = await startTestServer(FILES);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        tftpGet(t.port, 'ipxe.efi', { options: i % 2 ? { blksize: '1468', windowsize: '8' } : {} }),
      ),
    );
    for (const r of results) assert.deepEqual(r.data, FILES['ipxe.efi']);
    assert.equal(new Set(results.map((r) => r.serverPort)).size, 30);
    assert.ok(!results.some((r) => r.serverPort === t.port), 'never from the listener port');
  });
});
