import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYamlDocuments, renderYamlDocuments } from './yaml.ts';

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
});
