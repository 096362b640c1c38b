/**
 * The native TFTP data pump (native/tftp_pump.c) against real clients over 127.0.0.1:
 * tftp-hpa and curl fetch a file of more than 65,535 blocks lock-step at blksize 512 (the
 * block number rolls over to 0, RFC 1350 section 5 has 16 bits), atftp the same file in
 * windows of 16 (RFC 7440); the file is larger than the memory cache, so the pump reads it
 * through its descriptor. Closing the server mid-transfer tells tftp-hpa why.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeTftpPump } from '../../src/lib/native.ts';
import { openUdp } from '../../src/lib/udp.ts';
import { createTftpServer, rootFileSource, type TftpServer } from '../../src/tftp/index.ts';
import type { TransferEvent } from '../../src/tftp/transfer.ts';
import { toolsMissing } from '../helpers/tools.ts';

const CLIENT_TIMEOUT_MS = 60_000;
/** 65,538 blocks of 512 bytes: wire blocks ..., 65535, 0, 1, 2 (the last one 488 bytes). */
const BIG_BYTES = 512 * 65_537 + 488;

const skip =
  toolsMissing(['tftp', 'atftp', 'curl']) ||
  (nativeTftpPump() === null ? 'build/Release/tftp_pump.node is not built (npm install)' : false);

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Run {
  code: number | null;
  /** stdout and stderr: tftp-hpa prints TFTP errors on stdout */
  output: string;
}

const children = new Set<ChildProcess>();
function run(cmd: string, args: string[]): { done: Promise<Run> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), CLIENT_TIMEOUT_MS);
  return {
    done: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, output });
      });
    }),
  };
}

async function startServer(
  root: string,
  events: TransferEvent[],
): Promise<{ server: TftpServer; port: number }> {
  const socket = await openUdp({ port: 0, address: '127.0.0.1' });
  const server = createTftpServer({
    socket,
    openTransferSocket: openUdp, // real sockets: the pump runs the transfers
    transferSocket: { address: '127.0.0.1' },
    // 1 MiB cache limit: the big file is read with pread on the pump thread
    files: rootFileSource(root, { cacheFileBytes: 1 << 20 }),
    onTransfer: (ev) => events.push(ev),
  });
  return { server, port: socket.port };
}

describe('tftp native pump with real clients', { skip }, () => {
  let dir: string;
  let root: string;
  let want: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metalseed-tftp-pump-'));
    root = join(dir, 'root');
    await mkdir(root);
    const big = randomBytes(BIG_BYTES);
    want = sha256(big);
    await writeFile(join(root, 'big'), big);
  });

  after(async () => {
    for (const c of children) if (c.pid) process.kill(c.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, (port: number, out: string) => [string, string[]]][] = [
    [
      'tftp-hpa lock-step',
      (port, out) => ['tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'big', out]],
    ],
    [
      'curl lock-step',
      (port, out) => ['curl', ['-sS', '--max-time', '50', `tftp://127.0.0.1:${port}/big`, '-o', out]],
    ],
    [
      'atftp windowsize 16',
      (port, out) => [
        'atftp',
        ['--option', 'windowsize 16', '-g', '-r', 'big', '-l', out, '127.0.0.1', String(port)],
      ],
    ],
  ];
  for (const [name, args] of cases) {
    it(`${name} fetches 65,538 blocks of 512 bytes across the block-number roll-over`, async () => {
      const events: TransferEvent[] = [];
      const { server, port } = await startServer(root, events);
      try {
        const out = join(dir, `out-${name.replaceAll(' ', '-')}`);
        const [cmd, argv] = args(port, out);
        const r = await run(cmd, argv).done;
        assert.equal(r.code, 0, `${name}: ${r.output}`);
        assert.equal(sha256(await readFile(out)), want, 'byte-identical');
        for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
        assert.equal(events[0]?.outcome, 'done');
        assert.equal(events[0]?.bytes, BIG_BYTES);
        assert.equal(server.stats().transfers.failed, 0);
      } finally {
        server.close();
      }
    });
  }

  it('tells tftp-hpa when the server shuts down mid-transfer', async () => {
    const events: TransferEvent[] = [];
    const { server, port } = await startServer(root, events);
    const out = join(dir, 'out-shutdown');
    const child = run('tftp', ['-v', '-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'big', out]);
    for (let i = 0; i < 200 && server.stats().active === 0; i++)
      await new Promise((res) => setTimeout(res, 5));
    await new Promise((res) => setTimeout(res, 200)); // some blocks into the transfer
    server.close();
    const r = await child.done;
    assert.notEqual(r.code, null, 'the client ended by itself');
    assert.match(r.output, /server shutting down/);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.outcome, 'error');
    assert.ok(
      (events[0]?.bytes ?? 0) > 0 && (events[0]?.bytes ?? 0) < BIG_BYTES,
      `bytes ${events[0]?.bytes}`,
    );
  });
});
