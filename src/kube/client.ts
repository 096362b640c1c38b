/**
 * A small Kubernetes API client over node:https: JSON requests and watch streams, mutual TLS
 * with the kubeconfig's CA and client certificate. The seed needs a handful of endpoints
 * (nodes, leases, and the smoke test's objects); a hand-written client keeps every byte on
 * the wire and every retry decision visible and testable, without a code-generated SDK.
 *
 * Watch framing: the API server writes one JSON-encoded WatchEvent per line on a chunked
 * response (apimachinery pkg/runtime/serializer/json framer, "Efficient detection of changes").
 */
import https from 'node:https';
import { apiError, connectionError, KubeApiError } from './errors.ts';
import type { KubeConnection } from './kubeconfig.ts';
import type { Status, WatchEvent } from './types.ts';

/** A request that hangs this long (no answer) is failed; watches use their own idle limit. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** One watch line can carry a large object; anything beyond this is not a Kubernetes event. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface RequestOptions {
  signal?: AbortSignal;
  /** Content type of the body: JSON by default, merge-patch for PATCH. */
  contentType?: string;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** No byte for this long means the connection is dead (the server sends BOOKMARKs). */
  idleMs: number;
}

export class KubeClient {
  private readonly agent: https.Agent;

  constructor(
    readonly conn: KubeConnection,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      ca: conn.caPem,
      ...(conn.certPem ? { cert: conn.certPem } : {}),
      ...(conn.keyPem ? { key: conn.keyPem } : {}),
    });
  }

  get server(): string {
    return this.conn.server;
  }

  get<T>(path: string, o?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, o);
  }

  create<T>(path: string, body: unknown, o?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, o);
  }

  delete<T>(path: string, body?: unknown, o?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, body, o);
  }

  /** One JSON request; resolves with the decoded answer, or rejects with a KubeApiError. */
  request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const what = `${method} ${path}`;
    return new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(this.url(path), {
        method,
        agent: this.agent,
        headers: this.headers(payload, o.contentType),
        timeout: this.timeoutMs,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.failure(err)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => reject(this.failure(err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = parseJson(text);
          const status = res.statusCode ?? 0;
          if (status >= 400 || status < 200) reject(apiError(what, status, asStatus(json)));
          else if (json === undefined && text !== '')
            reject(apiError(what, 502, { message: 'answer is not JSON' }));
          else resolve(json as T);
        });
      });
      req.end(payload);
    });
  }

  /**
   * Streams a watch: `onEvent` gets every event in order. Resolves when the server ends the
   * stream cleanly (its timeoutSeconds), rejects on an HTTP error, an ERROR event (410 Expired
   * is a KubeApiError with status 410), a dropped connection, or `idleMs` of silence.
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, o: WatchOptions): Promise<void> {
    const what = `WATCH ${path}`;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        if (err) reject(err);
        else resolve();
      };
      const req = https.request(this.url(path), {
        method: 'GET',
        agent: this.agent,
        headers: this.headers(undefined),
        timeout: o.idleMs,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      req.on('timeout', () =>
        done(
          connectionError(
            this.server,
            Object.assign(new Error(`no data for ${o.idleMs} ms`), { code: 'ETIMEDOUT' }),
          ),
        ),
      );
      req.on('error', (err: NodeJS.ErrnoException) => done(this.failure(err)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            done(apiError(what, status, asStatus(parseJson(Buffer.concat(chunks).toString())))),
          );
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === '' || settled) continue;
            const err = this.deliver(line, what, onEvent);
            if (err) return done(err);
          }
          if (buf.length > MAX_LINE_BYTES) done(apiError(what, 502, { message: 'watch line too long' }));
        });
        res.on('error', (err: NodeJS.ErrnoException) => done(this.failure(err)));
        res.on('end', () => done());
        // closed before the final chunk: the server or the network dropped the stream
        res.on('close', () => {
          if (!res.complete) {
            done(
              connectionError(
                this.server,
                Object.assign(new Error('watch stream cut'), { code: 'ECONNRESET' }),
              ),
            );
          }
        });
      });
      req.end();
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private deliver<T>(line: string, what: string, onEvent: (e: WatchEvent<T>) => void): unknown {
    const e = parseJson(line) as WatchEvent<T> | undefined;
    if (!e || typeof e !== 'object' || typeof e.type !== 'string' || !e.object) {
      return apiError(what, 502, { message: `not a watch event: ${line.slice(0, 80)}` });
    }
    if (e.type === 'ERROR') {
      const s = asStatus(e.object) ?? {};
      return apiError(what, s.code ?? 500, s);
    }
    try {
      onEvent(e);
    } catch (err) {
      return err;
    }
    return undefined;
  }

  private url(path: string): string {
    return `${this.conn.server}${path}`;
  }

  private headers(payload: Buffer | undefined, contentType = 'application/json'): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': 'metalseed' };
    if (this.conn.token) h.authorization = `Bearer ${this.conn.token}`;
    if (payload) {
      h['content-type'] = contentType;
      h['content-length'] = String(payload.length);
    }
    return h;
  }

  private failure(err: NodeJS.ErrnoException): unknown {
    if (err.name === 'AbortError' || err instanceof KubeApiError) return err;
    return connectionError(this.server, err);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asStatus(v: unknown): Status | null {
  return v && typeof v === 'object' ? (v as Status) : null;
}

/** `?a=1&b=2` from defined values, in the given order. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
