/**
 * The one pipeline behind `fetch` and `import`: stage every file and its sidecars, verify all
 * of them, and only then install them together, update `current` and the manifest. A source
 * is anything that can put a named file into the staging directory (HTTP, a mirror directory).
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import type { OnProgress } from './download.ts';
import type { GpgBinaries } from './gpg.ts';
import { acquireLock, installVersion, pointCurrent, stagingDir, versionDir } from './install.ts';
import { type ManifestAsset, mergeAssets, readManifest, writeManifest } from './manifest.ts';
import {
  DIGESTS_SUFFIX,
  type Finding,
  isRefused,
  isVerified,
  SIG_SUFFIX,
  type Verification,
  verifyStaged,
} from './verify.ts';

/** Sidecars fetched beside every payload; the second only matters when the first exists. */
const DIGESTS_SIG_SUFFIX = `${DIGESTS_SUFFIX}${SIG_SUFFIX}`;
const SIDECARS = [SIG_SUFFIX, DIGESTS_SUFFIX, DIGESTS_SIG_SUFFIX] as const;

export interface Source {
  /** URL or path of a file, for messages and the manifest. */
  where(name: string): string;
  /** Puts the file at `target`; false when the source does not have it. */
  payload(name: string, target: string, onProgress?: OnProgress): Promise<boolean>;
  small(name: string): Promise<Buffer | null>;
}

export interface CacheOptions {
  dest: string;
  /** Asset set: the directory below `dest` (`flatcar`). */
  set: string;
  version: string;
  files: readonly string[];
  force: boolean;
  fingerprint: string;
  keyring: string;
  gpg?: GpgBinaries;
  now: () => number;
  onProgress?: OnProgress;
  /** One line per step, for the CLI; silent by default. */
  onLog?: (line: string) => void;
}

export interface CacheResult {
  set: string;
  version: string;
  /** The version directory the files are in. */
  dir: string;
  /** Manifest entries of this version's files. */
  assets: ManifestAsset[];
  /** True when the version was already installed and verified, so nothing was transferred. */
  alreadyInstalled: boolean;
}

export async function cacheAssets(src: Source, o: CacheOptions): Promise<CacheResult> {
  const log = o.onLog ?? (() => {});
  const release = acquireLock(o.dest, o.set);
  try {
    const done = installedEntries(o);
    if (done) {
      log(`${o.set} ${o.version} is already installed and verified`);
      return finish(o, [], done, true);
    }
    const stage = stagingDir(o.dest, o.set, o.version);
    fs.mkdirSync(stage, { recursive: true });
    const staged: string[] = [];
    for (const name of o.files) staged.push(...(await stageOne(src, stage, name, o, log)));
    const results: Verification[] = [];
    for (const name of o.files) results.push(await verifyStaged(stage, name, o));
    judge(results, src, stage, o);
    dropStaleSidecars(o, staged);
    installVersion(o.dest, o.set, o.version, stage, staged, o.files);
    fs.rmSync(stage, { recursive: true, force: true });
    const time = new Date(o.now()).toISOString();
    const assets = results.map((r) => entry(o, r, src.where(r.file), time));
    for (const a of assets) log(`installed ${a.path} (${describe(a)})`);
    return finish(o, assets, assets, false);
  } finally {
    release();
  }
}

/** Payload (reused when a previous run staged it whole) and fresh sidecars; staged names. */
async function stageOne(
  src: Source,
  stage: string,
  name: string,
  o: CacheOptions,
  log: (l: string) => void,
): Promise<string[]> {
  const target = path.join(stage, name);
  if (fs.existsSync(target)) {
    log(`${name}: using the copy staged by an earlier run (it is verified again)`);
  } else if (!(await src.payload(name, target, o.onProgress))) {
    throw new MetalseedError(
      'NOT_FOUND',
      `${name} not found at ${src.where(name)}`,
      'check the version and channel (or the mirror directory); `--version current` picks the latest',
    );
  }
  const out = [name];
  for (const suffix of SIDECARS) {
    const file = `${target}${suffix}`;
    fs.rmSync(file, { force: true });
    // a DIGESTS signature is only worth asking for when there is a DIGESTS file
    if (suffix === DIGESTS_SIG_SUFFIX && !out.includes(`${name}${DIGESTS_SUFFIX}`)) continue;
    const buf = await src.small(`${name}${suffix}`);
    if (buf) {
      fs.writeFileSync(file, buf);
      out.push(`${name}${suffix}`);
    }
  }
  return out;
}

/**
 * Throws unless every file may be installed. Evidence of bad bytes refuses the whole set and
 * discards the staged payloads; missing proof refuses it unless forced, keeping the staged
 * files so that a re-run after `assets trust` (or with --force) does not download again.
 */
function judge(results: Verification[], src: Source, stage: string, o: CacheOptions): void {
  const refused = results.filter(isRefused);
  if (refused.length > 0) {
    fs.rmSync(stage, { recursive: true, force: true });
    throw new MetalseedError(
      'ASSET_UNVERIFIED',
      `refusing ${o.set} ${o.version}: ${lines(refused, src, (f) => f.kind === 'refused')}`,
      'nothing was installed and the download was discarded; re-run to fetch it again, and if it ' +
        'fails the same way the source serves corrupted or forged files (--force does not override this)',
    );
  }
  const unverified = results.filter((r) => !isVerified(r));
  if (unverified.length > 0 && !o.force) {
    const noKey = unverified.some((r) => r.findings.some((f) => f.message.startsWith('no trusted key')));
    throw new MetalseedError(
      'ASSET_UNVERIFIED',
      `cannot verify ${o.set} ${o.version}: ${lines(unverified, src, () => true)}`,
      (noKey ? 'import the signing key with `metalseed assets trust KEYFILE`, then re-run; ' : '') +
        'or re-run with --force to install unverified files (recorded as forced in manifest.json)',
    );
  }
}

function lines(rs: Verification[], src: Source, which: (f: Finding) => boolean): string {
  return rs
    .flatMap((r) => r.findings.filter(which).map((f) => `\n  ${f.message} [${src.where(r.file)}]`))
    .join('');
}

function entry(o: CacheOptions, r: Verification, source: string, time: string): ManifestAsset {
  const verifiedBy = { ...r.verifiedBy };
  if (!isVerified(r)) verifiedBy.forced = r.findings.map((f) => f.message);
  return {
    path: `${o.set}/${o.version}/${r.file}`,
    size: r.size,
    sha512: r.sha512,
    verifiedBy,
    source,
    time,
  };
}

/** Sidecars an earlier install left that this one does not have would vouch for nothing. */
function dropStaleSidecars(o: CacheOptions, staged: readonly string[]): void {
  const dir = versionDir(o.dest, o.set, o.version);
  for (const name of o.files) {
    for (const suffix of SIDECARS) {
      if (!staged.includes(`${name}${suffix}`))
        fs.rmSync(path.join(dir, `${name}${suffix}`), { force: true });
    }
  }
}

/** This version's manifest entries when every file is installed, verified and unchanged in size. */
function installedEntries(o: CacheOptions): ManifestAsset[] | null {
  const m = readManifest(o.dest);
  const dir = versionDir(o.dest, o.set, o.version);
  const out: ManifestAsset[] = [];
  for (const name of o.files) {
    const a = m.assets.find((x) => x.path === `${o.set}/${o.version}/${name}`);
    const st = fs.statSync(path.join(dir, name), { throwIfNoEntry: false });
    if (!a || a.verifiedBy.forced || !st || st.size !== a.size) return null;
    out.push(a);
  }
  return out;
}

function finish(
  o: CacheOptions,
  add: ManifestAsset[],
  assets: ManifestAsset[],
  already: boolean,
): CacheResult {
  pointCurrent(o.dest, o.set, o.version, o.files);
  writeManifest(o.dest, mergeAssets(readManifest(o.dest), add, [o.set, o.version]));
  return {
    set: o.set,
    version: o.version,
    dir: versionDir(o.dest, o.set, o.version),
    assets,
    alreadyInstalled: already,
  };
}

/** `gpg F88C…, sha512` or `FORCED: no signature…`, for log lines and `assets list`. */
export function describe(a: ManifestAsset): string {
  const v = a.verifiedBy;
  if (v.forced) return `FORCED: ${v.forced.join('; ')}`;
  return [v.gpg ? `gpg ${v.gpg}` : null, v.digests ? `signed DIGESTS ${v.digests}` : null]
    .filter((x) => x !== null)
    .join(', ');
}
