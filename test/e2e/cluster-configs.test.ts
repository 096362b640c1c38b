/**
 * A real seed hands out role configs, and controllers' secrets only under the one-time rules
 * (k8s-bootstrap.md section 6 rule 3). Two client namespaces on the provisioning link: a
 * controller (10.58.0.21) and a worker (10.58.0.22). The controller's stage 1 is applied by the
 * real Ignition inside its namespace, so Ignition itself fetches the secret stage over https,
 * trusting only the CA that stage 1 pinned; curl then plays the second and the foreign fetch.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyIgnition, ignitionUnavailable } from '../helpers/ignition.ts';
import { type Lab, labUnavailable, singleLinkLab } from '../helpers/netns.ts';
import { REPO_ROOT, removeDir, type Seed, seedConfig, startSeed, tempDir } from '../helpers/seed.ts';

const NET = '10.58.0';
const SEED = `${NET}.1`;
const CP_IP = `${NET}.21`;
const WORKER_IP = `${NET}.22`;
const skip = labUnavailable(['ip', 'curl', 'ignition-validate']) || ignitionUnavailable();

describe('role configs and the controller secret stage from a real seed', { skip }, () => {
  let lab: Lab;
  let dir: string;
  let seed: Seed;
  let cp: { ns: string; mac: string };
  let worker: { ns: string; mac: string };

  const curl = async (ns: string, args: string[]) => {
    const r = await lab.exec(ns, 'curl', ['-sS', '-w', '\n%{http_code}', ...args]);
    const out = r.stdout;
    const cut = out.lastIndexOf('\n');
    return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut), stderr: r.stderr };
  };
  const ignitionOf = (c: { ns: string; mac: string }) =>
    curl(c.ns, [`http://${SEED}:8080/ignition?mac=${c.mac}`]);
  const cli = (args: string[]) =>
    lab.exec(lab.seedNs, process.execPath, [
      path.join(REPO_ROOT, 'bin', 'metalseed.js'),
      ...args,
      '--server',
      `http://${SEED}:8080`,
      '--data-dir',
      seed.dataDir,
    ]);
  const validate = async (config: string) => {
    const f = path.join(dir, `v-${Math.random().toString(36).slice(2)}.ign`);
    fs.writeFileSync(f, config);
    return lab.exec(lab.seedNs, 'ignition-validate', [f]);
  };

  before(async () => {
    dir = tempDir('cluster-configs');
    fs.chmodSync(dir, 0o755);
    lab = await singleLinkLab(NET, 2);
    const [c0, c1] = lab.clients;
    cp = { ns: c0!.ns, mac: c0!.mac };
    worker = { ns: c1!.ns, mac: c1!.mac };
    await lab.exec(cp.ns, 'ip', ['addr', 'add', `${CP_IP}/24`, 'dev', 'eth0']);
    await lab.exec(worker.ns, 'ip', ['addr', 'add', `${WORKER_IP}/24`, 'dev', 'eth0']);
    seed = await startSeed(lab, dir, {
      ...seedConfig(NET),
      http: { port: 8080, tlsPort: 8443 },
      machines: [
        { mac: cp.mac, role: 'controller', hostname: 'cp-01' },
        { mac: worker.mac, role: 'worker', hostname: 'worker-01' },
      ],
      cluster: { name: 'lab' },
    });
  });
  after(async () => {
    await lab?.cleanup();
    if (dir) removeDir(dir);
  });

  it('unarmed: the controller is told to retry and the operator how to arm; a worker before any controller waits', async () => {
    const early = await ignitionOf(worker);
    assert.equal(early.status, 503, early.body);
    assert.match(JSON.parse(early.body).error.message, /control-plane endpoint is not known yet/);
    const r = await ignitionOf(cp);
    assert.equal(r.status, 503, `Ignition retries a 503 until armed: ${r.body}`);
    assert.match(JSON.parse(r.body).error.hint, /metalseed arm --role controller/);
    await seed.waitFor({ event: 'http.ignition_refused' });
  });

  it('then a worker gets its JoinConfiguration, pinned to the CA, never a private key', async () => {
    const r = await ignitionOf(worker);
    assert.equal(r.status, 200, r.body);
    assert.equal((await validate(r.body)).code, 0);
    assert.doesNotMatch(r.body, /PRIVATE%20KEY|PRIVATE KEY/);
    const cfg = JSON.parse(r.body);
    const join = cfg.storage.files.find(
      (f: { path: string }) => f.path === '/etc/kubernetes/kubeadm-join.yaml',
    );
    const yaml = decodeURIComponent(join.contents.source.replace(/^data:,/, ''));
    const hash = fs.readFileSync(path.join(seed.dataDir, 'pki', 'ca.crt'));
    assert.ok(hash.length > 0);
    assert.match(yaml, /kind: JoinConfiguration/);
    assert.match(yaml, new RegExp(`apiServerEndpoint: ${CP_IP.replace(/\./g, '\\.')}:6443`));
    assert.match(yaml, /- sha256:[0-9a-f]{64}/);
    assert.equal(join.mode, 0o600);
  });

  it('armed: the real Ignition merges the secret stage over https and writes the CA set', async () => {
    const armed = await cli(['arm', '--role', 'controller', '--for', '10m']);
    assert.equal(armed.code, 0, armed.stdout + armed.stderr);
    assert.match(armed.stdout, /controller enrolment armed until/);
    const stage1 = await ignitionOf(cp);
    assert.equal(stage1.status, 200, stage1.body);
    assert.equal((await validate(stage1.body)).code, 0);
    assert.doesNotMatch(stage1.body, /PRIVATE/, 'stage 1 travels over plain http: no key in it');
    const cfg = JSON.parse(stage1.body);
    assert.match(
      cfg.ignition.config.merge[0].source,
      new RegExp(`^https://${SEED}:8443/secrets/m-[0-9a-f]{12}\\.ign$`),
    );
    assert.ok(cfg.ignition.security.tls.certificateAuthorities[0].source.startsWith('data:;base64,'));
    assert.ok(cfg.storage.filesystems.some((f: { label: string }) => f.label === 'ROOT'));

    const run = path.join(dir, 'cp-apply');
    fs.mkdirSync(run);
    const r = await applyIgnition(run, stage1.body, { netns: cp.ns });
    assert.equal(r.code, 0, r.log);
    const root = path.join(run, 'root');
    const mode = (p: string) => fs.statSync(path.join(root, p)).mode & 0o777;
    for (const k of ['ca.key', 'sa.key', 'front-proxy-ca.key', 'etcd/ca.key']) {
      assert.equal(mode(`etc/kubernetes/pki/${k}`), 0o600, k);
    }
    assert.equal(
      fs.readFileSync(path.join(root, 'etc/kubernetes/pki/ca.crt'), 'utf8'),
      fs.readFileSync(path.join(seed.dataDir, 'pki', 'ca.crt'), 'utf8'),
    );
    const init = fs.readFileSync(path.join(root, 'etc/kubernetes/kubeadm-init.yaml'), 'utf8');
    assert.match(init, /kind: InitConfiguration/);
    assert.match(init, /podSubnet: 10\.2\.0\.0\/16/);
    assert.ok(fs.existsSync(path.join(root, 'etc/kubernetes/addons/kube-flannel.yml')));
    assert.ok(fs.existsSync(path.join(root, 'etc/systemd/system/kubeadm-init.service')));
    await seed.waitFor({ event: 'http.ignition' });

    // the same stage 1 again: its token is spent, so Ignition itself fails and the seed alarms
    const again = path.join(dir, 'cp-again');
    fs.mkdirSync(again);
    const second = await applyIgnition(again, stage1.body, { netns: cp.ns });
    assert.notEqual(second.code, 0, 'a second fetch of the secret stage must fail');
    const alarm = await seed.waitFor({ event: 'secrets.refused', reason: 'used' });
    assert.equal(alarm['alarm'], true);
  });

  it('a token presented from another address is refused, alarms, and dies', async () => {
    const stage1 = JSON.parse((await ignitionOf(cp)).body);
    const { source, httpHeaders } = stage1.ignition.config.merge[0];
    const caFile = path.join(dir, 'seed-ca.pem');
    fs.copyFileSync(path.join(seed.dataDir, 'pki', 'seed', 'ca.crt'), caFile);
    const auth = `${httpHeaders[0].name}: ${httpHeaders[0].value}`;
    const foreign = await curl(worker.ns, ['--cacert', caFile, '-H', auth, source]);
    assert.equal(foreign.status, 403, foreign.body + foreign.stderr);
    const alarm = await seed.waitFor({ event: 'secrets.refused', reason: 'wrong-address' });
    assert.equal(alarm['alarm'], true);
    const owner = await curl(cp.ns, ['--cacert', caFile, '-H', auth, source]);
    assert.equal(owner.status, 403, 'the leaked token is burned for its owner too');
    const noToken = await curl(cp.ns, ['--cacert', caFile, source]);
    assert.equal(noToken.status, 403);
  });

  it('disarmed: stage 1 is held back again', async () => {
    const off = await cli(['arm', '--off']);
    assert.equal(off.code, 0, off.stdout + off.stderr);
    assert.match(off.stdout, /not armed/);
    assert.equal((await ignitionOf(cp)).status, 503);
  });
});
