/**
 * `dataDir/assets/manifest.json`: every installed asset with its size, SHA512 and what vouched
 * for it, plus which version each `current` pointer names. Byte-stable (sorted keys, assets
 * sorted by path) so it can be diffed and its own hash compared; written atomically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import { stableStringify } from '../lib/stable-json.ts';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 1;

/** What vouched for a file. `forced` lists the checks that were skipped or failed. */
export interface VerifiedBy {
  /** Primary fingerprint of the key whose signature over the file verified. */
  gpg?: string;
  /** The algorithm of the signed DIGESTS entry that matched. */
  digests?: 'sha512';
  forced?: string[];
}

export interface ManifestAsset {
  /** Relative to the assets directory, with `/`: the URL path below /assets/. */
  path: string;
  size: number;
  sha512: string;
  verifiedBy: VerifiedBy;
  /** Where it came from: a URL, or the directory it was imported from. */
  source: string;
  /** When it was installed (ISO 8601, UTC). */
  time: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** Asset set (e.g. `flatcar`) → the version its `current` pointer names. */
  current: Record<string, string>;
  assets: ManifestAsset[];
}

export function emptyManifest(): Manifest {
  return { format: MANIFEST_FORMAT, current: {}, assets: [] };
}

export function readManifest(dest: string): Manifest {
  const file = path.join(dest, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw err;
  }
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch (err) {
    throw new MetalseedError(
      'CONFIG_INVALID',
      `${file}: not valid JSON (${(err as Error).message})`,
      'move it aside; the next fetch or import writes a new one',
    );
  }
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.assets)) {
    throw new MetalseedError('CONFIG_INVALID', `${file}: unknown manifest format ${String(m.format)}`);
  }
  return { format: MANIFEST_FORMAT, current: m.current ?? {}, assets: m.assets };
}

/** Entries of `add` replace those with the same path; the result is sorted by path. */
export function mergeAssets(m: Manifest, add: ManifestAsset[], current?: [string, string]): Manifest {
  const byPath = new Map(m.assets.map((a) => [a.path, a]));
  for (const a of add) byPath.set(a.path, a);
  const assets = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    format: MANIFEST_FORMAT,
    current: current ? { ...m.current, [current[0]]: current[1] } : m.current,
    assets,
  };
}

export function renderManifest(m: Manifest): string {
  return stableStringify(m);
}

export function writeManifest(dest: string, m: Manifest): void {
  const file = path.join(dest, MANIFEST_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, renderManifest(m));
  fs.renameSync(tmp, file);
}
