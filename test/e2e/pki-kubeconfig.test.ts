/**
 * The admin kubeconfig against real consumers. Always: the yaml parser reads the structure and
 * openssl checks the embedded base64 certificate and key. When `kubectl` is on PATH (this image
 * has the google-cloud-sdk `kubectl` package; Debian 12's own `kubernetes-client` is 1.20),
 * kubectl reads it (`config view`, `version --client`) and talks mutual TLS with it to a small
 * HTTPS server playing kube-apiserver's `/version`, with a certificate from the same CA.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { adminKubeconfig, createCa, issueCertificate, PkiStore } from '../../src/cluster/pki/index.ts';

const have = (cmd: string): boolean => spawnSync('which', [cmd], { stdio: 'ignore' }).status === 0;
const noOpenssl = have('openssl') ? false : 'missing openssl';
const noKubectl = have('kubectl')
  ? false
  : 'kubectl not installed (Debian 12: apt-get install kubernetes-client)';
const execFileP = promisify(execFile);
const NOW = new Date();

interface Kubeconfig {
  apiVersion: string;
  kind: string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

describe('admin kubeconfig', () => {
  let root: string;
  let store: PkiStore;
  let file: string;
  const write = (name: string, text: string, mode = 0o600): string => {
    const p = path.join(root, name);
    fs.writeFileSync(p, text, { mode });
    return p;
  };
  const kubeconfig = (server: string, caPem = store.pki.ca.certPem): string =>
    adminKubeconfig({
      clusterName: 'lab',
      server,
      caPem,
      certPem: store.pki.admin.certPem,
      keyPem: store.pki.admin.keyPem,
    });

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-kubeconfig-'));
    store = await PkiStore.loadOrCreate(path.join(root, 'pki'), { clusterName: 'lab', now: NOW });
    file = write('admin.conf', kubeconfig('https://10.0.0.11:6443'));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('parses as a kubeconfig whose names all resolve', () => {
    const k = parse(fs.readFileSync(file, 'utf8')) as Kubeconfig;
    assert.equal(k.apiVersion, 'v1');
    assert.equal(k.kind, 'Config');
    const ctx = k.contexts.find((c) => c.name === k['current-context'])!;
    assert.ok(ctx);
    assert.ok(k.clusters.some((c) => c.name === ctx.context.cluster));
    assert.ok(k.users.some((u) => u.name === ctx.context.user));
    assert.equal(k.clusters[0]!.cluster.server, 'https://10.0.0.11:6443');
    const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    assert.equal(unb64(k.clusters[0]!.cluster['certificate-authority-data']), store.pki.ca.certPem);
    assert.equal(unb64(k.users[0]!.user['client-certificate-data']), store.pki.admin.certPem);
    assert.equal(unb64(k.users[0]!.user['client-key-data']), store.pki.admin.keyPem);
  });

  it('openssl: the embedded client certificate verifies against the embedded CA and matches the key', {
    skip: noOpenssl,
  }, () => {
    const k = parse(fs.readFileSync(file, 'utf8')) as Kubeconfig;
    const ca = write(
      'k-ca.crt',
      Buffer.from(k.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
    );
    const crt = write(
      'k-admin.crt',
      Buffer.from(k.users[0]!.user['client-certificate-data'], 'base64').toString(),
    );
    const key = write('k-admin.key', Buffer.from(k.users[0]!.user['client-key-data'], 'base64').toString());
    const v = spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', ca, crt], {
      encoding: 'utf8',
    });
    assert.equal(v.status, 0, v.stderr);
    const fromKey = spawnSync('openssl', ['pkey', '-in', key, '-pubout'], { encoding: 'utf8' }).stdout;
    const fromCert = spawnSync('openssl', ['x509', '-in', crt, '-noout', '-pubkey'], {
      encoding: 'utf8',
    }).stdout;
    assert.ok(fromKey.includes('BEGIN PUBLIC KEY'));
    assert.equal(fromKey, fromCert);
  });

  describe('with kubectl', { skip: noKubectl }, () => {
    it('kubectl config view reads it back unchanged', async () => {
      const { stdout } = await execFileP('kubectl', [
        'config',
        'view',
        '--raw',
        '-o',
        'json',
        '--kubeconfig',
        file,
      ]);
      const v = JSON.parse(stdout) as Kubeconfig;
      const k = parse(fs.readFileSync(file, 'utf8')) as Kubeconfig;
      assert.equal(v['current-context'], 'kubernetes-admin@lab');
      assert.deepEqual(v.clusters, k.clusters);
      assert.deepEqual(v.contexts, k.contexts);
      assert.deepEqual(v.users, k.users);
      const { stdout: minified } = await execFileP('kubectl', [
        'config',
        'view',
        '--minify',
        '--kubeconfig',
        file,
      ]);
      assert.match(minified, /client-key-data: (DATA\+OMITTED|REDACTED)/);
    });

    it('kubectl version --client accepts it', async () => {
      const { stdout } = await execFileP('kubectl', ['--kubeconfig', file, 'version', '--client']);
      assert.match(stdout, /Client Version: v1\./);
    });

    it('kubectl talks mutual TLS with the admin cert to a server from the same CA; a foreign CA is refused', async () => {
      const serverCert = await issueCertificate({
        ca: store.pki.ca,
        subject: { commonName: 'kube-apiserver' },
        usages: ['serverAuth'],
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        now: NOW,
      });
      const seen: string[] = [];
      const server = https.createServer(
        {
          cert: serverCert.certPem,
          key: serverCert.keyPem,
          ca: store.pki.ca.certPem,
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          const peer = (req.socket as TLSSocket).getPeerCertificate();
          seen.push(`${peer.subject.O} ${peer.subject.CN} ${req.url}`);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ major: '1', minor: '36', gitVersion: 'v1.36.2-fake' }));
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const good = write('good.conf', kubeconfig(`https://127.0.0.1:${port}`));
        const { stdout } = await execFileP('kubectl', ['--kubeconfig', good, 'get', '--raw', '/version'], {
          timeout: 20_000,
        });
        assert.equal(JSON.parse(stdout).gitVersion, 'v1.36.2-fake');
        // the gcloud kubectl dispatcher first asks /version?timeout=5s to pick a client version
        assert.ok(seen.length >= 1);
        for (const line of seen) assert.match(line, /^kubeadm:cluster-admins kubernetes-admin \/version/);
        const served = seen.length;

        const other = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
        const bad = write('bad.conf', kubeconfig(`https://127.0.0.1:${port}`, other.certPem));
        await assert.rejects(
          execFileP('kubectl', ['--kubeconfig', bad, 'get', '--raw', '/version'], { timeout: 20_000 }),
          (e: { stderr: string }) => /x509|certificate/i.test(e.stderr),
        );
        assert.equal(seen.length, served, 'no request may pass with a foreign CA pinned');
      } finally {
        server.close();
      }
    });
  });
});
