import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MatchFacts, matches, resolve, selectRule, specificity } from './rules.ts';
import type { Rule, RuleMatch, RuleSet } from './types.ts';

const M1 = '52:54:00:00:00:01';
const M2 = '52:54:00:00:00:02';
const U1 = '4c4c4544-0044-3510-8052-b4c04f4a4d32';

const rule = (name: string, match: RuleMatch, set: RuleSet = { role: 'worker' }, priority?: number): Rule =>
  priority === undefined ? { name, match, set } : { name, match, set, priority };
const facts = (over: Partial<MatchFacts> = {}): MatchFacts => ({
  macs: [],
  labels: {},
  addresses: [],
  ...over,
});

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
function shuffle<T>(rnd: () => number, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('matches', () => {
  const cases: [string, RuleMatch, Partial<MatchFacts>, boolean][] = [
    ['empty selector matches any machine', {}, {}, true],
    ['mac: any of the machine MACs', { mac: [M2] }, { macs: [M1, M2] }, true],
    ['mac: facts normalised', { mac: [M1] }, { macs: ['52-54-00-00-00-01'.toUpperCase()] }, true],
    ['mac: OR within the list', { mac: [M1, M2] }, { macs: [M2] }, true],
    ['mac: miss', { mac: [M1] }, { macs: [M2] }, false],
    ['uuid: case-insensitive fact', { uuid: [U1] }, { uuid: U1.toUpperCase() }, true],
    ['uuid: absent fact never matches', { uuid: [U1] }, {}, false],
    ['serial: exact', { serial: ['ABC123'] }, { serial: 'ABC123' }, true],
    ['serial: case matters', { serial: ['ABC123'] }, { serial: 'abc123' }, false],
    ['arch', { arch: ['EFI_BC', 'EFI_X86_64'] }, { arch: 'EFI_X86_64' }, true],
    ['arch: miss', { arch: ['EFI_BC'] }, { arch: 'X86_BIOS' }, false],
    ['firmware', { firmware: ['uefi-x64'] }, { firmware: 'uefi-x64' }, true],
    [
      'labels: subset of the machine labels',
      { labels: { zone: 'a' } },
      { labels: { zone: 'a', x: 'y' } },
      true,
    ],
    ['labels: all must be present', { labels: { zone: 'a', rack: '1' } }, { labels: { zone: 'a' } }, false],
    ['labels: value must be equal', { labels: { zone: 'a' } }, { labels: { zone: 'b' } }, false],
    ['labels: inherited keys are not labels', { labels: { constructor: 'x' } }, {}, false],
    ['hostname: glob *', { hostname: 'worker-*' }, { hostname: 'worker-12' }, true],
    ['hostname: case-insensitive', { hostname: 'worker-*' }, { hostname: 'Worker-1' }, true],
    ['hostname: ? is one character', { hostname: 'cp-0?' }, { hostname: 'cp-01' }, true],
    ['hostname: ? is not zero characters', { hostname: 'cp-0?' }, { hostname: 'cp-0' }, false],
    ['hostname: * may be empty', { hostname: 'a*b*c' }, { hostname: 'abc' }, true],
    ['hostname: backtracking', { hostname: 'a*a*b' }, { hostname: 'aaaaaaaab' }, true],
    ['hostname: anchored at the end', { hostname: 'a*b' }, { hostname: 'abx' }, false],
    ['hostname: absent fact never matches', { hostname: '*' }, {}, false],
    ['cidr /0: any address', { cidr: ['0.0.0.0/0'] }, { addresses: ['192.0.2.7'] }, true],
    ['cidr /0: needs an address', { cidr: ['0.0.0.0/0'] }, {}, false],
    ['cidr /32: the address', { cidr: ['10.0.0.5/32'] }, { addresses: ['10.0.0.5'] }, true],
    ['cidr /32: not its neighbour', { cidr: ['10.0.0.5/32'] }, { addresses: ['10.0.0.6'] }, false],
    ['cidr /24: last address', { cidr: ['10.0.0.0/24'] }, { addresses: ['10.0.0.255'] }, true],
    ['cidr /24: next block', { cidr: ['10.0.0.0/24'] }, { addresses: ['10.0.1.0'] }, false],
    [
      'cidr: any address in any block',
      { cidr: ['10.0.0.0/24', '10.9.0.0/16'] },
      { addresses: ['fe80::1', '10.9.3.4'] },
      true,
    ],
    ['AND: every field must match', { mac: [M1], arch: ['EFI_BC'] }, { macs: [M1], arch: 'EFI_BC' }, true],
    ['AND: one miss is a miss', { mac: [M1], arch: ['EFI_BC'] }, { macs: [M1], arch: 'X86_BIOS' }, false],
  ];
  for (const [name, match, over, want] of cases) {
    it(name, () => assert.equal(matches(rule('r', match), facts(over)), want));
  }
});

describe('specificity and selection', () => {
  const everything = facts({
    macs: [M1],
    arch: 'EFI_BC',
    firmware: 'uefi-x64',
    labels: { zone: 'a', rack: '1' },
    hostname: 'worker-1',
    addresses: ['10.0.0.9'],
  });
  const rnd = prng(7);
  const order = (rules: Rule[]) => resolve(rules, everything).matched;

  it('is the documented tuple', () => {
    const r = rule(
      'r',
      { mac: [M1], uuid: [U1], arch: ['EFI_BC'], cidr: ['10.0.0.0/16', '10.0.0.0/24'] },
      {},
      3,
    );
    assert.deepEqual(
      specificity({ ...r, match: { ...r.match, hostname: 'w?-*', labels: { a: 'b' } } }),
      [3, 2, 1, 17, 3, 1],
    );
  });

  const ladders: [string, Rule[]][] = [
    [
      'identity > hardware > cidr > hostname > labels > catch-all',
      [
        rule('f-mac', { mac: [M1] }),
        rule('e-arch', { arch: ['EFI_BC'] }),
        rule('d-cidr', { cidr: ['10.0.0.0/8'] }),
        rule('c-host', { hostname: 'worker-*' }),
        rule('b-labels', { labels: { zone: 'a' } }),
        rule('a-any', {}),
      ],
    ],
    ['priority beats everything', [rule('z', {}, {}, 1), rule('a', { mac: [M1], arch: ['EFI_BC'] })]],
    [
      'two hardware fields > one',
      [rule('b', { arch: ['EFI_BC'], firmware: ['uefi-x64'] }), rule('a', { arch: ['EFI_BC'] })],
    ],
    ['longer prefix > shorter', [rule('b', { cidr: ['10.0.0.0/24'] }), rule('a', { cidr: ['10.0.0.0/16'] })]],
    ['more literal glob characters', [rule('b', { hostname: 'worker-?' }), rule('a', { hostname: 'w*' })]],
    ['more labels', [rule('b', { labels: { zone: 'a', rack: '1' } }), rule('a', { labels: { zone: 'a' } })]],
    ['equal score: name ascending', [rule('a', { arch: ['EFI_BC'] }), rule('b', { firmware: ['uefi-x64'] })]],
  ];
  for (const [name, ladder] of ladders) {
    it(`${name}, whatever the input order`, () => {
      const want = ladder.map((r) => r.name);
      for (let i = 0; i < 20; i++) assert.deepEqual(order(shuffle(rnd, ladder)), want);
    });
  }

  it('selectRule returns the winner and the other matches, lower ranked', () => {
    const rules = [
      rule('b', { arch: ['EFI_BC'] }),
      rule('a', {}),
      rule('c', { mac: [M1] }),
      rule('x', { mac: [M2] }),
    ];
    const got = selectRule(rules, everything);
    assert.equal(got?.rule.name, 'c');
    assert.deepEqual(
      got?.also.map((r) => r.name),
      ['b', 'a'],
    );
    assert.equal(selectRule(rules.slice(3), everything), null);
  });

  it('resolve layers role, profile and labels, most specific first', () => {
    const rules = [
      rule('everyone', {}, { role: 'worker', profile: 'flatcar', labels: { tier: 'x', site: 's1' } }),
      rule('uefi', { firmware: ['uefi-x64'] }, { labels: { fw: 'uefi', tier: 'y' } }),
      rule('cp-0', { mac: [M1] }, { role: 'control-plane' }),
    ];
    assert.deepEqual(resolve(rules, everything), {
      role: 'control-plane',
      profile: 'flatcar',
      labels: { fw: 'uefi', site: 's1', tier: 'y' },
      matched: ['cp-0', 'uefi', 'everyone'],
    });
    assert.deepEqual(resolve(rules, facts()), {
      role: 'worker',
      profile: 'flatcar',
      labels: { site: 's1', tier: 'x' },
      matched: ['everyone'],
    });
    assert.deepEqual(resolve([], facts()), { labels: {}, matched: [] });
  });
});
