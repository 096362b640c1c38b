/**
 * Which iPXE binary a PXE client is sent over TFTP, and the iPXE loop-break: a client that
 * already runs iPXE is sent the seed's HTTP boot script instead, or it would load iPXE again
 * forever (ipxe.org/howto/chainloading, "Breaking the infinite loop").
 */
import type { FirmwareFacts } from './firmware.ts';

export interface BinaryNames {
  bios: string;
  efi: string;
  snponly: string;
  arm64: string;
}

export type BootTarget =
  | { kind: 'script'; url: string }
  | { kind: 'binary'; file: string }
  | { kind: 'none'; reason: string };

export interface TargetInputs {
  firmware: FirmwareFacts;
  binaries: BinaryNames;
  /** From the machine's profile: UEFI x86-64 machines may need iPXE on the firmware's SNP driver. */
  efiBinary: 'ipxe' | 'snponly';
  bootScriptUrl: string;
  /** Whether a file exists under the TFTP root (arm64 builds are optional). */
  exists: (file: string) => boolean;
  tftpEnabled: boolean;
}

export function chooseTarget(i: TargetInputs): BootTarget {
  const f = i.firmware;
  if (f.ipxe) return { kind: 'script', url: i.bootScriptUrl };
  if (f.httpBoot) return { kind: 'none', reason: 'UEFI HTTP boot (HTTPClient) is not served yet; use PXE' };
  if (!f.pxe) return { kind: 'none', reason: 'not a network-boot client' };
  if (!i.tftpEnabled) return { kind: 'none', reason: 'tftp is disabled' };
  const file = binaryFor(i);
  if (!file)
    return { kind: 'none', reason: `no iPXE binary for firmware ${f.kind} (${f.arch ?? 'no option 93'})` };
  if (!i.exists(file)) return { kind: 'none', reason: `${file} is missing from the TFTP root` };
  return { kind: 'binary', file };
}

function binaryFor(i: TargetInputs): string | undefined {
  switch (i.firmware.kind) {
    case 'bios':
      return i.binaries.bios;
    case 'uefi-x64':
      return i.efiBinary === 'snponly' ? i.binaries.snponly : i.binaries.efi;
    case 'uefi-arm64':
      return i.binaries.arm64;
    case 'unknown':
      // A PXEClient without option 93 predates RFC 4578: a legacy BIOS ROM.
      return i.firmware.arch === undefined ? i.binaries.bios : undefined;
    default:
      return undefined;
  }
}
