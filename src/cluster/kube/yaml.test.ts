import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { prng } from '../../../test/helpers/captures.ts';
import { blockYaml, parseYamlDocuments, renderYamlDocuments, YAML_OPTIONS } from './yaml.ts';

describe('renderYamlDocuments', () => {
  it('sorts keys, with apiVersion, kind and metadata first', () => {
    const text = renderYamlDocuments([
      { spec: { b: 1, a: 2 }, metadata: { name: 'x' }, kind: 'K', apiVersion: 'v1' },
    ]);
    assert.equal(text, 'apiVersion: v1\nkind: K\nmetadata:\n  name: x\nspec:\n  a: 2\n  b: 1\n');
  });

  it('gives the same bytes whatever the construction order', () => {
    const a = renderYamlDocuments([{ kind: 'K', x: { p: 1, q: [2, 3] } }]);
    const b = renderYamlDocuments([{ x: { q: [2, 3], p: 1 }, kind: 'K' }]);
    assert.equal(a, b);
  });

  it('separates documents with --- and drops undefined', () => {
    assert.equal(renderYamlDocuments([{ a: 1, b: undefined }, { c: 2 }]), 'a: 1\n---\nc: 2\n');
  });

  it('quotes what a YAML 1.1 reader (go-yaml) would not read as a string', () => {
    const text = renderYamlDocuments([{ a: 'on', b: 'no', c: '10:30', d: 'false', e: '5000', f: 'y' }]);
    assert.equal(text, 'a: "on"\nb: "no"\nc: "10:30"\nd: "false"\ne: "5000"\nf: "y"\n');
  });

  it('writes shared objects twice, never as anchors', () => {
    const labels = { app: 'x' };
    const text = renderYamlDocuments([{ a: labels, b: labels }]);
    assert.doesNotMatch(text, /[&*]/);
  });

  it('writes multi-line strings as literal blocks and long lines unfolded', () => {
    const long = 'x'.repeat(200);
    const text = renderYamlDocuments([{ json: '{\n  "a": 1\n}\n', long }]);
    assert.equal(text, `json: |\n  {\n    "a": 1\n  }\nlong: ${long}\n`);
  });

  it('round-trips', () => {
    const docs = [
      { kind: 'A', list: [{ name: 'n', value: '1' }], nested: { t: true, n: 6443 } },
      { kind: 'B' },
    ];
    assert.deepEqual(parseYamlDocuments(renderYamlDocuments(docs)), docs);
  });

  it('writes Kubernetes-shaped documents itself, byte for byte as the yaml library does', () => {
    const words = [
      'a',
      'name',
      'node-ip',
      'kubeadm.k8s.io/v1beta4',
      'unix:///run/containerd/containerd.sock',
      'sha256:0123abcd',
      '10.0.0.21',
      '192.168.100.254',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.',
      '1234.1.1.1',
      '10.0.0.0/16',
      'k8s-api.lab.example:6443',
      '6443',
      '0x1f',
      '012',
      '1e3',
      '.inf',
      '-1',
      '~',
      '',
      ' lead',
      'trail ',
      'a: b',
      'a #b',
      '#c',
      '- x',
      '? x',
      '"q"',
      "'s'",
      'on',
      'Off',
      'yes',
      'n',
      'NULL',
      'true',
      '10:30',
      '2001-12-14',
      'x,y',
      '[a]',
      '{b}',
      '&a',
      '*b',
      '!tag',
      '%p',
      '@x',
      '`t`',
      '|',
      '>',
      'ünï',
      'a\tb',
      'multi\nline',
      'back\\slash',
      'x'.repeat(120),
    ];
    const next = prng(6);
    const rand = (): number => next() / 2 ** 32;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth < 3 && r < 0.25) return map(depth + 1);
      if (depth < 3 && r < 0.4) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      if (r < 0.5) return pick([0, 1, 6443, -3, 2 ** 40, 0.5, true, false, null]);
      return pick(words);
    };
    const map = (depth: number): Record<string, unknown> =>
      Object.fromEntries(Array.from({ length: Math.floor(rand() * 5) }, () => [pick(words), value(depth)]));
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = map(0);
      const own = blockYaml(doc);
      if (own === null) continue;
      fast++;
      assert.equal(own, stringify(doc, YAML_OPTIONS), JSON.stringify(doc));
    }
    assert.ok(fast > 1000, `only ${fast} of 3000 documents written directly`);
  });
});
