import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertGolden } from '../../test/helpers/golden.ts';
import { parseClusterSpec } from '../config/cluster.ts';
import { controllerSecrets, controllerStage1 } from './controller-ignition.ts';
import { renderIgnition } from './ignition.ts';
import { renderFlannelManifest } from './kube/flannel.ts';
import { renderControlPlaneJoinConfig, renderInitConfig } from './kube/kubeadm.ts';
import { nodeIgnition } from './node-ignition.ts';
import type { ClusterIdentity } from './pki/index.ts';

const VALIDATE = '/usr/bin/ignition-validate';
const cluster = parseClusterSpec({ name: 'seed', controlPlaneEndpoint: '10.0.0.11:6443' });
const pem = (label: string, name: string) => `-----BEGIN ${label}-----\n${name}\n-----END ${label}-----\n`;
/** Placeholder PEMs: the generator only arranges them, so golden files stay readable and fixed. */
const identity: ClusterIdentity = {
  clusterName: 'seed',
  ca: { certPem: pem('CERTIFICATE', 'ca'), keyPem: pem('PRIVATE KEY', 'ca') },
  frontProxyCa: {
    certPem: pem('CERTIFICATE', 'front-proxy-ca'),
    keyPem: pem('PRIVATE KEY', 'front-proxy-ca'),
  },
  etcdCa: { certPem: pem('CERTIFICATE', 'etcd-ca'), keyPem: pem('PRIVATE KEY', 'etcd-ca') },
  serviceAccount: { keyPem: pem('PRIVATE KEY', 'sa'), publicKeyPem: pem('PUBLIC KEY', 'sa') },
};
const node = { hostname: 'cp-01', address: '10.0.0.11' };
const endpoint = { host: '10.0.0.11', port: 6443 };
const TOKEN = 'abcdef.0123456789abcdef';
const stage1 = controllerStage1({
  node: nodeIgnition({
    hostname: 'cp-01',
    role: 'controller',
    cluster,
    sshAuthorizedKeys: [],
    reportUrl: 'http://10.0.0.1:8080/report?mac=52:54:00:00:00:11',
  }),
  rootDisk: '/dev/sda',
  seedCaPem: pem('CERTIFICATE', 'seed-ca'),
  secretUrl: 'https://10.0.0.1:8443/secrets/m-0123456789ab.ign',
  bearer: 'one-time-token-for-the-golden-file',
  flannelManifest: renderFlannelManifest(cluster),
});
const init = controllerSecrets({
  kind: 'init',
  identity,
  initConfig: renderInitConfig({ cluster, node, endpoint, bootstrapToken: TOKEN }),
});
const join2 = controllerSecrets({
  kind: 'join',
  identity,
  joinConfig: renderControlPlaneJoinConfig({
    node: { hostname: 'cp-02', address: '10.0.0.12' },
    endpoint,
    bootstrapToken: TOKEN,
    caCertHash: `sha256:${'0'.repeat(64)}`,
  }),
});
const CASES = [
  ['controller-stage1.ign.json', renderIgnition(stage1)],
  ['controller-secrets-init.ign.json', renderIgnition(init)],
  ['controller-secrets-join.ign.json', renderIgnition(join2)],
] as const;

describe('controller Ignition: public stage 1 and the secret child', () => {
  for (const [name, text] of CASES) {
    it(`${name} is byte-stable (golden)`, () => assertGolden(name, text));
  }

  it('passes the real ignition-validate', { skip: !existsSync(VALIDATE) && 'apt install ignition' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ms-cp-ign-'));
    try {
      for (const [name, text] of CASES) {
        writeFileSync(join(dir, name), text);
        execFileSync(VALIDATE, [join(dir, name)], { stdio: 'pipe' });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stage 1 pins the seed CA and merges the secret URL with the bearer; it holds no key', () => {
    const c = JSON.parse(CASES[0][1]);
    assert.equal(c.ignition.config.merge[0].source, 'https://10.0.0.1:8443/secrets/m-0123456789ab.ign');
    assert.deepEqual(c.ignition.config.merge[0].httpHeaders, [
      { name: 'Authorization', value: 'Bearer one-time-token-for-the-golden-file' },
    ]);
    const ca = c.ignition.security.tls.certificateAuthorities[0].source as string;
    assert.equal(
      Buffer.from(ca.replace('data:;base64,', ''), 'base64').toString(),
      pem('CERTIFICATE', 'seed-ca'),
    );
    assert.doesNotMatch(decodeURIComponent(CASES[0][1]), /PRIVATE KEY/);
  });

  it('the secret child holds exactly the CA set (keys 0600) and the right kubeadm unit', () => {
    for (const [spec, conf, unit] of [
      [init, '/etc/kubernetes/kubeadm-init.yaml', 'kubeadm-init.service'],
      [join2, '/etc/kubernetes/kubeadm-join.yaml', 'kubeadm-join.service'],
    ] as const) {
      const pki = spec.files.filter((f) => f.path.startsWith('/etc/kubernetes/pki/'));
      assert.deepEqual(pki.map((f) => f.path.slice('/etc/kubernetes/pki/'.length)).sort(), [
        'ca.crt',
        'ca.key',
        'etcd/ca.crt',
        'etcd/ca.key',
        'front-proxy-ca.crt',
        'front-proxy-ca.key',
        'sa.key',
        'sa.pub',
      ]);
      for (const f of pki) assert.equal(f.mode, f.path.endsWith('.key') ? 0o600 : 0o644, f.path);
      assert.equal(spec.files.find((f) => f.path === conf)?.mode, 0o600);
      assert.deepEqual(
        spec.units.map((u) => u.name),
        [unit],
      );
    }
    assert.match(
      spec(init, 'kubeadm-init.service'),
      /ExecStartPost=.*kubectl .* apply -f \/etc\/kubernetes\/addons\/kube-flannel\.yml/,
    );
  });
});

function spec(s: typeof init, unit: string): string {
  return s.units.find((u) => u.name === unit)?.contents ?? '';
}
