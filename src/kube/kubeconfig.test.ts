/** Reading kubeconfigs: the seed's own admin kubeconfig, file references, and clear errors. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { adminKubeconfig, createCa, issueAdminCert } from '../cluster/pki/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { loadKubeconfigFile, parseKubeconfig } from './kubeconfig.ts';

const now = new Date();
const ca = await createCa({ subject: { commonName: 'kubernetes' }, now });
const admin = await issueAdminCert(ca, now);
const text = adminKubeconfig({
  clusterName: 'lab',
  server: 'https://10.0.0.10:6443',
  caPem: ca.certPem,
  certPem: admin.certPem,
  keyPem: admin.keyPem,
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-kubeconfig-'));

function rejects(yaml: string, pattern: RegExp): void {
  assert.throws(
    () => parseKubeconfig(yaml, 'k.conf', dir),
    (e: MetalseedError) => e instanceof MetalseedError && pattern.test(`${e.message} | ${e.hint ?? ''}`),
  );
}

describe('kubeconfig', () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the admin kubeconfig `metalseed kubeconfig` writes', () => {
    const c = parseKubeconfig(text, 'admin.conf', dir);
    assert.equal(c.server, 'https://10.0.0.10:6443');
    assert.equal(c.caPem, ca.certPem);
    assert.equal(c.certPem, admin.certPem);
    assert.equal(c.keyPem, admin.keyPem);
    assert.equal(c.token, undefined);
  });

  it('resolves file references relative to the kubeconfig, as kubectl does', () => {
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
    fs.writeFileSync(path.join(dir, 'admin.crt'), admin.certPem);
    fs.writeFileSync(path.join(dir, 'admin.key'), admin.keyPem);
    const file = path.join(dir, 'files.conf');
    fs.writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'a',
        contexts: [
          { name: 'a', context: { cluster: 'c', user: 'u' } },
          { name: 'b', context: { cluster: 'c', user: 't' } },
        ],
        clusters: [
          { name: 'c', cluster: { server: 'https://k8s.lab:6443/', 'certificate-authority': 'ca.crt' } },
        ],
        users: [
          { name: 'u', user: { 'client-certificate': 'admin.crt', 'client-key': './admin.key' } },
          { name: 't', user: { token: 'abcdef.0123456789abcdef' } },
        ],
      }),
    );
    const c = loadKubeconfigFile(file);
    assert.equal(c.server, 'https://k8s.lab:6443');
    assert.equal(c.caPem, ca.certPem);
    assert.equal(c.keyPem, admin.keyPem);
    const b = loadKubeconfigFile(file, 'b');
    assert.equal(b.token, 'abcdef.0123456789abcdef');
    assert.equal(b.certPem, undefined);
  });

  it('says what is wrong, and where', () => {
    rejects(': : :', /not YAML/);
    rejects('apiVersion: v1\n', /no current-context \| set current-context, or pass --context/);
    rejects(
      text.replace(/current-context: .*/, 'current-context: nope'),
      /contexts has no entry named "nope" \| known: kubernetes-admin@lab/,
    );
    rejects(
      text.replace('https://10.0.0.10:6443', 'http://10.0.0.10:8080'),
      /clusters\[lab\]\.cluster\.server "http:\/\/10\.0\.0\.10:8080" must be https/,
    );
    rejects(
      text.replace(/certificate-authority-data: .*/, 'insecure-skip-tls-verify: true'),
      /insecure-skip-tls-verify is not supported/,
    );
    rejects(text.replace(/client-key-data: .*/, ''), /needs both client-certificate and client-key/);
    rejects(
      text.replace(/client-certificate-data: .*/, '').replace(/client-key-data: .*/, 'exec: {}'),
      /no client certificate and no token \| exec and auth-provider plugins are not supported/,
    );
    rejects(
      text.replace(/certificate-authority-data: .*/, 'certificate-authority-data: bm90IGEgcGVt'),
      /certificate-authority-data is not base64 of a PEM block/,
    );
    rejects(
      text.replace(/certificate-authority-data: .*/, 'certificate-authority: missing.crt'),
      /clusters\[lab\]\.cluster\.certificate-authority: ENOENT/,
    );
    assert.throws(
      () => loadKubeconfigFile(path.join(dir, 'absent.conf')),
      (e: MetalseedError) => e.code === 'CONFIG_UNREADABLE' && /pass --kubeconfig FILE/.test(e.hint ?? ''),
    );
  });
});
