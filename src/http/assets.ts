/**
 * `/assets/`: kernels, initrds and images from `dataDir/assets`, with Range, ETag and
 * Last-Modified (@fastify/static). A plain full GET of a large file leaves by sendfile(2)
 * instead (zero-copy.ts): the CPU per GiB of a boot storm's kernel downloads is the kernel's,
 * not JavaScript's. Each completed download is a boot step on the machine's timeline ("kernel
 * fetched"), found by the client's leased address.
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { native } from '../lib/native.ts';
import type { Provisioner } from '../provisioner/index.ts';
import { type SendFileAddon, sendBody, socketFd, ZERO_COPY_MIN_BYTES } from './zero-copy.ts';

export const ASSETS_PREFIX = '/assets/';
const CONDITIONAL = [
  'range',
  'if-range',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
];

export function registerAssets(app: FastifyInstance, root: string, p: Provisioner): void {
  fs.mkdirSync(root, { recursive: true });
  const realRoot = fs.realpathSync(root);
  const sendFile = nativeSendFile();
  app.register(fastifyStatic, {
    root,
    prefix: ASSETS_PREFIX,
    serve: false, // the route below decides between sendfile(2) and @fastify/static
    index: false,
    list: false,
    dotfiles: 'deny',
    cacheControl: true,
    maxAge: 0,
  });
  const step = (req: FastifyRequest, status: number, bytes: number, ms: number) => {
    const file = decodeURIComponent(req.url.slice(ASSETS_PREFIX.length).split('?')[0] ?? '');
    const data: Record<string, unknown> = { file, bytes };
    if (status === 206) data.range = req.headers.range;
    p.stepByAddress(req.ip, 'http.asset', data, ms);
  };
  app.get(`${ASSETS_PREFIX}*`, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const target = sendFile ? await zeroCopyTarget(realRoot, rel, req) : null;
    if (!target || !sendFile) return reply.sendFile(rel);
    return zeroCopy(req, reply, target, sendFile, step);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.url.startsWith(ASSETS_PREFIX) || (reply.statusCode !== 200 && reply.statusCode !== 206)) return;
    if (req.method !== 'GET') return;
    if ((req as { zeroCopy?: boolean }).zeroCopy) return; // recorded when its last byte left
    step(req, reply.statusCode, Number(reply.getHeader('content-length') ?? 0), reply.elapsedTime);
  });
}

interface Target {
  file: string;
  /** Open before the head is written: head and body both come from this one inode. */
  handle: FileHandle;
  stat: fs.Stats;
  /** The client's TCP socket. */
  out: number;
}

/**
 * A large regular file inside the root, asked for whole by a GET on a TCP socket, opened and
 * fstat'ed; else null (and nothing left open).
 */
async function zeroCopyTarget(realRoot: string, rel: string, req: FastifyRequest): Promise<Target | null> {
  if (req.method !== 'GET' || CONDITIONAL.some((h) => req.headers[h] !== undefined)) return null;
  const out = socketFd(req.socket);
  if (out === null || rel.split('/').some((s) => s === '' || s.startsWith('.'))) return null;
  let file: string;
  try {
    file = fs.realpathSync(path.join(realRoot, rel));
  } catch {
    return null; // missing: @fastify/static answers 404
  }
  if (!file.startsWith(`${realRoot}/`)) return null;
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO left in the directory must not hang the open; fstat turns it away below
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null; // gone or unreadable since realpath: @fastify/static gives the answer
  }
  const stat = await handle.stat().catch(() => null);
  if (!stat?.isFile() || stat.size < ZERO_COPY_MIN_BYTES) {
    await handle.close();
    return null;
  }
  return { file, handle, stat, out };
}

async function zeroCopy(
  req: FastifyRequest,
  reply: FastifyReply,
  t: Target,
  sendFile: SendFileAddon,
  step: (req: FastifyRequest, status: number, bytes: number, ms: number) => void,
): Promise<void> {
  (req as { zeroCopy?: boolean }).zeroCopy = true;
  reply.hijack();
  const res = reply.raw;
  const started = performance.now();
  try {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(t.stat.size),
      'accept-ranges': 'bytes',
      'cache-control': 'public, max-age=0',
      'last-modified': t.stat.mtime.toUTCString(),
      // the same validator @fastify/send makes, so a later conditional request matches
      etag: `W/"${t.stat.size.toString(16)}-${t.stat.mtime.getTime().toString(16)}"`,
    });
    await sendBody(res, t.out, { fd: t.handle.fd, size: t.stat.size, name: t.file }, sendFile);
    step(req, 200, t.stat.size, performance.now() - started);
  } catch {
    res.destroy(); // client gone, or the file came up short: an incomplete message, never a hang
  } finally {
    await t.handle.close();
  }
}

function nativeSendFile(): SendFileAddon | null {
  try {
    const n = native();
    return n.sendFileAsync && n.sendFileCancel ? (n as SendFileAddon) : null;
  } catch {
    return null; // no addon: @fastify/static streams every file
  }
}
