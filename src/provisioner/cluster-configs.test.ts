/**
 * The provisioner's role decisions with a cluster: who initialises, who joins, what travels
 * over plain http, and the persistent root of controllers. The real-seed, real-Ignition side
 * is test/e2e/cluster-configs.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { testProvisioner } from '../../test/helpers/provisioner.ts';
import { type ClusterPki, createClusterPki } from '../cluster/pki/index.ts';
import { parseClusterSpec } from '../config/cluster.ts';
import type { Machine } from '../inventory/index.ts';
import type { ClusterRuntime } from './cluster-configs.ts';
import type { Provisioner } from './provisioner.ts';
import { SecretGate } from './secret-gate.ts';

const NOW = Date.parse('2026-11-28T10:00:00Z');
const CP1 = '52:54:00:cc:00:01';
const CP2 = '52:54:00:cc:00:02';
const W1 = '52:54:00:dd:00:01';
const YAML = `machines:
  - { mac: "${CP1}", role: controller, hostname: cp-01 }
  - { mac: "${CP2}", role: controller, hostname: cp-02 }
  - { mac: "${W1}", role: worker, hostname: worker-01 }
`;

let pki: ClusterPki;
before(async () => {
  pki = await createClusterPki({ clusterName: 'test', now: new Date(NOW) });
});

async function setup(cluster: Record<string, unknown> = {}, sysext = false) {
  const gate = new SecretGate(() => NOW + 1000);
  const rt: ClusterRuntime = {
    spec: parseClusterSpec(cluster),
    identity: pki,
    caCertHash: pki.caCertHash,
    bootstrapToken: () => pki.bootstrapToken,
    seedCaPem: pki.ca.certPem, // any CA will do for the shape
    secretsBaseUrl: 'https://10.0.0.1:8443',
    sysext: () =>
      sysext ? { url: 'http://10.0.0.1:8080/assets/sysext/k.raw', sha256: 'a'.repeat(64) } : undefined,
    gate,
  };
  const { p } = await testProvisioner(YAML, NOW, rt);
  return { p, gate };
}

function enrol(p: Provisioner, mac: string, address: string): Machine {
  return p.machineFor({ mac, address });
}

function fileOf(body: string, path: string): string | undefined {
  const cfg = JSON.parse(body) as { storage?: { files?: { path: string; contents: { source: string } }[] } };
  const f = cfg.storage?.files?.find((x) => x.path === path);
  return f ? decodeURIComponent(f.contents.source.replace(/^data:,/, '')) : undefined;
}

describe('role configs', () => {
  it('the first controller to enrol inits, the next joins the control plane; workers join', async () => {
    const { p, gate } = await setup();
    gate.arm(600);
    const cp1 = enrol(p, CP1, '10.0.0.11');
    const cp2 = enrol(p, CP2, '10.0.0.12');
    const w = enrol(p, W1, '10.0.0.21');
    const s1 = p.configFor(cp1, '10.0.0.11');
    const s2 = p.configFor(cp2, '10.0.0.12');
    assert.ok(s1.ok && s2.ok);
    assert.ok(fileOf(s1.body, '/etc/kubernetes/addons/kube-flannel.yml'), 'the initialiser applies flannel');
    assert.equal(fileOf(s2.body, '/etc/kubernetes/addons/kube-flannel.yml'), undefined);
    const bearer = (body: string) =>
      (JSON.parse(body).ignition.config.merge[0].httpHeaders[0].value as string).replace('Bearer ', '');
    const sec1 = p.secretStageFor(cp1.id, bearer(s1.body), '10.0.0.11');
    const sec2 = p.secretStageFor(cp2.id, bearer(s2.body), '10.0.0.12');
    assert.ok(sec1.ok && sec2.ok);
    assert.match(fileOf(sec1.body, '/etc/kubernetes/kubeadm-init.yaml')!, /kind: InitConfiguration/);
    assert.match(
      fileOf(sec1.body, '/etc/kubernetes/kubeadm-init.yaml')!,
      /controlPlaneEndpoint: 10\.0\.0\.11:6443/,
    );
    const cpJoin = fileOf(sec2.body, '/etc/kubernetes/kubeadm-join.yaml')!;
    assert.match(cpJoin, /controlPlane:/);
    assert.match(cpJoin, /apiServerEndpoint: 10\.0\.0\.11:6443/);
    assert.match(fileOf(sec2.body, '/etc/kubernetes/pki/ca.key')!, /PRIVATE KEY/);
    const wc = p.configFor(w, '10.0.0.21');
    assert.ok(wc.ok);
    const join = fileOf(wc.body, '/etc/kubernetes/kubeadm-join.yaml')!;
    assert.match(join, new RegExp(pki.caCertHash.replace(':', ':')));
    assert.doesNotMatch(join, /controlPlane:/);
  });

  it('nothing served over plain http carries a private key; only the secret stage does', async () => {
    const { p, gate } = await setup({}, true);
    gate.arm(600);
    for (const [mac, ip] of [
      [CP1, '10.0.0.11'],
      [CP2, '10.0.0.12'],
      [W1, '10.0.0.21'],
    ] as const) {
      const out = p.configFor(enrol(p, mac, ip), ip);
      assert.ok(out.ok);
      assert.doesNotMatch(decodeURIComponent(out.body), /PRIVATE KEY/, mac);
    }
  });

  it('a configured endpoint that is a name: the earliest controller inits, and the sysext is pinned by hash', async () => {
    const { p, gate } = await setup({ controlPlaneEndpoint: 'api.lab.example:6443' }, true);
    gate.arm(600);
    const cp2 = enrol(p, CP2, '10.0.0.12');
    const cp1 = enrol(p, CP1, '10.0.0.11');
    const first = p.configFor(cp2, '10.0.0.12');
    const second = p.configFor(cp1, '10.0.0.11');
    assert.ok(first.ok && second.ok);
    assert.ok(fileOf(first.body, '/etc/kubernetes/addons/kube-flannel.yml'));
    assert.equal(fileOf(second.body, '/etc/kubernetes/addons/kube-flannel.yml'), undefined);
    const raw = JSON.parse(first.body).storage.files.find((f: { path: string }) => f.path.endsWith('.raw'));
    assert.equal(raw.contents.verification.hash, `sha256-${'a'.repeat(64)}`);
  });

  it('the seed learns the endpoint from the first controller to enrol (for its own API clients)', async () => {
    const { p } = await setup();
    assert.equal(p.knownEndpoint(), null);
    enrol(p, W1, '10.0.0.21');
    assert.equal(p.knownEndpoint(), null, 'a worker says nothing about the endpoint');
    enrol(p, CP2, '10.0.0.12');
    enrol(p, CP1, '10.0.0.11');
    assert.deepEqual(p.knownEndpoint(), { host: '10.0.0.12', port: 6443 });
    const fixed = await setup({ controlPlaneEndpoint: 'api.lab.example:6443' });
    assert.deepEqual(fixed.p.knownEndpoint(), { host: 'api.lab.example', port: 6443 });
  });

  it('preview shows stage 1 without issuing a token', async () => {
    const { p, gate } = await setup();
    gate.arm(600);
    const cp1 = enrol(p, CP1, '10.0.0.11');
    const shown = p.renderConfigFor(cp1)!;
    assert.match(shown.body, /issued-when-the-machine-fetches-this-config/);
    const r = p.secretStageFor(cp1.id, 'issued-when-the-machine-fetches-this-config', '10.0.0.11');
    assert.equal(r.ok, false);
  });

  it('worker configs are byte-stable', async () => {
    const { p } = await setup({ controlPlaneEndpoint: '10.0.0.10:6443' });
    const w = enrol(p, W1, '10.0.0.21');
    const a = p.configFor(w, '10.0.0.21');
    const b = p.configFor(w, '10.0.0.21');
    assert.ok(a.ok && b.ok);
    assert.equal(a.body, b.body);
  });
});

describe('controllers keep a persistent root', () => {
  it('root=LABEL=ROOT always; flatcar.first_boot=1 only until the first report', async () => {
    const { p, gate } = await setup();
    gate.arm(600);
    const cp1 = enrol(p, CP1, '10.0.0.11');
    const before = p.renderScript(p.registry.get(cp1.id)!).script;
    assert.match(before, / root=LABEL=ROOT /);
    assert.match(before, / flatcar\.first_boot=1 /);
    p.timeline.record(p.registry.get(cp1.id)!, 'report', { result: 'ok' });
    const m = p.registry.get(cp1.id)!;
    assert.ok(m.provisionedAt);
    const after = p.renderScript(m).script;
    assert.match(after, / root=LABEL=ROOT /);
    assert.doesNotMatch(after, /first_boot/);
    const worker = p.renderScript(enrol(p, W1, '10.0.0.21')).script;
    assert.doesNotMatch(worker, /root=LABEL/, 'workers stay diskless');
    assert.match(worker, /flatcar\.first_boot=1/);
  });

  it('stage 1 creates the ROOT filesystem on cluster.controllerDisk without ever wiping it', async () => {
    const { p, gate } = await setup({ controllerDisk: '/dev/nvme0n1' });
    gate.arm(600);
    const out = p.configFor(enrol(p, CP1, '10.0.0.11'), '10.0.0.11');
    assert.ok(out.ok);
    const fs = JSON.parse(out.body).storage.filesystems;
    assert.deepEqual(fs, [{ device: '/dev/nvme0n1', format: 'ext4', label: 'ROOT', wipeFilesystem: false }]);
  });
});
