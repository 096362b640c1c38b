import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { globIntersection, overlapWitness } from './rule-overlap.ts';
import { checkAmbiguity, type MatchFacts, matches, resolve } from './rules.ts';
import type { Rule, RuleMatch, RuleSet } from './types.ts';

const M1 = '52:54:00:00:00:01';
const M2 = '52:54:00:00:00:02';
const M3 = '52:54:00:00:00:03';

const rule = (name: string, match: RuleMatch, set: RuleSet = { role: 'worker' }, priority?: number): Rule =>
  priority === undefined ? { name, match, set } : { name, match, set, priority };
const cp: RuleSet = { role: 'control-plane' };

/** mulberry32: a tiny seeded PRNG, so a failing property run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const maybe = <T>(rnd: () => number, x: T): T | undefined => (rnd() < 0.35 ? x : undefined);
function shuffle<T>(rnd: () => number, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function ambiguous(rules: Rule[]): MetalseedError | null {
  try {
    checkAmbiguity(rules);
    return null;
  } catch (err) {
    assert.ok(err instanceof MetalseedError);
    return err;
  }
}

describe('checkAmbiguity', () => {
  const accepted: [string, Rule[]][] = [
    ['disjoint MAC lists', [rule('a', { mac: [M1] }), rule('b', { mac: [M2, M3] }, cp)]],
    ['disjoint arch lists', [rule('a', { arch: ['EFI_BC'] }), rule('b', { arch: ['X86_BIOS'] }, cp)]],
    [
      'a label both require with different values',
      [rule('a', { labels: { z: 'a' } }), rule('b', { labels: { z: 'b' } }, cp)],
    ],
    ['disjoint CIDRs', [rule('a', { cidr: ['10.0.0.0/25'] }), rule('b', { cidr: ['10.0.0.128/25'] }, cp)]],
    [
      'globs with different literal ends',
      [rule('a', { hostname: '*-a' }), rule('b', { hostname: '*-b' }, cp)],
    ],
    [
      'globs with different literal starts',
      [rule('a', { hostname: 'cp*' }), rule('b', { hostname: 'wk*' }, cp)],
    ],
    ['different specificity', [rule('a', { mac: [M1] }), rule('b', { arch: ['EFI_BC'] }, cp)]],
    ['different priority', [rule('a', {}), rule('b', {}, cp, 1)]],
    ['compatible sets merge', [rule('a', {}), rule('b', {}, { profile: 'p', labels: { x: 'y' } })]],
    ['equal sets', [rule('a', { arch: ['EFI_BC'] }), rule('b', { firmware: ['uefi-x64'] })]],
  ];
  for (const [name, rules] of accepted) it(`accepts ${name}`, () => assert.equal(ambiguous(rules), null));

  const rejected: [string, Rule[], RegExp][] = [
    [
      'intersecting MAC lists',
      [rule('rack-a', { mac: [M1, M2] }), rule('cp-0', { mac: [M2] }, cp)],
      /^rules "cp-0" and "rack-a" can both match a machine \(mac 52:54:00:00:00:02\) with equal specificity \[0,1,0,0,0,0\] and set different role \("control-plane" vs "worker"\)$/,
    ],
    [
      'arch vs firmware',
      [rule('arch-uefi', { arch: ['EFI_BC'] }), rule('fw-uefi', { firmware: ['uefi-x64'] }, cp)],
      /"arch-uefi" and "fw-uefi" .*\(arch EFI_BC with firmware uefi-x64\)/,
    ],
    ['two catch-alls', [rule('a', {}), rule('b', {}, cp)], /\(any machine\)/],
    [
      'overlapping globs',
      [rule('a', { hostname: 'w*' }), rule('b', { hostname: '*1' }, cp)],
      /hostname "w1"/,
    ],
    [
      'overlapping CIDR lists',
      [rule('a', { cidr: ['10.1.0.0/16', '192.168.1.0/24'] }), rule('b', { cidr: ['192.168.0.0/16'] }, cp)],
      /address 192\.168\.1\.0/,
    ],
    [
      'a label set to different values',
      [
        rule('a', { labels: { z: 'a' } }, { labels: { tier: 'x' } }),
        rule('b', { labels: { r: '1' } }, { labels: { tier: 'y' } }),
      ],
      /labels r=1,z=a\) .* set different label tier \("x" vs "y"\)/,
    ],
    [
      'different profiles',
      [rule('a', {}, { profile: 'p' }), rule('b', {}, { profile: 'q' })],
      /different profile/,
    ],
  ];
  for (const [name, rules, want] of rejected) {
    it(`rejects ${name}, naming both rules, whatever the input order`, () => {
      for (const order of [rules, [...rules].reverse()]) {
        const err = ambiguous([rule('zz-other', { serial: ['S'] }), ...order]);
        assert.equal(err?.code, 'RULE_AMBIGUOUS');
        assert.match(err.message, want);
      }
    });
  }

  it('rejects duplicate names, even far apart in the order', () => {
    const rules = [rule('a', {}), rule('b', { arch: ['EFI_BC'] }), rule('a', { mac: [M1] })];
    assert.equal(ambiguous(rules)?.code, 'INVALID_INPUT');
  });
});

describe('globIntersection', () => {
  const cases: [string, string, string | null][] = [
    ['abc', 'abc', 'abc'],
    ['abc', 'abd', null],
    ['a*', '*b', 'ab'],
    ['?', '', null],
    ['*', '', ''],
    ['a?c', '*b*', 'abc'],
    ['worker-*', 'cp-*', null],
    ['*x*y*', '*y*x*', 'xyx'],
  ];
  for (const [p, q, want] of cases) it(`${p} ∩ ${q}`, () => assert.equal(globIntersection(p, q), want));
});

describe('properties (seeded)', () => {
  const pools = {
    mac: [M1, M2, M3],
    arch: ['EFI_BC', 'X86_BIOS'],
    firmware: ['uefi-x64', 'bios'],
    hostname: ['w*', '*1', 'w?', 'c*', '*', 'w1', '*-*'],
    cidr: ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.128/25', '10.0.1.0/24', '10.0.0.0/16'],
    host: ['w1', 'w2', 'c1', 'w-1', 'x'],
    addr: ['10.0.0.1', '10.0.0.200', '10.0.1.1', '10.3.0.1'],
  };
  const some = (rnd: () => number, xs: string[]) => [...new Set([pick(rnd, xs), pick(rnd, xs)])];

  function randomRule(rnd: () => number, name: string): Rule {
    const m: RuleMatch = {};
    const set = (k: 'mac' | 'arch' | 'firmware' | 'cidr') => maybe(rnd, some(rnd, pools[k]));
    for (const k of ['mac', 'arch', 'firmware', 'cidr'] as const) {
      const v = set(k);
      if (v) m[k] = v;
    }
    const h = maybe(rnd, pick(rnd, pools.hostname));
    if (h) m.hostname = h;
    if (rnd() < 0.35) m.labels = { zone: pick(rnd, ['a', 'b']) };
    const s: RuleSet = { labels: { tier: pick(rnd, ['x', 'y']) } };
    if (rnd() < 0.7) s.role = pick(rnd, ['worker', 'control-plane']);
    return rule(name, m, s, rnd() < 0.1 ? 1 : undefined);
  }
  function randomFacts(rnd: () => number): MatchFacts {
    // One MAC and one address: the overlap test's documented single-NIC assumption.
    const f: MatchFacts = { macs: [pick(rnd, pools.mac)], labels: {}, addresses: [pick(rnd, pools.addr)] };
    if (rnd() < 0.8) f.arch = pick(rnd, pools.arch);
    if (rnd() < 0.8) f.firmware = pick(rnd, pools.firmware);
    if (rnd() < 0.8) f.hostname = pick(rnd, pools.host);
    if (rnd() < 0.6) f.labels.zone = pick(rnd, ['a', 'b']);
    return f;
  }

  it('overlapWitness is exact: its witness matches both, and any common match implies one', () => {
    const rnd = prng(1);
    let overlapping = 0;
    for (let n = 0; n < 3000; n++) {
      const a = randomRule(rnd, 'a');
      const b = randomRule(rnd, 'b');
      const w = overlapWitness(a.match, b.match);
      if (w) {
        overlapping++;
        assert.ok(matches(a, w) && matches(b, w), JSON.stringify({ a, b, w }));
      }
      const f = randomFacts(rnd);
      if (matches(a, f) && matches(b, f)) assert.ok(w, JSON.stringify({ a, b, f }));
    }
    assert.ok(overlapping > 300 && overlapping < 2700, `${overlapping} overlapping pairs`);
  });

  it('for rule sets checkAmbiguity accepts, resolve depends on neither input order nor names', () => {
    const rnd = prng(42);
    let accepted = 0;
    let multi = 0;
    for (let n = 0; n < 600; n++) {
      const names = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'].slice(0, 2 + Math.floor(rnd() * 5));
      const rules = names.map((x) => randomRule(rnd, x));
      if (ambiguous(rules)) continue;
      accepted++;
      const renamed = shuffle(rnd, names);
      const other = rules.map((r, i) => ({ ...r, name: renamed[i]! }));
      for (let k = 0; k < 10; k++) {
        const f = randomFacts(rnd);
        const want = resolve(rules, f);
        assert.deepEqual(resolve(shuffle(rnd, rules), f), want);
        const { matched, ...values } = resolve(shuffle(rnd, other), f);
        const { matched: _, ...wantValues } = want;
        assert.deepEqual(values, wantValues, JSON.stringify({ rules, f }));
        if (matched.length > 1) multi++;
      }
    }
    assert.ok(accepted > 100 && multi > 100, `${accepted} accepted sets, ${multi} multi-match resolutions`);
  });
});
