/**
 * Zero-copy file bodies for /assets/: after Node has written the response head, the addon
 * (native/sockopt.c `sendFileAsync`) moves the file from the page cache to the socket with
 * sendfile(2) each time the socket is writable, on Node's own event loop, as nginx does. No byte
 * passes through JavaScript, no thread waits on a slow client, and JavaScript runs twice per
 * download (start and end), not per chunk. Only for plain full-file GETs over TCP; everything
 * else goes through @fastify/static.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Native } from '../lib/native.ts';

/** Smaller files gain nothing worth the extra path. */
export const ZERO_COPY_MIN_BYTES = 256 * 1024;

/** The addon's two calls, present in any build since sendFileAsync (src/lib/native.ts). */
export type SendFileAddon = Required<Pick<Native, 'sendFileAsync' | 'sendFileCancel'>>;

/** The socket's descriptor, when Node exposes one (TCP on Linux). */
export function socketFd(socket: Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/** How one body went: `waits` counts the times the socket was full and the copy waited. */
export interface SentBody {
  bytes: number;
  waits: number;
}

/**
 * Writes `file` as the body of `res`, whose head (with Content-Length and validators from
 * `announced`) is set but not sent. Resolves when every byte is handed to the kernel and `res` is ended; rejects
 * (leaving `res` for the caller to destroy) when the client goes away or the file shrinks.
 */
export async function sendBody(
  res: ServerResponse,
  fd: number,
  file: string,
  announced: { size: number; mtimeMs: number },
  addon: SendFileAddon,
): Promise<SentBody> {
  const { size } = announced;
  // A pipelined request's response gets the socket only when the answers before it are done
  // (Node queues it); the head and the body must not overtake them.
  const socket = res.socket ?? (await assigned(res));
  res.flushHeaders();
  await drained(socket); // the head must be on the wire before bytes that bypass Node's queue
  const inFd = await fs.promises.open(file, 'r');
  try {
    // the head announced the file as it was stat'ed by path; a file replaced since then must
    // not go out under the old length and validators
    const now = await inFd.stat();
    if (now.size !== size || now.mtimeMs !== announced.mtimeMs)
      throw new Error(`${file} changed between its head and its body`);
    const sent = await new Promise<SentBody>((resolve, reject) => {
      if (socket.destroyed) return reject(new Error('client went away'));
      // the socket closing (client gone, server shutting down) stops the copy: the addon holds
      // its own dup of the descriptor, which would otherwise keep the connection alive
      const onClose = () => addon.sendFileCancel(id);
      const id = addon.sendFileAsync(fd, inFd.fd, 0, size, (err, bytes, waits) => {
        socket.off('close', onClose);
        if (err) reject(new Error(`${file}: ${err} after ${bytes} of ${size} bytes`));
        else resolve({ bytes, waits });
      });
      socket.once('close', onClose);
    });
    res.end();
    return sent;
  } finally {
    await inFd.close();
  }
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

/** The socket Node hands to a queued (pipelined) response; rejects when the connection closes first. */
function assigned(res: ServerResponse): Promise<Socket> {
  const conn = res.req.socket;
  return new Promise((resolve, reject) => {
    const onSocket = (s: Socket) => {
      conn.off('close', onClose);
      resolve(s);
    };
    const onClose = () => {
      res.off('socket', onSocket);
      reject(new Error('client went away'));
    };
    res.once('socket', onSocket);
    conn.once('close', onClose);
  });
}
