import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byKeys, fields, pairs, render, sortKeys, table } from './output.ts';

test('json and yaml sort keys at every depth, so equal data prints equal bytes', () => {
  const a = { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } };
  const b = { a: { c: null, d: [{ y: 2, z: 1 }] }, b: 1 };
  for (const f of ['json', 'yaml'] as const)
    assert.equal(
      render(f, a, () => ''),
      render(f, b, () => ''),
    );
  assert.equal(
    render('json', a, () => ''),
    '{\n  "a": {\n    "c": null,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
  );
  assert.deepEqual(sortKeys([3, 1]), [3, 1], 'arrays keep their order');
});

test('table pads every column but the last and never ends a line in spaces', () => {
  assert.equal(
    table(
      ['A', 'LONG'],
      [
        ['xyz', ''],
        ['1', '2'],
      ],
    ),
    'A     LONG\nxyz\n1     2\n',
  );
});

test('fields aligns values; pairs prints sorted key=value or "-"', () => {
  assert.equal(
    fields([
      ['id', 'x'],
      ['last seen', 'y'],
    ]),
    'id:        x\nlast seen: y\n',
  );
  assert.equal(pairs({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(pairs({}), '-');
});

test('byKeys orders by each key in turn', () => {
  const rows = [
    { h: 'b', id: '2' },
    { h: 'a', id: '9' },
    { h: 'b', id: '1' },
  ];
  assert.deepEqual(
    rows
      .sort(
        byKeys(
          (r) => r.h,
          (r) => r.id,
        ),
      )
      .map((r) => r.id),
    ['9', '1', '2'],
  );
});
