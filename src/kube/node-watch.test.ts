/**
 * The node watcher against the fake API server over real mutual TLS: list then watch,
 * transitions delivered in order, 410 Expired (as an ERROR event and as an HTTP status) →
 * relist, a dropped stream resumed from the last version, an outage logged once, and a client
 * certificate the server does not accept reported as such.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createCa, issueAdminCert, issueCertificate } from '../cluster/pki/index.ts';
import { type LogRecord, recordingLogger } from '../lib/log.ts';
import { KubeClient } from './client.ts';
import type { KubeApiError } from './errors.ts';
import type { NodeFact } from './node-facts.ts';
import { type NodeListener, type NodeSource, NodeWatcher } from './node-watch.ts';
import { type FakeCluster, kubeletNode, startFakeApiServer, startFakeCluster } from './testing.ts';

interface Seen {
  kind: 'sync' | 'node' | 'deleted';
  name: string;
  ready?: string;
}

function recorder(): NodeListener & { seen: Seen[]; syncs: string[][] } {
  const seen: Seen[] = [];
  const syncs: string[][] = [];
  return {
    seen,
    syncs,
    onSync: (nodes: NodeFact[]) => {
      syncs.push(nodes.map((n) => n.name).sort());
      for (const n of nodes) seen.push({ kind: 'sync', name: n.name, ready: n.ready });
    },
    onNode: (n) => seen.push({ kind: 'node', name: n.name, ready: n.ready }),
    onDeleted: (n) => seen.push({ kind: 'deleted', name: n.name }),
  };
}

async function eventually(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function watcher(c: FakeCluster, listener: NodeListener, records: LogRecord[] = []) {
  const client = new KubeClient(c.conn);
  const w = new NodeWatcher({
    source: client,
    listener,
    logger: recordingLogger(records),
    backoffInitialMs: 20,
    backoffMaxMs: 80,
    random: () => 0.5,
  });
  return { w, client, records };
}

describe('NodeWatcher', () => {
  const clusters: FakeCluster[] = [];
  after(async () => {
    for (const c of clusters) await c.api.close();
  });
  const cluster = async (o: Parameters<typeof startFakeCluster>[0] = {}) => {
    const c = await startFakeCluster(o);
    clusters.push(c);
    return c;
  };

  it('lists, then streams ADDED / MODIFIED / DELETED in order, and BOOKMARKs move nothing', async () => {
    const c = await cluster();
    c.api.setNode(kubeletNode({ name: 'cp-01', controlPlane: true }));
    const l = recorder();
    const { w, client } = watcher(c, l);
    w.start();
    await eventually('the first list', () => l.syncs.length === 1);
    assert.deepEqual(l.syncs[0], ['cp-01']);
    await eventually('the watch to open', () => c.api.openWatches === 1);
    c.api.setNode(kubeletNode({ name: 'worker-01', ready: 'False' }));
    c.api.setNode(kubeletNode({ name: 'worker-01', ready: 'True' }));
    c.api.bookmark();
    c.api.removeNode('worker-01');
    await eventually('three events', () => l.seen.length === 4);
    assert.deepEqual(l.seen.slice(1), [
      { kind: 'node', name: 'worker-01', ready: 'False' },
      { kind: 'node', name: 'worker-01', ready: 'True' },
      { kind: 'deleted', name: 'worker-01' },
    ]);
    assert.equal(w.state, 'up');
    const watch = c.api.requests.find((r) => r.path.includes('watch=true'));
    assert.match(watch!.path, /resourceVersion=\d+&allowWatchBookmarks=true&timeoutSeconds=300/);
    assert.equal(watch!.user, 'kubernetes-admin');
    await w.stop();
    client.close();
  });

  for (const goneAs of ['event', 'status'] as const) {
    it(`410 Expired (${goneAs === 'event' ? 'ERROR event' : 'HTTP status'}) → lists again and reports what changed meanwhile`, async () => {
      const c = await cluster({ goneAs });
      c.api.setNode(kubeletNode({ name: 'worker-01' }));
      c.api.setNode(kubeletNode({ name: 'worker-02' }));
      const l = recorder();
      const { w, client, records } = watcher(c, l);
      w.start();
      await eventually('the watch to open', () => c.api.openWatches === 1);
      // while the stream is down, history is compacted: the held version is too old
      c.api.dropWatches();
      c.api.removeNode('worker-02');
      c.api.setNode(kubeletNode({ name: 'worker-03' }));
      c.api.compact();
      await eventually('a second list', () => l.syncs.length === 2);
      assert.deepEqual(l.syncs[1], ['worker-01', 'worker-03']);
      assert.equal(w.stats.relists, 1);
      assert.ok(records.some((r) => r.event === 'kube.relist'));
      await eventually('the new watch', () => c.api.openWatches === 1);
      c.api.setNode(kubeletNode({ name: 'worker-03', ready: 'False' }));
      await eventually('events after the relist', () => l.seen.at(-1)?.ready === 'False');
      await w.stop();
      client.close();
    });
  }

  it('a dropped stream resumes from the last version: nothing lost, nothing listed again', async () => {
    const c = await cluster();
    const l = recorder();
    const { w, client } = watcher(c, l);
    w.start();
    await eventually('the watch to open', () => c.api.openWatches === 1);
    c.api.setNode(kubeletNode({ name: 'worker-01', ready: 'False' }));
    await eventually('the first event', () => l.seen.length === 1);
    c.api.dropWatches();
    c.api.setNode(kubeletNode({ name: 'worker-01', ready: 'True' })); // while disconnected
    await eventually('the missed event, replayed', () => l.seen.length === 2);
    assert.deepEqual(l.seen[1], { kind: 'node', name: 'worker-01', ready: 'True' });
    assert.equal(w.stats.lists, 1, 'no relist for a plain reconnect');
    assert.equal(w.stats.failures, 1);
    const watches = c.api.requests.filter((r) => r.path.includes('watch=true')).map((r) => r.path);
    assert.equal(watches.length, 2);
    assert.notEqual(watches[0], watches[1], 'the second watch starts from a later version');
    await w.stop();
    client.close();
  });

  it('an outage is logged once, however many retries; the way back once', async () => {
    const c = await cluster();
    const port = Number(new URL(c.api.url).port);
    const l = recorder();
    const { w, client, records } = watcher(c, l);
    w.start();
    await eventually('the watch to open', () => c.api.openWatches === 1);
    await c.api.close();
    await eventually('several failed retries', () => w.stats.failures >= 4);
    assert.equal(w.state, 'down');
    const warns = records.filter((r) => r.event === 'kube.unreachable');
    assert.equal(warns.length, 1, JSON.stringify(warns));
    assert.match(
      String(warns[0]!.err),
      /cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: (ECONNRESET|ECONNREFUSED)/,
    );
    // the API server comes back on the same address
    const back = await startFakeApiServer(c.ca, { port });
    clusters.push({ ...c, api: back });
    back.setNode(kubeletNode({ name: 'worker-09' }));
    await eventually('the way back', () => records.some((r) => r.event === 'kube.reconnected'));
    await eventually('its nodes', () => l.seen.some((s) => s.name === 'worker-09'));
    assert.equal(records.filter((r) => r.event === 'kube.unreachable').length, 1);
    assert.equal(records.filter((r) => r.event === 'kube.reconnected').length, 1);
    assert.equal(w.state, 'up');
    await w.stop();
    client.close();
  });

  it('a client certificate from another CA: 401 with a message that says so', async () => {
    const c = await cluster();
    const other = await createCa({ subject: { commonName: 'kubernetes' }, now: new Date() });
    const foreign = await issueAdminCert(other, new Date());
    const client = new KubeClient({ ...c.conn, certPem: foreign.certPem, keyPem: foreign.keyPem });
    await assert.rejects(client.get('/api/v1/nodes'), (e: KubeApiError) => {
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.equal(e.status, 401);
      assert.match(
        e.message,
        /the API server refused the client credentials \(GET \/api\/v1\/nodes: 401 Unauthorized/,
      );
      assert.match(e.hint ?? '', /metalseed kubeconfig/);
      return true;
    });
    // the watcher keeps trying (kubeadm init may not have run yet) but says it once
    const l = recorder();
    const records: LogRecord[] = [];
    const w = new NodeWatcher({
      source: client,
      listener: l,
      logger: recordingLogger(records),
      backoffInitialMs: 10,
      backoffMaxMs: 20,
    });
    w.start();
    await eventually('retries', () => w.stats.failures >= 3);
    await w.stop();
    client.close();
    const warns = records.filter((r) => r.event === 'kube.unreachable');
    assert.equal(warns.length, 1);
    assert.match(String(warns[0]!.err), /401 Unauthorized/);
    assert.equal(l.syncs.length, 0);
  });

  it('a server that drops the handshake over the client certificate: a message that says what to check', async () => {
    const c = await cluster({ clientAuth: 'tls' });
    const other = await createCa({ subject: { commonName: 'kubernetes' }, now: new Date() });
    const foreign = await issueAdminCert(other, new Date());
    const good = new KubeClient(c.conn);
    const list = await good.get<{ items: unknown[] }>('/api/v1/nodes');
    assert.deepEqual(list.items, []);
    good.close();
    const bad = new KubeClient({ ...c.conn, certPem: foreign.certPem, keyPem: foreign.keyPem });
    await assert.rejects(bad.get('/api/v1/nodes'), (e: KubeApiError) => {
      assert.match(
        e.message,
        /the TLS handshake with the API server at https:\/\/127\.0\.0\.1:\d+ did not complete/,
      );
      assert.match(e.hint ?? '', /did not accept the kubeconfig's/);
      return true;
    });
    bad.close();
  });

  it('a server certificate from another CA is refused before any request', async () => {
    const c = await cluster();
    const other = await createCa({ subject: { commonName: 'kubernetes' }, now: new Date() });
    const client = new KubeClient({ ...c.conn, caPem: other.certPem });
    const before = c.api.requests.length;
    await assert.rejects(client.get('/version'), (e: KubeApiError) => {
      assert.equal(e.code, 'UNAUTHORIZED');
      assert.match(e.message, /certificate the kubeconfig's CA does not vouch for/);
      return true;
    });
    assert.equal(c.api.requests.length, before);
    client.close();
  });

  it('a user outside the admin groups gets 403 ACCESS_DENIED', async () => {
    const c = await cluster();
    const user = await issueCertificate({
      ca: c.ca,
      subject: { commonName: 'someone', organizations: ['developers'] },
      usages: ['clientAuth'],
      now: new Date(),
    });
    const client = new KubeClient({ ...c.conn, certPem: user.certPem, keyPem: user.keyPem });
    await assert.rejects(
      client.get('/api/v1/nodes'),
      (e: KubeApiError) => e.code === 'ACCESS_DENIED' && e.status === 403,
    );
    client.close();
  });

  it('a server that ends every watch at once does not spin: watches are spaced by the backoff', async () => {
    let watches = 0;
    const source: NodeSource = {
      server: 'https://stub',
      get: async <T>() => ({ metadata: { resourceVersion: '1' }, items: [] }) as T,
      watch: async () => {
        watches++;
      },
    };
    const w = new NodeWatcher({
      source,
      listener: recorder(),
      logger: recordingLogger(),
      backoffInitialMs: 40,
      backoffMaxMs: 40,
      random: () => 0.5,
    });
    w.start();
    await new Promise((r) => setTimeout(r, 300));
    await w.stop();
    // 30 ms apart (half-jittered 40 ms ceiling): about 10 in 300 ms, not thousands
    assert.ok(watches >= 3 && watches <= 15, `${watches} watches`);
  });
});
