/**
 * /assets/ over a real TCP socket: large whole files leave by sendfile(2), everything else by
 * @fastify/static; the bytes must be the same either way, on a kept-alive connection, and for
 * a client that stops reading for a while (the socket fills and the copy waits for it), and a
 * client that leaves mid-body must stop the copy (the addon holds a dup of the socket). The head
 * and the body come from one open descriptor: a file renamed over the path mid-request is sent
 * whole from the inode the head describes; one truncated in place while it is sent ends the
 * connection after the bytes it still had.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import { silentLogger } from '../lib/log.ts';
import { native } from '../lib/native.ts';
import { buildHttp } from './routes.ts';
import { ZERO_COPY_MIN_BYTES } from './zero-copy.ts';

const BIG = randomBytes(9 * 1024 * 1024 + 123);
const SMALL = Buffer.from('small file, streamed by @fastify/static\n');

function get(
  url: string,
  o: { headers?: Record<string, string>; agent?: http.Agent; pauseMs?: number } = {},
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
    (resolve, reject) => {
      const req = http.get(url, { headers: o.headers ?? {}, agent: o.agent ?? false }, (res) => {
        const chunks: Buffer[] = [];
        if (o.pauseMs) {
          res.pause();
          setTimeout(() => res.resume(), o.pauseMs);
        }
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
    },
  );
}

/** Splits a byte stream of HTTP/1.1 responses (each with Content-Length) into heads and bodies. */
function responses(all: Buffer): { head: string; body: Buffer }[] {
  const out: { head: string; body: Buffer }[] = [];
  let at = 0;
  while (at < all.length) {
    const headEnd = all.indexOf('\r\n\r\n', at);
    assert.ok(headEnd > 0, `a response head at byte ${at}`);
    const head = all.subarray(at, headEnd).toString();
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
    out.push({ head, body: all.subarray(headEnd + 4, headEnd + 4 + length) });
    at = headEnd + 4 + length;
  }
  return out;
}

/** How many descriptors of this process have `file` open (Linux /proc, as the server runs here). */
function openCount(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {} // closed while we looked
  }
  return n;
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10)))
    if (ok()) return true;
  return ok();
}

describe('/assets/ on a real socket', {
  skip: !native().sendFileAsync && 'addon without sendFileAsync (npm ci rebuilds it)',
}, () => {
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  const calls: { err: string | null; sent: number; waits: number }[] = [];
  let ended = () => {};
  // GET /hold answers once the test releases it: a request pipelined behind it has its handler
  // run at once, but its answer waits for the connection
  let held = Promise.resolve();
  let release = () => {};
  const holdRoute = (a: FastifyInstance) => {
    a.get('/hold', async () => {
      await held;
      return 'held\n';
    });
  };
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-assets-'));
    fs.mkdirSync(path.join(dir, 'lab', 'v1'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lab', 'v1', 'vmlinuz'), BIG);
    fs.symlinkSync('v1', path.join(dir, 'lab', 'current'));
    fs.writeFileSync(path.join(dir, 'lab', 'small.txt'), SMALL);
    fs.writeFileSync(path.join(dir, '.secret'), BIG);
    // record how each copy ended: the large files must go through the addon, the paused
    // client must make it wait for a full socket, the departed one must stop it
    const n = native();
    const real = n.sendFileAsync!.bind(n);
    n.sendFileAsync = (o, i, off, count, done) =>
      real(o, i, off, count, (err, sent, waits) => {
        calls.push({ err, sent, waits });
        ended();
        done(err, sent, waits);
      });
    const { p } = await testProvisioner();
    app = buildHttp({ provisioner: p, logger: silentLogger, assetsDir: dir, extensions: [holdRoute] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/assets`;
  });
  after(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a large file arrives whole and identical, with its length and validators, through a symlinked version', async () => {
    const r = await get(`${base}/lab/current/vmlinuz`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(BIG.length));
    assert.match(String(r.headers.etag), /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(r.body.equals(BIG), 'byte-identical');
    assert.ok(
      calls.some((c) => c.err === null && c.sent === BIG.length),
      'sent by sendfile(2)',
    );
  });

  it('two downloads on one kept-alive connection, and a client that stops reading for a while', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await get(`${base}/lab/v1/vmlinuz`, { agent });
    const b = await get(`${base}/lab/v1/vmlinuz`, { agent, pauseMs: 400 });
    const c = await get(`${base}/lab/small.txt`, { agent });
    agent.destroy();
    assert.ok(a.body.equals(BIG) && b.body.equals(BIG));
    assert.ok(
      calls.some((c) => c.err === null && c.waits > 0),
      'the paused client filled the socket and the copy went on when it drained',
    );
    assert.ok(c.body.equals(SMALL));
  });

  it('a client that leaves mid-body stops the copy, and the server serves the next one', async () => {
    const stopped = new Promise<void>((resolve) => {
      ended = resolve;
    });
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/lab/v1/vmlinuz`, { agent: false }, (res) => {
        res.once('data', () => {
          res.pause(); // the server's socket fills, then the client leaves
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 100);
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    });
    await stopped;
    const last = calls.at(-1);
    assert.ok(
      last && last.err !== null && last.sent < BIG.length,
      `the copy ended early: ${JSON.stringify(last)}`,
    );
    const next = await get(`${base}/lab/v1/vmlinuz`);
    assert.ok(next.body.equals(BIG));
  });

  it('Range, conditional and small requests still get @fastify/static answers', async () => {
    const part = await get(`${base}/lab/v1/vmlinuz`, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(BIG.subarray(100, 200)));
    const full = await get(`${base}/lab/v1/vmlinuz`);
    const again = await get(`${base}/lab/v1/vmlinuz`, {
      headers: { 'if-none-match': String(full.headers.etag) },
    });
    assert.equal(again.status, 304, 'the zero-copy ETag is the one @fastify/static checks');
    const since = await get(`${base}/lab/v1/vmlinuz`, {
      headers: { 'if-modified-since': String(full.headers['last-modified']) },
    });
    assert.equal(since.status, 304, 'and its Last-Modified');
    const head = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .request(`${base}/lab/v1/vmlinuz`, { method: 'HEAD', agent: false }, resolve)
        .on('error', reject)
        .end(),
    );
    head.resume();
    assert.equal(head.statusCode, 200);
    for (const h of ['content-length', 'etag', 'last-modified'])
      assert.equal(head.headers[h], full.headers[h], `HEAD has the GET's ${h}`);
    const small = await get(`${base}/lab/small.txt`);
    assert.ok(small.body.equals(SMALL));
  });

  it('pipelined requests (RFC 9112 section 9.3.2) get whole answers in order, the second by sendfile too', async () => {
    // Both GETs leave in one write: Node runs the second handler while the first answer is
    // still going out, before the second response has the socket.
    const port = new URL(base).port;
    const before = calls.length;
    const sock = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise<void>((resolve) => sock.once('close', resolve));
    const req = (p: string, last: boolean) =>
      `GET /assets/${p} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
    sock.write(req('lab/v1/vmlinuz', false) + req('lab/current/vmlinuz', true));
    await closed;
    const parsed = responses(Buffer.concat(chunks));
    for (const r of parsed) assert.match(r.head, /^HTTP\/1\.1 200 /, r.head);
    const bodies = parsed.map((r) => r.body);
    assert.equal(bodies.length, 2);
    assert.ok(
      bodies.every((b) => b.equals(BIG)),
      'both bodies whole and identical',
    );
    assert.deepEqual(
      calls.slice(before).map((c) => [c.err, c.sent]),
      [
        [null, BIG.length],
        [null, BIG.length],
      ],
      'both by sendfile(2)',
    );
  });

  it('a file renamed over its path mid-request is sent whole from the inode its head describes; the next request gets the new file', async () => {
    // how operators and `metalseed assets` replace a kernel: write beside it, rename over it
    fs.mkdirSync(path.join(dir, 'lab', 'v2'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'lab', 'v2', 'initrd'), BIG);
    const file = fs.realpathSync(path.join(dir, 'lab', 'v2', 'initrd')); // as /proc shows it
    const old = fs.statSync(file);
    const NEW = randomBytes(BIG.length + 4096);
    held = new Promise<void>((r) => {
      release = r;
    });
    const sock = net.connect(Number(new URL(base).port), '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise<void>((resolve) => sock.once('close', resolve));
    sock.write(
      'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /assets/lab/v2/initrd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    // the asset's handler has run once it holds the file open; its head and body wait for /hold
    const opened = await until(() => openCount(file) === 1, 5000);
    fs.writeFileSync(`${file}.new`, NEW);
    fs.renameSync(`${file}.new`, file);
    release();
    await closed;
    const [hold, asset] = responses(Buffer.concat(chunks));
    assert.equal(hold?.body.toString(), 'held\n');
    assert.ok(asset, 'an answer to the pipelined asset request');
    assert.match(asset.head, /^HTTP\/1\.1 200 /, asset.head);
    assert.match(asset.head, new RegExp(`content-length: ${BIG.length}\r`, 'i'), 'the old length');
    const oldTag = `W/"${old.size.toString(16)}-${old.mtime.getTime().toString(16)}"`;
    assert.ok(
      asset.head.toLowerCase().includes(`etag: ${oldTag.toLowerCase()}`),
      `${asset.head} has ${oldTag}`,
    );
    assert.equal(asset.body.length, BIG.length, 'the whole body, not a cut connection');
    assert.ok(asset.body.equals(BIG), 'the old bytes, as the head says');
    assert.ok(opened, 'the handler held the file open before its answer had the connection');
    const next = await get(`${base}/lab/v2/initrd`);
    assert.equal(next.headers['content-length'], String(NEW.length));
    assert.notEqual(next.headers.etag, oldTag);
    assert.ok(next.body.equals(NEW), 'the next request gets the new file');
    assert.ok(
      await until(() => openCount(`${file} (deleted)`) === 0, 2000),
      'the old inode is closed once sent',
    );
  });

  it('a file truncated in place while it is sent: the connection ends after the bytes it still had (no hang, no padding)', {
    timeout: 30_000,
  }, async () => {
    const file = path.join(dir, 'lab', 'v2', 'shrinking');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, BIG);
    // still large enough that the next request takes the sendfile(2) path too
    const KEEP = ZERO_COPY_MIN_BYTES;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const stopped = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const r = await new Promise<{
      status: number;
      length: string | undefined;
      complete: boolean;
      body: Buffer;
    }>((resolve, reject) => {
      // kept alive: only a cut connection, not "Connection: close", can end this message
      const req = http.get(`${base}/lab/v2/shrinking`, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('data', () => {
          // the socket fills while the client waits, so the copy is still running
          res.pause();
          fs.truncateSync(file, KEEP);
          setTimeout(() => res.resume(), 100);
        });
        res.on('error', () => {}); // "aborted": the outcome under test, read from `complete`
        res.on('close', () =>
          resolve({
            status: res.statusCode ?? 0,
            length: res.headers['content-length'],
            complete: res.complete,
            body: Buffer.concat(chunks),
          }),
        );
      });
      req.on('error', reject);
    });
    await stopped;
    agent.destroy();
    const last = calls.at(-1);
    assert.equal(r.status, 200);
    assert.equal(r.length, String(BIG.length), 'the head announced the file as it was opened');
    assert.equal(r.complete, false, 'the client sees an incomplete message');
    assert.ok(r.body.length < BIG.length, `short body: ${r.body.length}`);
    // What the file still holds arrives as it is; bytes past its new end that sendfile(2) had
    // already handed to the kernel are page-cache pages the truncation dropped, and can arrive
    // zeroed (seen on Linux 6.18, ext4). The message is incomplete (RFC 9112 section 6.3), so the
    // client discards it either way; the server adds nothing of its own.
    const kept = Math.min(KEEP, r.body.length);
    assert.ok(r.body.subarray(0, kept).equals(BIG.subarray(0, kept)), 'the bytes the file still has');
    assert.match(String(last?.err), /shorter than its announced length/);
    assert.equal(r.body.length, last?.sent, 'every byte handed to the kernel arrived');
    const next = await get(`${base}/lab/v2/shrinking`);
    assert.equal(next.headers['content-length'], String(KEEP));
    assert.ok(next.body.equals(BIG.subarray(0, KEEP)), 'the next request gets the file as it is now');
  });

  it('dot files, traversal and missing files are not served', async () => {
    for (const u of [`${base}/.secret`, `${base}/lab/../.secret`, `${base}/lab/%2e%2e/.secret`]) {
      const r = await get(u);
      assert.ok(r.status === 403 || r.status === 404, `${u}: ${r.status}`);
      assert.ok(r.body.length < 1000);
    }
    assert.equal((await get(`${base}/lab/v1/nothing`)).status, 404);
  });
});
