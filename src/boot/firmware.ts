/**
 * What a DHCP request says about the firmware that sent it: PXE or iPXE, BIOS or UEFI and
 * the CPU (RFC 4578 option 93), the PXE vendor class (option 60), iPXE's user class (option 77)
 * and its encapsulated feature options (175), and the SMBIOS UUID (option 97).
 */
import {
  ClientArch,
  clientArchName,
  type DhcpPacket,
  decodeSubOptions,
  decodeUserClasses,
  IpxeOpt,
  Opt,
} from '../dhcp/index.ts';

export type FirmwareKind = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'uefi-arm64' | 'uefi-arm32' | 'unknown';

export interface FirmwareFacts {
  kind: FirmwareKind;
  /** Option 93's first value, by name (X86_BIOS, EFI_BC, ...). */
  arch?: string;
  /** The request comes from iPXE (user class "iPXE" or option 175 present). */
  ipxe: boolean;
  /** A PXE ROM or firmware (vendor class PXEClient) or UEFI HTTP boot (HTTPClient). */
  pxe: boolean;
  httpBoot: boolean;
  vendorClass?: string;
  userClasses: string[];
  /** iPXE feature sub-options present in option 175 (by code), e.g. 19 = HTTP. */
  ipxeFeatures: number[];
  /** SMBIOS UUID from option 97 (RFC 4578 section 2.3), lower-case, when not all zeros. */
  uuid?: string;
}

const ARCH_KIND: Record<number, FirmwareKind> = {
  [ClientArch.X86_BIOS]: 'bios',
  [ClientArch.X86_BIOS_HTTP]: 'bios',
  [ClientArch.EFI_IA32]: 'uefi-ia32',
  [ClientArch.EFI_X86_HTTP]: 'uefi-ia32',
  [ClientArch.EFI_BC]: 'uefi-x64',
  [ClientArch.EFI_X86_64]: 'uefi-x64',
  [ClientArch.EFI_X86_64_HTTP]: 'uefi-x64',
  [ClientArch.EFI_ARM32]: 'uefi-arm32',
  [ClientArch.EFI_ARM32_HTTP]: 'uefi-arm32',
  [ClientArch.EFI_ARM64]: 'uefi-arm64',
  [ClientArch.EFI_ARM64_HTTP]: 'uefi-arm64',
};

/**
 * Facts per decoded packet: the boot hook and the event listener both ask about every DHCP
 * message, so the second asks for free. Keyed weakly: the facts go when the packet does.
 */
const seen = new WeakMap<DhcpPacket, FirmwareFacts>();

/** The facts of `p` (the same object for the same packet; treat it as read-only). */
export function detectFirmware(p: DhcpPacket): FirmwareFacts {
  let facts = seen.get(p);
  if (!facts) {
    facts = readFirmware(p);
    seen.set(p, facts);
  }
  return facts;
}

function readFirmware(p: DhcpPacket): FirmwareFacts {
  const o = p.options;
  const arch = o.u16s(Opt.CLIENT_ARCH)[0];
  const vendorClass = o.string(Opt.VENDOR_CLASS);
  const userClasses = decodeUserClasses(o.get(Opt.USER_CLASS));
  const encap = o.get(Opt.IPXE_ENCAP);
  const ipxeFeatures = encap ? [...decodeSubOptionsSafe(encap).keys()] : [];
  const facts: FirmwareFacts = {
    kind: arch === undefined ? 'unknown' : (ARCH_KIND[arch] ?? 'unknown'),
    ipxe: userClasses.includes('iPXE') || o.has(Opt.IPXE_ENCAP),
    pxe: vendorClass?.startsWith('PXEClient') ?? false,
    httpBoot: vendorClass?.startsWith('HTTPClient') ?? false,
    userClasses,
    ipxeFeatures,
  };
  if (arch !== undefined) facts.arch = clientArchName(arch);
  if (vendorClass !== undefined) facts.vendorClass = vendorClass;
  const uuid = uuidOf(o.get(Opt.CLIENT_UUID));
  if (uuid) facts.uuid = uuid;
  return facts;
}

/**
 * Option 97: type 0 then 16 bytes, printed in wire order as dnsmasq does; iPXE sends the same
 * bytes as its `${uuid}` setting, so DHCP and HTTP facts of one machine agree.
 */
export function uuidOf(v: Uint8Array | undefined): string | undefined {
  if (v?.length !== 17 || v[0] !== 0) return undefined;
  const b = v.subarray(1);
  if (b.every((x) => x === 0)) return undefined;
  const h = (i: number) => b[i]!.toString(16).padStart(2, '0');
  const hex = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => h(from + i)).join('');
  return [hex(0, 4), hex(4, 6), hex(6, 8), hex(8, 10), hex(10, 16)].join('-');
}

function decodeSubOptionsSafe(v: Uint8Array | undefined): Map<number, Uint8Array> {
  try {
    return decodeSubOptions(v);
  } catch {
    return new Map();
  }
}

/** Whether iPXE said it can fetch over HTTP (175.19); builds without it cannot chain to a URL. */
export const ipxeHasHttp = (f: FirmwareFacts): boolean => f.ipxeFeatures.includes(IpxeOpt.HTTP);
