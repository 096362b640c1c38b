import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { validateRule } from './rules.ts';

const ok = { name: 'checkout', match: {}, set: { role: 'worker' } };
const withMatch = (match: unknown) => ({ ...ok, match });
const withSet = (set: unknown) => ({ ...ok, set });

describe('validateRule', () => {
  it('returns the canonical form', () => {
    const rule = validateRule({
      name: 'rack-a',
      priority: 2,
      match: {
        mac: ['52-54-00-AB-CD-EF', '525400abcdef', '52:54:00:00:00:01'],
        uuid: ['4C4C4544-0044-3510-8052-B4C04F4A4D32'],
        serial: ['SN 123'],
        arch: ['efi_bc', 'arch7', 'arch42', 'X86_BIOS'],
        firmware: ['uefi-x64'],
        labels: { zone: 'a', 'topology.kubernetes.io/rack': 'r1', empty: '' },
        hostname: 'worker-??-*',
        cidr: ['10.0.0.0/24', '0.0.0.0/0', '10.0.0.7/32'],
      },
      set: { role: 'worker', profile: 'flatcar-stable', labels: { b: '2', a: '1' } },
    });
    assert.deepEqual(rule, {
      name: 'rack-a',
      priority: 2,
      match: {
        mac: ['52:54:00:ab:cd:ef', '52:54:00:00:00:01'],
        uuid: ['4c4c4544-0044-3510-8052-b4c04f4a4d32'],
        serial: ['SN 123'],
        arch: ['EFI_BC', 'arch42', 'X86_BIOS'],
        firmware: ['uefi-x64'],
        labels: { empty: '', 'topology.kubernetes.io/rack': 'r1', zone: 'a' },
        hostname: 'worker-??-*',
        cidr: ['10.0.0.0/24', '0.0.0.0/0', '10.0.0.7/32'],
      },
      set: { role: 'worker', profile: 'flatcar-stable', labels: { a: '1', b: '2' } },
    });
    assert.equal(JSON.stringify(Object.keys(rule.set.labels ?? {})), '["a","b"]');
  });

  it('accepts an empty match (every machine) and drops empty label maps', () => {
    assert.deepEqual(validateRule({ ...ok, match: { labels: {} } }), { ...ok, match: {} });
    assert.deepEqual(validateRule({ ...ok, set: { role: 'worker', labels: {} } }), ok);
  });

  const bad: [string, unknown, string][] = [
    ['not an object', 'x', 'rules[?]: "x" is not an object'],
    ['bad name', { ...ok, name: 'Checkout' }, 'rules[?].name: "Checkout" is not a rule name'],
    ['long name', { ...ok, name: 'a'.repeat(64) }, 'rules[?].name:'],
    ['missing name', { match: {}, set: { role: 'w' } }, 'rules[?].name: undefined is not a rule name'],
    ['unknown key', { ...ok, matches: {} }, 'rules[checkout].matches: {} is not a known key'],
    [
      'missing match',
      { name: 'checkout', set: { role: 'w' } },
      'rules[checkout].match: undefined is required',
    ],
    ['unknown selector', withMatch({ macs: [] }), 'rules[checkout].match.macs: [] is not a known key'],
    [
      'CIDR prefix',
      withMatch({ cidr: ['10.0.0.0/8', '10.0.0.0/33'] }),
      'rules[checkout].match.cidr[1]: "10.0.0.0/33" is not a CIDR',
    ],
    [
      'CIDR host bits',
      withMatch({ cidr: ['10.0.0.1/24'] }),
      'rules[checkout].match.cidr[0]: "10.0.0.1/24" is not a CIDR',
    ],
    ['CIDR octet', withMatch({ cidr: ['10.0.0.256/32'] }), 'match.cidr[0]: "10.0.0.256/32" is not a CIDR'],
    ['CIDR IPv6', withMatch({ cidr: ['fd00::/64'] }), 'match.cidr[0]: "fd00::/64" is not a CIDR'],
    [
      'MAC',
      withMatch({ mac: ['52:54:00:00:00'] }),
      'rules[checkout].match.mac[0]: "52:54:00:00:00" is not a MAC address',
    ],
    ['MAC type', withMatch({ mac: [5] }), 'match.mac[0]: 5 is not a MAC address'],
    [
      'list type',
      withMatch({ mac: '52:54:00:00:00:01' }),
      'match.mac: "52:54:00:00:00:01" is not a non-empty list',
    ],
    ['empty list', withMatch({ arch: [] }), 'match.arch: [] is not a non-empty list'],
    [
      'huge list',
      withMatch({ serial: Array(1025).fill('s') }),
      'match.serial: "1025 items" is more than 1024',
    ],
    ['UUID', withMatch({ uuid: ['not-a-uuid'] }), 'match.uuid[0]: "not-a-uuid" is not a UUID'],
    ['serial edge space', withMatch({ serial: [' SN1'] }), 'match.serial[0]: " SN1" is not a serial number'],
    ['arch', withMatch({ arch: ['EFI_BCX'] }), 'match.arch[0]: "EFI_BCX" is not an option 93 arch name'],
    [
      'firmware',
      withMatch({ firmware: ['unknown'] }),
      'match.firmware[0]: "unknown" is not one of bios,uefi-x64',
    ],
    [
      'glob character',
      withMatch({ hostname: 'worker_[0-9]' }),
      'match.hostname: "worker_[0-9]" is not a hostname glob',
    ],
    ['glob case', withMatch({ hostname: 'Worker-*' }), 'match.hostname: "Worker-*" is not a hostname glob'],
    [
      'label key',
      withMatch({ labels: { 'bad key': 'x' } }),
      'match.labels[bad key]: "bad key" is not a label key',
    ],
    ['label prefix', withMatch({ labels: { 'Example.com/x': 'x' } }), 'match.labels[Example.com/x]:'],
    ['label value', withMatch({ labels: { zone: 'a b' } }), 'match.labels[zone]: "a b" is not a label value'],
    ['label value type', withMatch({ labels: { zone: 1 } }), 'match.labels[zone]: 1 is not a label value'],
    ['labels type', withMatch({ labels: ['zone'] }), 'match.labels: ["zone"] is not an object'],
    ['empty set', withSet({}), 'rules[checkout].set: {} sets nothing'],
    ['set labels only empty', withSet({ labels: {} }), 'rules[checkout].set: {"labels":{}} sets nothing'],
    [
      'role',
      withSet({ role: 'Control Plane' }),
      'rules[checkout].set.role: "Control Plane" is not a role name',
    ],
    ['profile', withSet({ profile: '' }), 'rules[checkout].set.profile: "" is not a profile name'],
    ['unknown set key', withSet({ hostname: 'x' }), 'rules[checkout].set.hostname: "x" is not a known key'],
    ['priority', { ...ok, priority: 1.5 }, 'rules[checkout].priority: 1.5 is not an integer'],
    ['priority type', { ...ok, priority: '1' }, 'rules[checkout].priority: "1" is not an integer'],
  ];
  for (const [name, input, prefix] of bad) {
    it(`rejects ${name} with the field path`, () => {
      assert.throws(
        () => validateRule(input),
        (err: unknown) => {
          assert.ok(err instanceof MetalseedError);
          assert.equal(err.code, 'INVALID_INPUT');
          assert.ok(err.message.includes(prefix), `${err.message}\n  does not include\n${prefix}`);
          return true;
        },
      );
    });
  }

  it('uses the caller path when given (config files name rules by index)', () => {
    assert.throws(
      () => validateRule(withMatch({ cidr: ['x'] }), 'rules[3]'),
      /^MetalseedError: rules\[3\]\.match\.cidr\[0\]/,
    );
    assert.throws(() => validateRule({ name: 1 }, 'rules[0]'), /rules\[0\]\.name: 1 is not a rule name/);
  });

  it('shortens huge values in messages', () => {
    assert.throws(
      () => validateRule(withMatch({ hostname: 'x'.repeat(300) })),
      (err: Error) => err.message.length < 200,
    );
  });
});
