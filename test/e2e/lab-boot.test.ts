/**
 * The lab boot image end to end: a SeaBIOS + iPXE ROM QEMU machine (TCG) PXE-boots from a
 * real `metalseed serve`, gets Debian's kernel and the lab initramfs from the seed's /assets/,
 * runs the real Ignition against the worker config the seed renders, and reports back. The
 * machine must reach `provisioned` with the files Ignition wrote on its timeline. The
 * power-on → provisioned time is printed as a diagnostic, never asserted.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootImageUnavailable, buildBootImage } from '../../src/lab/boot-image.ts';
import { type Lab, labUnavailable, singleLinkLab, type Tracked } from '../helpers/netns.ts';
import { removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.56.0';
const SEED = `http://${NET}.1:8080`;
const MAC = '52:54:00:56:00:01';
const PROVISIONED_MS = 120_000;
const NEEDED = ['/usr/bin/qemu-system-x86_64', '/usr/lib/ipxe/qemu/pxe-virtio.rom'];
const missing = NEEDED.filter((f) => !existsSync(f));
const skip =
  labUnavailable(['ip', 'curl', 'modprobe']) ||
  (missing.length > 0 ? `needs ${missing.join(', ')} (apt: qemu-system-x86 ipxe-qemu)` : false) ||
  bootImageUnavailable();

interface Machine {
  id: string;
  state: string;
  hostname?: string;
}
interface TimelineEvent {
  type: string;
  data?: Record<string, unknown>;
  [k: string]: unknown;
}

describe('lab boot image: a VM runs Ignition and reports', { skip, timeout: 300_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;
  let vm: Tracked | undefined;

  before(async () => {
    dir = tempDir('lab-boot');
    lab = await singleLinkLab(NET, 0);
    const dataDir = join(dir, 'data');
    buildBootImage({ outDir: join(dataDir, 'assets', 'lab') });
    seed = await startSeed(lab, dir, {
      ...seedConfig(NET),
      dataDir,
      profiles: {
        worker: {
          kernel: '{{seed}}/assets/lab/vmlinuz',
          initrd: '{{seed}}/assets/lab/initrd.gz',
          args:
            'console=ttyS0 panic=10 ignition.firstboot=1 ignition.platform.id=metal ' +
            'ignition.config.url={{seed}}/ignition?mac={{mac}} metalseed.seed={{seed}}',
        },
      },
    });
  });

  after(async () => {
    if (vm) await lab?.stop(vm.pid);
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  const api = async (path: string): Promise<unknown> => {
    const token = readFileSync(join(seed.dataDir, 'api-token'), 'utf8').trim();
    const r = await lab.exec(lab.seedNs, 'curl', [
      '-sS',
      '--max-time',
      '10',
      '-H',
      `Authorization: Bearer ${token}`,
      `${SEED}/api/v1${path}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const machines = async (): Promise<Machine[]> => {
    const v = (await api('/machines')) as Machine[] | { machines: Machine[] };
    return Array.isArray(v) ? v : v.machines;
  };

  test('BIOS + iPXE ROM: PXE → kernel + initrd → Ignition → report → provisioned', async (t) => {
    for (const args of [
      ['tuntap', 'add', 'dev', 'tap0', 'mode', 'tap'],
      ['link', 'set', 'tap0', 'master', 'br0', 'up'],
    ]) {
      const r = await lab.exec(lab.switchNs, 'ip', args);
      assert.equal(r.code, 0, r.stderr);
    }
    const serial = join(dir, 'serial.log');
    const started = Date.now();
    vm = lab.spawn(lab.switchNs, 'qemu-system-x86_64', [
      ...['-machine', 'q35,accel=tcg', '-cpu', 'max', '-smp', '1', '-m', '768'],
      ...['-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no'],
      ...['-device', `virtio-net-pci,netdev=n0,mac=${MAC},bootindex=1`],
      ...['-boot', 'order=n', '-display', 'none', '-serial', `file:${serial}`],
      ...['-monitor', 'none', '-no-reboot'],
    ]);

    let m: Machine | undefined;
    const deadline = started + PROVISIONED_MS;
    while (Date.now() < deadline) {
      m = (await machines()).find((x) => x.state === 'provisioned');
      if (m) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const console = existsSync(serial) ? readFileSync(serial, 'utf8').slice(-4000) : '(no serial log)';
    assert.ok(m, `not provisioned within ${PROVISIONED_MS / 1000} s; serial tail:\n${console}`);

    const tl = (await api(`/machines/${m.id}/timeline`)) as TimelineEvent[] | { events: TimelineEvent[] };
    const events = Array.isArray(tl) ? tl : tl.events;
    const steps = events.map((e) => e.type);
    for (const s of ['dhcp.ack', 'http.ipxe', 'http.asset', 'http.ignition', 'report'])
      assert.ok(steps.includes(s), `timeline lacks ${s}: ${steps.join(' ')}`);
    const assets = JSON.stringify(events.filter((e) => e.type === 'http.asset'));
    assert.match(assets, /lab\/vmlinuz/, 'kernel fetched from /assets/');
    assert.match(assets, /lab\/initrd\.gz/, 'initrd fetched from /assets/');

    const report = events.find((e) => e.type === 'report')!;
    const data = (report.data ?? report) as { result?: string; files?: string[]; hostname?: string };
    assert.equal(data.result, 'ok', JSON.stringify(report));
    for (const f of ['/etc/hostname', '/opt/metalseed/report'])
      assert.ok(data.files?.includes(f), `report lacks ${f}: ${JSON.stringify(data.files)}`);

    // Each step's seconds after power-on: where the time goes, for comparison with lab-findings.md.
    const at = (e: TimelineEvent) => ((Date.parse(String(e['time'])) - started) / 1000).toFixed(1);
    t.diagnostic(`power-on → provisioned ${seconds} s`);
    t.diagnostic(`timeline: ${events.map((e) => `${e.type}@${at(e)}`).join(' ')}`);
    t.diagnostic(`report: hostname ${data.hostname}, files ${data.files?.join(' ')}`);
  });
});
