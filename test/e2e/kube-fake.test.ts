/**
 * `metalseed smoke` end to end, as an operator runs it, against the fake API server (a real
 * cluster cannot run here): the CLI process talks mutual TLS to it, creates the nginx
 * ReplicationController and NodePort Service, waits for the pod, GETs the NodePort on the
 * node's InternalIP (127.0.0.1, where the fake's "kube-proxy" listens), and cleans up. Also: a
 * pod that never runs (exit non-zero, step named, objects still removed), Ctrl-C (cleanup,
 * exit 130), and the default credentials from the seed's data directory.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PkiStore } from '../../src/cluster/pki/index.ts';
import type { FakeApiServer } from '../../src/kube/fake-apiserver.ts';
import {
  type FakeCluster,
  kubeletNode,
  startFakeApiServer,
  startFakeCluster,
} from '../../src/kube/testing.ts';
import { type LogRecord, recordingLogger } from '../../src/lib/log.ts';
import { parseMac } from '../../src/lib/net.ts';
import { startNodeWatch } from '../../src/serve-nodes.ts';
import { testProvisioner } from '../helpers/provisioner.ts';
import { REPO_ROOT } from '../helpers/seed.ts';
import { toolsMissing } from '../helpers/tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'ms-kube-fake-'));
const BIN = join(REPO_ROOT, 'bin', 'metalseed.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the fake API server lives here). */
function cli(
  args: string[],
  onStdout?: (text: string, kill: (sig: NodeJS.Signals) => void) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      onStdout?.(stdout, (sig) => child.kill(sig));
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The seed's cluster state in `dataDir` (created) and a fake API server signed by its CA. */
async function seedWithFakeApi(dataDir: string): Promise<{ pki: PkiStore; api: FakeApiServer }> {
  const pki = await PkiStore.loadOrCreate(join(dataDir, 'pki'), {
    clusterName: 'kubernetes',
    now: new Date(),
  });
  return { pki, api: await startFakeApiServer(pki.pki.ca) };
}

function withNodes(c: FakeCluster): FakeCluster {
  c.api.setNode(kubeletNode({ name: 'cp-01', ip: '127.0.0.2', controlPlane: true }));
  c.api.setNode(kubeletNode({ name: 'worker-01', ip: '127.0.0.1' }));
  return c;
}

describe('metalseed smoke against the fake API server', () => {
  const servers: FakeApiServer[] = [];
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster = async (o: Parameters<typeof startFakeCluster>[0] = {}) => {
    const c = withNodes(await startFakeCluster(o));
    servers.push(c.api);
    const file = join(dir, `kubeconfig-${servers.length}`);
    writeFileSync(file, c.kubeconfig, { mode: 0o600 });
    return { c, file };
  };

  it('deploys nginx, sees it Running on worker-01, GETs the NodePort (HTTP 200, nginx title), cleans up', async () => {
    const { c, file } = await cluster();
    const r = await cli(['smoke', '--kubeconfig', file, '--timeout', '30s']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trimEnd().split('\n');
    process.stdout.write(`${r.stdout}`);
    assert.match(
      lines[0]!,
      /^\s+\d+\.\ds {2}API server https:\/\/127\.0\.0\.1:\d+: v1\.36\.2-fake, 2 nodes, 2 Ready$/,
    );
    assert.match(
      r.stdout,
      /created Service nginx-example-(\w{5}) \(NodePort 3\d{4}\) and ReplicationController nginx-example-\1/,
    );
    assert.match(r.stdout, /pod nginx-example-\w{5}-\w{5} scheduled on node worker-01/);
    assert.match(r.stdout, /Running on worker-01 \(pod IP 10\.2\.1\.\d+\)/);
    assert.match(
      r.stdout,
      /GET http:\/\/127\.0\.0\.1:3\d{4}\/ -> HTTP 200, \d+ bytes, <title>Welcome to nginx!<\/title>/,
    );
    assert.match(
      r.stdout,
      /cleaned up: ReplicationController, Service and pods of nginx-example-\w{5} are gone/,
    );
    assert.match(
      lines.at(-1)!,
      /^smoke test passed: nginx answered on http:\/\/127\.0\.0\.1:3\d{4}\/ \(node worker-01\)$/,
    );
    assert.deepEqual(c.api.workloads.leftovers(), []);
    // the objects went out as the classic example, in today's API, with explicit GC propagation
    const posts = c.api.requests.filter((q) => q.method === 'POST').map((q) => q.path);
    assert.deepEqual(posts, [
      '/api/v1/namespaces/default/services',
      '/api/v1/namespaces/default/replicationcontrollers',
    ]);
    assert.ok(c.api.requests.every((q) => q.user === 'kubernetes-admin'));
  });

  it('a pod that never runs: non-zero exit naming the step and the reason, and the objects are still removed', async () => {
    const { c, file } = await cluster({ pods: 'pending' });
    const r = await cli(['smoke', '--kubeconfig', file, '--timeout', '3s', '-n', 'smoke']);
    assert.equal(r.status, 7, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /scheduled on node worker-01/);
    assert.match(
      r.stderr,
      /smoke failed at step "running": timed out waiting for the pod to be Running: pod nginx-example-\w{5}-\w{5} is Pending on worker-01 \(container nginx waiting: ImagePullBackOff: Back-off pulling image "nginx"\)/,
    );
    assert.match(r.stderr, /hint: the node cannot pull the image/);
    assert.match(r.stdout, /cleaned up/);
    assert.doesNotMatch(r.stdout, /smoke test passed/);
    assert.deepEqual(c.api.workloads.leftovers(), []);
    assert.ok(
      c.api.requests.some((q) => q.method === 'DELETE' && q.path.startsWith('/api/v1/namespaces/smoke/')),
    );
  });

  it('Ctrl-C while waiting: cleans up and exits 130', async () => {
    const { c, file } = await cluster({ pods: 'pending' });
    let sent = false;
    const r = await cli(['smoke', '--kubeconfig', file, '--timeout', '60s'], (out, kill) => {
      if (!sent && /scheduled on node/.test(out)) {
        sent = true;
        kill('SIGINT');
      }
    });
    assert.equal(r.status, 130, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /interrupted: cleaning up/);
    assert.match(r.stdout, /cleaned up/);
    assert.match(r.stderr, /smoke failed at step "running": interrupted/);
    assert.deepEqual(c.api.workloads.leftovers(), []);
  });

  it('a kubeconfig the API server refuses: a clear error before anything is created', async () => {
    const { c } = await cluster();
    const stranger = await startFakeCluster();
    servers.push(stranger.api);
    // the right cluster CA, but the client certificate and key of another cluster's admin
    const line = (text: string, key: string) => new RegExp(`${key}: .*`).exec(text)![0];
    const mixed = ['client-certificate-data', 'client-key-data'].reduce(
      (text, key) => text.replace(line(text, key), line(stranger.kubeconfig, key)),
      c.kubeconfig,
    );
    const bad = join(dir, 'foreign.conf');
    writeFileSync(bad, mixed, { mode: 0o600 });
    const r = await cli(['smoke', '--kubeconfig', bad]);
    assert.equal(r.status, 6, r.stderr);
    assert.match(
      r.stderr,
      /smoke failed at step "api": the API server refused the client credentials \(GET \/version: 401 Unauthorized/,
    );
    assert.deepEqual(c.api.workloads.leftovers(), []);
  });

  it('without --kubeconfig: the admin credentials from the seed data directory', async () => {
    const dataDir = join(dir, 'data');
    const { api } = await seedWithFakeApi(dataDir);
    servers.push(api);
    api.setNode(kubeletNode({ name: 'worker-01', ip: '127.0.0.1' }));
    const config = join(dir, 'seed.yaml');
    writeFileSync(
      config,
      `dataDir: ${dataDir}\ncluster:\n  controlPlaneEndpoint: "127.0.0.1:${new URL(api.url).port}"\n`,
    );
    const r = await cli(['smoke', '-c', config, '--timeout', '30s']);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /smoke test passed/);
    assert.deepEqual(api.workloads.leftovers(), []);

    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, `dataDir: ${join(dir, 'nothing')}\n`);
    const none = spawnSync(process.execPath, [BIN, 'smoke', '-c', empty], { encoding: 'utf8' });
    assert.notEqual(none.status, 0);
    assert.match(
      none.stderr,
      /no cluster state in .*nothing\/pki\n {2}hint: run on the seed with its --config, or pass --kubeconfig FILE/,
    );
  });
});

describe('serve: the node watch wired to the provisioner, against the fake API server', () => {
  it('marks a worker joined when its Node turns Ready, and clears its stale Node when it netboots again', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ms-node-watch-'));
    const { pki, api } = await seedWithFakeApi(root);
    const { p, store } = await testProvisioner(`
dataDir: ${root}
cluster: { controlPlaneEndpoint: "127.0.0.1:${new URL(api.url).port}" }
machines:
  - { mac: "52:54:00:00:00:21", role: worker, hostname: worker-01 }
`);
    const records: LogRecord[] = [];
    const watch = startNodeWatch(p.o.config, pki, p, recordingLogger(records), { staleCheckMs: 50 });
    assert.ok(watch);
    try {
      const m = p.machineFor({ mac: parseMac('52:54:00:00:00:21')! });
      for (const step of ['http.ipxe', 'http.ignition', 'report']) p.timeline.record(m, step, {});
      await until(() => api.openWatches === 1); // listed, now watching: each change is an event
      api.setNode(kubeletNode({ name: 'worker-01', ready: 'False', ip: '10.0.0.21' }));
      api.setNode(kubeletNode({ name: 'worker-01', ready: 'True', ip: '10.0.0.21' }));
      await until(() => p.registry.get(m.id)!.state === 'joined');
      api.setLease('worker-01', '2026-11-28T10:00:00.000000Z');
      p.timeline.record(m, 'dhcp.discover', {}, { netbootStart: true }); // the worker reboots
      await until(() => !api.nodes.has('worker-01'));
      await until(() => records.some((r) => r.event === 'node.stale_deleted'));
      await p.flush();
      const types = (await store.listEvents(m.id)).map((e) => e.type).filter((t) => t.startsWith('node.'));
      assert.deepEqual(types, ['node.registered', 'node.ready', 'node.stale_deleted']);
      const del = api.requests.find((r) => r.method === 'DELETE');
      assert.equal(del?.path, '/api/v1/nodes/worker-01');
      assert.equal(watch.watcher.state, 'up');
    } finally {
      await watch.close();
      await api.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/**
 * The real `metalseed serve` process (loopback only: DHCP and TFTP off) with its cluster
 * endpoint pointing at the fake API server: it watches with the admin certificate from its own
 * data directory, marks the machine joined, reports the API up in /metrics, and closes the
 * watch when stopped.
 */
describe('metalseed serve follows the Nodes of the fake cluster', () => {
  it('joined in /metrics, metalseed_kube_api_up 1, the watch closed on SIGTERM', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ms-serve-nodes-'));
    const dataDir = join(root, 'data');
    const { api } = await seedWithFakeApi(dataDir);
    const httpPort = await freePort();
    const config = join(root, 'seed.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${dataDir}`,
        'advertise: 127.0.0.1',
        'dhcp: { mode: "off" }',
        'tftp: { enabled: false }',
        `http: { port: ${httpPort}, address: 127.0.0.1, tlsPort: 0 }`,
        `cluster: { controlPlaneEndpoint: "127.0.0.1:${new URL(api.url).port}" }`,
        'machines:',
        '  - { mac: "52:54:00:00:00:21", role: worker, hostname: worker-01 }',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [BIN, 'serve', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const metrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    try {
      await until(() => api.openWatches === 1, 30_000).catch(() =>
        assert.fail(`no watch; seed said:\n${out}`),
      );
      assert.match(out, /"event":"kube.watch"/);
      // the machine asks for its iPXE script (so the seed knows it), later its Node turns Ready
      const script = await fetch(`http://127.0.0.1:${httpPort}/ipxe?mac=52:54:00:00:00:21`);
      assert.equal(script.status, 200);
      api.setNode(kubeletNode({ name: 'worker-01', ready: 'True', ip: '10.0.0.21' }));
      let text = '';
      const joined = async (): Promise<boolean> => {
        text = await metrics();
        return /metalseed_machines\{state="joined"\} 1/.test(text);
      };
      await until(joined, 10_000).catch(() => assert.fail(`not joined:\n${text}\n${out}`));
      assert.match(text, /metalseed_kube_api_up 1/);
      assert.ok(api.requests.every((r) => r.user === 'kubernetes-admin'));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      await until(() => api.openWatches === 0);
    } finally {
      child.kill('SIGKILL');
      await api.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/**
 * The fake is only worth the tests above if a real client agrees with it: kubectl (this image
 * has the google-cloud-sdk build) discovers, lists, reads, deletes and watches through it.
 */
describe('the fake API server, checked with kubectl', { skip: toolsMissing(['kubectl']) }, () => {
  it('kubectl authenticates with the admin kubeconfig and gets, reads, deletes and watches Nodes', async () => {
    const c = await startFakeCluster();
    const home = mkdtempSync(join(tmpdir(), 'ms-kubectl-'));
    const file = join(home, 'kubectl.conf');
    writeFileSync(file, c.kubeconfig, { mode: 0o600 });
    const kubectl = (...args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          'kubectl',
          ['--kubeconfig', file, '--cache-dir', join(home, 'cache'), ...args],
          { timeout: 30_000 },
          (err, out, errOut) =>
            err ? reject(new Error(`kubectl ${args.join(' ')}: ${errOut}`)) : resolve(out),
        ),
      );
    try {
      c.api.setNode(kubeletNode({ name: 'worker-01' }));
      c.api.setNode(kubeletNode({ name: 'worker-02', ready: 'False' }));
      assert.equal(await kubectl('get', 'nodes', '-o', 'name'), 'node/worker-01\nnode/worker-02\n');
      const ready = await kubectl(
        'get',
        'node',
        'worker-02',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      );
      assert.equal(ready, 'False');
      assert.match(await kubectl('delete', 'node', 'worker-01'), /node "worker-01" deleted/);
      assert.deepEqual([...c.api.nodes.keys()], ['worker-02']);
      // a watch without a version: the current state as ADDED, then the server ends it (timeoutSeconds)
      const raw = await kubectl('get', '--raw', '/api/v1/nodes?watch=true&timeoutSeconds=1');
      const events = raw
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
      assert.deepEqual(
        events.map((e) => `${e.type} ${e.object.metadata.name}`),
        ['ADDED worker-02'],
      );
      assert.ok(c.api.requests.every((r) => r.user === 'kubernetes-admin'));
    } finally {
      await c.api.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

async function until(ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
