import assert from 'node:assert/strict';
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import { describe, it } from 'node:test';
import { BOOTSTRAP_TOKEN_RE } from './bootstrap-token.ts';
import { caCertHash } from './ca-hash.ts';
import { createClusterPki } from './cluster-pki.ts';
import { assertKeyMatches } from './inspect.ts';
import { spkiDer } from './keys.ts';
import { CONTROL_PLANE_PKI_PATHS, controlPlanePkiFiles, SECRET_MODE } from './pki-files.ts';

const NOW = new Date('2026-05-06T07:08:09Z');

describe('ClusterPki', async () => {
  const pki = await createClusterPki({ clusterName: 'lab', now: NOW });

  it('has three distinct CAs with kubeadm subjects', () => {
    const subjects = [pki.ca, pki.frontProxyCa, pki.etcdCa].map((c) => new NodeX509(c.certPem).subject);
    assert.deepEqual(subjects, ['CN=kubernetes', 'CN=front-proxy-ca', 'CN=etcd-ca']);
    assert.equal(new Set([pki.ca, pki.frontProxyCa, pki.etcdCa].map((c) => c.keyPem)).size, 3);
  });

  it('the CA hash is sha256 over the DER SubjectPublicKeyInfo (node:crypto agrees)', () => {
    const want = createHash('sha256').update(spkiDer(pki.ca.certPem)).digest('hex');
    assert.equal(pki.caCertHash, `sha256:${want}`);
    assert.equal(caCertHash(pki.ca.certPem), pki.caCertHash);
    assert.match(pki.caCertHash, /^sha256:[0-9a-f]{64}$/);
  });

  it('the admin certificate: CN kubernetes-admin, O kubeadm:cluster-admins, clientAuth, issued by ca', () => {
    const admin = new NodeX509(pki.admin.certPem);
    assert.equal(admin.subject, 'O=kubeadm:cluster-admins\nCN=kubernetes-admin');
    assert.deepEqual(admin.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.ok(admin.checkIssued(new NodeX509(pki.ca.certPem)));
    assert.equal(admin.subjectAltName, undefined);
  });

  it('the service-account pair matches and is ECDSA P-256', () => {
    assertKeyMatches(pki.serviceAccount.publicKeyPem, pki.serviceAccount.keyPem, 'sa.pub', 'sa.key');
    assert.match(pki.serviceAccount.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('a bootstrap token is part of it', () => {
    assert.match(pki.bootstrapToken.value(), BOOTSTRAP_TOKEN_RE);
  });

  it('the control-plane file set is exactly kubeadm manual-certs list, keys 0600', () => {
    const files = controlPlanePkiFiles(pki);
    assert.deepEqual(
      files.map((f) => f.path),
      [
        'ca.crt',
        'ca.key',
        'sa.key',
        'sa.pub',
        'front-proxy-ca.crt',
        'front-proxy-ca.key',
        'etcd/ca.crt',
        'etcd/ca.key',
      ],
    );
    assert.deepEqual(
      CONTROL_PLANE_PKI_PATHS,
      files.map((f) => f.path),
    );
    for (const f of files) assert.equal(f.mode === SECRET_MODE, f.path.endsWith('.key'), f.path);
    assert.ok(!files.some((f) => f.contents.includes(pki.admin.keyPem)));
  });
});
