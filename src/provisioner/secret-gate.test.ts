import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALARMS, SecretGate } from './secret-gate.ts';

function gate() {
  let t = 1_000_000;
  const g = new SecretGate(() => t);
  return { g, advance: (ms: number) => (t += ms) };
}

describe('SecretGate', () => {
  it('issues nothing while unarmed and refuses redemption as unarmed', () => {
    const { g } = gate();
    assert.equal(g.issue('m-000000000001', '10.0.0.21'), null);
    assert.deepEqual(g.redeem('m-000000000001', 'x', '10.0.0.21'), { ok: false, reason: 'unarmed' });
  });

  it('serves a token once, to its address; the second fetch is an alarm', () => {
    const { g } = gate();
    g.arm(600);
    const t = g.issue('m-000000000001', '10.0.0.21')!;
    assert.match(t, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
    assert.deepEqual(g.redeem('m-000000000001', t, '10.0.0.21'), { ok: true });
    const again = g.redeem('m-000000000001', t, '10.0.0.21');
    assert.deepEqual(again, { ok: false, reason: 'used' });
    assert.ok(ALARMS.has('used'));
  });

  it('a foreign address is an alarm and burns the token for its owner too', () => {
    const { g } = gate();
    g.arm(600);
    const t = g.issue('m-000000000001', '10.0.0.21')!;
    assert.deepEqual(g.redeem('m-000000000001', t, '10.0.0.99'), { ok: false, reason: 'wrong-address' });
    assert.ok(ALARMS.has('wrong-address'));
    assert.deepEqual(g.redeem('m-000000000001', t, '10.0.0.21'), { ok: false, reason: 'used' });
  });

  it('a wrong or missing token is an alarm and leaves the real one usable', () => {
    const { g } = gate();
    g.arm(600);
    const t = g.issue('m-000000000001', '10.0.0.21')!;
    assert.deepEqual(g.redeem('m-000000000001', '', '10.0.0.21'), { ok: false, reason: 'bad-token' });
    assert.deepEqual(g.redeem('m-000000000001', `${t}x`, '10.0.0.21'), { ok: false, reason: 'bad-token' });
    assert.ok(ALARMS.has('bad-token'));
    assert.deepEqual(g.redeem('m-000000000002', t, '10.0.0.21'), { ok: false, reason: 'no-grant' });
    assert.deepEqual(g.redeem('m-000000000001', t, '10.0.0.21'), { ok: true });
  });

  it('a new stage-1 fetch replaces the token; the window closing ends them all', () => {
    const { g, advance } = gate();
    g.arm(60);
    const first = g.issue('m-000000000001', '10.0.0.21')!;
    const second = g.issue('m-000000000001', '10.0.0.21')!;
    assert.notEqual(first, second);
    assert.deepEqual(g.redeem('m-000000000001', first, '10.0.0.21'), { ok: false, reason: 'bad-token' });
    advance(61_000);
    assert.equal(g.armedUntilDate(), null);
    assert.deepEqual(g.redeem('m-000000000001', second, '10.0.0.21'), { ok: false, reason: 'unarmed' });
  });

  it('disarm drops every outstanding token', () => {
    const { g } = gate();
    g.arm(600);
    const t = g.issue('m-000000000001', '10.0.0.21')!;
    g.disarm();
    g.arm(600);
    assert.deepEqual(g.redeem('m-000000000001', t, '10.0.0.21'), { ok: false, reason: 'no-grant' });
  });
});
