/**
 * The seed's cluster PKI checked by a real, independent X.509 implementation: Debian's openssl
 * (package openssl) verifies the chains, shows the extensions kubeadm relies on, recomputes the
 * CA pin with kubeadm's documented pipeline, and reads every key; a TLS handshake with mutual
 * authentication (node:tls server, openssl s_client and curl as clients) uses the certificates
 * the way kube-apiserver does.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { createCa, issueCertificate, PkiStore } from '../../src/cluster/pki/index.ts';
import { MetalseedError } from '../../src/lib/errors.ts';

const have = (cmd: string): boolean => spawnSync('which', [cmd], { stdio: 'ignore' }).status === 0;
const missing = ['openssl', 'curl', 'sha256sum'].filter((c) => !have(c));
const skip = missing.length > 0 ? `missing ${missing.join(', ')}` : false;
const execFileP = promisify(execFile);
const NOW = new Date();
/** What a kube-apiserver serving certificate carries (best-practices/certificates, "kube-apiserver"). */
const SERVER_DNS = ['localhost', 'kubernetes', 'kubernetes.default.svc.cluster.local'];
const SERVER_IPS = ['127.0.0.1', '10.3.0.1'];

/** openssl with stdout returned; a non-zero exit returns {status, out} instead of throwing. */
function openssl(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('cluster PKI against openssl', { skip }, () => {
  let root: string;
  let dir: string;
  let store: PkiStore;
  const f = (rel: string) => path.join(dir, rel);

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-openssl-'));
    dir = path.join(root, 'pki');
    store = await PkiStore.loadOrCreate(dir, { clusterName: 'lab', now: NOW });
    const server = await issueCertificate({
      ca: store.pki.ca,
      subject: { commonName: 'kube-apiserver' },
      usages: ['serverAuth'],
      dnsNames: SERVER_DNS,
      ipAddresses: SERVER_IPS,
      now: NOW,
    });
    fs.writeFileSync(path.join(root, 'server.crt'), server.certPem);
    fs.writeFileSync(path.join(root, 'server.key'), server.keyPem, { mode: 0o600 });
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('openssl verify: admin (sslclient) and a server cert (sslserver) chain to ca.crt', () => {
    const admin = openssl(['verify', '-purpose', 'sslclient', '-CAfile', f('ca.crt'), f('admin.crt')]);
    assert.equal(admin.status, 0, admin.out);
    assert.match(admin.out, /admin\.crt: OK/);
    const server = openssl([
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      f('ca.crt'),
      path.join(root, 'server.crt'),
    ]);
    assert.equal(server.status, 0, server.out);
    for (const ca of ['ca.crt', 'front-proxy-ca.crt', 'etcd/ca.crt']) {
      const r = openssl(['verify', '-x509_strict', '-CAfile', f(ca), f(ca)]);
      assert.equal(r.status, 0, `${ca}: ${r.out}`);
    }
  });

  it('openssl verify: the admin cert is a client cert only, and fails against the other CAs', () => {
    assert.notEqual(
      openssl(['verify', '-purpose', 'sslserver', '-CAfile', f('ca.crt'), f('admin.crt')]).status,
      0,
    );
    for (const ca of ['front-proxy-ca.crt', 'etcd/ca.crt']) {
      const r = openssl(['verify', '-CAfile', f(ca), f('admin.crt')]);
      assert.notEqual(r.status, 0, r.out);
    }
  });

  it('openssl verify: a leaf signed by another CA with the same name fails', async () => {
    const other = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const rogue = await issueCertificate({
      ca: other,
      subject: { commonName: 'kubernetes-admin', organizations: ['kubeadm:cluster-admins'] },
      usages: ['clientAuth'],
      now: NOW,
    });
    const file = path.join(root, 'rogue.crt');
    fs.writeFileSync(file, rogue.certPem);
    const r = openssl(['verify', '-CAfile', f('ca.crt'), file]);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /signature failure|unable to get local issuer|certificate signature/i);
  });

  it('openssl x509 -text: CA and leaf extensions as kubeadm expects', () => {
    const ca = openssl(['x509', '-noout', '-text', '-in', f('ca.crt')]).out;
    assert.match(ca, /Subject: CN ?= ?kubernetes\n/);
    assert.match(ca, /Basic Constraints: critical\n\s+CA:TRUE/);
    assert.match(ca, /Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign/);
    assert.match(ca, /Subject Key Identifier/);
    assert.match(ca, /Authority Key Identifier/);
    assert.match(ca, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(ca, /ASN1 OID: prime256v1/);

    const admin = openssl(['x509', '-noout', '-text', '-in', f('admin.crt')]).out;
    assert.match(admin, /Subject: O ?= ?kubeadm:cluster-admins, CN ?= ?kubernetes-admin/);
    assert.match(admin, /Basic Constraints: critical\n\s+CA:FALSE/);
    assert.match(admin, /Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(admin, /Extended Key Usage: \n\s+TLS Web Client Authentication\n/);

    const server = openssl(['x509', '-noout', '-text', '-in', path.join(root, 'server.crt')]).out;
    assert.match(server, /Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(
      server,
      /Subject Alternative Name: \n\s+DNS:localhost, DNS:kubernetes, DNS:kubernetes.default.svc.cluster.local, IP Address:127.0.0.1, IP Address:10.3.0.1\n/,
    );
  });

  it('validity: CA 10 years, admin 1 year, serials of 16 bytes', () => {
    const years = (file: string): number => {
      const out = openssl(['x509', '-noout', '-startdate', '-enddate', '-in', file]).out;
      const start = Date.parse(/notBefore=(.*)/.exec(out)![1]!);
      const end = Date.parse(/notAfter=(.*)/.exec(out)![1]!);
      return (end - start) / (365 * 86_400_000);
    };
    assert.ok(Math.abs(years(f('ca.crt')) - 10) < 0.01);
    assert.ok(Math.abs(years(f('admin.crt')) - 1) < 0.01);
    const serial = openssl(['x509', '-noout', '-serial', '-in', f('admin.crt')]).out.trim();
    assert.match(serial, /^serial=[0-7][0-9A-F]{31}$/);
  });

  it('the CA pin equals kubeadm documented openssl pipeline', () => {
    const pipeline = `openssl x509 -pubkey -noout -in '${f('ca.crt')}' | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`;
    const hex = execFileSync('sh', ['-c', pipeline], { encoding: 'utf8' }).trim();
    assert.match(hex, /^[0-9a-f]{64}$/);
    assert.equal(store.pki.caCertHash, `sha256:${hex}`);
  });

  it('every private key: readable by openssl, P-256, matches its certificate or sa.pub, mode 0600', () => {
    const pairs: [string, string][] = [
      ['ca.key', 'ca.crt'],
      ['front-proxy-ca.key', 'front-proxy-ca.crt'],
      ['etcd/ca.key', 'etcd/ca.crt'],
      ['admin.key', 'admin.crt'],
    ];
    for (const [key, crt] of pairs) {
      const text = openssl(['pkey', '-in', f(key), '-noout', '-text']).out;
      assert.match(text, /ASN1 OID: prime256v1/, key);
      const fromKey = openssl(['pkey', '-in', f(key), '-pubout']).out;
      const fromCert = openssl(['x509', '-in', f(crt), '-noout', '-pubkey']).out;
      assert.equal(fromKey, fromCert, key);
      assert.equal(fs.statSync(f(key)).mode & 0o777, 0o600, key);
    }
    // sa.pub is byte for byte what openssl derives from sa.key
    assert.equal(openssl(['pkey', '-in', f('sa.key'), '-pubout']).out, fs.readFileSync(f('sa.pub'), 'utf8'));
    assert.equal(fs.statSync(f('sa.key')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(f('bootstrap-token.json')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  });

  it('mutual TLS like kube-apiserver: openssl s_client and curl present the admin cert', async () => {
    const server = tls.createServer(
      {
        cert: fs.readFileSync(path.join(root, 'server.crt')),
        key: fs.readFileSync(path.join(root, 'server.key')),
        ca: store.pki.ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (sock) => {
        const peer = sock.getPeerCertificate();
        sock.end(`HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello ${peer.subject.O}/${peer.subject.CN}\n`);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const curl = await execFileP('curl', [
        '-sS',
        '--max-time',
        '10',
        '--cacert',
        f('ca.crt'),
        '--cert',
        f('admin.crt'),
        '--key',
        f('admin.key'),
        `https://127.0.0.1:${port}/`,
      ]);
      assert.equal(curl.stdout, 'hello kubeadm:cluster-admins/kubernetes-admin\n');
      // s_client may exit 1 on the server's plain TCP close after the reply (OpenSSL 3 strict EOF):
      // the verdict is its handshake report, not its exit status
      const sclient = await execFileP(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-verify_return_error',
          '-verify_hostname',
          'kubernetes',
          '-CAfile',
          f('ca.crt'),
          '-cert',
          f('admin.crt'),
          '-key',
          f('admin.key'),
        ],
        { timeout: 10_000 },
      ).catch((e: { stdout: string }) => e);
      assert.match(sclient.stdout, /Verify return code: 0 \(ok\)/);
      // without the client certificate the server refuses the handshake
      await assert.rejects(
        execFileP('curl', ['-sS', '--max-time', '10', '--cacert', f('ca.crt'), `https://127.0.0.1:${port}/`]),
      );
    } finally {
      server.close();
    }
  });

  it('reload is byte-identical; a key swapped for an openssl-made one is detected', async () => {
    const before = fs.readFileSync(f('admin.crt'));
    const again = await PkiStore.loadOrCreate(dir, { clusterName: 'lab', now: NOW });
    assert.deepEqual(again.written, []);
    assert.deepEqual(fs.readFileSync(f('admin.crt')), before);
    const savedKey = fs.readFileSync(f('ca.key'));
    execFileSync('openssl', [
      'genpkey',
      '-algorithm',
      'EC',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-out',
      f('ca.key'),
    ]);
    await assert.rejects(
      PkiStore.loadOrCreate(dir, { clusterName: 'lab', now: NOW }),
      (e: unknown) => e instanceof MetalseedError && /ca\.key does not belong to .*ca\.crt/.test(e.message),
    );
    fs.writeFileSync(f('ca.key'), savedKey);
  });
});
