import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockCount, SendWindow, wireBlock } from './window.ts';

/** Sends the current burst and returns its wire block numbers. */
function sendBurst(w: SendWindow): number[] {
  const { first, last } = w.burst();
  w.markSent(last);
  return Array.from({ length: last - first + 1 }, (_, i) => wireBlock(first + i));
}

describe('tftp send window', () => {
  it('counts a final short, possibly empty, block', () => {
    assert.equal(blockCount(0, 512), 1);
    assert.equal(blockCount(511, 512), 1);
    assert.equal(blockCount(512, 512), 2);
    assert.equal(blockCount(1300, 512), 3);
  });

  it('sends windows and completes on the last ACK', () => {
    const w = new SendWindow(10, 4);
    assert.deepEqual(sendBurst(w), [1, 2, 3, 4]);
    assert.equal(w.ack(4), 'advance');
    assert.deepEqual(sendBurst(w), [5, 6, 7, 8]);
    assert.equal(w.ack(8), 'advance');
    assert.deepEqual(sendBurst(w), [9, 10]);
    assert.equal(w.ack(10), 'complete');
    assert.ok(w.done);
  });

  it('resends from the block after a partial ACK (RFC 7440 section 4)', () => {
    const w = new SendWindow(10, 4);
    sendBurst(w);
    assert.equal(w.ack(2), 'advance');
    assert.deepEqual(sendBurst(w), [3, 4, 5, 6]);
  });

  it('ignores duplicate, old and future ACKs (RFC 1123 section 4.2.3.1)', () => {
    const w = new SendWindow(10, 4);
    sendBurst(w);
    assert.equal(w.ack(0), 'stale', 'ACK 0 again');
    assert.equal(w.ack(5), 'stale', 'block not sent yet');
    assert.equal(w.ack(4), 'advance');
    assert.equal(w.ack(4), 'stale', 'duplicate');
    assert.equal(w.ack(3), 'stale', 'older');
    assert.equal(w.acked, 4);
  });

  it('rolls block numbers over from 65535 to 0', () => {
    assert.equal(wireBlock(65535), 65535);
    assert.equal(wireBlock(65536), 0);
    assert.equal(wireBlock(65537), 1);
    assert.equal(wireBlock(131072), 0);
    const w = new SendWindow(200_000, 8);
    w.acked = 65532;
    w.sent = 65532;
    assert.deepEqual(sendBurst(w), [65533, 65534, 65535, 0, 1, 2, 3, 4]);
    assert.equal(w.ack(65535), 'advance');
    assert.equal(w.acked, 65535);
    assert.deepEqual(sendBurst(w), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(w.ack(65535), 'stale', 'old ACK before the wrap');
    assert.equal(w.ack(7), 'advance');
    assert.equal(w.acked, 65543);
  });

  it('walks a whole transfer past several roll-overs', () => {
    const total = blockCount(3 * 65536 * 8 + 5, 8);
    const w = new SendWindow(total, 64);
    for (;;) {
      const sent = sendBurst(w);
      const r = w.ack(sent.at(-1)!);
      if (r === 'complete') break;
      assert.equal(r, 'advance');
    }
    assert.equal(w.acked, total);
  });

  it('handles a window of 65535 blocks across the wrap', () => {
    const w = new SendWindow(200_000, 65535);
    sendBurst(w);
    assert.equal(w.ack(65535), 'advance');
    sendBurst(w);
    assert.equal(w.ack(0), 'advance', 'block 65536 is wire 0');
    assert.equal(w.acked, 65536);
  });
});
