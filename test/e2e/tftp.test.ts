/**
 * The TFTP server against real clients over 127.0.0.1: tftp-hpa, atftp and curl (Debian
 * packages tftp-hpa, atftp, curl) download the Debian iPXE binaries byte for byte, alone and
 * forty at a time; traversal, symlink escape and writes are refused; a flood of garbage
 * neither stops the server nor disturbs a transfer.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openUdp, type UdpSocket } from '../../src/lib/udp.ts';
import { createTftpServer, rootFileSource, type TftpServer } from '../../src/tftp/index.ts';
import { TestPeer } from '../../src/tftp/testing.ts';
import { toolsMissing } from '../helpers/tools.ts';

const IPXE = '/usr/lib/ipxe';
const FILES = ['undionly.kpxe', 'ipxe.efi'] as const;
const CLIENT_TIMEOUT_MS = 30_000;

const skip = toolsMissing(['tftp', 'atftp', 'curl']);

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Every child is tracked by PID so `after()` can kill whatever is left, and only that. */
const children = new Set<ChildProcess>();
function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), CLIENT_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

type Client = 'tftp-hpa' | 'atftp' | 'curl' | 'curl-blksize';
const CLIENTS: Client[] = ['tftp-hpa', 'atftp', 'curl', 'curl-blksize'];

function clientArgs(client: Client, port: number, file: string, out: string): [string, string[]] {
  const p = String(port);
  switch (client) {
    case 'tftp-hpa':
      return ['tftp', ['-v', '-m', 'binary', '127.0.0.1', p, '-c', 'get', file, out]];
    case 'atftp':
      return [
        'atftp',
        [
          '--tftp-timeout',
          '1',
          '--option',
          'blksize 1468',
          '--option',
          'tsize 0',
          '--option',
          'windowsize 8',
        ].concat(['-g', '-r', file, '-l', out, '127.0.0.1', p]),
      ];
    case 'curl':
      return ['curl', ['-sS', '--max-time', '20', `tftp://127.0.0.1:${p}/${file}`, '-o', out]];
    case 'curl-blksize':
      return [
        'curl',
        ['-sS', '--max-time', '20', '--tftp-blksize', '1468', `tftp://127.0.0.1:${p}/${file}`, '-o', out],
      ];
  }
}

describe('tftp server with real clients', { skip }, () => {
  let dir: string;
  let root: string;
  let server: TftpServer;
  let listener: UdpSocket;
  let port: number;
  const want = new Map<string, string>();
  let n = 0;

  const fetch = async (client: Client, file: string): Promise<{ run: Run; data: Buffer }> => {
    const out = join(dir, `out-${n++}`);
    const [cmd, args] = clientArgs(client, port, file, out);
    const r = await run(cmd, args);
    const data = await readFile(out).catch(() => Buffer.alloc(0));
    return { run: r, data };
  };
  const fetchOk = async (client: Client, file: string): Promise<void> => {
    const { run: r, data } = await fetch(client, file);
    assert.equal(r.code, 0, `${client} ${file}: ${r.stderr}`);
    assert.equal(sha256(data), want.get(file), `${client} ${file} is byte-identical`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metalseed-tftp-e2e-'));
    root = join(dir, 'root');
    await mkdir(root);
    // Copies: Debian's /usr/lib/ipxe/ipxe.efi is a symlink to /boot, which the root refuses.
    for (const f of FILES) {
      await copyFile(join(IPXE, f), join(root, f));
      want.set(f, sha256(await readFile(join(root, f))));
    }
    await writeFile(join(dir, 'secret'), 'outside the root');
    await symlink('../secret', join(root, 'escape'));
    await symlink('/etc/passwd', join(root, 'passwd'));
    listener = await openUdp({ port: 0, address: '127.0.0.1' });
    port = listener.port;
    server = createTftpServer({
      socket: listener,
      openTransferSocket: openUdp,
      transferSocket: { address: '127.0.0.1' },
      files: rootFileSource(root),
    });
  });

  after(async () => {
    for (const c of children) if (c.pid) process.kill(c.pid, 'SIGKILL');
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const client of CLIENTS) {
    it(`${client} downloads undionly.kpxe and ipxe.efi byte-identical`, async () => {
      for (const f of FILES) await fetchOk(client, f);
    });
  }

  it('serves 40 concurrent transfers from a mix of clients intact', async () => {
    const before = server.stats().transfers;
    await Promise.all(Array.from({ length: 40 }, (_, i) => fetchOk(CLIENTS[i % 4]!, FILES[i % 2]!)));
    // A client may exit before the server has read its final ACK.
    for (let i = 0; i < 100 && server.stats().active > 0; i++) await pause(20);
    const s = server.stats();
    assert.equal(s.transfers.ok - before.ok, 40);
    assert.equal(s.transfers.failed, before.failed);
    assert.equal(s.active, 0);
  });

  it('refuses traversal, absolute paths outside the root and symlink escapes', async () => {
    const cases: [string, RegExp][] = [
      ['../secret', /Error code 2: Access violation/],
      ['sub/../../secret', /Error code 2: Access violation/],
      ['/etc/passwd', /Error code 1: File not found/],
      ['escape', /Error code 2: Access violation/],
      ['passwd', /Error code 2: Access violation/],
    ];
    for (const [name, msg] of cases) {
      const { run: r, data } = await fetch('tftp-hpa', name);
      assert.match(r.stdout + r.stderr, msg, name);
      assert.equal(data.length, 0, `${name} leaked nothing`);
    }
    const viaCurl = await fetch('curl', 'escape');
    assert.equal(viaCurl.run.code, 69, 'curl: CURLE_TFTP_PERM');
    const viaAtftp = await fetch('atftp', 'passwd');
    assert.notEqual(viaAtftp.run.code, 0);
    assert.match(viaAtftp.run.stderr, /Access violation/);
  });

  it('refuses atftp put with a TFTP error', async () => {
    const local = join(dir, 'upload.txt');
    await writeFile(local, 'hello');
    const r = await run('atftp', [
      '--tftp-timeout',
      '1',
      '-p',
      '-l',
      local,
      '-r',
      'upload.txt',
      '127.0.0.1',
      String(port),
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /read-only server/);
    assert.ok(server.stats().refused.write_request >= 1);
  });

  it('survives 5000 garbage packets to the listener and to a live transfer', async () => {
    const before = server.stats();
    const client = await TestPeer.open();
    const flooder = await TestPeer.open();
    try {
      const options = new Map([['blksize', '1468']]);
      client.send({ op: 'RRQ', filename: 'ipxe.efi', mode: 'octet', options }, port);
      const oack = await client.expect();
      assert.equal(oack.packet.op, 'OACK');
      const tid = oack.from.port;
      for (let i = 0; i < 5000; i++) {
        const junk = randomBytes(1 + (i % 600));
        flooder.send(junk, i % 2 ? port : tid);
        // From the real peer, only bytes that cannot be an ACK or ERROR (opcode 0x00ff+).
        if (i % 10 === 0) client.send(Buffer.concat([Buffer.from([0, 0xff]), junk]), tid);
        if (i % 50 === 0) await pause(1); // paced, or loopback buffers drop most of it
      }
      await pause(200);
      // The paused transfer is intact: ACK 0 still brings DATA 1.
      client.send({ op: 'ACK', block: 0 }, tid);
      let r = await client.expect();
      while (r.packet.op === 'OACK') r = await client.expect(); // a retransmitted OACK
      assert.equal(r.packet.op === 'DATA' && r.packet.block, 1);
      client.send({ op: 'ERROR', code: 0, message: 'test done' }, tid);
    } finally {
      client.close();
      flooder.close();
    }
    const s = server.stats();
    assert.ok(s.dropped.malformed > before.dropped.malformed, 'malformed counted');
    assert.ok(s.dropped.unknown_tid > before.dropped.unknown_tid, 'unknown TID counted');
    for (const c of CLIENTS) await fetchOk(c, 'ipxe.efi');
  });
});
