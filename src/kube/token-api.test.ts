/**
 * The token keeper against the fake API server over mutual TLS, as serve runs it: the Secret
 * lands in kube-system in the bootstrap-token format, an existing one is left alone, and an
 * unreachable server leaves the token pending.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TokenKeeper } from '../cluster/index.ts';
import { BootstrapToken } from '../cluster/pki/index.ts';
import { recordingLogger } from '../lib/log.ts';
import { KubeClient } from './client.ts';
import { type FakeCluster, startFakeCluster } from './testing.ts';
import { KubeTokenApi } from './token-api.ts';

describe('KubeTokenApi against the fake API server', () => {
  let cluster: FakeCluster;
  let client: KubeClient;
  let dir: string;
  before(async () => {
    cluster = await startFakeCluster();
    client = new KubeClient(cluster.conn);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-token-api-'));
  });
  after(async () => {
    client.close();
    await cluster.api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('registers the current token as kube-system/bootstrap-token-<id>, once', async () => {
    const token = BootstrapToken.generate({ now: new Date() });
    const keeper = new TokenKeeper({ dir, initial: token, logger: recordingLogger() });
    const api = new KubeTokenApi(client);
    await keeper.check(api);
    assert.equal(keeper.registered, true);
    const s = cluster.api.secrets.get(`bootstrap-token-${token.id}`) as unknown as {
      type: string;
      stringData: Record<string, string>;
    };
    assert.equal(s.type, 'bootstrap.kubernetes.io/token');
    assert.equal(`${s.stringData['token-id']}.${s.stringData['token-secret']}`, token.value());
    assert.equal(await api.secretExists(`bootstrap-token-${token.id}`), true);
    assert.equal(await api.secretExists('bootstrap-token-zzzzzz'), false);
    // a second create (another seed, or kubeadm init meanwhile) is not an error
    await api.createSecret({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'bootstrap.kubernetes.io/token',
      metadata: { name: `bootstrap-token-${token.id}`, namespace: 'kube-system' },
      stringData: {},
    });
  });

  it('an unreachable API server leaves the token pending, without throwing', async () => {
    const token = BootstrapToken.generate({ now: new Date() });
    const log = recordingLogger();
    const keeper = new TokenKeeper({ dir, initial: token, logger: log });
    const dead = new KubeClient({ ...cluster.conn, server: 'https://127.0.0.1:1' });
    await keeper.check(new KubeTokenApi(dead));
    dead.close();
    assert.equal(keeper.registered, false);
    assert.ok(log.records.some((r) => (r as { event?: string }).event === 'cluster.token_pending'));
  });
});
