/**
 * The on-disk layout of the cache, and moving verified files into it.
 *
 *   assets/.staging/flatcar-<version>/   downloads and copies in progress (dotfile: /assets/
 *                                        never serves it); same filesystem, so rename is atomic
 *   assets/flatcar/<version>/<file>      installed files with their .sig/.DIGESTS sidecars
 *   assets/flatcar/current -> <version>  switched with one rename(2)
 *   assets/flatcar/<file> -> current/<file>  the paths the default profile boots
 *
 * Nothing reaches `flatcar/` before it is verified: a file appears there by rename, whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import { CURRENT } from './flatcar.ts';

export const STAGING_DIR = '.staging';
/** The seed's trust anchor for asset signatures: public keys only, so serving it is harmless. */
export const KEYRING_FILE = 'trusted.gpg';

export function stagingDir(dest: string, set: string, version: string): string {
  return path.join(dest, STAGING_DIR, `${set}-${version}`);
}

export function versionDir(dest: string, set: string, version: string): string {
  return path.join(dest, set, version);
}

/**
 * Moves `files` from `stage` into `set/version/`, points `set/current` at that version and
 * makes `set/<payload>` links through `current`. Each rename replaces its target atomically.
 */
export function installVersion(
  dest: string,
  set: string,
  version: string,
  stage: string,
  files: readonly string[],
  payloads: readonly string[],
): void {
  const dir = versionDir(dest, set, version);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.renameSync(path.join(stage, f), path.join(dir, f));
  pointCurrent(dest, set, version, payloads);
}

/** `set/current` → version, and the stable `set/<payload>` → `current/<payload>` links. */
export function pointCurrent(dest: string, set: string, version: string, payloads: readonly string[]): void {
  const setDir = path.join(dest, set);
  replaceSymlink(version, path.join(setDir, CURRENT));
  for (const p of payloads) {
    const link = path.join(setDir, p);
    const target = `${CURRENT}/${p}`;
    if (readlinkOrNull(link) !== target) replaceSymlink(target, link);
  }
}

function replaceSymlink(target: string, link: string): void {
  const st = fs.lstatSync(link, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    throw new MetalseedError(
      'CONFLICT',
      `${link} is a directory; the asset cache needs a symlink there`,
      `move ${link} aside and re-run`,
    );
  }
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

function readlinkOrNull(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}

/**
 * One fetch or import per asset set at a time: two writers of the same staging dir would
 * interleave their bytes. The lock names its holder's PID; a dead holder's lock is taken over.
 */
export function acquireLock(dest: string, set: string): () => void {
  const dir = path.join(dest, STAGING_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${set}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(file, 'utf8').trim());
      if (alive(holder)) {
        throw new MetalseedError(
          'CONFLICT',
          `another metalseed process (PID ${holder}) is fetching or importing ${set} assets`,
          `wait for it to finish; if no such process exists, remove ${file}`,
        );
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new MetalseedError('CONFLICT', `cannot take the lock ${file}`);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
