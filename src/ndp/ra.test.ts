import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../lib/errors.ts';
import { type LogRecord, recordingLogger, silentLogger } from '../lib/log.ts';
import { RaAdvertiser } from './advertiser.ts';
import { decode, encode, encodingLength, quietAdvertisement } from './ra.ts';

describe('router advertisement codec', () => {
  it('round-trips and encodes the quiet RA of RFC 4861 4.2 byte for byte', () => {
    const ra = quietAdvertisement('52:54:00:12:34:56');
    const bytes = encode(ra);
    assert.equal(bytes.length, encodingLength(ra));
    assert.deepEqual(decode(bytes), ra);
    assert.equal(
      Buffer.from(bytes).toString('hex'),
      // type 134, code 0, checksum 0 | hop 0, flags 0, lifetime 0 | reachable 0 | retrans 0 | SLLA
      '86000000' + '00000000' + '00000000' + '00000000' + '0101525400123456',
    );
  });
  it('rejects zero-length options (RFC 4861 4.6) and truncation with DecodeError', () => {
    const bytes = Uint8Array.from([...encode(quietAdvertisement()), 1, 0]);
    assert.throws(() => decode(bytes), DecodeError);
    assert.throws(() => decode(bytes.subarray(0, 9)), DecodeError);
  });
});

describe('RA advertiser', () => {
  it('sends at once, then at most one RA per 3 s however many iPXE clients poke it', async () => {
    let t = 0;
    const sent: number[] = [];
    const ra = new RaAdvertiser({
      ifname: 'x',
      send: () => void sent.push(t),
      logger: silentLogger,
      now: () => t,
    });
    ra.poke();
    assert.deepEqual(sent, [0]);
    t = 1000;
    for (let i = 0; i < 100; i++) ra.poke();
    assert.equal(sent.length, 1, 'rate limited');
    t = 3000;
    await new Promise((r) => setTimeout(r, 2100));
    assert.deepEqual(sent, [0, 3000], 'the deferred RA went out once');
    ra.close();
  });
  it('after a send error (link-local still tentative) warns once and tries again on the next poke', () => {
    let calls = 0;
    let ok = false;
    const records: LogRecord[] = [];
    const ra = new RaAdvertiser({
      ifname: 'x',
      send: () => {
        calls++;
        if (!ok) throw new Error('sendto: Cannot assign requested address');
      },
      logger: recordingLogger(records),
      now: () => calls * 10_000,
    });
    ra.poke();
    ra.poke();
    ok = true;
    ra.poke();
    assert.equal(calls, 3, 'every poke past the rate limit tries');
    assert.equal(ra.sent, 1, 'the third one went out');
    assert.equal(records.filter((r) => r.event === 'ra.failed').length, 1, 'one warning, not one per boot');
  });
});
