/**
 * Zero-copy file bodies for /assets/: after Node has written the response head, the addon
 * (native/sockopt.c `sendFileAsync`) moves the file from the page cache to the socket with
 * sendfile(2) each time the socket is writable, on Node's own event loop, as nginx does. No byte
 * passes through JavaScript, no thread waits on a slow client, and JavaScript runs twice per
 * download (start and end), not per chunk. Only for plain full-file GETs over TCP; everything
 * else goes through @fastify/static.
 *
 * The caller opens the file and derives the head (length, validators) from an fstat of that
 * descriptor before anything is written, and the body comes from the same descriptor, as nginx
 * does (ngx_open_cached_file: open, then fstat the descriptor): a file renamed over the path
 * meanwhile (how operators and `metalseed assets` replace kernels and initrds) does not touch
 * the inode being sent, so head and body always describe the same file.
 */
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

/** An open file to send whole: its descriptor, the size its fstat gave, and its name for errors. */
export interface OpenBody {
  fd: number;
  size: number;
  name: string;
}

/**
 * Writes `body.size` bytes of the open file as the body of `res`, whose head (Content-Length
 * `body.size`, validators from the same fstat) is set but not sent. Resolves when every byte is
 * handed to the kernel and `res` is ended; rejects (leaving `res` for the caller to destroy)
 * when the client goes away or the file comes up short: truncated in place after its fstat, it
 * can no longer fill the announced length, and the caller cuts the connection, so the client
 * sees an incomplete message (RFC 9112 section 6.3) instead of a hang or a body padded to length.
 * (Bytes sendfile(2) handed to the kernel before the truncation can reach the client zeroed:
 * the pages are the page cache's; the message is incomplete either way.)
 * The descriptor stays the caller's: it is in use until this settles.
 */
export async function sendBody(
  res: ServerResponse,
  outFd: number,
  body: OpenBody,
  addon: SendFileAddon,
): Promise<void> {
  const { size } = body;
  // A pipelined request's response gets the socket only when the answers before it are done
  // (Node queues it); the head and the body must not overtake them.
  const socket = res.socket ?? (await assigned(res));
  res.flushHeaders();
  await drained(socket); // the head must be on the wire before bytes that bypass Node's queue
  await new Promise<void>((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('client went away'));
    // the socket closing (client gone, server shutting down) stops the copy: the addon holds
    // its own dup of the descriptor, which would otherwise keep the connection alive
    const onClose = () => addon.sendFileCancel(id);
    const id = addon.sendFileAsync(outFd, body.fd, 0, size, (err, bytes) => {
      socket.off('close', onClose);
      if (err) reject(new Error(`${body.name}: ${err} after ${bytes} of ${size} bytes`));
      else resolve();
    });
    socket.once('close', onClose);
  });
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
