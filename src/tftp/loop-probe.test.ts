import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { LOOP_PROBE_MS, type LoopProbe, loopProbe } from './loop-probe.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

describe('loopProbe', () => {
  let p: LoopProbe | undefined;
  afterEach(() => p?.stop());

  it('does not tick while nobody may ask, and then says 0', async () => {
    p = loopProbe(
      () => performance.now(),
      () => false,
    );
    assert.equal(p.running(), false);
    busy(3 * LOOP_PROBE_MS);
    assert.equal(p.delay(), 0);
    p.keep();
    assert.equal(p.running(), false, 'keep() starts it only when wanted');
  });

  it('measures a turn that runs late while it ticks, and forgets it two ticks later', async () => {
    p = loopProbe(
      () => performance.now(),
      () => true,
    );
    assert.equal(p.running(), true);
    await sleep(2 * LOOP_PROBE_MS);
    busy(150);
    assert.ok(p.delay() >= 100, `late by ${p.delay()} ms during the turn`);
    await sleep(6 * LOOP_PROBE_MS);
    assert.ok(p.delay() < 100, `${p.delay()} ms once the loop is on time again`);
  });

  it('stops at a tick once no longer wanted, and starts afresh on keep() when wanted again', async () => {
    let wanted = true;
    p = loopProbe(
      () => performance.now(),
      () => wanted,
    );
    wanted = false;
    await sleep(3 * LOOP_PROBE_MS);
    assert.equal(p.running(), false, 'stopped itself');
    busy(150); // unobserved: nothing ticks
    wanted = true;
    p.keep();
    assert.equal(p.running(), true);
    assert.ok(p.delay() < 100, `a fresh probe has seen no lateness (${p.delay()} ms)`);
  });
});
