/**
 * `fetchAssets`: Flatcar PXE images from a release server (or any mirror with the same layout:
 * `<base>/<version>/<file>`, `<base>/current/version.txt`) into the verified cache.
 * `importAssets`: the same from a local directory, for seeds without internet access.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MetalseedError } from '../lib/errors.ts';
import { type CacheResult, cacheAssets, type Source } from './cache.ts';
import { download, fetchSmall, type OnProgress, PART_SUFFIX } from './download.ts';
import {
  CURRENT,
  checkVersion,
  DEFAULT_FLATCAR_ARCH,
  defaultBaseUrl,
  FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT,
  FLATCAR_PXE_FILES,
  type FlatcarArch,
  type FlatcarChannel,
  parseVersionTxt,
  VERSION_FILE,
} from './flatcar.ts';
import type { GpgBinaries } from './gpg.ts';
import { KEYRING_FILE } from './install.ts';

/** The directory below the assets directory that Flatcar files live in. */
export const FLATCAR_SET = 'flatcar';

interface CommonOptions {
  /** The assets directory (`dataDir/assets`). */
  dest: string;
  /** File names to install; default the PXE kernel and initrd. */
  files?: readonly string[];
  /** Install files that cannot be verified; recorded in the manifest. */
  force?: boolean;
  /** Primary fingerprint signatures must chain to; default the Flatcar image signing key. */
  fingerprint?: string;
  /** Default `dest/trusted.gpg`. */
  keyring?: string;
  gpg?: GpgBinaries;
  onProgress?: OnProgress;
  onLog?: (line: string) => void;
  /** Clock for rates and manifest times (ms since the epoch). */
  now?: () => number;
}

export interface FetchOptions extends CommonOptions {
  channel?: FlatcarChannel;
  arch?: FlatcarArch;
  /** Replaces `https://<channel>.release.flatcar-linux.net/<arch>`. */
  baseUrl?: string;
  /** `current` or a release number. */
  version: string;
  signal?: AbortSignal;
}

export async function fetchAssets(o: FetchOptions): Promise<CacheResult> {
  const base = (o.baseUrl ?? defaultBaseUrl(o.channel ?? 'stable', o.arch ?? DEFAULT_FLATCAR_ARCH)).replace(
    /\/+$/,
    '',
  );
  const version = await resolveVersion(base, o.version, o.signal);
  if (o.version === CURRENT) o.onLog?.(`${base}/${CURRENT} is version ${version}`);
  const dir = `${base}/${version}`;
  const signal = o.signal;
  const now = o.now ?? Date.now;
  const src: Source = {
    where: (name) => `${dir}/${name}`,
    payload: (name, target, onProgress) =>
      download(`${dir}/${name}`, target, {
        now,
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      }),
    small: (name) => fetchSmall(`${dir}/${name}`, signal),
  };
  return cacheAssets(src, cacheOptions(o, version));
}

/**
 * `current` is a moving name: read its version.txt and fetch from the numbered directory, so
 * the files staged, verified and installed all belong to one release. version.txt is not
 * signed; it only chooses which signed release is fetched.
 */
async function resolveVersion(base: string, version: string, signal?: AbortSignal): Promise<string> {
  if (version !== CURRENT) return checkVersion(version, '--version');
  const url = `${base}/${CURRENT}/${VERSION_FILE}`;
  const text = await fetchSmall(url, signal);
  if (!text) {
    throw new MetalseedError(
      'NOT_FOUND',
      `${url} not found`,
      'check --base-url and --channel, or pass --version',
    );
  }
  return parseVersionTxt(text.toString('utf8'), url);
}

export interface ImportOptions extends CommonOptions {
  /** Default: FLATCAR_VERSION_ID from `srcDir/version.txt`. */
  version?: string;
}

/** Installs from a directory holding the files, their sidecars and (optionally) version.txt. */
export async function importAssets(
  srcDir: string,
  dest: string,
  opts: Omit<ImportOptions, 'dest'> = {},
): Promise<CacheResult> {
  const o: ImportOptions = { ...opts, dest };
  const dir = path.resolve(srcDir);
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new MetalseedError(
      'NOT_FOUND',
      `${srcDir} is not a directory`,
      'pass the directory of a mirrored release',
    );
  }
  const version = o.version ? checkVersion(o.version, '--version') : versionFromDir(dir);
  const src: Source = {
    where: (name) => path.join(dir, name),
    payload: (name, target, onProgress) =>
      copyIn(path.join(dir, name), target, o.now ?? Date.now, onProgress),
    small: async (name) => {
      const f = path.join(dir, name);
      return fs.existsSync(f) ? fs.readFileSync(f) : null;
    },
  };
  return cacheAssets(src, cacheOptions(o, version));
}

function versionFromDir(dir: string): string {
  const f = path.join(dir, VERSION_FILE);
  if (!fs.existsSync(f)) {
    throw new MetalseedError(
      'INVALID_INPUT',
      `${dir} has no ${VERSION_FILE}, so its Flatcar version is unknown`,
      'pass --version, or mirror version.txt with the images',
    );
  }
  return parseVersionTxt(fs.readFileSync(f, 'utf8'), f);
}

/**
 * Copies into the staging directory before verifying: the bytes checked are the bytes
 * installed, whatever happens to the source directory meanwhile.
 */
async function copyIn(
  from: string,
  target: string,
  now: () => number,
  onProgress?: OnProgress,
): Promise<boolean> {
  const st = fs.statSync(from, { throwIfNoEntry: false });
  if (!st?.isFile()) return false;
  const file = path.basename(target);
  const part = target + PART_SUFFIX;
  const started = now();
  let bytes = 0;
  const report = (done: boolean) =>
    onProgress?.({
      file,
      bytes,
      total: st.size,
      rate: bytes / Math.max((now() - started) / 1000, 1e-3),
      done,
    });
  report(false);
  await pipeline(
    fs.createReadStream(from),
    async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        bytes += chunk.length;
        yield chunk;
        report(false);
      }
    },
    fs.createWriteStream(part),
  );
  fs.renameSync(part, target);
  report(true);
  return true;
}

function cacheOptions(o: CommonOptions, version: string) {
  for (const f of o.files ?? []) {
    // names become paths in the cache and in URLs: plain, visible file names only
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(f)) {
      throw new MetalseedError('INVALID_INPUT', `"${f}" is not a plain file name`);
    }
  }
  return {
    dest: o.dest,
    set: FLATCAR_SET,
    version,
    files: o.files ?? FLATCAR_PXE_FILES,
    force: o.force ?? false,
    fingerprint: o.fingerprint ?? FLATCAR_IMAGE_SIGNING_KEY_FINGERPRINT,
    keyring: o.keyring ?? path.join(o.dest, KEYRING_FILE),
    now: o.now ?? Date.now,
    ...(o.gpg ? { gpg: o.gpg } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.onLog ? { onLog: o.onLog } : {}),
  };
}
