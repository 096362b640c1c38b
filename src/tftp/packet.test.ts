import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError } from '../lib/errors.ts';
import { decode, encode, encodingLength, errorName, MAX_OPTIONS, type Packet } from './packet.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

/** dns-packet's `testEncoder`: encode, check the length, decode, compare, re-encode. */
function roundTrip(p: Packet): void {
  const wire = encode(p);
  assert.equal(wire.length, encodingLength(p), `encodingLength of ${p.op}`);
  const back = decode(wire);
  assert.deepEqual(back, p);
  assert.deepEqual(encode(back), wire);
}

const opts = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));

describe('tftp packet codec', () => {
  it('round-trips every packet type', () => {
    const cases: Packet[] = [
      { op: 'RRQ', filename: 'undionly.kpxe', mode: 'octet', options: new Map() },
      {
        op: 'RRQ',
        filename: '/boot/ipxe.efi',
        mode: 'netascii',
        options: opts({ tsize: '0', blksize: '1468', windowsize: '4', timeout: '3' }),
      },
      { op: 'WRQ', filename: 'up.bin', mode: 'octet', options: opts({ blksize: '512' }) },
      { op: 'DATA', block: 1, data: Uint8Array.from([1, 2, 3]) },
      { op: 'DATA', block: 65535, data: new Uint8Array(0) },
      { op: 'DATA', block: 0, data: new Uint8Array(1468).fill(7) },
      { op: 'ACK', block: 0 },
      { op: 'ACK', block: 65535 },
      { op: 'ERROR', code: 1, message: 'File not found' },
      { op: 'ERROR', code: 8, message: '' },
      { op: 'OACK', options: opts({ blksize: '1468', tsize: '75012' }) },
      { op: 'OACK', options: new Map() },
    ];
    for (const c of cases) roundTrip(c);
  });

  it('decodes a real OVMF request (tsize, blksize, windowsize)', () => {
    const wire = bytes([0, 1], 'ipxe.efi\0octet\0tsize\x000\0blksize\x001468\0windowsize\x004\0');
    assert.deepEqual(decode(wire), {
      op: 'RRQ',
      filename: 'ipxe.efi',
      mode: 'octet',
      options: opts({ tsize: '0', blksize: '1468', windowsize: '4' }),
    });
  });

  it('treats option names and mode case-insensitively (RFC 2347, RFC 1350)', () => {
    const p = decode(bytes([0, 1], 'f\0OCTET\0BlkSize\x001024\0TSIZE\x000\0'));
    assert.equal(p.op, 'RRQ');
    if (p.op !== 'RRQ') return;
    assert.equal(p.mode, 'octet');
    assert.deepEqual(
      [...p.options],
      [
        ['blksize', '1024'],
        ['tsize', '0'],
      ],
    );
  });

  it('keeps the first of duplicate options and tolerates NUL padding', () => {
    const p = decode(bytes([0, 1], 'f\0octet\0blksize\x00512\0BLKSIZE\x001468\0', [0, 0, 0]));
    assert.ok(p.op === 'RRQ');
    assert.deepEqual([...p.options], [['blksize', '512']]);
  });

  it('stores a __proto__ option as a plain key', () => {
    const p = decode(bytes([0, 6], '__proto__\0x\0'));
    assert.ok(p.op === 'OACK');
    assert.equal(p.options.get('__proto__'), 'x');
    assert.equal(Object.getPrototypeOf(p.options), Map.prototype);
  });

  it('accepts an ERROR without its final NUL and ACK with trailing bytes', () => {
    assert.deepEqual(decode(bytes([0, 5, 0, 0], 'User aborted')), {
      op: 'ERROR',
      code: 0,
      message: 'User aborted',
    });
    assert.deepEqual(decode(hex('0004 0002 ffff')), { op: 'ACK', block: 2 });
  });

  it('names error codes, unknown ones included', () => {
    assert.equal(errorName(5), 'UNKNOWN_TID');
    assert.equal(errorName(8), 'OPTION_REFUSED');
    assert.equal(errorName(99), 'code_99');
  });

  it('refuses to encode a string with NUL', () => {
    assert.throws(() => encode({ op: 'ERROR', code: 0, message: 'a\0b' }), TypeError);
  });
});

describe('tftp packet codec, hostile input', () => {
  const rejects = (wire: Uint8Array, why: string): void => {
    assert.throws(() => decode(wire), DecodeError, why);
  };

  it('rejects truncated and empty packets', () => {
    rejects(new Uint8Array(0), 'empty');
    rejects(hex('00'), 'half an opcode');
    rejects(hex('0003'), 'DATA without block');
    rejects(hex('000400'), 'ACK with half a block');
    rejects(hex('0005 00'), 'ERROR with half a code');
  });

  it('rejects unknown opcodes', () => {
    for (const op of [0, 7, 0x100, 0xffff]) rejects(Uint8Array.from([op >> 8, op & 0xff, 0, 0]), `op ${op}`);
  });

  it('rejects requests without NULs, filenames or modes', () => {
    rejects(bytes([0, 1], 'undionly.kpxe'), 'no NUL after filename');
    rejects(bytes([0, 1], 'undionly.kpxe\0octet'), 'no NUL after mode');
    rejects(bytes([0, 1], '\0octet\0'), 'empty filename');
    rejects(bytes([0, 1], 'f\0\0'), 'empty mode');
    rejects(bytes([0, 1], 'f\0octet\0blksize\0'), 'option without value');
    rejects(bytes([0, 1], 'f\0octet\0blksize\x00512'), 'value without NUL');
    rejects(bytes([0, 1], 'f\0octet\0\x001\0'), 'empty option name');
    rejects(bytes([0, 6], 'tsize'), 'OACK name without NUL');
  });

  it('rejects huge option lists', () => {
    const many = Array.from({ length: MAX_OPTIONS + 1 }, (_, i) => `o${i}\0v\0`).join('');
    rejects(bytes([0, 1], 'f\0octet\0', many), 'too many options');
    const max = Array.from({ length: MAX_OPTIONS }, (_, i) => `o${i}\0v\0`).join('');
    assert.equal(
      (decode(bytes([0, 1], 'f\0octet\0', max)) as { options: Map<string, string> }).options.size,
      MAX_OPTIONS,
    );
    const huge = Array.from({ length: 4000 }, () => 'x\0y\0').join('');
    rejects(bytes([0, 6], huge), 'OACK with thousands of options');
  });

  it('throws nothing but DecodeError on random bytes', () => {
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x100000000;
    };
    for (let i = 0; i < 20000; i++) {
      const buf = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      // Bias towards valid opcodes so the option and string paths are exercised too.
      if (buf.length >= 2 && rand() < 0.8) {
        buf[0] = 0;
        buf[1] = 1 + Math.floor(rand() * 6);
      }
      try {
        decode(buf);
      } catch (err) {
        assert.ok(
          err instanceof DecodeError,
          `${(err as Error).name} on ${Buffer.from(buf).toString('hex')}`,
        );
      }
    }
  });
});
