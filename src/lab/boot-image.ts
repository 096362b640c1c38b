/**
 * The lab boot image: Debian's kernel and a small busybox initramfs carrying the real Ignition
 * binary (see init-script.ts for what it does at boot). Built from the host's own packages
 * (linux-image-amd64, busybox-static, ignition), so nothing is downloaded, and rebuilt only
 * when an input changed: a stamp records the kernel version, the init scripts' hash, and the
 * size and mtime of the kernel, Ignition and busybox binaries.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type CpioEntry, newc } from './cpio.ts';
import { INIT_SCRIPT, UDHCPC_SCRIPT } from './init-script.ts';

export const IGNITION_BIN = '/usr/lib/dracut/modules.d/30ignition/ignition';
export const BUSYBOX_BIN = '/bin/busybox';
/** NIC drivers the lab's QEMU machines may have (virtio-net-pci by default, e1000 otherwise). */
export const NIC_MODULES = ['virtio_pci', 'virtio_net', 'e1000'];

export interface BootImageOptions {
  outDir: string;
  /** Default: the newest /boot/vmlinuz-* that has /lib/modules/<version>. */
  kernelVersion?: string;
  onProgress?: (msg: string) => void;
}

export interface BootImage {
  kernel: string;
  initrd: string;
  kernelVersion: string;
  /** False when the stamp matched and the existing files were kept. */
  built: boolean;
}

/** Kernel versions with both an image in /boot and modules, newest first. */
export function kernelVersions(): string[] {
  if (!existsSync('/boot')) return [];
  return readdirSync('/boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => existsSync(join('/lib/modules', v)))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
}

/** Why the image cannot be built here, or false when it can. */
export function bootImageUnavailable(): string | false {
  if (kernelVersions().length === 0) return 'needs a kernel with modules (apt: linux-image-amd64)';
  if (!existsSync(IGNITION_BIN)) return `needs ${IGNITION_BIN} (apt: ignition)`;
  if (!existsSync(BUSYBOX_BIN)) return `needs ${BUSYBOX_BIN} (apt: busybox-static)`;
  return false;
}

export function buildBootImage(opts: BootImageOptions): BootImage {
  const say = opts.onProgress ?? (() => {});
  const kver = opts.kernelVersion ?? kernelVersions()[0];
  if (!kver) throw new Error('no kernel with modules in /boot and /lib/modules (apt: linux-image-amd64)');
  const vmlinuz = join('/boot', `vmlinuz-${kver}`);
  if (!existsSync(vmlinuz)) throw new Error(`${vmlinuz} is missing`);
  if (!existsSync(IGNITION_BIN)) throw new Error(`${IGNITION_BIN} is missing (apt: ignition)`);

  const kernel = join(opts.outDir, 'vmlinuz');
  const initrd = join(opts.outDir, 'initrd.gz');
  const stampFile = join(opts.outDir, 'stamp');
  const stamp = stampOf(kver);
  if (existsSync(kernel) && existsSync(initrd) && readOr(stampFile) === stamp) {
    say(`boot image up to date (kernel ${kver})`);
    return { kernel, initrd, kernelVersion: kver, built: false };
  }

  mkdirSync(opts.outDir, { recursive: true });
  say(`building boot image: kernel ${kver}`);
  copyFileSync(vmlinuz, kernel);
  const archive = newc(entries(kver));
  const gz = gzipSync(archive, { level: 6 });
  writeFileSync(initrd, gz);
  // Written last: an interrupted build has no stamp and is rebuilt next time.
  writeFileSync(stampFile, stamp);
  say(`initrd ${(gz.length / 1e6).toFixed(1)} MB (${(archive.length / 1e6).toFixed(1)} MB unpacked)`);
  return { kernel, initrd, kernelVersion: kver, built: true };
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Bump when the image's layout changes in a way the inputs below do not show. */
const IMAGE_FORMAT = 2;

function stampOf(kver: string): string {
  const scripts = createHash('sha256').update(INIT_SCRIPT).update(UDHCPC_SCRIPT).digest('hex');
  const version = (f: string): string => {
    const st = statSync(f);
    return `${st.size}:${Math.trunc(st.mtimeMs)}`;
  };
  return [
    `format=${IMAGE_FORMAT}`,
    `kernel=${kver}:${version(join('/boot', `vmlinuz-${kver}`))}`,
    `init=${scripts}`,
    `ignition=${version(IGNITION_BIN)}`,
    `busybox=${version(BUSYBOX_BIN)}`,
    '',
  ].join('\n');
}

/** Everything in the initramfs, parents before children. */
function entries(kver: string): CpioEntry[] {
  const out: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string): void => {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = `/${parts.slice(0, i).join('/')}`;
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push({ kind: 'dir', path: d });
      }
    }
  };
  const file = (path: string, data: Buffer, mode = 0o644): void => {
    dir(path.slice(0, path.lastIndexOf('/')));
    out.push({ kind: 'file', path, data, mode });
  };

  for (const d of [
    '/proc',
    '/sys',
    '/dev',
    '/run',
    '/tmp',
    '/sysroot',
    '/var',
    '/etc',
    '/usr/bin',
    '/usr/sbin',
  ])
    dir(d);
  // The kernel opens /dev/console for /init before devtmpfs is mounted.
  out.push({ kind: 'char', path: '/dev/console', major: 5, minor: 1, mode: 0o600 });
  out.push({ kind: 'char', path: '/dev/null', major: 1, minor: 3, mode: 0o666 });

  // busybox (Debian's busybox-static: no libraries) and a link for each applet.
  file('/bin/busybox', readFileSync(BUSYBOX_BIN), 0o755);
  libraries(BUSYBOX_BIN, file);
  const applets = execFileSync(BUSYBOX_BIN, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets)
    if (a !== 'busybox') out.push({ kind: 'symlink', path: `/bin/${a}`, target: 'busybox' });

  // NIC drivers, in the order `modprobe --show-depends` gives (virtio_ring before virtio, ...).
  const order: string[] = [];
  for (const ko of moduleFiles(kver)) {
    file(`/lib/modules/${basename(ko)}`, readFileSync(ko));
    order.push(basename(ko));
  }
  file('/modules.order', Buffer.from(`${order.join('\n')}\n`));

  // Ignition is dynamically linked (libblkid, libc): the binary, its libraries and the loader.
  file('/usr/bin/ignition', readFileSync(IGNITION_BIN), 0o755);
  libraries(IGNITION_BIN, file);
  // Debian's Ignition relabels for SELinux after the files stage; there is no policy here.
  file('/usr/sbin/setfiles', Buffer.from('#!/bin/sh\ncat >/dev/null\nexit 0\n'), 0o755);

  file('/udhcpc.script', Buffer.from(UDHCPC_SCRIPT), 0o755);
  file('/init', Buffer.from(INIT_SCRIPT), 0o755);
  return out;
}

/** The shared libraries `ldd` lists for `bin` (and the loader), added at the same paths. */
function libraries(bin: string, file: (path: string, data: Buffer, mode?: number) => void): void {
  let text: string;
  try {
    text = execFileSync('ldd', [bin], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return; // "not a dynamic executable": ldd exits 1
  }
  for (const line of text.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m?.[1]) file(m[1], readFileSync(m[1]), 0o755); // readFileSync follows the symlink
  }
}

/** Module files for NIC_MODULES with their dependencies, each once, dependencies first. */
function moduleFiles(kver: string): string[] {
  const seen = new Set<string>();
  for (const mod of NIC_MODULES) {
    const text = execFileSync('modprobe', ['-S', kver, '--show-depends', mod], { encoding: 'utf8' });
    for (const line of text.split('\n')) {
      const [verb, path] = line.trim().split(/\s+/);
      if (verb === 'insmod' && path) seen.add(path);
    }
  }
  for (const p of seen) {
    // busybox insmod loads plain .ko only; Debian 12 ships them uncompressed.
    if (!p.endsWith('.ko')) throw new Error(`${p}: compressed module, busybox insmod cannot load it`);
  }
  return [...seen];
}
