import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { MetalseedError } from '../../lib/errors.ts';
import { adminKubeconfig } from './kubeconfig.ts';

const INPUT = {
  clusterName: 'lab',
  server: 'https://10.0.0.11:6443',
  caPem: 'CA PEM\n',
  certPem: 'CERT PEM\n',
  keyPem: 'KEY PEM\n',
};

/** kubeadm's admin.conf layout: keys sorted, as Go's YAML marshaller writes them. */
const EXPECTED = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EgUEVNCg==
    server: https://10.0.0.11:6443
  name: lab
contexts:
- context:
    cluster: lab
    user: kubernetes-admin
  name: kubernetes-admin@lab
current-context: kubernetes-admin@lab
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVCBQRU0K
    client-key-data: S0VZIFBFTQo=
`;

describe('adminKubeconfig', () => {
  it('renders the fixed, sorted layout', () => {
    assert.equal(adminKubeconfig(INPUT), EXPECTED);
  });

  it('is byte-stable and never folds long base64 lines', () => {
    const long = { ...INPUT, caPem: 'x'.repeat(5000) };
    const a = adminKubeconfig(long);
    assert.equal(a, adminKubeconfig(long));
    const doc = parse(a);
    assert.equal(
      Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      'x'.repeat(5000),
    );
    assert.ok(a.split('\n').some((l) => l.length > 5000));
  });

  it('accepts IPv6 and DNS endpoints, refuses anything but https://HOST:PORT', () => {
    adminKubeconfig({ ...INPUT, server: 'https://[fd00::11]:6443' });
    adminKubeconfig({ ...INPUT, server: 'https://cp.lab.example:6443' });
    for (const server of [
      'http://10.0.0.11:6443',
      '10.0.0.11:6443',
      'https://10.0.0.11:6443/api',
      'https://u:p@h:6443',
    ]) {
      assert.throws(
        () => adminKubeconfig({ ...INPUT, server }),
        (e: unknown) => e instanceof MetalseedError && e.code === 'INVALID_INPUT',
        server,
      );
    }
    assert.throws(() => adminKubeconfig({ ...INPUT, clusterName: '' }), MetalseedError);
  });
});
