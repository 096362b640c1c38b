import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STORE_THREAD_MIN_CPUS, storeOnItsOwnThread } from './open-store.ts';

describe('storeOnItsOwnThread', () => {
  it('by default, only on a host with CPUs to spare', () => {
    assert.equal(storeOnItsOwnThread({}, 2), false);
    assert.equal(storeOnItsOwnThread({}, STORE_THREAD_MIN_CPUS - 1), false);
    assert.equal(storeOnItsOwnThread({}, STORE_THREAD_MIN_CPUS), true);
    assert.equal(storeOnItsOwnThread({}, 64), true);
  });

  it('METALSEED_STORE_THREAD=1 or 0 decides whatever the CPUs; other values leave the default', () => {
    assert.equal(storeOnItsOwnThread({ METALSEED_STORE_THREAD: '1' }, 1), true);
    assert.equal(storeOnItsOwnThread({ METALSEED_STORE_THREAD: '0' }, 64), false);
    assert.equal(storeOnItsOwnThread({ METALSEED_STORE_THREAD: 'yes' }, 2), false);
    assert.equal(storeOnItsOwnThread({ METALSEED_STORE_THREAD: '' }, 8), true);
  });
});
