import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { recordingLogger } from '../lib/log.ts';
import { BootstrapToken, TOKEN_FILE } from './pki/index.ts';
import { type TokenApi, TokenKeeper, type TokenSecret } from './token-keeper.ts';

const T0 = Date.parse('2026-11-28T10:00:00Z');

class FakeTokens implements TokenApi {
  secrets = new Map<string, TokenSecret>();
  down = false;
  calls = 0;
  async secretExists(name: string): Promise<boolean> {
    this.calls++;
    if (this.down) throw new Error('connect ECONNREFUSED 10.0.0.10:6443');
    return this.secrets.has(name);
  }
  async createSecret(s: TokenSecret): Promise<void> {
    if (this.down) throw new Error('connect ECONNREFUSED 10.0.0.10:6443');
    this.secrets.set(s.metadata.name, s);
  }
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-tokens-'));
  dirs.push(dir);
  let t = T0;
  const initial = BootstrapToken.generate({ now: new Date(T0), ttlMs: 24 * 3600_000 });
  const log = recordingLogger();
  const keeper = new TokenKeeper({ dir, initial, logger: log, now: () => new Date(t) });
  return { dir, keeper, initial, log, advance: (ms: number) => (t += ms) };
}

describe('TokenKeeper', () => {
  it('registers the current token once the API answers, in the bootstrap-token Secret format', async () => {
    const { keeper, initial, log } = setup();
    const api = new FakeTokens();
    api.down = true;
    await keeper.check(api);
    await keeper.check(api);
    assert.equal(keeper.registered, false);
    assert.equal(
      log.records.filter((e) => (e as { event?: string }).event === 'cluster.token_pending').length,
      1,
      'one line per outage',
    );
    api.down = false;
    await keeper.check(api);
    assert.equal(keeper.registered, true);
    const s = api.secrets.get(`bootstrap-token-${initial.id}`)!;
    assert.equal(s.type, 'bootstrap.kubernetes.io/token');
    assert.equal(s.metadata.namespace, 'kube-system');
    assert.equal(`${s.stringData['token-id']}.${s.stringData['token-secret']}`, initial.value());
    assert.equal(s.stringData['usage-bootstrap-authentication'], 'true');
    assert.equal(s.stringData['auth-extra-groups'], 'system:bootstrappers:kubeadm:default-node-token');
    assert.equal(s.stringData.expiration, initial.toRecord().expires);
    const calls = api.calls;
    await keeper.check(api);
    assert.equal(api.calls, calls, 'a registered token is not checked again');
  });

  it('a token kubeadm init already created is found, not duplicated', async () => {
    const { keeper, initial } = setup();
    const api = new FakeTokens();
    api.secrets.set(`bootstrap-token-${initial.id}`, {} as TokenSecret);
    await keeper.check(api);
    assert.equal(keeper.registered, true);
    assert.deepEqual(api.secrets.get(`bootstrap-token-${initial.id}`), {});
  });

  it('rotates to a 2 h batch token an hour before expiry, persists it 0600 and registers it', async () => {
    const { keeper, initial, dir, advance } = setup();
    const api = new FakeTokens();
    await keeper.check(api);
    advance(23 * 3600_000 + 1);
    await keeper.check(api);
    const next = keeper.current();
    assert.notEqual(next.id, initial.id);
    assert.equal(
      next.expires.getTime() - (T0 + 23 * 3600_000 + 1),
      2 * 3600_000 - 1,
      'two hours, to the second',
    );
    assert.ok(api.secrets.has(`bootstrap-token-${next.id}`));
    const file = path.join(dir, TOKEN_FILE);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).id, next.id);
  });

  it('without an API (endpoint unknown) it still rotates, and registers later', async () => {
    const { keeper, initial, advance } = setup();
    advance(24 * 3600_000);
    await keeper.check(null);
    assert.notEqual(keeper.current().id, initial.id);
    assert.equal(keeper.registered, false);
    const api = new FakeTokens();
    await keeper.check(api);
    assert.ok(api.secrets.has(`bootstrap-token-${keeper.current().id}`));
  });
});
