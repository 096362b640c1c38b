/**
 * The Kubernetes system extension image every node merges (k8s-bootstrap.md 3a): from the
 * Flatcar sysext bakery's release `kubernetes-vX.Y.Z`, checked against that release's
 * SHA256SUMS (the bakery publishes no signature; the sums come over https from the same
 * release) or against a hash the operator pins. Installed as
 * `dataDir/assets/sysext/kubernetes-vX.Y.Z-x86-64.raw` with a `.sha256` sidecar that the
 * Ignition generator puts in `verification.hash`, so a node refuses any other bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import { fileDigest } from './digests.ts';
import { download, fetchSmall, type OnProgress } from './download.ts';
import { STAGING_DIR } from './install.ts';

export const SYSEXT_SET = 'sysext';
export const SYSEXT_ARCH = 'x86-64';
export const DEFAULT_SYSEXT_BASE = 'https://github.com/flatcar/sysext-bakery/releases/download';
export const SUMS_FILE = 'SHA256SUMS';
const VERSION_RE = /^v\d+\.\d+\.\d+$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function sysextName(kubernetesVersion: string): string {
  return `kubernetes-${kubernetesVersion}-${SYSEXT_ARCH}.raw`;
}

export interface SysextOptions {
  /** The assets directory (`dataDir/assets`). */
  dest: string;
  /** `v1.36.2`. */
  version: string;
  /** Release directory base; the release is `<base>/kubernetes-<version>/`. */
  baseUrl?: string;
  /** A local directory holding the .raw (and SHA256SUMS) instead of downloading. */
  fromDir?: string;
  /** Operator-pinned SHA-256 (hex); replaces SHA256SUMS. */
  sha256?: string;
  onProgress?: OnProgress;
  onLog?: (line: string) => void;
}

export interface InstalledSysext {
  path: string;
  /** Path below /assets/, for the URL. */
  urlPath: string;
  sha256: string;
  size: number;
}

export async function installSysext(o: SysextOptions): Promise<InstalledSysext> {
  if (!VERSION_RE.test(o.version)) {
    throw new MetalseedError('INVALID_INPUT', `--version: expected vX.Y.Z, got "${o.version}"`);
  }
  if (o.sha256 !== undefined && !HEX64.test(o.sha256)) {
    throw new MetalseedError('INVALID_INPUT', '--sha256: expected 64 lower-case hex digits');
  }
  const name = sysextName(o.version);
  const staging = path.join(o.dest, STAGING_DIR);
  fs.mkdirSync(staging, { recursive: true });
  const staged = path.join(staging, name);
  const release = `${(o.baseUrl ?? DEFAULT_SYSEXT_BASE).replace(/\/+$/, '')}/kubernetes-${o.version}`;
  const where = o.fromDir ? path.resolve(o.fromDir) : release;
  const expected = o.sha256 ?? (await expectedFromSums(o, where, name));
  if (o.fromDir) {
    const src = path.join(where, name);
    if (!fs.existsSync(src)) throw new MetalseedError('NOT_FOUND', `${src} not found`);
    fs.copyFileSync(src, staged);
  } else {
    const url = `${release}/${name}`;
    o.onLog?.(`GET ${url}`);
    const ok = await download(url, staged, o.onProgress ? { onProgress: o.onProgress } : {});
    if (!ok) throw new MetalseedError('NOT_FOUND', `${url} not found`, 'check --version and --base-url');
  }
  const actual = (await fileDigest(staged, 'sha256')).hex;
  if (actual !== expected) {
    fs.rmSync(staged, { force: true });
    throw new MetalseedError(
      'ASSET_UNVERIFIED',
      `${name}: SHA-256 ${actual} does not match the expected ${expected}; the file was not installed`,
      'fetch it again; if it keeps failing the mirror serves other bytes than the release published',
    );
  }
  const dir = path.join(o.dest, SYSEXT_SET);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, name);
  fs.renameSync(staged, target);
  fs.writeFileSync(`${target}.sha256`, `${actual}  ${name}\n`);
  o.onLog?.(`installed ${target} (sha256 ${actual})`);
  return { path: target, urlPath: `${SYSEXT_SET}/${name}`, sha256: actual, size: fs.statSync(target).size };
}

/** The installed image for `version`, or undefined when none is (its sidecar is the proof). */
export function findSysext(assetsDir: string, version: string): InstalledSysext | undefined {
  const name = sysextName(version);
  const target = path.join(assetsDir, SYSEXT_SET, name);
  let line: string;
  try {
    line = fs.readFileSync(`${target}.sha256`, 'utf8');
  } catch {
    return undefined;
  }
  const sha256 = line.split(/\s+/)[0] ?? '';
  const st = fs.statSync(target, { throwIfNoEntry: false });
  if (!HEX64.test(sha256) || !st?.isFile()) return undefined;
  return { path: target, urlPath: `${SYSEXT_SET}/${name}`, sha256, size: st.size };
}

async function expectedFromSums(o: SysextOptions, where: string, name: string): Promise<string> {
  const text = o.fromDir
    ? readIfExists(path.join(where, SUMS_FILE))
    : (await fetchSmall(`${where}/${SUMS_FILE}`))?.toString('utf8');
  if (text === undefined || text === null) {
    throw new MetalseedError(
      'ASSET_UNVERIFIED',
      `${where}/${SUMS_FILE} not found, so ${name} cannot be checked`,
      'mirror SHA256SUMS with the image, or pass --sha256 with the hash you trust',
    );
  }
  return sumFor(text, name, `${where}/${SUMS_FILE}`);
}

/** `sha256sum` output: `<hex>  <name>` or `<hex> *<name>` per line. */
export function sumFor(text: string, name: string, where: string): string {
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim());
    if (m && path.basename(m[2]!) === name) return m[1]!.toLowerCase();
  }
  throw new MetalseedError('ASSET_UNVERIFIED', `${where} has no entry for ${name}`);
}

function readIfExists(file: string): string | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}
