/**
 * One machine's whole boot played by real clients in a lab: busybox udhcpc (as iPXE: raw
 * user class "iPXE") gets a lease and the boot script URL, then curl fetches /boot.ipxe,
 * /ipxe, the kernel from /assets/, /ignition and posts /report, as iPXE and the booted OS would. The seed's API then
 * shows one machine with the complete timeline, `metalseed events` prints it, the fetched
 * Ignition passes the real ignition-validate, and /metrics counts it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { udhcpc } from '../helpers/dhcp-clients.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { REPO_ROOT, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const run = promisify(execFile);
const NET = '10.54.0';
const SEED = `http://${NET}.1:8080`;
const skip = labUnavailable(['ip', 'busybox', 'curl']);

describe('a boot played by udhcpc + curl lands on the timeline', { skip, timeout: 180_000 }, () => {
  let lab: Lab;
  let seed: Seed;
  let dir: string;

  before(async () => {
    dir = tempDir('timeline');
    lab = await singleLinkLab(NET, 2);
    seed = await startSeed(lab, dir, {
      ...seedConfig(NET),
      cluster: {
        sshAuthorizedKeys: ['ssh-ed25519 AAAAC3Nz test@lab'],
        controlPlaneEndpoint: `${NET}.10:6443`,
      },
    });
  });
  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  const curl = async (ns: string, args: string[]) => {
    const r = await lab.exec(ns, 'curl', ['-sS', '--max-time', '10', ...args]);
    assert.equal(r.code, 0, `curl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  /** The operator's view, from the seed namespace with the token from dataDir. */
  const api = async (path: string) => {
    const token = readFileSync(join(seed.dataDir, 'api-token'), 'utf8').trim();
    return JSON.parse(
      await curl(lab.seedNs, ['-H', `Authorization: Bearer ${token}`, `${SEED}/api/v1${path}`]),
    );
  };

  test('DHCP → /boot.ipxe → /ipxe → /ignition → /report', async () => {
    const c = lab.clients[0]!;
    const lease = (await udhcpc(lab, c, dir, { extra: ['0x4d:69505845', '0x5d:0000'] })).lease;
    assert.ok(lease, 'udhcpc got a lease');
    assert.equal(lease.bootFile, `${SEED}/boot.ipxe`);
    const up = await lab.exec(c.ns, 'ip', ['addr', 'add', `${lease.ip}/24`, 'dev', c.ifname]);
    assert.equal(up.code, 0, up.stderr);

    const boot = await curl(c.ns, [`${SEED}/boot.ipxe`]);
    assert.match(boot, /^#!ipxe/);
    const script = await curl(c.ns, [
      `${SEED}/ipxe?mac=${c.mac}&uuid=4c4c4544-0031-3510-8052-b4c04f333231&platform=pcbios`,
    ]);
    assert.match(script, /^kernel --name kernel /m);
    // the kernel the script names, from dataDir/assets (whole, then a Range request)
    const kernelDir = join(seed.dataDir, 'assets', 'flatcar');
    mkdirSync(kernelDir, { recursive: true });
    writeFileSync(join(kernelDir, 'flatcar_production_pxe.vmlinuz'), Buffer.alloc(1 << 20, 7));
    const kernelUrl = /^kernel --name kernel (\S+)/m.exec(script)![1]!;
    assert.equal(
      await curl(c.ns, ['-o', '/dev/null', '-w', '%{http_code} %{size_download}', kernelUrl]),
      '200 1048576',
    );
    assert.equal(
      await curl(c.ns, ['-r', '0-99', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', kernelUrl]),
      '206 100',
    );
    const ign = await curl(c.ns, [`${SEED}/ignition?mac=${c.mac}`]);
    const ignFile = join(dir, 'fetched.ign');
    writeFileSync(ignFile, ign);
    if (existsSync('/usr/bin/ignition-validate')) await run('/usr/bin/ignition-validate', [ignFile]);
    await curl(c.ns, [
      '-X',
      'POST',
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"hostname":"w","result":"ok"}',
      `${SEED}/report?mac=${c.mac}`,
    ]);

    const machines = await api('/machines');
    const list = Array.isArray(machines) ? machines : machines.machines;
    assert.equal(list.length, 1, JSON.stringify(machines));
    const m = list[0];
    assert.equal(m.state, 'provisioned');
    assert.equal(m.uuid, '4c4c4544-0031-3510-8052-b4c04f333231');
    assert.deepEqual(m.addresses, [lease.ip]);
    const tl = await api(`/machines/${m.id}/timeline`);
    const steps = (Array.isArray(tl) ? tl : tl.events).map((e: { type: string }) => e.type);
    for (const s of [
      'dhcp.offer',
      'dhcp.ack',
      'http.boot_ipxe',
      'http.ipxe',
      'http.asset',
      'http.ignition',
      'report',
    ]) {
      assert.ok(steps.includes(s), `timeline lacks ${s}: ${steps.join(' ')}`);
    }
    for (const s of ['dhcp.discover', 'dhcp.request'])
      assert.ok(!steps.includes(s), `an answered message is recorded by its answer only: ${steps.join(' ')}`);
    assert.ok(
      steps.indexOf('dhcp.ack') < steps.indexOf('http.ipxe') &&
        steps.indexOf('http.ipxe') < steps.indexOf('report'),
      'in order',
    );

    const token = readFileSync(join(seed.dataDir, 'api-token'), 'utf8').trim();
    const cli = await lab.exec(lab.seedNs, process.execPath, [
      join(REPO_ROOT, 'bin', 'metalseed.js'),
      'events',
      '--server',
      SEED,
      '--token',
      token,
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    for (const s of ['dhcp.ack', 'http.ipxe', 'report'])
      assert.match(cli.stdout, new RegExp(s.replace('.', '\\.')), `events output lacks ${s}`);
    assert.match(cli.stdout, new RegExp(m.hostname), 'events name the machine');

    const metrics = await curl(c.ns, [`${SEED}/metrics`]);
    assert.match(metrics, /^metalseed_machines\{state="provisioned"\} 1$/m);
    assert.match(metrics, /^metalseed_dhcp_received_total\{type="DISCOVER"\} [1-9]/m);
  });

  test('the API refuses calls without the token', async () => {
    const r = await lab.exec(lab.seedNs, 'curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${SEED}/api/v1/machines`,
    ]);
    assert.equal(r.stdout, '401');
  });
});
