/**
 * Client system architecture types carried in option 93: RFC 4578 section 2.1 and the IANA
 * "Processor Architecture Types" registry (values 10+ were added by RFC 5970's registry).
 */
export const ClientArch = {
  X86_BIOS: 0,
  NEC_PC98: 1,
  ITANIUM: 2,
  DEC_ALPHA: 3,
  ARC_X86: 4,
  INTEL_LEAN: 5,
  EFI_IA32: 6,
  EFI_BC: 7, // in practice x86-64 UEFI (EDK2/OVMF sends 7)
  EFI_XSCALE: 8,
  EFI_X86_64: 9,
  EFI_ARM32: 10,
  EFI_ARM64: 11,
  EFI_X86_HTTP: 15,
  EFI_X86_64_HTTP: 16,
  EFI_ARM32_HTTP: 18,
  EFI_ARM64_HTTP: 19,
  X86_BIOS_HTTP: 20,
} as const;
export type ClientArchName = keyof typeof ClientArch;

export const clientArchName = (n: number): string =>
  (Object.keys(ClientArch) as ClientArchName[]).find((k) => ClientArch[k] === n) ?? `arch${n}`;
