import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedMemo, cachedFor } from './memo.ts';

describe('BoundedMemo', () => {
  it('computes a key once, then returns the kept value', () => {
    const m = new BoundedMemo<string>(4);
    let calls = 0;
    const f = () => `v${++calls}`;
    assert.equal(m.get('a', f), 'v1');
    assert.equal(m.get('a', f), 'v1');
    assert.equal(m.get('b', f), 'v2');
    assert.equal(calls, 2);
  });

  it('drops the oldest key when full, and recomputes it when asked again', () => {
    const m = new BoundedMemo<number>(2);
    let calls = 0;
    m.get('a', () => ++calls);
    m.get('b', () => ++calls);
    m.get('c', () => ++calls); // evicts a
    assert.equal(m.size, 2);
    assert.equal(
      m.get('b', () => ++calls),
      2,
    );
    assert.equal(
      m.get('a', () => ++calls),
      4,
    );
  });

  it('refuses a size that holds nothing', () => {
    assert.throws(() => new BoundedMemo(0), /positive integer/);
  });
});

describe('cachedFor', () => {
  it('reads again only once the interval has passed', () => {
    let t = 1000;
    let reads = 0;
    const get = cachedFor(
      500,
      () => ++reads,
      () => t,
    );
    assert.equal(get(), 1);
    t += 499;
    assert.equal(get(), 1);
    t += 1;
    assert.equal(get(), 2);
    assert.equal(reads, 2);
  });
});
