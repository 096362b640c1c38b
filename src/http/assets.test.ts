/**
 * /assets/ over a real TCP socket: large whole files leave by sendfile(2), everything else by
 * @fastify/static; the bytes must be the same either way, on a kept-alive connection, and for
 * a client that stops reading for a while (the socket fills and the copy waits for it), and a
 * client that leaves mid-body must stop the copy (the addon holds a dup of the socket).
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
import { type SendFileAddon, sendBody, socketFd } from './zero-copy.ts';

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

describe('/assets/ on a real socket', {
  skip: !native().sendFileAsync && 'addon without sendFileAsync (npm ci rebuilds it)',
}, () => {
  let app: FastifyInstance;
  let base: string;
  let dir: string;
  const calls: { err: string | null; sent: number; waits: number }[] = [];
  let ended = () => {};
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
    app = buildHttp({ provisioner: p, logger: silentLogger, assetsDir: dir });
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
    const all = Buffer.concat(chunks);
    const bodies: Buffer[] = [];
    let at = 0;
    while (at < all.length) {
      const headEnd = all.indexOf('\r\n\r\n', at);
      assert.ok(headEnd > 0, `a response head at byte ${at}`);
      const head = all.subarray(at, headEnd).toString();
      assert.match(head, /^HTTP\/1\.1 200 /, head);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      bodies.push(all.subarray(headEnd + 4, headEnd + 4 + length));
      at = headEnd + 4 + length;
    }
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

  it('a file replaced after its head was written is not sent under the old length', async () => {
    const file = path.join(dir, 'lab', 'v1', 'vmlinuz');
    const st = fs.statSync(file);
    let outcome = '';
    const srv = http.createServer((req, res) => {
      // the head announces what a stat saw before the file changed (one byte longer)
      res.writeHead(200, { 'content-length': String(st.size + 1) });
      sendBody(
        res,
        socketFd(req.socket)!,
        file,
        { size: st.size + 1, mtimeMs: st.mtimeMs },
        native() as SendFileAddon,
      )
        .then(() => {
          outcome = 'sent';
        })
        .catch((e: Error) => {
          outcome = e.message;
          res.destroy();
        });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const r = await get(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/`).catch((e: Error) => e);
    srv.close();
    assert.match(outcome, /changed between its head and its body/);
    assert.ok(r instanceof Error || r.body.length === 0, 'no body bytes under the stale head');
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
