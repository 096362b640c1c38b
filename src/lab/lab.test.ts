/** The lab's pure parts: firmware lists, QEMU arguments, console milestones, the seed config. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { parseConfigText } from '../config/index.ts';
import { firmwareList, qemuArgs } from './firmware.ts';
import { allNamespaces, machineMac, PREFIX_RE } from './layout.ts';
import { missing } from './prereqs.ts';
import { labSeedConfig, UNDIONLY_PROFILE } from './seed-config.ts';
import { milestone, plain } from './serial.ts';

test('firmware lists cycle over the machines; mixed is every firmware; unknown names are refused', () => {
  assert.deepEqual(firmwareList('bios,uefi-pxe', 3), ['bios', 'uefi-pxe', 'bios']);
  assert.deepEqual(firmwareList('mixed', 5), ['bios', 'uefi', 'uefi-pxe', 'bios-undionly', 'bios']);
  assert.throws(() => firmwareList('bios,efi', 2), /unknown firmware "efi"/);
});

test('QEMU: UEFI gets OVMF and its own vars; uefi-pxe has no NIC ROM; BIOS has neither', () => {
  const base = { name: 'm1', mac: machineMac(1), tap: 'tap1', serialLog: '/x/m1.log' };
  const bios = qemuArgs({ ...base, firmware: 'bios' }).join(' ');
  assert.doesNotMatch(bios, /pflash|romfile/);
  assert.match(bios, /mac=52:54:00:4d:53:01,bootindex=1 /);
  assert.match(bios, /-serial file:\/x\/m1\.log/);
  const pxe = qemuArgs({ ...base, firmware: 'uefi-pxe', vars: '/x/vars.fd' }).join(' ');
  assert.match(pxe, /unit=1,file=\/x\/vars\.fd/);
  assert.match(pxe, /bootindex=1,romfile= /);
  assert.doesNotMatch(qemuArgs({ ...base, firmware: 'uefi', vars: '/v' }).join(' '), /romfile/);
  assert.throws(() => qemuArgs({ ...base, firmware: 'uefi' }), /needs a copy/);
});

test('namespace names come from the prefix and never look like the test suite ones', () => {
  assert.deepEqual(allNamespaces('msl-'), ['msl-sw', 'msl-seed', 'msl-up']);
  assert.ok(PREFIX_RE.test('msl-t123-'));
  assert.ok(!PREFIX_RE.test('Bad Prefix'));
});

test('console milestones: firmware, iPXE echo lines, /init lines, Ignition result; noise is dropped', () => {
  assert.equal(milestone('>>Start PXE over IPv4.'), 'firmware PXE (OVMF) started');
  assert.equal(
    milestone('metalseed: booting worker-1 (role worker)'),
    'iPXE: booting worker-1 (role worker)',
  );
  assert.equal(milestone('METALSEED-LAB[4.86]: init started'), 'init started');
  assert.equal(
    milestone('METALSEED-LAB[9.1]: ignition result=ok hostname=w-1 files=/etc/hostname+'),
    'ignition ok, hostname w-1',
  );
  assert.equal(milestone('INFO     : files: op(1): [started]'), null);
  assert.equal(plain('\x1b[2J\x1b[01;01HiPXE initialising devices...ok\r'), 'iPXE initialising devices...ok');
});

test('the lab seed config is a valid seed config: every role and lab-undionly boot the lab image', () => {
  const c = parseConfigText(stringify(labSeedConfig({ dataDir: '/tmp/x' })), 'lab.yaml');
  assert.equal(c.interface, 'prov0');
  assert.equal(c.defaultRole, 'worker');
  for (const role of ['worker', 'controller']) {
    assert.match(c.profiles[role]!.kernel, /\/assets\/lab\/vmlinuz$/);
    assert.ok(c.profiles[role]!.args.includes('ignition.config.url={{seed}}/ignition?mac={{mac}}'));
  }
  assert.match(c.profiles[UNDIONLY_PROFILE]!.kernel, /undionly-\$\{netX\/chip\}\.ipxe$/);
  assert.equal(c.cluster.controlPlaneEndpoint?.port, 6443);
  assert.equal(c.cluster.watchNodes, false);
});

test('prerequisites: missing pieces are named with their Debian package, each package once', () => {
  const m = missing([
    { what: 'qemu', pkg: 'qemu-system-x86', present: () => false },
    { what: 'ovmf code', pkg: 'ovmf', present: () => false },
    { what: 'ovmf vars', pkg: 'ovmf', present: () => false },
    { what: 'ip', pkg: 'iproute2', present: () => true },
    { what: 'addon', pkg: null, present: () => false, fix: 'npm ci' },
  ]);
  assert.deepEqual(m.packages, ['qemu-system-x86', 'ovmf']);
  assert.deepEqual(
    m.items.map((r) => r.what),
    ['qemu', 'ovmf code', 'ovmf vars', 'addon'],
  );
});
