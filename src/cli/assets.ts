/**
 * `metalseed assets fetch|import|trust|list`: fills the verified asset cache in
 * `<data-dir>/assets` that /assets/ serves. Works on the data directory directly, not through
 * the API, so it runs before the seed is first started. Progress goes to stderr: a live line
 * on a terminal, a plain line every few seconds otherwise (logs, CI).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import {
  type CacheResult,
  CURRENT,
  describe,
  FLATCAR_CHANNELS,
  FLATCAR_IMAGE_SIGNING_KEY_URL,
  type FlatcarArch,
  type FlatcarChannel,
  fetchAssets,
  formatFingerprint,
  importAssets,
  installSysext,
  type OnProgress,
  type Progress,
  readManifest,
  trustSigningKey,
} from '../assets/index.ts';
import { DEFAULT_KUBERNETES_VERSION } from '../config/cluster.ts';
import { loadConfigFile } from '../config/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { DEFAULT_DATA_DIR } from './client.ts';
import { FORMATS, type Format, print, table } from './output.ts';

/** Terminal redraws at most this often: fast enough to look live, cheap for the CPU. */
const TTY_REFRESH_MS = 100;
/** Without a terminal, one progress line this often: readable in a log, proof of life. */
const PLAIN_INTERVAL_MS = 5_000;
/** Below /assets/ in the data directory (main.ts serves the same place). */
const ASSETS_SUBDIR = 'assets';

interface DirFlags {
  dataDir?: string;
  config?: string;
}
interface VerifyFlags extends DirFlags {
  force?: boolean;
  fingerprint?: string;
}

export function assetsCommand(): Command {
  const cmd = new Command('assets')
    .description('download, import and verify boot images into <data-dir>/assets (served at /assets/)')
    .addOption(
      new Option(
        '-d, --data-dir <dir>',
        `seed data directory (default: the config's dataDir, else ${DEFAULT_DATA_DIR})`,
      ).env('METALSEED_DATA_DIR'),
    )
    .option('-c, --config <file>', 'read dataDir from this config file');

  cmd
    .command('fetch')
    .description('download Flatcar PXE images, verify their GPG signatures and DIGESTS, install them')
    .argument('<what>', '"flatcar", or "kubernetes-sysext" (the bakery image every node merges)')
    .addOption(
      new Option('--channel <channel>', 'release channel').choices(FLATCAR_CHANNELS).default('stable'),
    )
    .option(
      '--version <version>',
      'flatcar: "current" or a release such as 4593.2.5; kubernetes-sysext: default cluster.kubernetesVersion',
    )
    .option('--sha256 <hex>', 'kubernetes-sysext: the hash you trust, instead of the release SHA256SUMS')
    .option('--from <dir>', 'kubernetes-sysext: a local directory holding the .raw and SHA256SUMS')
    .addOption(
      new Option('--arch <arch>', 'architecture').choices(['amd64-usr', 'arm64-usr']).default('amd64-usr'),
    )
    .option('--base-url <url>', 'mirror replacing https://<channel>.release.flatcar-linux.net/<arch>')
    .option('--force', 'install files that cannot be verified (recorded as forced in manifest.json)')
    .option('--fingerprint <fpr>', 'pin another signing key (private mirrors); default: the Flatcar key')
    .action(async (os: string, o: VerifyFlags & FetchFlags, c: Command) => {
      if (os === 'kubernetes-sysext') return fetchSysext(c, o);
      if (os !== 'flatcar') {
        throw new MetalseedError(
          'INVALID_INPUT',
          `unknown asset "${os}"`,
          'use `assets fetch flatcar` or `assets fetch kubernetes-sysext`',
        );
      }
      const dest = assetsDir(c);
      const r = await fetchAssets({
        dest,
        version: o.version ?? CURRENT,
        channel: o.channel,
        arch: o.arch,
        ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
        ...common(o),
      });
      summary(r);
    });

  cmd
    .command('import')
    .description('install images from a directory (an offline mirror of one release), with the same checks')
    .argument('<dir>', 'directory holding the images, their .sig/.DIGESTS files and version.txt')
    .option('--version <version>', 'release number, when the directory has no version.txt')
    .option('--force', 'install files that cannot be verified (recorded as forced in manifest.json)')
    .option('--fingerprint <fpr>', 'pin another signing key; default: the Flatcar key')
    .action(async (dir: string, o: VerifyFlags & { version?: string }, c: Command) => {
      const r = await importAssets(dir, assetsDir(c), {
        ...(o.version ? { version: o.version } : {}),
        ...common(o),
      });
      summary(r);
    });

  cmd
    .command('trust')
    .description(`make KEYFILE's pinned signing key the one image signatures are checked against`)
    .argument(
      '<keyfile>',
      `armored public key, e.g. Flatcar_Image_Signing_Key.asc from ${FLATCAR_IMAGE_SIGNING_KEY_URL}`,
    )
    .option('--fingerprint <fpr>', 'primary fingerprint to accept; default: the Flatcar image signing key')
    .action(async (keyFile: string, o: { fingerprint?: string }, c: Command) => {
      const k = await trustSigningKey(
        keyFile,
        assetsDir(c),
        o.fingerprint ? { fingerprint: o.fingerprint } : {},
      );
      const out = [`trusted ${formatFingerprint(k.fingerprint)}`, ...k.uids.map((u) => `  uid ${u}`)];
      for (const s of k.subkeys.filter((x) => x.capabilities.includes('s'))) {
        const state = s.validity === 'e' ? 'EXPIRED' : s.validity === 'r' ? 'REVOKED' : 'valid';
        out.push(`  signing subkey ${s.fingerprint} ${state}${s.expires ? `, expires ${s.expires}` : ''}`);
      }
      out.push(`keyring: ${k.keyring}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });

  cmd
    .command('list')
    .description('installed assets from manifest.json, with what verified each')
    .addOption(new Option('-o, --output <format>', 'output format').choices(FORMATS).default('table'))
    .action((o: { output: Format }, c: Command) => {
      const m = readManifest(assetsDir(c));
      print(o.output, m, () => {
        if (m.assets.length === 0) return 'no assets installed; run `metalseed assets fetch flatcar`\n';
        const rows = m.assets.map((a) => [a.path, String(a.size), a.time, describe(a)]);
        const cur = Object.entries(m.current)
          .sort()
          .map(([set, v]) => `${set}/${CURRENT} -> ${v}\n`);
        return table(['PATH', 'SIZE', 'INSTALLED', 'VERIFIED BY'], rows) + cur.join('');
      });
    });
  return cmd;
}

interface FetchFlags {
  channel: FlatcarChannel;
  version?: string;
  sha256?: string;
  from?: string;
  arch: FlatcarArch;
  baseUrl?: string;
}

async function fetchSysext(c: Command, o: FetchFlags): Promise<void> {
  const version = o.version ?? configuredKubernetesVersion(c);
  const r = await installSysext({
    dest: assetsDir(c),
    version,
    ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
    ...(o.from ? { fromDir: o.from } : {}),
    ...(o.sha256 ? { sha256: o.sha256 } : {}),
    onProgress: progressPrinter(process.stderr),
    onLog: (line: string) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${r.urlPath}  ${r.size} bytes  sha256 ${r.sha256}\n`);
}

function common(o: VerifyFlags) {
  return {
    force: o.force ?? false,
    ...(o.fingerprint ? { fingerprint: o.fingerprint } : {}),
    onProgress: progressPrinter(process.stderr),
    onLog: (line: string) => process.stderr.write(`${line}\n`),
  };
}

/** The config's cluster.kubernetesVersion (with --config), else the built-in default. */
function configuredKubernetesVersion(c: Command): string {
  const f = c.optsWithGlobals<DirFlags>();
  return f.config ? loadConfigFile(f.config).cluster.kubernetesVersion : DEFAULT_KUBERNETES_VERSION;
}

/** `<data-dir>/assets`: --data-dir, else the config's dataDir, else the default. */
function assetsDir(c: Command): string {
  const f = c.optsWithGlobals<DirFlags>();
  const dataDir = f.dataDir ?? (f.config ? loadConfigFile(f.config).dataDir : DEFAULT_DATA_DIR);
  return path.join(dataDir, ASSETS_SUBDIR);
}

function summary(r: CacheResult): void {
  const forced = r.assets.filter((a) => a.verifiedBy.forced);
  const lines = r.assets.map((a) => `${a.path}  ${mib(a.size)}  ${describe(a)}`);
  lines.push(`${r.set}/${CURRENT} -> ${r.version}${r.alreadyInstalled ? ' (already installed)' : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (forced.length > 0) {
    process.stderr.write(
      `WARNING: ${forced.length} file(s) installed WITHOUT verification (--force); see \`metalseed assets list\`\n`,
    );
  }
}

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** An OnProgress that draws a live line on a TTY and prints periodic lines elsewhere. */
export function progressPrinter(out: Out, now: () => number = Date.now): OnProgress {
  let last = Number.NEGATIVE_INFINITY;
  return (p: Progress) => {
    const t = now();
    const interval = out.isTTY ? TTY_REFRESH_MS : PLAIN_INTERVAL_MS;
    if (!p.done && t - last < interval) return;
    // the next file's first call always shows, so every file gets a start line
    last = p.done ? Number.NEGATIVE_INFINITY : t;
    if (out.isTTY) {
      out.write(`\r\x1b[2K${progressLine(p)}${p.done ? '\n' : ''}`);
      return;
    }
    out.write(`${progressLine(p)}\n`);
  };
}

/** `flatcar_production_pxe_image.cpio.gz  120.5/480.0 MiB  25%  31.2 MiB/s  eta 0:11` */
export function progressLine(p: Progress): string {
  const parts = [p.file, p.total !== null ? `${mib(p.bytes, false)}/${mib(p.total)}` : mib(p.bytes)];
  if (p.total) parts.push(`${Math.floor((100 * p.bytes) / p.total)}%`);
  parts.push(`${mib(p.rate, false)} MiB/s`);
  if (p.done) parts.push('done');
  else if (p.total && p.rate > 0) parts.push(`eta ${clock((p.total - p.bytes) / p.rate)}`);
  return parts.join('  ');
}

function mib(bytes: number, unit = true): string {
  return `${(bytes / 1048576).toFixed(1)}${unit ? ' MiB' : ''}`;
}

function clock(secs: number): string {
  const s = Math.ceil(secs);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
