import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { MetalseedError } from '../../lib/errors.ts';
import { BOOTSTRAP_TOKEN_RE, BootstrapToken, DEFAULT_TOKEN_TTL_MS, TOKEN_GROUPS } from './bootstrap-token.ts';

const NOW = new Date('2026-01-02T03:04:05.678Z');

describe('bootstrap tokens', () => {
  it('match [a-z0-9]{6}.[a-z0-9]{16} and differ every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const t = BootstrapToken.generate({ now: NOW });
      assert.match(t.value(), BOOTSTRAP_TOKEN_RE);
      seen.add(t.value());
    }
    assert.equal(seen.size, 200);
  });

  it('use every character of the alphabet (no stuck or missing symbols)', () => {
    const chars = new Set<string>();
    for (let i = 0; i < 100; i++) for (const c of BootstrapToken.generate({ now: NOW }).value()) chars.add(c);
    chars.delete('.');
    assert.equal(chars.size, 36);
  });

  it('expire after the TTL (default 24h, truncated to the second)', () => {
    const t = BootstrapToken.generate({ now: NOW });
    assert.equal(t.expires.getTime(), Math.floor((NOW.getTime() + DEFAULT_TOKEN_TTL_MS) / 1000) * 1000);
    assert.equal(t.isExpired(NOW), false);
    assert.equal(t.isExpired(t.expires), true);
    const short = BootstrapToken.generate({ now: NOW, ttlMs: 2 * 3600_000 });
    assert.equal(short.toRecord().expires, '2026-01-02T05:04:05Z');
  });

  it('never show the secret in String, JSON or inspect', () => {
    const t = BootstrapToken.generate({ now: NOW });
    const secret = t.value().split('.')[1]!;
    for (const shown of [String(t), `${t}`, JSON.stringify({ t }), inspect(t), inspect({ nested: [t] })]) {
      assert.ok(!shown.includes(secret), shown);
    }
    assert.ok(String(t).startsWith(`${t.id}.`));
  });

  it('round-trip through the stored record and give the v1beta4 entry', () => {
    const t = BootstrapToken.generate({ now: NOW, description: 'd' });
    const back = BootstrapToken.fromRecord(t.toRecord(), 'f');
    assert.equal(back.value(), t.value());
    assert.equal(back.expires.getTime(), t.expires.getTime());
    assert.deepEqual(back.toKubeadm(), {
      token: t.value(),
      description: 'd',
      expires: t.toRecord().expires,
      usages: ['signing', 'authentication'],
      groups: [...TOKEN_GROUPS],
    });
  });

  it('refuse malformed records, naming the file', () => {
    const bad = [
      { id: 'ABCDEF', secret: 'abcdefghijklmnop', expires: '2026-01-01T00:00:00Z' },
      { id: 'abcdef', secret: 'short', expires: '2026-01-01T00:00:00Z' },
      { id: 'abcdef', secret: 'abcdefghijklmnop', expires: 'tomorrow' },
    ];
    for (const r of bad) {
      assert.throws(
        () => BootstrapToken.fromRecord(r, '/d/pki/bootstrap-token.json'),
        (e: unknown) => e instanceof MetalseedError && e.message.includes('/d/pki/bootstrap-token.json'),
      );
    }
  });
});
