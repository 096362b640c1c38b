/**
 * Where TFTP bytes come from. The server only sees the `FileSource` seam; `rootFileSource`
 * serves regular files under one directory, `memoryFileSource` is the fake for tests.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { MetalseedError } from '../lib/errors.ts';

export interface OpenFile {
  readonly size: number;
  /** The whole file when it is in memory (the cache): the native pump sends from it directly. */
  readonly bytes?: Uint8Array;
  /** The open descriptor of a file read from disk, for the native pump's pread; valid until close(). */
  readonly fd?: number;
  /** Up to `length` bytes at `offset`; shorter only at the end of the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface FileSource {
  /**
   * Null when there is no such file. Throws `MetalseedError('ACCESS_DENIED')` for names that
   * may never be served (traversal, symlink escape, not a regular file).
   */
  open(name: string): Promise<OpenFile | null>;
}

/**
 * iPXE binaries (undionly.kpxe 74 KB, ipxe.efi 850 KB) are fetched by every machine in a boot
 * storm; files up to this size are served from memory.
 */
export const DEFAULT_CACHE_FILE_BYTES = 4 * 1024 * 1024;
/** Bound on the whole cache; least recently used entries go first. */
export const DEFAULT_CACHE_TOTAL_BYTES = 64 * 1024 * 1024;
/**
 * How long a cached file's name → real path → (mtime, size) check stays valid. Within it a
 * request for that name is served from memory without a syscall (a boot storm asks for the
 * same file thousands of times a second: two `realpath`, `open`, `fstat` and `close` each);
 * after it the next request resolves and stats the file again. A file replaced in place, or a
 * symlink repointed, is therefore served from at most this long ago.
 */
export const DEFAULT_REVALIDATE_MS = 2000;

export interface RootFileSourceOptions {
  cacheFileBytes?: number;
  cacheTotalBytes?: number;
  /** See `DEFAULT_REVALIDATE_MS`; 0 checks the file on every open. */
  revalidateMs?: number;
  /** Milliseconds clock for the revalidation window; `performance.now` by default. */
  now?: () => number;
  /**
   * Names (relative to the root) the operator vouches for: these may be symlinks that leave the
   * root. Distributions ship boot files that way (Debian: /usr/lib/ipxe/ipxe.efi →
   * /boot/ipxe.efi). Every other symlink that leaves the root is refused.
   */
  trustedLinks?: Iterable<string>;
}

const denied = (name: string, why: string): MetalseedError =>
  new MetalseedError('ACCESS_DENIED', `refused TFTP path ${JSON.stringify(name)}: ${why}`);

/**
 * The relative path a client name stands for. Firmware sends "/undionly.kpxe" or
 * "\boot\x.efi" (Windows-style servers), so leading slashes go and backslashes become
 * slashes; any ".." segment is refused outright rather than resolved.
 */
export function normaliseName(name: string): string {
  if (name.includes('\0')) throw denied(name, 'NUL in name');
  const parts = name.replaceAll('\\', '/').split('/');
  const kept: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw denied(name, 'parent directory segment');
    kept.push(p);
  }
  if (kept.length === 0) throw denied(name, 'empty path');
  return kept.join('/');
}

const memoryFile = (data: Uint8Array): OpenFile => ({
  size: data.length,
  bytes: data,
  read: async (offset, length) => data.subarray(offset, offset + length),
  close: async () => {},
});

function handleFile(fh: FileHandle, size: number): OpenFile {
  return {
    size,
    fd: fh.fd,
    read: async (offset, length) => {
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, offset + got);
        if (bytesRead === 0) break; // the file shrank under us; serve what there is
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    close: () => fh.close(),
  };
}

interface CacheEntry {
  key: string;
  data: Uint8Array;
}

/** A name whose resolution and cached bytes were checked at `at`. */
interface Checked {
  path: string;
  entry: CacheEntry;
  at: number;
}

/** Maps a filesystem error to "no such file" (null) or a refusal; anything else is rethrown. */
function classify(err: unknown, name: string): null {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return null;
  if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP') throw denied(name, code);
  throw err;
}

/** O_NOFOLLOW: the real path has no symlink now; refuse one swapped in since (TOCTOU). */
async function openNoFollow(path: string, name: string): Promise<FileHandle | null> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    return classify(err, name);
  }
}

export function rootFileSource(root: string, opts: RootFileSourceOptions = {}): FileSource {
  const maxFile = opts.cacheFileBytes ?? DEFAULT_CACHE_FILE_BYTES;
  const maxTotal = opts.cacheTotalBytes ?? DEFAULT_CACHE_TOTAL_BYTES;
  const cache = new Map<string, CacheEntry>(); // by real path; Map order = LRU order
  const trusted = new Set([...(opts.trustedLinks ?? [])].map(normaliseName));
  const revalidateMs = opts.revalidateMs ?? DEFAULT_REVALIDATE_MS;
  const now = opts.now ?? (() => performance.now());
  const checked = new Map<string, Checked>(); // by normalised name; only names of cached files
  let cached = 0;

  const remember = (path: string, entry: CacheEntry): void => {
    if (entry.data.length > maxTotal) return;
    const old = cache.get(path);
    if (old) cached -= old.data.length;
    cache.delete(path);
    for (const [p, e] of cache) {
      if (cached + entry.data.length <= maxTotal) break;
      cache.delete(p);
      cached -= e.data.length;
    }
    if (cached + entry.data.length > maxTotal) return;
    cache.set(path, entry);
    cached += entry.data.length;
  };

  /** Marks `path` most recently used (Map order is the LRU order). */
  const touch = (path: string, entry: CacheEntry): void => {
    cache.delete(path);
    cache.set(path, entry);
  };

  const fromCache = async (rel: string, path: string, fh: FileHandle, st: Stats): Promise<OpenFile> => {
    const key = `${st.mtimeMs}:${st.size}`;
    let entry = cache.get(path);
    if (entry?.key === key) {
      touch(path, entry);
      await fh.close();
    } else {
      entry = { key, data: await handleFile(fh, st.size).read(0, st.size) };
      await fh.close();
      remember(path, entry);
    }
    if (revalidateMs > 0 && cache.get(path) === entry) {
      if (checked.size >= 1024) checked.clear(); // names are few (the configured binaries); bound them anyway
      checked.set(rel, { path, entry, at: now() });
    }
    return memoryFile(entry.data);
  };

  return {
    async open(name) {
      const rel = normaliseName(name);
      const recent = checked.get(rel);
      // Still checked, and the bytes are still the cache's (not evicted since).
      if (recent && now() - recent.at < revalidateMs && cache.get(recent.path) === recent.entry) {
        touch(recent.path, recent.entry);
        return memoryFile(recent.entry.data);
      }
      checked.delete(rel);
      let base: string;
      let path: string;
      try {
        // The root is resolved on every open (one cheap syscall), so it may be a symlink
        // that is repointed while the server runs.
        base = await realpath(root);
        path = await realpath(join(base, rel));
      } catch (err) {
        return classify(err, name);
      }
      const inside = path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
      if (!inside && !trusted.has(rel)) {
        throw denied(name, 'resolves outside the root');
      }
      const fh = await openNoFollow(path, name);
      if (!fh) return null;
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw denied(name, 'not a regular file');
        if (st.size <= maxFile) return await fromCache(rel, path, fh, st);
        return handleFile(fh, st.size);
      } catch (err) {
        await fh.close().catch(() => {});
        throw err;
      }
    },
  };
}

/** A fixed set of in-memory files, for tests and for generated content. */
export function memoryFileSource(files: Record<string, Uint8Array>): FileSource {
  const byName = new Map(Object.entries(files));
  return {
    open: async (name) => {
      const data = byName.get(normaliseName(name));
      return data ? memoryFile(data) : null;
    },
  };
}
