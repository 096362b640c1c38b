import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { recordingLogger, silentLogger } from '../lib/log.ts';
import { mustIPv4 as ip } from '../lib/net.ts';
import { FileJournal, GROW_BYTES } from './journal-file.ts';
import { type Lease, memoryJournal } from './lease.ts';
import { Pool } from './pool.ts';

const mac = (n: number) => `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`;

function pool(over: Partial<ConstructorParameters<typeof Pool>[0]> = {}) {
  let t = 1_000_000;
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const p = new Pool({
    start: ip('10.0.0.10'),
    end: ip('10.0.0.13'),
    reservations: new Map([[mac(0xf0), ip('10.0.0.5')]]),
    excluded: new Set([ip('10.0.0.11')]),
    journal: memoryJournal(),
    now: clock.now,
    ...over,
  });
  return { p, clock };
}

describe('address pool', () => {
  it('holds an offer for its client: concurrent DISCOVERs get distinct addresses', () => {
    const { p } = pool();
    const a = p.offer(mac(1));
    const b = p.offer(mac(2));
    const c = p.offer(mac(3));
    assert.deepEqual([a, b, c], [ip('10.0.0.10'), ip('10.0.0.12'), ip('10.0.0.13')]); // .11 excluded
    assert.equal(p.offer(mac(4)), null, 'exhausted while offers are held');
    assert.equal(p.offer(mac(1)), a, 'same client, same offer');
  });

  it('frees an offer after its hold expires', () => {
    const { p, clock } = pool();
    p.offer(mac(1));
    p.offer(mac(2));
    p.offer(mac(3));
    clock.advance(61_000);
    assert.notEqual(p.offer(mac(4)), null);
  });

  it('gives a fixed address only to its machine, never from the pool to others', () => {
    const { p } = pool({ start: ip('10.0.0.4'), end: ip('10.0.0.6') });
    assert.equal(p.offer(mac(0xf0)), ip('10.0.0.5'));
    assert.equal(p.availableTo(mac(1), ip('10.0.0.5')), false);
    assert.equal(p.bind(mac(1), ip('10.0.0.5'), 60), false);
    assert.equal(p.availableTo(mac(0xf0), ip('10.0.0.4')), false, 'a reserved machine gets only its address');
  });

  it('honours a requested address when free (RFC 2131 4.3.1) and refuses one that is bound', () => {
    const { p } = pool();
    assert.equal(p.offer(mac(1), ip('10.0.0.13')), ip('10.0.0.13'));
    assert.ok(p.bind(mac(1), ip('10.0.0.13'), 60));
    assert.equal(p.bind(mac(2), ip('10.0.0.13'), 60), false);
    assert.notEqual(p.offer(mac(2), ip('10.0.0.13')), ip('10.0.0.13'));
  });

  it("a released address stays its owner's first choice", () => {
    const { p } = pool();
    const a = p.offer(mac(1))!;
    p.bind(mac(1), a, 60);
    assert.ok(p.release(mac(1), a));
    p.offer(mac(2));
    assert.equal(p.offer(mac(1)), a);
  });

  it('a declined address stays out of the pool for the hold', () => {
    const { p, clock } = pool();
    const a = p.offer(mac(1))!;
    p.bind(mac(1), a, 60);
    assert.ok(p.decline(mac(1), a));
    assert.equal(p.availableTo(mac(2), a), false);
    clock.advance(11 * 60_000);
    assert.equal(p.availableTo(mac(2), a), true);
  });
});

describe('lease journal file', () => {
  it('survives a restart: bindings reload, owners get their address, others do not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-journal-'));
    const file = path.join(dir, 'leases.jsonl');
    const opts = { start: ip('10.0.0.10'), end: ip('10.0.0.20'), reservations: new Map(), now: Date.now };
    const p1 = new Pool({ ...opts, journal: new FileJournal(file, silentLogger) });
    const got = [1, 2, 3].map((n) => {
      const a = p1.offer(mac(n))!;
      assert.ok(p1.bind(mac(n), a, 3600));
      return a;
    });
    fs.appendFileSync(file, '{"ip":"10.0.0.19","mac":'); // a torn write from a crash
    const p2 = new Pool({ ...opts, journal: new FileJournal(file, silentLogger) });
    assert.deepEqual(
      [1, 2, 3].map((n) => p2.offer(mac(n))),
      got,
    );
    const other = p2.offer(mac(9))!;
    assert.ok(!got.includes(other));
    fs.rmSync(dir, { recursive: true });
  });

  it('keeps zeros ahead of its rows while open, trims them at close; a crash with them loses nothing', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-journal-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'leases.jsonl');
    const lease = (n: number): Lease => ({
      ip: ip('10.0.0.0') + n,
      mac: `52:54:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
      state: 'bound',
      expires: 1_800_000_000_000 + n,
    });
    const j1 = new FileJournal(file, silentLogger);
    j1.load();
    const N = 6000; // > GROW_BYTES / 2 of rows: the file grows twice
    for (let n = 1; n <= N; n++) {
      j1.put(lease(n));
      if (n % 100 === 0) j1.write();
    }
    j1.sync();
    const open = fs.readFileSync(file);
    const rowsEnd = open.indexOf(0);
    assert.ok(rowsEnd > GROW_BYTES / 2, `rows end at ${rowsEnd}`);
    assert.equal(open.length % GROW_BYTES, 0, 'zeros in whole steps');
    assert.ok(open.length - rowsEnd >= GROW_BYTES / 2, 'at least half a step of zeros ahead');
    assert.ok(open.subarray(rowsEnd).every((b) => b === 0));

    // a crash: j1 never closes; the next start reads every row and says nothing of the zeros
    const log = recordingLogger();
    const j2 = new FileJournal(file, log);
    const back = j2.load();
    assert.equal(back.length, N);
    assert.deepEqual(back.at(-1), lease(N));
    assert.deepEqual(log.records, []);

    j2.put(lease(N + 1));
    j2.sync();
    assert.ok(fs.statSync(file).size >= GROW_BYTES / 2, 'zeros ahead again');
    j2.close();
    const closed = fs.readFileSync(file, 'utf8');
    assert.ok(!closed.includes('\0'), 'a closed journal has no zeros');
    const rows = closed.trimEnd().split('\n');
    assert.equal(rows.length, N + 1);
    assert.deepEqual(JSON.parse(rows.at(-1)!), {
      ip: '10.0.23.113',
      mac: '52:54:00:00:17:71',
      state: 'bound',
      expires: new Date(1_800_000_006_001).toISOString(),
    });
  });
});
