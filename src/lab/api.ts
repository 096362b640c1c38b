/**
 * Reaching the lab seed's operator API from the host. The seed listens only inside its
 * namespace, and the lab adds no interface to the host's, so a tiny forwarder runs in the seed
 * namespace: it accepts on a unix socket in the lab's state directory (a file, visible from
 * every namespace) and connects each client to the seed's HTTP port there. The host side then
 * speaks HTTP over that socket (node:http `socketPath`).
 */
import { type IncomingMessage, request } from 'node:http';
import type { Machine, TimelineEvent } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';

/**
 * The forwarder, run as `node -e PROXY_SCRIPT SOCKET HOST PORT` (CommonJS, no dependencies).
 * The socket is mode 0600: whoever can open it reaches the API (which still wants its token).
 */
export const PROXY_SCRIPT = `'use strict';
const net = require('node:net');
const fs = require('node:fs');
const [sock, host, port] = process.argv.slice(1);
try { fs.unlinkSync(sock); } catch {}
const server = net.createServer((c) => {
  const up = net.connect(Number(port), host);
  const end = () => { c.destroy(); up.destroy(); };
  c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
  c.pipe(up); up.pipe(c);
});
server.listen(sock, () => { fs.chmodSync(sock, 0o600); console.log('api proxy listening on ' + sock); });
const stop = () => { try { fs.unlinkSync(sock); } catch {} process.exit(0); };
process.on('SIGTERM', stop); process.on('SIGINT', stop);
`;

const REQUEST_TIMEOUT_MS = 10_000;

export class LabApi {
  constructor(
    private readonly socketPath: string,
    private readonly token: string,
  ) {}

  private open(path: string, accept: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          path: `/api/v1${path}`,
          headers: { authorization: `Bearer ${this.token}`, accept, host: 'metalseed-lab' },
        },
        resolve,
      );
      req.on('error', (err) =>
        reject(
          new MetalseedError(
            'UNAVAILABLE',
            `cannot reach the lab seed through ${this.socketPath}: ${err.message}`,
            'is the lab up? `metalseed lab status`',
          ),
        ),
      );
      req.end();
    });
  }

  async get<T>(path: string): Promise<T> {
    const res = await this.open(path, 'application/json');
    const timer = setTimeout(() => res.destroy(new Error('timeout')), REQUEST_TIMEOUT_MS);
    try {
      let body = '';
      for await (const chunk of res) body += String(chunk);
      if ((res.statusCode ?? 500) >= 400) {
        throw new MetalseedError(
          'UNAVAILABLE',
          `lab seed: GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`,
        );
      }
      return JSON.parse(body) as T;
    } finally {
      clearTimeout(timer);
    }
  }

  machines(): Promise<Machine[]> {
    return this.get<Machine[]>('/machines');
  }

  timeline(id: string): Promise<TimelineEvent[]> {
    return this.get<TimelineEvent[]>(`/machines/${encodeURIComponent(id)}/timeline?limit=1000`);
  }

  /** The live event stream (api/events.ts); the caller destroys it when done. */
  async events(): Promise<IncomingMessage> {
    const res = await this.open('/events', 'text/event-stream');
    if (res.statusCode !== 200) {
      res.destroy();
      throw new MetalseedError('UNAVAILABLE', `lab seed: GET /events: HTTP ${res.statusCode}`);
    }
    return res;
  }

  /** PUT a JSON body; the API answers with the stored object. */
  async put(path: string, body: unknown): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const data = JSON.stringify(body);
      const req = request(
        {
          socketPath: this.socketPath,
          method: 'PUT',
          path: `/api/v1${path}`,
          headers: {
            authorization: `Bearer ${this.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(data),
            host: 'metalseed-lab',
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += String(c);
          });
          res.on('end', () =>
            (res.statusCode ?? 500) < 300
              ? resolve()
              : reject(
                  new MetalseedError('UNAVAILABLE', `lab seed: PUT ${path}: HTTP ${res.statusCode}: ${text}`),
                ),
          );
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }
}
