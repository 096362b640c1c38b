/**
 * Real clients through a lossy link (the idea of pixiecore's tftp/interop_test.go): a UDP
 * proxy between client and server drops one datagram in ten, both ways, from a fixed seed.
 * Every download must still arrive byte for byte; the server's retransmission timeout is
 * lowered so that recovering from ~10 losses takes seconds, not minutes.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openUdp, type Peer, type UdpSocket } from '../../src/lib/udp.ts';
import { createTftpServer, rootFileSource, type TftpServer } from '../../src/tftp/index.ts';
import { prng } from '../helpers/captures.ts';
import { toolsMissing } from '../helpers/tools.ts';

const FILE = 'undionly.kpxe';
const LOSS = 0.1;

const skip = toolsMissing(['tftp', 'atftp', 'curl']);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Seeded: the same losses on every run. */
function lossy(seed: number): () => boolean {
  const next = prng(seed);
  return () => next() / 0x100000000 < LOSS;
}

/**
 * Clients talk to `port`; each client gets a socket towards the server, and each server TID a
 * socket towards the client, so both sides see ordinary TFTP with its own TIDs.
 */
async function lossyProxy(serverPort: number, seed: number): Promise<{ port: number; close(): void }> {
  const lose = lossy(seed);
  const sockets: UdpSocket[] = [];
  const open = async (): Promise<UdpSocket> => {
    const s = await openUdp({ port: 0, address: '127.0.0.1' });
    sockets.push(s);
    return s;
  };
  const front = await open();
  const towardsServer = new Map<number, Promise<UdpSocket>>(); // by client port
  const towardsClient = new Map<string, Promise<UdpSocket>>(); // by client port + server TID
  const legToClient = (client: Peer, serverTid: number): Promise<UdpSocket> => {
    const key = `${client.port}/${serverTid}`;
    let leg = towardsClient.get(key);
    if (!leg) {
      leg = open().then((s) => {
        s.onMessage(async (msg) => {
          if (!lose()) (await legToServer(client)).send(msg, serverTid, '127.0.0.1');
        });
        return s;
      });
      towardsClient.set(key, leg);
    }
    return leg;
  };
  const legToServer = (client: Peer): Promise<UdpSocket> => {
    let leg = towardsServer.get(client.port);
    if (!leg) {
      leg = open().then((s) => {
        s.onMessage(async (msg, from) => {
          if (!lose()) (await legToClient(client, from.port)).send(msg, client.port, client.address);
        });
        return s;
      });
      towardsServer.set(client.port, leg);
    }
    return leg;
  };
  front.onMessage(async (msg, from) => {
    if (!lose()) (await legToServer(from)).send(msg, serverPort, '127.0.0.1');
  });
  return {
    port: front.port,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
}

const children = new Set<ChildProcess>();
function run(cmd: string, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    children.add(child);
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve(code);
    });
  });
}

describe('tftp server over a lossy link', { skip }, () => {
  let dir: string;
  let server: TftpServer;
  let want: string;
  const proxies: { close(): void }[] = [];
  let serverPort: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metalseed-tftp-lossy-'));
    await copyFile(join('/usr/lib/ipxe', FILE), join(dir, FILE));
    want = sha256(await readFile(join(dir, FILE)));
    const listener = await openUdp({ port: 0, address: '127.0.0.1' });
    serverPort = listener.port;
    server = createTftpServer({
      socket: listener,
      openTransferSocket: openUdp,
      transferSocket: { address: '127.0.0.1' },
      files: rootFileSource(dir),
      limits: { timeoutMs: 200 },
    });
  });

  after(async () => {
    for (const c of children) if (c.pid) process.kill(c.pid, 'SIGKILL');
    for (const p of proxies) p.close();
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, (port: string, out: string) => [string, string[]]][] = [
    ['tftp-hpa', (p, out) => ['tftp', ['-m', 'binary', '127.0.0.1', p, '-c', 'get', FILE, out]]],
    [
      'atftp windowsize 8',
      (p, out) => [
        'atftp',
        [
          '--tftp-timeout',
          '1',
          '--option',
          'blksize 1468',
          '--option',
          'windowsize 8',
          '-g',
          '-r',
          FILE,
        ].concat(['-l', out, '127.0.0.1', p]),
      ],
    ],
    ['atftp', (p, out) => ['atftp', ['--tftp-timeout', '1', '-g', '-r', FILE, '-l', out, '127.0.0.1', p]]],
    // Without options: curl asks "timeout 5", which the server must honour (RFC 2349), and
    // every loss would then cost 5 s or more.
    [
      'curl',
      (p, out) => [
        'curl',
        ['-sS', '--tftp-no-options', '--max-time', '50', `tftp://127.0.0.1:${p}/${FILE}`, '-o', out],
      ],
    ],
  ];

  for (const [i, [name, argv]] of cases.entries()) {
    it(`${name} downloads ${FILE} intact with 10% loss`, async () => {
      const proxy = await lossyProxy(serverPort, 0x9e3779b9 + i);
      proxies.push(proxy);
      const out = join(dir, `out-${i}`);
      const [cmd, args] = argv(String(proxy.port), out);
      assert.equal(await run(cmd, args), 0, name);
      assert.equal(sha256(await readFile(out)), want);
    });
  }
});
