import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCapture } from '../../test/helpers/captures.ts';
import { clientPacket } from '../../test/helpers/dhcp-packets.ts';
import { assertGolden } from '../../test/helpers/golden.ts';
import { decode, decodeSubOptions, Opt } from '../dhcp/index.ts';
import { chooseTarget } from './binary.ts';
import { dhcpBootParams } from './dhcp-params.ts';
import { detectFirmware } from './firmware.ts';
import { bootScript, kernelScript, waitScript } from './ipxe.ts';

const firstDiscover = (name: string) => detectFirmware(decode(loadCapture(name)[0]!.bytes));
const BINARIES = {
  bios: 'undionly.kpxe',
  efi: 'ipxe.efi',
  snponly: 'snponly.efi',
  arm64: 'arm64-efi/ipxe.efi',
};
const target = (
  f: ReturnType<typeof detectFirmware>,
  over: Partial<Parameters<typeof chooseTarget>[0]> = {},
) =>
  chooseTarget({
    firmware: f,
    binaries: BINARIES,
    efiBinary: 'ipxe',
    bootScriptUrl: 'http://10.0.0.1:8080/boot.ipxe',
    exists: (file) => file !== 'arm64-efi/ipxe.efi',
    tftpEnabled: true,
    ...over,
  });

describe('firmware detection from recorded requests', () => {
  it('SeaBIOS + iPXE ROM is iPXE on BIOS', () => {
    const f = firstDiscover('ipxe-bios');
    assert.equal(f.kind, 'bios');
    assert.equal(f.ipxe, true);
    assert.equal(f.arch, 'X86_BIOS');
    assert.ok(f.ipxeFeatures.includes(19), 'iPXE advertises HTTP (175.19)');
  });
  it('OVMF firmware PXE is UEFI x86-64 PXE, not iPXE', () => {
    const f = firstDiscover('ovmf-pxe-norom');
    assert.deepEqual([f.kind, f.ipxe, f.pxe, f.arch], ['uefi-x64', false, true, 'EFI_BC']);
  });
  it('OVMF + iPXE EFI ROM is iPXE on UEFI', () => {
    const f = firstDiscover('ipxe-uefi');
    assert.deepEqual([f.kind, f.ipxe], ['uefi-x64', true]);
  });
  it('dhclient is not a network-boot client', () => {
    const f = firstDiscover('dhclient');
    assert.deepEqual([f.pxe, f.ipxe, f.kind], [false, false, 'unknown']);
  });
});

describe('boot target', () => {
  it('BIOS PXE → undionly.kpxe, UEFI → ipxe.efi or snponly.efi, iPXE → the boot script', () => {
    assert.deepEqual(target(firstDiscover('ovmf-pxe-norom')), { kind: 'binary', file: 'ipxe.efi' });
    assert.deepEqual(target(firstDiscover('ovmf-pxe-norom'), { efiBinary: 'snponly' }), {
      kind: 'binary',
      file: 'snponly.efi',
    });
    const bios = detectFirmware(
      clientPacket({
        mac: '52:54:00:00:00:01',
        type: 'DISCOVER',
        vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
        arch: 0,
      }),
    );
    assert.deepEqual(target(bios), { kind: 'binary', file: 'undionly.kpxe' });
    assert.deepEqual(target(firstDiscover('ipxe-bios')), {
      kind: 'script',
      url: 'http://10.0.0.1:8080/boot.ipxe',
    });
  });
  it('arm64 UEFI gets the arm64 binary only when it exists', () => {
    const arm = detectFirmware(
      clientPacket({
        mac: '52:54:00:00:00:01',
        type: 'DISCOVER',
        vendorClass: 'PXEClient:Arch:00011:UNDI:003000',
        arch: 11,
      }),
    );
    assert.equal(target(arm).kind, 'none');
    assert.deepEqual(target(arm, { exists: () => true }), { kind: 'binary', file: 'arm64-efi/ipxe.efi' });
  });
  it('plain clients and disabled TFTP get no boot file', () => {
    assert.equal(target(firstDiscover('dhclient')).kind, 'none');
    assert.equal(target(firstDiscover('ovmf-pxe-norom'), { tftpEnabled: false }).kind, 'none');
  });
  it('iPXE is told not to wait for ProxyDHCP (175.176 = 1) only when asked', () => {
    const t = { kind: 'script', url: 'http://x/boot.ipxe' } as const;
    const p = dhcpBootParams({ target: t, nextServer: 1, ipxeNoProxyWait: true })!;
    const enc = p.options!.find(([c]) => c === Opt.IPXE_ENCAP)![1];
    assert.deepEqual([...decodeSubOptions(enc).get(176)!], [1]);
    const q = dhcpBootParams({ target: t, nextServer: 1, ipxeNoProxyWait: false })!;
    assert.equal(
      q.options!.some(([c]) => c === Opt.IPXE_ENCAP),
      false,
    );
  });
});

describe('iPXE scripts (golden)', () => {
  it('boot.ipxe chains to the per-machine script with iPXE facts', () => {
    assertGolden('boot.ipxe', bootScript('http://10.0.0.1:8080'));
  });
  it('a kernel script names initrds and puts initrd= on the kernel line (EFI stub)', () => {
    assertGolden(
      'kernel.ipxe',
      kernelScript({
        title: 'cp-01 (role controller, profile default)',
        kernel: 'http://10.0.0.1:8080/assets/flatcar/flatcar_production_pxe.vmlinuz',
        initrds: [
          'http://10.0.0.1:8080/assets/flatcar/flatcar_production_pxe_image.cpio.gz',
          'http://x/extra?y=1',
        ],
        args: [
          'flatcar.first_boot=1',
          'ignition.config.url=http://10.0.0.1:8080/ignition?mac=52:54:00:00:00:01',
        ],
        seedUrl: 'http://10.0.0.1:8080',
      }),
    );
  });
  it('a waiting machine is told why and retries', () => {
    assertGolden(
      'wait.ipxe',
      waitScript('52:54:00:00:00:09 is waiting for approval', 'http://10.0.0.1:8080'),
    );
  });
});
