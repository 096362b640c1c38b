/**
 * The firmware a lab machine boots with, and the QEMU options for it (lab-findings.md
 * "Firmware behaviour"). QEMU's default NIC option ROM for virtio-net-pci is iPXE (Debian
 * `ipxe-qemu`, efi-virtio.rom: BIOS and EFI builds in one ROM), so the default machines are
 * already iPXE and skip TFTP; the other two variants exercise it:
 *
 *  - bios           SeaBIOS + iPXE ROM: DHCP → /boot.ipxe → script → kernel + initrd over HTTP
 *  - uefi           OVMF + iPXE ROM (EFI build): the same chain on UEFI
 *  - uefi-pxe       OVMF without a NIC ROM (`romfile=`): OVMF's own PXE client → TFTP
 *                   ipxe.efi → iPXE → HTTP
 *  - bios-undionly  SeaBIOS + iPXE ROM whose script chainloads undionly.kpxe over TFTP, which
 *                   then runs on the ROM's PXE/UNDI API and DHCPs again. Debian ships no
 *                   non-iPXE BIOS PXE ROM and SeaBIOS has no PXE client of its own, so this is
 *                   how a BIOS machine reaches undionly.kpxe in QEMU (profile `lab-undionly`).
 */
import { MetalseedError } from '../lib/errors.ts';

export const FIRMWARES = ['bios', 'uefi', 'uefi-pxe', 'bios-undionly'] as const;
export type Firmware = (typeof FIRMWARES)[number];
/** `mixed` cycles through every firmware. */
export const MIXED = 'mixed';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** QEMU loads this for -machine q35 without -bios (Debian `seabios`). */
export const SEABIOS = '/usr/share/seabios/bios-256k.bin';
/** The iPXE ROM QEMU uses for virtio-net-pci (/usr/share/qemu/efi-virtio.rom links here). */
export const IPXE_ROM = '/usr/lib/ipxe/qemu/efi-virtio.rom';
/**
 * 512 MiB: the 25 MB initramfs unpacks into RAM next to the kernel and Ignition's tmpfs. One
 * CPU: TCG emulates each vCPU in a host thread, and the host has two cores for every machine.
 */
export const MEMORY_MIB = 512;

/** `bios,uefi-pxe` or `mixed` → the firmware of each of `count` machines, cycling the list. */
export function firmwareList(spec: string, count: number): Firmware[] {
  const names = spec === MIXED ? [...FIRMWARES] : spec.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(FIRMWARES as readonly string[]).includes(n)) {
      throw new MetalseedError(
        'INVALID_INPUT',
        `--firmware: unknown firmware "${n}"`,
        `use ${FIRMWARES.join(', ')} or ${MIXED}, or a comma-separated list of them`,
      );
    }
  }
  return Array.from({ length: count }, (_, i) => names[i % names.length] as Firmware);
}

export const isUefi = (f: Firmware): boolean => f === 'uefi' || f === 'uefi-pxe';

export interface QemuMachine {
  name: string;
  mac: string;
  firmware: Firmware;
  tap: string;
  serialLog: string;
  /** Writable copy of OVMF_VARS for UEFI machines. */
  vars?: string;
  /** Guest RAM in MiB; default MEMORY_MIB. */
  memoryMib?: number;
}

/** The qemu-system-x86_64 arguments (lab-findings.md "Topology that works"). */
export function qemuArgs(m: QemuMachine): string[] {
  const fw: string[] = [];
  if (isUefi(m.firmware)) {
    if (!m.vars) throw new Error(`${m.name}: UEFI needs a copy of ${OVMF_VARS}`);
    fw.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`);
    fw.push('-drive', `if=pflash,format=raw,unit=1,file=${m.vars}`);
  }
  // romfile= (empty): no option ROM, so OVMF's own PXE client boots the NIC
  const rom = m.firmware === 'uefi-pxe' ? ',romfile=' : '';
  return [
    ...['-name', `metalseed-lab-${m.name}`],
    ...[
      '-machine',
      'q35,accel=tcg',
      '-cpu',
      'max',
      '-smp',
      '1',
      '-m',
      String(m.memoryMib ?? MEMORY_MIB),
      ...fw,
    ],
    ...['-netdev', `tap,id=n0,ifname=${m.tap},script=no,downscript=no`],
    ...['-device', `virtio-net-pci,netdev=n0,mac=${m.mac},bootindex=1${rom}`],
    ...['-boot', 'order=n', '-nographic', '-serial', `file:${m.serialLog}`],
    // poweroff at the end of the first boot ends QEMU instead of rebooting into PXE again
    ...['-monitor', 'none', '-no-reboot'],
  ];
}
