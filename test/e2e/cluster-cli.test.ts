/**
 * `metalseed init` / `metalseed kubeconfig` as an operator runs them: idempotent init, the CA
 * hash kubeadm's documented openssl pipeline computes, and a kubeconfig kubectl accepts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/seed.ts';

const dir = mkdtempSync(join(tmpdir(), 'ms-cluster-cli-'));
const cli = (args: string[]) =>
  spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'metalseed.js'), ...args], { encoding: 'utf8' });

describe('metalseed init and kubeconfig', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'seed.yaml');
  writeFileSync(
    config,
    `dataDir: ${dir}/data\nmachines:\n  - { mac: "52:54:00:00:00:01", role: controller, ip: 10.0.0.10 }\n`,
  );

  it('creates the cluster once and reports the CA hash openssl computes', () => {
    const first = cli(['init', '-c', config]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /created ca\.crt, ca\.key/);
    const second = cli(['init', '-c', config]);
    assert.match(second.stdout, /already initialised/);
    const hash = /CA certificate hash: (sha256:[0-9a-f]{64})/.exec(first.stdout)?.[1];
    assert.equal(/CA certificate hash: (\S+)/.exec(second.stdout)?.[1], hash, 'the CA is never regenerated');
    const ca = join(dir, 'data', 'pki', 'ca.crt');
    const openssl = execFileSync('sh', [
      '-c',
      `openssl x509 -pubkey -noout -in ${ca} | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1`,
    ])
      .toString()
      .trim();
    assert.equal(hash, `sha256:${openssl}`);
  });

  it('prints an admin kubeconfig for https://<first controller>:6443 that kubectl accepts', (t) => {
    const r = cli(['kubeconfig', '-c', config]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /server: https:\/\/10\.0\.0\.10:6443/);
    if (!existsSync('/usr/bin/kubectl')) return t.skip('kubectl not installed');
    const file = join(dir, 'admin.conf');
    writeFileSync(file, r.stdout);
    const view = execFileSync('kubectl', [
      '--kubeconfig',
      file,
      'config',
      'view',
      '-o',
      'jsonpath={.users[0].name}',
    ]);
    assert.equal(view.toString(), 'kubernetes-admin');
  });

  it('says how to make the endpoint known when it is not', () => {
    const bare = join(dir, 'bare.yaml');
    writeFileSync(bare, `dataDir: ${dir}/bare\n`);
    const r = cli(['kubeconfig', '-c', bare]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /control-plane endpoint is not known yet[\s\S]*cluster\.controlPlaneEndpoint/);
  });
});
