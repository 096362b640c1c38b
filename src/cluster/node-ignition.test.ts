import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertGolden } from '../../test/helpers/golden.ts';
import { parseClusterSpec } from '../config/cluster.ts';
import { renderIgnition } from './ignition.ts';
import { renderWorkerJoinConfig } from './kube/kubeadm.ts';
import { type NodeIgnitionInput, nodeIgnition } from './node-ignition.ts';

const VALIDATE = '/usr/bin/ignition-validate';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBwq7cJ4jBmYq5oJ1wHpdJgXW6jE4aZ0m4bS2b0J1T9x ops@example';
const SHA = 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c';
const cluster = parseClusterSpec({ name: 'seed', controlPlaneEndpoint: '10.0.0.10:6443' });
const joinConfig = renderWorkerJoinConfig({
  node: { hostname: 'worker-01', address: '10.0.0.21' },
  endpoint: { host: '10.0.0.10', port: 6443 },
  bootstrapToken: 'abcdef.0123456789abcdef',
  caCertHash: `sha256:${'0'.repeat(64)}`,
});
const minimal: NodeIgnitionInput = {
  hostname: 'worker-01',
  role: 'worker',
  cluster,
  sshAuthorizedKeys: [KEY],
  reportUrl: 'http://10.0.0.1:8080/report?mac=52:54:00:00:00:21',
  joinConfig,
};
const full: NodeIgnitionInput = {
  ...minimal,
  sysext: { url: 'http://10.0.0.1:8080/assets/sysext/kubernetes-v1.36.2-x86-64.raw', sha256: SHA },
  scratchDisk: '/dev/disk/by-path/pci-0000:00:1f.2-ata-1',
};
const controller: NodeIgnitionInput = {
  hostname: 'cp-01',
  role: 'controller',
  cluster,
  sshAuthorizedKeys: [KEY],
  reportUrl: 'http://10.0.0.1:8080/report?mac=52:54:00:00:00:11',
  sysext: full.sysext!,
};
const CASES = [
  ['node-worker.ign.json', full],
  ['node-worker-minimal.ign.json', minimal],
  ['node-controller.ign.json', controller],
] as const;

interface RenderedFile {
  path: string;
  mode: number;
  contents: { source: string; verification?: { hash: string } };
}
interface Rendered {
  storage: { files: RenderedFile[]; links?: unknown[]; filesystems?: unknown[] };
  systemd: { units: { name: string; enabled?: boolean; mask?: boolean; dropins?: unknown[] }[] };
}
const parse = (i: NodeIgnitionInput) => JSON.parse(renderIgnition(nodeIgnition(i))) as Rendered;
const decode = (source: string) => decodeURIComponent(source.replace(/^data:,/, ''));

describe('nodeIgnition', () => {
  for (const [name, input] of CASES) {
    it(`${name} is byte-stable (golden)`, () => {
      const text = renderIgnition(nodeIgnition(input));
      assertGolden(name, text);
      assert.equal(renderIgnition(nodeIgnition({ ...input })), text);
    });
  }

  it('passes the real ignition-validate', { skip: !existsSync(VALIDATE) && 'apt install ignition' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-node-ign-'));
    try {
      for (const [name, input] of CASES) {
        const file = join(dir, name);
        writeFileSync(file, renderIgnition(nodeIgnition(input)));
        execFileSync(VALIDATE, [file], { stdio: 'pipe' }); // throws with its message on failure
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a worker its join config 0600, the sysext with its hash, and the example units', () => {
    const c = parse(full);
    const byPath = new Map(c.storage.files.map((f) => [f.path, f]));
    const join = byPath.get('/etc/kubernetes/kubeadm-join.yaml');
    assert.equal(join?.mode, 0o600);
    assert.equal(decode(join?.contents.source ?? ''), joinConfig);
    const raw = byPath.get('/opt/extensions/kubernetes/kubernetes-v1.36.2-x86-64.raw');
    assert.deepEqual(raw?.contents, { source: full.sysext?.url, verification: { hash: `sha256-${SHA}` } });
    assert.deepEqual(c.storage.links, [
      { path: '/etc/extensions/kubernetes.raw', target: raw?.path, hard: false },
    ]);
    assert.equal(decode(byPath.get('/etc/hostname')?.contents.source ?? ''), 'worker-01\n');
    const units = new Map(c.systemd.units.map((u) => [u.name, u]));
    assert.equal(units.get('locksmithd.service')?.mask, true);
    assert.equal(units.get('containerd.service')?.enabled, true);
    assert.equal(units.get('containerd.service')?.dropins?.length, 1);
    for (const n of ['kubeadm-join.service', 'var-lib-containerd.mount', 'metalseed-report.service']) {
      assert.equal(units.get(n)?.enabled, true, n);
    }
  });

  it('omits the sysext, scratch disk and join unit when they are not asked for', () => {
    const c = parse(controller);
    const names = c.systemd.units.map((u) => u.name);
    assert.ok(!names.includes('kubeadm-join.service') && !names.includes('var-lib-containerd.mount'));
    assert.equal(c.storage.filesystems, undefined);
    const m = parse(minimal);
    assert.equal(m.storage.links, undefined);
    assert.ok(!m.storage.files.some((f) => f.path.startsWith('/opt/extensions/')));
  });

  it('never puts a private key into a worker config', () => {
    const text = renderIgnition(nodeIgnition(full));
    assert.ok(!text.includes('PRIVATE KEY'));
    for (const f of parse(full).storage.files) {
      if (f.contents.source.startsWith('data:'))
        assert.ok(!decode(f.contents.source).includes('PRIVATE KEY'));
    }
    const leaked = `${joinConfig}# -----BEGIN EC PRIVATE KEY-----\n`;
    assert.throws(() => nodeIgnition({ ...full, joinConfig: leaked }), /contains a private key/);
  });

  it('refuses a worker without a join config, a controller with one, and a malformed hash', () => {
    const { joinConfig: _, ...noJoin } = minimal;
    assert.throws(() => nodeIgnition(noJoin), /JoinConfiguration is required/);
    assert.throws(() => nodeIgnition({ ...controller, joinConfig }), /workers only/);
    const bad = nodeIgnition({ ...full, sysext: { url: 'http://x/a.raw', sha256: SHA.toUpperCase() } });
    assert.throws(() => renderIgnition(bad), /64 lowercase hex/);
  });
});
