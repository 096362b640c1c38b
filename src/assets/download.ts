/**
 * HTTP downloads into the staging directory: streamed to `<target>.part`, resumed with a Range
 * request when a previous run left a part behind (RFC 9110 §14.2, §15.3.7), renamed to
 * `<target>` only once every announced byte has arrived. Progress is reported per chunk; the
 * caller decides how often to show it.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { MetalseedError } from '../lib/errors.ts';

export interface Progress {
  /** File name, without directory. */
  file: string;
  /** Bytes on disk so far, including a resumed part. */
  bytes: number;
  /** Expected size when the server announced it. */
  total: number | null;
  /** Bytes per second over this run's transfer of the file (resumed bytes excluded). */
  rate: number;
  done: boolean;
}
export type OnProgress = (p: Progress) => void;

export interface DownloadOptions {
  onProgress?: OnProgress;
  now?: () => number;
  signal?: AbortSignal;
}

export const PART_SUFFIX = '.part';

/** GETs `url` into `target`; false when the server says 404/410 (the caller decides if that is fatal). */
export async function download(url: string, target: string, o: DownloadOptions = {}): Promise<boolean> {
  const now = o.now ?? Date.now;
  const part = target + PART_SUFFIX;
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  let res = await get(url, have > 0 ? { range: `bytes=${have}-` } : {}, o.signal);
  const badRange = res.status === 206 && contentRangeStart(res.headers.get('content-range')) !== have;
  if (res.status === 416 || badRange) {
    // the part is no prefix of what the server has now (it changed, or the part is complete
    // and longer than the new file), or the server answered another range: start over
    await res.body?.cancel();
    have = 0;
    res = await get(url, {}, o.signal);
  }
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return false;
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw new MetalseedError(
      'UNAVAILABLE',
      `GET ${url}: HTTP ${res.status} ${res.statusText}`,
      'check --base-url and the network; re-run to resume',
    );
  }
  const resumed = res.status === 206;
  if (!resumed) have = 0;
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = Number.isFinite(length) ? have + length : null;
  const file = target.slice(target.lastIndexOf('/') + 1);
  const started = now();
  const startBytes = have;
  let bytes = have;
  const report = (done: boolean) => {
    const secs = Math.max((now() - started) / 1000, 1e-3);
    o.onProgress?.({ file, bytes, total, rate: (bytes - startBytes) / secs, done });
  };
  report(false);
  const body = res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  const count = async function* (src: AsyncIterable<Buffer>) {
    for await (const chunk of src) {
      bytes += chunk.length;
      yield chunk;
      report(false);
    }
  };
  try {
    await pipeline(body, count, fs.createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  } catch (err) {
    throw new MetalseedError(
      'UNAVAILABLE',
      `GET ${url}: transfer broke off after ${bytes} bytes (${(err as Error).message})`,
      're-run the same command: it resumes from the partial file',
    );
  }
  if (total !== null && bytes !== total) {
    throw new MetalseedError(
      'UNAVAILABLE',
      `GET ${url}: got ${bytes} of ${total} bytes`,
      're-run the same command: it resumes from the partial file',
    );
  }
  fs.renameSync(part, target);
  report(true);
  return true;
}

/** A small file (signature, DIGESTS, version.txt) in memory; null on 404/410. */
export async function fetchSmall(url: string, signal?: AbortSignal): Promise<Buffer | null> {
  const res = await get(url, {}, signal);
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return null;
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new MetalseedError('UNAVAILABLE', `GET ${url}: HTTP ${res.status} ${res.statusText}`);
  }
  return Buffer.from(await res.arrayBuffer());
}

async function get(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(url, { headers, redirect: 'follow', ...(signal ? { signal } : {}) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new MetalseedError(
      'UNAVAILABLE',
      `GET ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      'check --base-url and that this host can reach it (or use `assets import` from a mirror)',
    );
  }
}

/** `bytes 100-199/200` → 100; null when absent or unparsable. */
function contentRangeStart(h: string | null): number | null {
  const m = h ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(h.trim()) : null;
  return m ? Number(m[1]) : null;
}
