/**
 * `metalseed lab` end to end, through the real CLI: `lab up` builds the namespaces, starts a
 * real seed and PXE-boots two QEMU machines (TCG): SeaBIOS with the iPXE ROM, and OVMF with no
 * NIC ROM (firmware PXE → TFTP ipxe.efi → iPXE → HTTP). Both must reach `provisioned` with a
 * first-boot report listing every file the Ignition their role got from the seed declares
 * (hostname, and the kubeadm join config once the worker config carries it). Then `lab down`
 * must leave no namespace and no process, and a second `lab down` must succeed too.
 * The lab runs in its own state directory and namespace prefix, so a user's lab is untouched.
 * Power-on → provisioned times are printed as diagnostics, never asserted.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Machine, TimelineEvent } from '../../src/inventory/index.ts';
import { bootImageUnavailable } from '../../src/lab/index.ts';
import { labUnavailable } from '../helpers/netns.ts';
import { REPO_ROOT, removeDir, tempDir } from '../helpers/seed.ts';

const PREFIX = `msl-t${process.pid}-`;
const SEED_NS = `${PREFIX}seed`;
const API = 'http://10.77.0.1:8080';
const BIOS_MAC = '52:54:00:4d:53:01';
const PXE_MAC = '52:54:00:4d:53:02';
/** The CLI's own deadline for both machines; the test allows a little more for start-up. */
const LAB_TIMEOUT_S = 150;
const NEEDED = [
  '/usr/bin/qemu-system-x86_64',
  '/usr/share/OVMF/OVMF_CODE_4M.fd',
  '/usr/lib/ipxe/qemu/efi-virtio.rom',
  '/usr/lib/ipxe/ipxe.efi',
];
const missingFiles = NEEDED.filter((f) => !existsSync(f));
const skip =
  labUnavailable(['ip', 'curl', 'modprobe']) ||
  (missingFiles.length > 0
    ? `needs ${missingFiles.join(', ')} (apt: qemu-system-x86 ovmf ipxe-qemu ipxe)`
    : false) ||
  bootImageUnavailable();

interface Run {
  code: number | null;
  out: string;
}

/** `metalseed lab ARGS` with this test's state dir and prefix; stdout and stderr together. */
function lab(dir: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'metalseed.js'), 'lab', ...args, '--dir', dir, '--prefix', PREFIX],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      out += String(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function labNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

describe('metalseed lab: two machines PXE-boot through the seed to provisioned', {
  skip,
  timeout: 360_000,
}, () => {
  let dir: string;
  let up: Run;
  let token: string;

  before(async () => {
    dir = tempDir('lab-cli');
    up = await lab(
      dir,
      ['up', '--machines', '2', '--firmware', 'bios,uefi-pxe', '--timeout', String(LAB_TIMEOUT_S)],
      (LAB_TIMEOUT_S + 90) * 1000,
    );
    const tokenFile = join(dir, 'run', 'data', 'api-token');
    token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  });

  after(async () => {
    // a failed test must not leave the lab behind either
    if (dir) {
      await lab(dir, ['down'], 60_000);
      removeDir(dir);
    }
  });

  /** GET from the seed inside its namespace, with curl: an independent check of the CLI's view. */
  const get = (path: string, auth = true): string => {
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        SEED_NS,
        'curl',
        '-sS',
        '--max-time',
        '10',
        ...(auth ? ['-H', `Authorization: Bearer ${token}`] : []),
        `${API}${path}`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `curl ${path}: ${r.stderr}`);
    return r.stdout;
  };

  test('lab up: both machines provisioned, each reporting the files its role Ignition declares', (t) => {
    assert.equal(up.code, 0, `lab up failed:\n${up.out.slice(-6000)}`);
    assert.match(up.out, /m1\s+bios\s+52:54:00:4d:53:01\s+\S+\s+provisioned/);
    assert.match(up.out, /m2\s+uefi-pxe\s+52:54:00:4d:53:02\s+\S+\s+provisioned/);

    const machines = JSON.parse(get('/api/v1/machines')) as Machine[];
    for (const [mac, firmware] of [
      [BIOS_MAC, 'bios'],
      [PXE_MAC, 'uefi-pxe'],
    ] as const) {
      const m = machines.find((x) => x.macs.includes(mac));
      assert.ok(m, `the seed does not know ${mac}: ${JSON.stringify(machines)}`);
      assert.equal(m.state, 'provisioned', `${firmware}: ${JSON.stringify(m)}`);
      const events = JSON.parse(get(`/api/v1/machines/${m.id}/timeline?limit=1000`)) as TimelineEvent[];
      const steps = events.map((e) => e.type);
      for (const s of ['dhcp.ack', 'http.boot_ipxe', 'http.ipxe', 'http.asset', 'http.ignition', 'report']) {
        assert.ok(steps.includes(s), `${firmware}: timeline lacks ${s}: ${steps.join(' ')}`);
      }
      const assets = events.filter((e) => e.type === 'http.asset').map((e) => e.data['file']);
      assert.ok(assets.includes('lab/vmlinuz') && assets.includes('lab/initrd.gz'), `${firmware}: ${assets}`);
      if (firmware === 'uefi-pxe') {
        const tftp = events.find((e) => e.type === 'tftp.done');
        assert.equal(tftp?.data['file'], 'ipxe.efi', 'OVMF fetched iPXE over TFTP');
      }

      const report = events.find((e) => e.type === 'report')!.data as {
        result?: string;
        hostname?: string;
        files?: string[];
      };
      assert.equal(report.result, 'ok', JSON.stringify(report));
      assert.equal(report.hostname, m.hostname, 'the hostname Ignition wrote is the seed-assigned one');
      // every file the served config declares was written by the real Ignition in the machine
      const ignition = JSON.parse(get(`/ignition?mac=${mac}`, false)) as {
        storage?: { files?: { path: string }[] };
      };
      const declared = (ignition.storage?.files ?? []).map((f) => f.path);
      assert.ok(declared.includes('/etc/hostname'), `served Ignition: ${declared}`);
      for (const f of declared) {
        assert.ok(report.files?.includes(f), `${firmware}: report lacks ${f}: ${report.files?.join(' ')}`);
      }
      const kubeadm = report.files?.includes('/etc/kubernetes/kubeadm-join.yaml') ? 'with' : 'without';
      const seconds = /(\d+\.\d) s/.exec(
        up.out.split('\n').find((l) => l.startsWith(`m${firmware === 'bios' ? 1 : 2} `)) ?? '',
      );
      t.diagnostic(
        `${firmware}: power-on → provisioned ${seconds?.[1]} s, ${report.files?.length} files (${kubeadm} kubeadm-join.yaml)`,
      );
    }
  });

  test('lab status and lab console show the machines', async () => {
    const s = await lab(dir, ['status', '-o', 'json'], 30_000);
    assert.equal(s.code, 0, s.out);
    const status = JSON.parse(s.out) as { machines: { name: string; state: string }[] };
    assert.deepEqual(
      status.machines.map((m) => `${m.name}=${m.state}`),
      ['m1=provisioned', 'm2=provisioned'],
    );
    const c = await lab(dir, ['console', 'm2'], 30_000);
    assert.equal(c.code, 0, c.out);
    assert.match(c.out, />>Start PXE over IPv4/, 'OVMF PXE on the serial console');
    assert.match(c.out, /METALSEED-LAB\[[\d.]+\]: ignition result=ok/);
  });

  test('lab down stops every process, removes every namespace, and is safe to run twice', async () => {
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {
      seed: { pid: number };
      proxy: { pid: number };
      machines: { proc: { pid: number } }[];
    };
    const pids = [state.seed.pid, state.proxy.pid, ...state.machines.map((m) => m.proc.pid)];
    const down = await lab(dir, ['down'], 60_000);
    assert.equal(down.code, 0, down.out);
    assert.deepEqual(labNamespaces(), []);
    for (const pid of pids)
      assert.ok(
        !existsSync(`/proc/${pid}/cmdline`) ||
          !/metalseed|qemu|api proxy/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')),
        `pid ${pid} still runs`,
      );
    assert.ok(!existsSync(join(dir, 'state.json')), 'state file removed');
    const again = await lab(dir, ['down'], 60_000);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /no lab is up/);
  });
});
