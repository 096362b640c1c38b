#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time and
// the most inclusive time, as a share of all samples. Usage: profile-top.mjs FILE [N]
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-top.mjs FILE.cpuprofile [N]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
const hits = new Map();
for (const id of prof.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = prof.samples.length;
const label = (node) => {
  const f = node.callFrame;
  const url = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/(node_modules\/)/, '$1')
    .replace(/.*\/dist\//, '');
  return `${f.functionName || '(anon)'} ${url}:${f.lineNumber + 1}`;
};
const self = new Map();
const incl = new Map();
for (const [id, count] of hits) {
  const node = byId.get(id);
  self.set(label(node), (self.get(label(node)) ?? 0) + count);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + count);
  }
}
const top = (m) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(n))
    .map(([l, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${l}`)
    .join('\n');
console.log(`samples: ${total}\n-- self --\n${top(self)}\n-- inclusive --\n${top(incl)}`);
