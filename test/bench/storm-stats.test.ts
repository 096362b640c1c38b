/** The boot storm's accounting (bench/storm/stats.ts, proc.ts): what its table and verdicts print. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandIpxe, machineIdentity } from '../../bench/storm/clients.ts';
import { parseStat } from '../../bench/storm/proc.ts';
import { formatTable, percentile, StormStats, versusTarget } from '../../bench/storm/stats.ts';

describe('storm percentile', () => {
  it('is the nearest rank: the smallest sample with p% at or below it', () => {
    const s = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    assert.equal(percentile(s, 50), 50);
    assert.equal(percentile(s, 99), 99);
    assert.equal(percentile(s, 100), 100);
    assert.equal(percentile(s, 0), 1);
    assert.equal(percentile([7], 99), 7);
    assert.equal(percentile([1, 2, 3], 50), 2);
    assert.equal(percentile([], 50), undefined);
  });

  it('refuses a percentile outside 0..100', () => {
    assert.throws(() => percentile([1], 101), /0\.\.100/);
    assert.throws(() => percentile([1], Number.NaN), /0\.\.100/);
  });
});

describe('StormStats', () => {
  it('counts an address ACKed to two MACs as one duplicate, and a repeat to one MAC as none', () => {
    const s = new StormStats();
    s.address('02:00:00:00:00:01', '10.0.0.5');
    s.address('02:00:00:00:00:01', '10.0.0.5'); // PXE then iPXE: same machine, same lease
    s.address('02:00:00:00:00:02', '10.0.0.6');
    assert.deepEqual(s.duplicates(), []);
    s.address('02:00:00:00:00:03', '10.0.0.6');
    assert.deepEqual(s.duplicates(), [{ ip: '10.0.0.6', macs: ['02:00:00:00:00:02', '02:00:00:00:00:03'] }]);
  });

  it('summarises every step in chain order with failures by reason and retries', () => {
    const s = new StormStats();
    for (const ms of [30, 10, 20]) s.ok('tftp', ms);
    s.fail('tftp', 'timeout');
    s.fail('tftp', 'timeout');
    s.fail('dhcp.pxe', 'no OFFER');
    s.retry('tftp', 3);
    const rows = s.summary();
    assert.equal(rows[0]!.step, 'dhcp.pxe');
    assert.equal(rows.at(-1)!.step, 'total');
    const tftp = rows.find((r) => r.step === 'tftp')!;
    assert.deepEqual(tftp, { step: 'tftp', ok: 3, failed: 2, retries: 3, p50: 20, p99: 30, max: 30 });
    assert.deepEqual(s.failureReasons(), { tftp: { timeout: 2 }, 'dhcp.pxe': { 'no OFFER': 1 } });
    const table = formatTable(rows).split('\n');
    assert.match(table[0]!, /^step\s+ok\s+failed\s+retries\s+p50 ms\s+p99 ms\s+max ms$/);
    assert.match(table.find((l) => l.startsWith('tftp'))!, /^tftp\s+3\s+2\s+3\s+20\s+30\s+30$/);
    assert.match(table.find((l) => l.startsWith('http.report'))!, /\s0\s+0\s+0\s+-\s+-\s+-$/);
  });
});

describe('versusTarget', () => {
  it('says met, or by how much a target is missed', () => {
    assert.deepEqual(versusTarget(45, 60, 'lower'), { met: true, text: 'met' });
    assert.deepEqual(versusTarget(90, 60, 'lower'), { met: false, text: 'missed by 50%' });
    assert.deepEqual(versusTarget(6000, 5000, 'higher'), { met: true, text: 'met' });
    assert.deepEqual(versusTarget(4000, 5000, 'higher'), { met: false, text: 'missed by 20%' });
  });
});

describe('storm machines', () => {
  it('have distinct, locally administered MACs and fill iPXE settings like undionly.kpxe', () => {
    const a = machineIdentity(0);
    const b = machineIdentity(9999);
    assert.equal(a.mac, '02:5e:00:00:00:00');
    assert.equal(b.mac, '02:5e:00:00:27:0f');
    assert.notEqual(a.uuid, b.uuid);
    const url = expandIpxe('http://s/ipxe?mac=${netX/mac}&uuid=${uuid}&ip=${netX/ip}&x=${unknown}', {
      ...b,
      ip: '10.100.0.9',
    });
    assert.equal(url, `http://s/ipxe?mac=${b.mac}&uuid=${b.uuid}&ip=10.100.0.9&x=`);
  });
});

describe('parseStat', () => {
  it('reads utime+stime and rss past a command name with spaces and parentheses', () => {
    // proc(5) fields: pid (comm) state ppid ... utime(14) stime(15) ... rss(24)
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // field n holds n
    const line = `123 (node (a b)) ${fields.join(' ')}`;
    const s = parseStat(line, 1000);
    assert.equal(s.cpuSeconds, (14 + 15) / 100);
    assert.equal(s.rssBytes, 24 * 4096);
    assert.equal(s.at, 1000);
  });
});
