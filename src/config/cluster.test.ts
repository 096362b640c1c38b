import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { DEFAULT_KUBERNETES_VERSION, parseClusterSpec, resolveControlPlaneEndpoint } from './cluster.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVtZXRhbHNlZWR0ZXN0a2V5MDAwMDAwMDAwMDAwMDA ops@seed';

function fails(raw: unknown): MetalseedError {
  try {
    parseClusterSpec(raw);
  } catch (err) {
    assert.ok(err instanceof MetalseedError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(raw)}`);
}

describe('parseClusterSpec', () => {
  it('gives every key a default', () => {
    for (const raw of [undefined, null, {}]) {
      assert.deepEqual(parseClusterSpec(raw), {
        name: 'kubernetes',
        kubernetesVersion: DEFAULT_KUBERNETES_VERSION,
        podCIDR: '10.2.0.0/16',
        serviceCIDR: '10.3.0.0/24',
        controlPlaneEndpoint: null,
        sshAuthorizedKeys: [],
        scratchDisk: null,
        controllerDisk: '/dev/sda',
        armSeconds: 0,
        watchNodes: true,
        dnsServiceIP: '10.3.0.10',
        kubernetesServiceIP: '10.3.0.1',
      });
    }
  });

  it('reads every key', () => {
    const s = parseClusterSpec({
      name: 'lab.seed',
      kubernetesVersion: '1.35.4',
      podCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      controlPlaneEndpoint: 'k8s-api.lab.example:443',
      sshAuthorizedKeys: [`  ${KEY}  `],
      scratchDisk: '/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002',
      watchNodes: false,
    });
    assert.equal(s.watchNodes, false);
    assert.equal(s.name, 'lab.seed');
    assert.equal(s.kubernetesVersion, 'v1.35.4', 'the v is added');
    assert.deepEqual(s.controlPlaneEndpoint, { host: 'k8s-api.lab.example', port: 443 });
    assert.deepEqual(s.sshAuthorizedKeys, [KEY], 'trimmed');
    assert.equal(s.scratchDisk, '/dev/disk/by-id/ata-QEMU_HARDDISK_QM00002');
  });

  it('defaults the endpoint port to 6443 and accepts IPv4 endpoints', () => {
    assert.deepEqual(parseClusterSpec({ controlPlaneEndpoint: '10.0.0.10' }).controlPlaneEndpoint, {
      host: '10.0.0.10',
      port: 6443,
    });
  });

  it('derives the DNS (10th) and kubernetes (1st) service addresses as kubeadm does', () => {
    const table: [string, string, string][] = [
      ['10.3.0.0/24', '10.3.0.10', '10.3.0.1'],
      ['10.96.0.0/12', '10.96.0.10', '10.96.0.1'],
      ['172.16.4.0/28', '172.16.4.10', '172.16.4.1'],
      ['192.168.255.0/24', '192.168.255.10', '192.168.255.1'],
    ];
    for (const [serviceCIDR, dns, api] of table) {
      const s = parseClusterSpec({ serviceCIDR });
      assert.equal(s.dnsServiceIP, dns, serviceCIDR);
      assert.equal(s.kubernetesServiceIP, api, serviceCIDR);
    }
  });

  it('rejects bad values with the key path', () => {
    const table: [unknown, RegExp][] = [
      ['nope', /^cluster: expected a mapping/],
      [{ podCidr: '10.2.0.0/16' }, /^cluster\.podCidr: unknown key; did you mean "podCIDR"/],
      [{ name: 'My Cluster' }, /^cluster\.name: /],
      [{ name: 42 }, /^cluster\.name: expected a non-empty string/],
      [{ kubernetesVersion: 'latest' }, /^cluster\.kubernetesVersion: expected a release like v1\.36\.2/],
      [{ kubernetesVersion: 'v1.30.4' }, /^cluster\.kubernetesVersion: v1\.30\.4 is too old.*v1beta4/],
      [{ podCIDR: 'banana' }, /^cluster\.podCIDR: expected an IPv4 network/],
      [{ podCIDR: '10.2.0.1/16' }, /^cluster\.podCIDR: .*host bits zero/],
      [{ podCIDR: '10.2.0.0/25' }, /^cluster\.podCIDR: prefix \/25 out of range/],
      [{ podCIDR: '10.0.0.0/7' }, /^cluster\.podCIDR: prefix \/7 out of range/],
      [{ serviceCIDR: '10.0.0.0/11' }, /^cluster\.serviceCIDR: prefix \/11 out of range/],
      [{ serviceCIDR: '10.3.0.0/29' }, /^cluster\.serviceCIDR: prefix \/29 out of range/],
      [
        { serviceCIDR: '10.2.5.0/24' },
        /^cluster\.serviceCIDR: 10\.2\.5\.0\/24 overlaps podCIDR 10\.2\.0\.0\/16/,
      ],
      [{ podCIDR: '10.0.0.0/8' }, /^cluster\.serviceCIDR: 10\.3\.0\.0\/24 overlaps podCIDR 10\.0\.0\.0\/8/],
      [
        { controlPlaneEndpoint: 'https://10.0.0.10:6443' },
        /^cluster\.controlPlaneEndpoint: expected host\[:port\]/,
      ],
      [{ controlPlaneEndpoint: '10.0.0.10:70000' }, /^cluster\.controlPlaneEndpoint: /],
      [{ controlPlaneEndpoint: '10.0.0' }, /^cluster\.controlPlaneEndpoint: /],
      [{ controlPlaneEndpoint: 'API.example:6443' }, /^cluster\.controlPlaneEndpoint: /],
      [{ sshAuthorizedKeys: KEY }, /^cluster\.sshAuthorizedKeys: expected a list/],
      [
        { sshAuthorizedKeys: [KEY, 'hello'] },
        /^cluster\.sshAuthorizedKeys\[1\]: expected one OpenSSH public key/,
      ],
      [
        { sshAuthorizedKeys: ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn'] },
        /^cluster\.sshAuthorizedKeys\[0\]: this is a private key/,
      ],
      [{ scratchDisk: 'sdb' }, /^cluster\.scratchDisk: expected a device path/],
      [{ scratchDisk: '/dev/../etc/passwd' }, /^cluster\.scratchDisk: /],
      [{ scratchDisk: '/dev/sdb ' }, /^cluster\.scratchDisk: /],
    ];
    for (const [raw, message] of table) {
      assert.match(fails(raw).message, message, JSON.stringify(raw));
    }
  });

  it('resolves the endpoint: configured, else the first controller on 6443', () => {
    assert.deepEqual(resolveControlPlaneEndpoint(parseClusterSpec({}), '10.0.0.11'), {
      host: '10.0.0.11',
      port: 6443,
    });
    const vip = parseClusterSpec({ controlPlaneEndpoint: '10.0.0.10:8443' });
    assert.deepEqual(resolveControlPlaneEndpoint(vip, '10.0.0.11'), { host: '10.0.0.10', port: 8443 });
  });
});
