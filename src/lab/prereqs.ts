/**
 * What `metalseed lab` needs on the host, and the Debian package that provides each piece
 * (lab-findings.md "Packages"). `lab up` names the missing packages; `--install` installs them
 * with apt-get, its output shown as it runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_BIN, IGNITION_BIN, kernelVersions } from './boot-image.ts';
import { IPXE_ROM, OVMF_CODE, OVMF_VARS, SEABIOS } from './firmware.ts';

export interface Requirement {
  what: string;
  /** Debian package that provides it; null: not an apt package (see `fix`). */
  pkg: string | null;
  present: () => boolean;
  fix?: string;
}

const onPath = (cmd: string) => () => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const file = (path: string) => () => existsSync(path);

export function requirements(repoRoot: string): Requirement[] {
  return [
    { what: 'ip (network namespaces, bridge, veth, tap)', pkg: 'iproute2', present: onPath('ip') },
    { what: 'qemu-system-x86_64', pkg: 'qemu-system-x86', present: onPath('qemu-system-x86_64') },
    { what: `SeaBIOS (${SEABIOS})`, pkg: 'seabios', present: file(SEABIOS) },
    {
      what: `OVMF (${OVMF_CODE})`,
      pkg: 'ovmf',
      present: () => existsSync(OVMF_CODE) && existsSync(OVMF_VARS),
    },
    { what: `iPXE NIC ROM (${IPXE_ROM})`, pkg: 'ipxe-qemu', present: file(IPXE_ROM) },
    {
      what: 'iPXE binaries served over TFTP (/usr/lib/ipxe/undionly.kpxe, ipxe.efi)',
      pkg: 'ipxe',
      present: () => existsSync('/usr/lib/ipxe/undionly.kpxe') && existsSync('/usr/lib/ipxe/ipxe.efi'),
    },
    {
      what: 'a kernel with modules (/boot/vmlinuz-*, /lib/modules/*)',
      pkg: 'linux-image-amd64',
      present: () => kernelVersions().length > 0,
    },
    { what: 'modprobe (module order for the initramfs)', pkg: 'kmod', present: onPath('modprobe') },
    { what: `busybox (${BUSYBOX_BIN})`, pkg: 'busybox-static', present: file(BUSYBOX_BIN) },
    { what: `Ignition (${IGNITION_BIN})`, pkg: 'ignition', present: file(IGNITION_BIN) },
    {
      what: 'the SO_BINDTODEVICE addon (build/Release/sockopt.node)',
      pkg: null,
      present: file(join(repoRoot, 'build', 'Release', 'sockopt.node')),
      fix: 'run `npm ci` in the repository (needs python3, make and g++)',
    },
  ];
}

export interface Missing {
  items: Requirement[];
  packages: string[];
}

export function missing(reqs: Requirement[]): Missing {
  const items = reqs.filter((r) => !r.present());
  const packages = [...new Set(items.map((r) => r.pkg).filter((p): p is string => p !== null))];
  return { items, packages };
}

/** apt-get update + install, inheriting the terminal. Returns apt-get's exit status. */
export function aptInstall(packages: string[]): number {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  if (update.status !== 0) return update.status ?? 1;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
    stdio: 'inherit',
    env,
  });
  return r.status ?? 1;
}
