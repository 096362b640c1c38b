import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestPacket } from './packet.ts';
import { AttemptTable } from './retransmits.ts';
import type { Transfer } from './transfer.ts';

const peer = { address: '10.0.0.5', port: 2070 };
const req = (options: Record<string, string> = {}): RequestPacket => ({
  op: 'RRQ',
  filename: 'undionly.kpxe',
  mode: 'octet',
  options: new Map(Object.entries(options)),
});
const transfer = (heard: boolean, progressing: boolean): Transfer => ({ heard, progressing, abort() {} });

describe('AttemptTable (retransmitted RRQs)', () => {
  it('treats the same request as a copy until the transfer hears from the client', () => {
    const table = new AttemptTable();
    const a = table.begin(peer, req());
    assert.equal(table.repeated(peer, req()), a, 'while opening');
    a.transfer = transfer(false, false);
    assert.equal(table.repeated(peer, req()), a, 'OACK/DATA 1 sent, nothing heard');
    assert.equal(table.repeated(peer, req({ tsize: '0' })), undefined, 'a different request');
    assert.equal(table.repeated({ ...peer, port: 2071 }, req()), undefined, 'another port');
    a.transfer = transfer(true, false);
    assert.equal(table.repeated(peer, req()), undefined, 'heard and not moving: a restart');
  });

  it('treats it as a copy while ACKs move the window', () => {
    const table = new AttemptTable();
    const a = table.begin(peer, req());
    a.transfer = transfer(true, true);
    assert.equal(table.repeated(peer, req()), a);
  });

  it('absorbs copies for lingerMs after a successful end, then forgets', () => {
    let now = 1000;
    const table = new AttemptTable(() => now, 500);
    const a = table.begin(peer, req());
    a.transfer = transfer(true, true);
    table.end(peer, a, true);
    now += 499;
    assert.equal(table.repeated(peer, req()), a, 'a late copy of the request');
    now += 1;
    assert.equal(table.repeated(peer, req()), undefined, 'a new download');
    const b = table.begin(peer, req());
    table.end(peer, b, false);
    assert.equal(table.size, 0, 'a failed transfer does not linger');
  });

  it('sweeps lingering attempts that are never asked about again', () => {
    let now = 0;
    const table = new AttemptTable(() => now, 100);
    for (let i = 0; i < 255; i++)
      table.end({ ...peer, port: i + 1 }, table.begin({ ...peer, port: i + 1 }, req()), true);
    assert.equal(table.size, 255);
    now = 1000;
    table.end({ ...peer, port: 999 }, table.begin({ ...peer, port: 999 }, req()), true);
    assert.equal(table.size, 1, 'only the newest, still lingering');
  });
});
