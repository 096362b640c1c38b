/**
 * Real firmware against a real seed: QEMU (TCG) virtual machines network-boot from
 * `metalseed serve` in a lab the test builds (lab-findings.md "Topology that works").
 *  - SeaBIOS with QEMU's iPXE NIC ROM: iPXE DHCP → loop-break to /boot.ipxe → /ipxe script.
 *  - OVMF without a NIC ROM: the firmware's own PXE → TFTP ipxe.efi (with its abort-after-OACK
 *    tsize probe) → iPXE EFI DHCP → /boot.ipxe → /ipxe script.
 * The machines then try to fetch the default profile's kernel (not served before issue 4) and
 * are stopped. Times from QEMU start are printed as diagnostics, never asserted.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Lab, singleLinkLab, type Tracked } from '../helpers/netns.ts';
import { type LogEvent, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.53.0';
const SEED_URL = `http://${NET}.1:8080`;
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const NEEDED = [
  '/usr/bin/qemu-system-x86_64',
  OVMF_CODE,
  OVMF_VARS,
  '/usr/lib/ipxe/qemu/efi-virtio.rom',
  '/usr/bin/tcpdump',
];
const missing = NEEDED.filter((f) => !existsSync(f));
const skip =
  missing.length > 0 ? `needs ${missing.join(', ')} (apt: qemu-system-x86 ovmf ipxe-qemu tcpdump)` : false;

interface Vm {
  proc: Tracked;
  started: number;
}

describe('real firmware boots from the seed (QEMU TCG)', { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;
  let tapCount = 0;

  before(async () => {
    dir = tempDir('firmware');
    lab = await singleLinkLab(NET, 0);
    seed = await startSeed(lab, dir, seedConfig(NET));
  });

  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  /** A tap on the lab's bridge, in the switch namespace, where QEMU must run to open it. */
  async function tap(): Promise<string> {
    const name = `tap${tapCount++}`;
    for (const args of [
      ['tuntap', 'add', 'dev', name, 'mode', 'tap'],
      ['link', 'set', name, 'master', 'br0', 'up'],
    ]) {
      const r = await lab.exec(lab.switchNs, 'ip', args);
      assert.equal(r.code, 0, r.stderr);
    }
    return name;
  }

  async function boot(mac: string, firmware: 'bios' | 'uefi-norom'): Promise<Vm> {
    const ifname = await tap();
    const fw: string[] = [];
    let rom = '';
    if (firmware === 'uefi-norom') {
      const vars = join(dir, `vars-${mac.replaceAll(':', '')}.fd`);
      copyFileSync(OVMF_VARS, vars);
      fw.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`);
      fw.push('-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
      rom = ',romfile='; // no NIC ROM: OVMF's own PXE has to fetch iPXE over TFTP
    }
    const args = [
      ...['-machine', 'q35,accel=tcg', '-cpu', 'max', '-smp', '1', '-m', '512', ...fw],
      ...['-netdev', `tap,id=n0,ifname=${ifname},script=no,downscript=no`],
      ...['-device', `virtio-net-pci,netdev=n0,mac=${mac},bootindex=1${rom}`],
      ...['-boot', 'order=n', '-display', 'none', '-serial', `file:${join(dir, `serial-${firmware}.log`)}`],
      ...['-monitor', 'none', '-no-reboot'],
    ];
    return { proc: lab.spawn(lab.switchNs, 'qemu-system-x86_64', args), started: Date.now() };
  }

  const until = async (ok: () => boolean, ms: number) => {
    for (const end = Date.now() + ms; !ok() && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 100));
  };
  const stepsOf = (mac: string): LogEvent[] => seed.events((e) => e.mac === mac);
  const at = (vm: Vm, e: LogEvent) => `${((Date.parse(String(e.time)) - vm.started) / 1000).toFixed(1)} s`;

  test('SeaBIOS + iPXE ROM: DHCP → /boot.ipxe → per-machine script, with a Router Advertisement', async (t) => {
    const mac = '52:54:00:53:00:01';
    const capture = lab.spawn(lab.switchNs, 'tcpdump', ['-i', 'br0', '-n', '-l', 'icmp6 and ip6[40] == 134']);
    // boot only once tcpdump is capturing, and stop it only once it printed the RA (or 10 s passed)
    await until(() => /listening on/.test(capture.stderr()), 10_000);
    const vm = await boot(mac, 'bios');
    const script = await seed.waitFor({ event: 'http.ipxe', mac }, 90_000);
    await lab.stop(vm.proc.pid);
    await until(() => /router advertisement/.test(capture.stdout()), 10_000);
    await lab.stop(capture.pid);
    assert.equal(script.platform, 'pcbios');
    const steps = stepsOf(mac).map((e) => e.event);
    for (const step of ['dhcp.offer', 'dhcp.ack', 'http.boot_ipxe', 'http.ipxe']) {
      assert.ok(steps.includes(step), `missing ${step} in ${steps.join(' ')}`);
    }
    const ack = seed.events({ event: 'dhcp.ack', mac })[0]!;
    assert.equal(ack.firmware, 'ipxe');
    assert.equal(ack.bootFile, `${SEED_URL}/boot.ipxe`);
    assert.match(capture.stdout(), /router advertisement/, 'the seed advertised on the link');
    t.diagnostic(`ack ${at(vm, ack)}, per-machine script ${at(vm, script)} after QEMU start`);
  });

  test('OVMF firmware PXE: TFTP ipxe.efi → iPXE EFI → per-machine script', async (t) => {
    const mac = '52:54:00:53:00:02';
    const vm = await boot(mac, 'uefi-norom');
    const script = await seed.waitFor({ event: 'http.ipxe', mac }, 180_000);
    await lab.stop(vm.proc.pid);
    assert.equal(script.platform, 'efi');
    const firmwareOffer = seed.events({ event: 'dhcp.offer', mac }).find((e) => e.firmware === 'uefi-x64');
    assert.equal(firmwareOffer?.bootFile, 'ipxe.efi');
    const tftp = seed.events({ event: 'tftp.done', mac, file: 'ipxe.efi' })[0];
    assert.ok(
      tftp,
      `no tftp.done for ipxe.efi: ${stepsOf(mac)
        .map((e) => e.event)
        .join(' ')}`,
    );
    assert.equal(tftp.bytes, statSync('/usr/lib/ipxe/ipxe.efi').size, 'the whole file');
    assert.equal(
      seed.events((e) => e.mac === mac && /^tftp\.(error|timeout)$/.test(String(e.event))).length,
      0,
    );
    const ipxeAck = seed.events({ event: 'dhcp.ack', mac }).find((e) => e.firmware === 'ipxe');
    assert.ok(ipxeAck, 'iPXE EFI did its own DHCP and got the boot script URL');
    t.diagnostic(
      `ipxe.efi ${tftp.bytes} bytes in ${tftp.ms} ms; per-machine script ${at(vm, script)} after QEMU start`,
    );
  });
});
