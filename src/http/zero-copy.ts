/**
 * Zero-copy file bodies for /assets/: after Node has written the response head, sendfile(2)
 * moves the file from the page cache to the socket (native/sockopt.c), as nginx does, instead
 * of reading it into JavaScript buffers. When the socket is full (EAGAIN), the next 8 KiB go
 * through Node's own write, whose callback says the socket drained; then sendfile resumes. So
 * libuv keeps owning the descriptor's readiness, and a slow client costs no thread and no busy
 * loop. Only for plain full-file GETs over TCP; everything else goes through @fastify/static.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Smaller files gain nothing worth the extra path. */
export const ZERO_COPY_MIN_BYTES = 256 * 1024;
const SLICE = 1 << 20;
const FALLBACK_CHUNK = 8 * 1024;

export type SendFile = (outFd: number, inFd: number, offset: number, count: number) => number;

/** The socket's descriptor, when Node exposes one (TCP on Linux). */
export function socketFd(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Writes `size` bytes of `file` as the body of `res`, whose head (with Content-Length) is set
 * but not sent. Resolves when every byte is handed to the kernel and `res` is ended.
 */
export async function sendBody(
  res: ServerResponse,
  fd: number,
  file: string,
  size: number,
  sendFile: SendFile,
): Promise<void> {
  const socket = res.socket as Socket;
  res.flushHeaders();
  await drained(socket); // the head must be on the wire before bytes that bypass Node's queue
  const inFd = await fs.promises.open(file, 'r');
  try {
    let offset = 0;
    while (offset < size) {
      if (socket.destroyed) throw new Error('client went away');
      const n = sendFile(fd, inFd.fd, offset, Math.min(SLICE, size - offset));
      if (n > 0) {
        offset += n;
        continue;
      }
      if (n === 0) throw new Error(`${file} shrank while it was sent`);
      // full: send one chunk through Node, whose write completes when the socket drains
      const len = Math.min(FALLBACK_CHUNK, size - offset);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await inFd.read(buf, 0, len, offset);
      if (bytesRead === 0) throw new Error(`${file} shrank while it was sent`);
      await write(socket, buf.subarray(0, bytesRead));
      offset += bytesRead;
    }
  } finally {
    await inFd.close();
  }
  res.end();
}

function drained(socket: Socket): Promise<void> {
  if (socket.writableLength === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    // both listeners go once either fires: a kept-alive socket serves many downloads
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('client went away'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

function write(socket: Socket, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => socket.write(buf, (err) => (err ? reject(err) : resolve())));
}
