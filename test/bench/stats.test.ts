import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmt, median, medianRatio, parseResults, percentile } from '../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('median of odd and even counts, ignoring non-finite values', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, Number.NaN, 1]), 3);
    assert.ok(Number.isNaN(median([])));
  });

  it('nearest-rank percentile', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 100), 100);
    assert.equal(percentile([7], 99), 7);
  });

  it('ratios are taken per repetition, then the median', () => {
    const s = (rep: string, server: string, value: number) => ({
      rep,
      server,
      test: 't',
      metric: 'm',
      value,
    });
    const samples = [
      s('1', 'a', 10),
      s('1', 'b', 5),
      s('2', 'a', 30),
      s('2', 'b', 10),
      s('3', 'a', 8),
      s('3', 'b', 2),
    ];
    // per rep: 2, 3, 4 -> 3 (the ratio of the medians would be 10/5 = 2)
    assert.equal(medianRatio(samples, 'a', 'b'), 3);
    // a repetition without the reference, or with a zero reference, does not count
    assert.equal(
      medianRatio(
        [s('1', 'a', 10), s('2', 'a', 9), s('2', 'b', 0), s('3', 'a', 4), s('3', 'b', 2)],
        'a',
        'b',
      ),
      2,
    );
    assert.ok(Number.isNaN(medianRatio([s('1', 'a', 1)], 'a', 'b')));
  });

  it('parses results, tolerating repeated headers and NA', () => {
    const tsv =
      'rep\tserver\ttest\tmetric\tvalue\tnote\n1\tkea\tdhcp\tmax_rate\t3000\tx\nrep\tserver\ttest\tmetric\tvalue\tnote\n1\tms\tdhcp\tp99\tNA\t\n';
    const rows = parseResults(tsv);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0], { rep: '1', server: 'kea', test: 'dhcp', metric: 'max_rate', value: 3000 });
    assert.ok(Number.isNaN(rows[1]!.value));
    assert.throws(() => parseResults('a\tb\n'), /missing column "rep"/);
  });

  it('formats three significant digits', () => {
    assert.equal(fmt(0.012345), '0.0123');
    assert.equal(fmt(1.2345), '1.23');
    assert.equal(fmt(4567.8), '4568');
    assert.equal(fmt(Number.NaN), 'n/a');
  });
});
