import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_NEGOTIATION_LIMITS, type NegotiationLimits, negotiate } from './options.ts';

interface Case {
  name: string;
  req: Record<string, string>;
  size?: number;
  limits?: Partial<NegotiationLimits>;
  oack: Record<string, string> | null;
  blksize: number;
  windowsize: number;
  timeoutMs?: number | null;
}

const cases: Case[] = [
  { name: 'no options: plain RFC 1350', req: {}, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'OVMF first request',
    req: { tsize: '0', blksize: '1468', windowsize: '4' },
    size: 850_000,
    oack: { blksize: '1468', tsize: '850000', windowsize: '4' },
    blksize: 1468,
    windowsize: 4,
  },
  {
    name: 'blksize above the limit is lowered (RFC 2348)',
    req: { blksize: '65464' },
    oack: { blksize: '1468' },
    blksize: 1468,
    windowsize: 1,
  },
  {
    name: 'a configured larger limit',
    req: { blksize: '9000' },
    limits: { maxBlksize: 8192 },
    oack: { blksize: '8192' },
    blksize: 8192,
    windowsize: 1,
  },
  {
    name: 'blksize 8 is the minimum',
    req: { blksize: '8' },
    oack: { blksize: '8' },
    blksize: 8,
    windowsize: 1,
  },
  { name: 'blksize below 8 is ignored', req: { blksize: '7' }, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'non-numeric blksize is ignored',
    req: { blksize: '0x5bc' },
    oack: null,
    blksize: 512,
    windowsize: 1,
  },
  { name: 'negative blksize is ignored', req: { blksize: '-1' }, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'tsize 0 answered with the size',
    req: { tsize: '0' },
    size: 0,
    oack: { tsize: '0' },
    blksize: 512,
    windowsize: 1,
  },
  { name: 'garbage tsize is ignored', req: { tsize: 'abc' }, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'timeout in range is echoed (RFC 2349)',
    req: { timeout: '3' },
    oack: { timeout: '3' },
    blksize: 512,
    windowsize: 1,
    timeoutMs: 3000,
  },
  {
    name: 'timeout 0 is ignored',
    req: { timeout: '0' },
    oack: null,
    blksize: 512,
    windowsize: 1,
    timeoutMs: null,
  },
  { name: 'timeout 256 is ignored', req: { timeout: '256' }, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'windowsize above the limit is lowered (RFC 7440)',
    req: { windowsize: '65535' },
    oack: { windowsize: '64' },
    blksize: 512,
    windowsize: 64,
  },
  { name: 'windowsize 0 is ignored', req: { windowsize: '0' }, oack: null, blksize: 512, windowsize: 1 },
  {
    name: 'unknown options are ignored, known ones kept',
    req: { multicast: '', utimeout: '5000', blksize: '1024' },
    oack: { blksize: '1024' },
    blksize: 1024,
    windowsize: 1,
  },
  { name: 'only unknown options: no OACK', req: { rollover: '0' }, oack: null, blksize: 512, windowsize: 1 },
];

describe('tftp option negotiation', () => {
  for (const c of cases) {
    it(c.name, () => {
      const limits = { ...DEFAULT_NEGOTIATION_LIMITS, ...c.limits };
      const n = negotiate(new Map(Object.entries(c.req)), c.size ?? 1000, limits);
      assert.deepEqual(n.oack && Object.fromEntries(n.oack), c.oack);
      assert.equal(n.params.blksize, c.blksize);
      assert.equal(n.params.windowsize, c.windowsize);
      if (c.timeoutMs !== undefined) assert.equal(n.params.timeoutMs, c.timeoutMs);
    });
  }

  it('defaults suit a 1500-byte MTU', () => {
    assert.equal(DEFAULT_NEGOTIATION_LIMITS.maxBlksize, 1500 - 20 - 8 - 4);
  });
});
