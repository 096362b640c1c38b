/**
 * A worker's node Ignition applied by the real Ignition (Debian's 2.14, package ignition): the
 * fetch and files stages write into a temporary root with `-platform file`, so no VM, network
 * namespace or mount is needed (lab-findings.md, "Ignition 2.14 (Debian) as a test peer").
 * The sysext is a small fake served by node:http on 127.0.0.1 with its real SHA-256, so the
 * remote file and its `verification.hash` go through Ignition's own download and check.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderIgnition } from '../../src/cluster/ignition.ts';
import { renderWorkerJoinConfig } from '../../src/cluster/kube/kubeadm.ts';
import { type NodeIgnitionInput, nodeIgnition } from '../../src/cluster/node-ignition.ts';
import { parseClusterSpec } from '../../src/config/cluster.ts';
import { applyIgnition, ignitionUnavailable } from '../helpers/ignition.ts';

const skip = ignitionUnavailable();

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBwq7cJ4jBmYq5oJ1wHpdJgXW6jE4aZ0m4bS2b0J1T9x ops@example';
const SYSEXT = Buffer.from('not really a squashfs, but Ignition only checks the hash\n');
const SYSEXT_SHA = createHash('sha256').update(SYSEXT).digest('hex');
const RAW = '/opt/extensions/kubernetes/kubernetes-v1.36.2-x86-64.raw';
const joinConfig = renderWorkerJoinConfig({
  node: { hostname: 'worker-01', address: '10.0.0.21' },
  endpoint: { host: '10.0.0.10', port: 6443 },
  bootstrapToken: 'abcdef.0123456789abcdef',
  caCertHash: `sha256:${'0'.repeat(64)}`,
});

describe('node Ignition applied by the real ignition files stage', { skip }, () => {
  let server: http.Server;
  let tmp: string;
  let root: string;
  let input: NodeIgnitionInput;
  const at = (p: string) => path.join(root, p);
  const mode = (p: string) => fs.lstatSync(at(p)).mode & 0o7777;
  const read = (p: string) => fs.readFileSync(at(p), 'utf8');

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/assets/sysext/kubernetes.raw') res.end(SYSEXT);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    input = {
      hostname: 'worker-01',
      role: 'worker',
      cluster: parseClusterSpec({ name: 'seed' }),
      sshAuthorizedKeys: [KEY],
      sysext: { url: `http://127.0.0.1:${port}/assets/sysext/kubernetes.raw`, sha256: SYSEXT_SHA },
      scratchDisk: '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
      reportUrl: 'http://10.0.0.1:8080/report?mac=52:54:00:00:00:21',
      joinConfig,
    };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-ign-apply-'));
    // Ignition writes core's authorized_keys as core (uid 1000), who must reach the root.
    fs.chmodSync(tmp, 0o755);
    root = path.join(tmp, 'ok', 'root');
    fs.mkdirSync(path.join(tmp, 'ok'));
    const r = await applyIgnition(path.join(tmp, 'ok'), renderIgnition(nodeIgnition(input)));
    assert.equal(r.code, 0, r.log);
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes hostname, kernel modules and sysctls 0644', () => {
    assert.equal(read('etc/hostname'), 'worker-01\n');
    assert.equal(read('etc/modules-load.d/k8s.conf'), 'br_netfilter\noverlay\n');
    assert.equal(
      read('etc/sysctl.d/90-k8s.conf'),
      'net.ipv4.ip_forward=1\nnet.bridge.bridge-nf-call-iptables=1\n',
    );
    for (const p of ['etc/hostname', 'etc/modules-load.d/k8s.conf', 'etc/sysctl.d/90-k8s.conf']) {
      assert.equal(mode(p), 0o644, p);
    }
  });

  it('writes the join config 0600 and the report script 0755', () => {
    assert.equal(read('etc/kubernetes/kubeadm-join.yaml'), joinConfig);
    assert.equal(mode('etc/kubernetes/kubeadm-join.yaml'), 0o600);
    assert.equal(mode('opt/metalseed/report'), 0o755);
    assert.match(read('opt/metalseed/report'), /report\?mac=52:54:00:00:00:21'$/m);
  });

  it('downloads the sysext, checks its hash and links it into /etc/extensions', () => {
    assert.deepEqual(fs.readFileSync(at(RAW)), SYSEXT);
    assert.equal(mode(RAW), 0o644);
    assert.equal(fs.readlinkSync(at('etc/extensions/kubernetes.raw')), RAW);
  });

  it('installs the units, the containerd drop-in and the presets; masks locksmithd', () => {
    const units = 'etc/systemd/system';
    assert.match(
      read(`${units}/kubeadm-join.service`),
      /^ConditionPathExists=!\/etc\/kubernetes\/kubelet.conf$/m,
    );
    assert.match(read(`${units}/kubeadm-join.service`), /^Restart=on-failure$/m);
    assert.match(
      read(`${units}/kubeadm-join.service`),
      /^ExecStartPre=-\/usr\/bin\/kubeadm reset --force$/m,
      'a failed join leaves ca.crt behind; the retry starts clean',
    );
    assert.match(read(`${units}/metalseed-report.service`), /^ExecStart=\/opt\/metalseed\/report$/m);
    assert.match(read(`${units}/var-lib-containerd.mount`), /^What=\/dev\/disk\/by-label\/CONTAINERD$/m);
    assert.match(
      read(`${units}/containerd.service.d/10-wait-disk.conf`),
      /^Requires=var-lib-containerd.mount$/m,
    );
    assert.ok(fs.lstatSync(at(`${units}/locksmithd.service`)).isSymbolicLink());
    assert.equal(fs.readlinkSync(at(`${units}/locksmithd.service`)), '/dev/null');
    const presets = read('etc/systemd/system-preset/20-ignition.preset').split('\n');
    for (const u of ['containerd.service', 'kubeadm-join.service', 'metalseed-report.service']) {
      assert.ok(presets.includes(`enable ${u}`), u);
    }
    assert.ok(presets.includes('enable var-lib-containerd.mount'));
  });

  it("gives core the operator's SSH key", () => {
    assert.match(read('etc/passwd'), /^core:/m);
    assert.equal(read('home/core/.ssh/authorized_keys.d/ignition').trim(), KEY);
  });

  it('fails the files stage when the sysext does not match its hash', async () => {
    const dir = path.join(tmp, 'bad');
    fs.mkdirSync(dir);
    const bad = { ...input, sysext: { url: input.sysext!.url, sha256: 'f'.repeat(64) } };
    const r = await applyIgnition(dir, renderIgnition(nodeIgnition(bad)));
    assert.notEqual(r.code, 0, r.log);
    assert.match(r.log, /hash verification failed/, 'it fails on the hash, not on something else');
    assert.ok(!fs.existsSync(path.join(dir, 'root', RAW.slice(1))));
  });
});
