/**
 * Can two rules match the same machine? Answered with a witness: facts of a machine both rules
 * match, or null when no such machine exists. The witness makes the ambiguity error concrete
 * ("mac 52:54:00:00:00:01 with arch EFI_BC") and lets tests check the answer by running
 * `matches` on it.
 *
 * Every selector constrains a different fact, so two rules overlap exactly when they overlap
 * field by field. One assumption, for MACs and CIDRs, whose facts are lists: a machine is
 * taken to be reachable through one of them. Two disjoint MAC lists are read as two different
 * machines; otherwise every pair of per-machine rules would be rejected. A machine whose NICs
 * appear in two tied rules still resolves deterministically (name order, see rules.ts).
 */

import { type Cidr, cidrContains, parseCidr } from '../lib/cidr.ts';
import { ipToString } from '../lib/net.ts';
import type { MatchFacts } from './rule-match.ts';
import type { RuleMatch } from './types.ts';

/** A value allowed by both list selectors (absent = anything); null when they are disjoint. */
function common(a: string[] | undefined, b: string[] | undefined): string | undefined | null {
  if (a === undefined) return b?.[0];
  if (b === undefined) return a[0];
  return a.find((x) => b.includes(x)) ?? null;
}

/** An address inside a block of each list: the narrower block's base lies in the wider one. */
function commonAddress(a: string[] | undefined, b: string[] | undefined): string | undefined | null {
  const blocks = (l: string[]) => l.map(parseCidr).filter((c): c is Cidr => c !== null);
  if (a === undefined && b === undefined) return undefined;
  if (a === undefined || b === undefined) return ipToString(blocks(a ?? b ?? [])[0]?.base ?? 0);
  for (const x of blocks(a)) {
    for (const y of blocks(b)) {
      const [wide, narrow] = x.prefix <= y.prefix ? [x, y] : [y, x];
      if (cidrContains(wide, narrow.base)) return ipToString(narrow.base);
    }
  }
  return null;
}

/**
 * The shortest string both globs match, or null. A breadth-first search over pairs of glob
 * positions (the product of the two glob automata): at most 254 × 254 states, so exact, not
 * a heuristic. A `*` may be skipped (empty run) or consume a character and stay put.
 */
export function globIntersection(p: string, q: string): string | null {
  const key = (i: number, j: number) => i * (q.length + 1) + j;
  const from = new Map<number, { prev: number; ch: string }>([[0, { prev: -1, ch: '' }]]);
  const queue: [number, number][] = [[0, 0]];
  const visit = (i: number, j: number, prev: number, ch: string) => {
    if (from.has(key(i, j))) return;
    from.set(key(i, j), { prev, ch });
    queue.push([i, j]);
  };
  for (let head = 0; head < queue.length; head++) {
    const [i, j] = queue[head]!;
    const here = key(i, j);
    if (i === p.length && j === q.length) return spell(from, here);
    const pc = p[i];
    const qc = q[j];
    if (pc === '*') visit(i + 1, j, here, '');
    if (qc === '*') visit(i, j + 1, here, '');
    if (pc === undefined || qc === undefined) continue;
    const pLit = pc !== '*' && pc !== '?';
    const qLit = qc !== '*' && qc !== '?';
    if (pLit && qLit && pc !== qc) continue;
    // Any character both accept; 'a' when both are wildcards (every hostname alphabet has it).
    const ch = pLit ? pc : qLit ? qc : 'a';
    const ni = pc === '*' ? i : i + 1;
    const nj = qc === '*' ? j : j + 1;
    if (ni !== i || nj !== j) visit(ni, nj, here, ch);
  }
  return null;
}

function spell(from: Map<number, { prev: number; ch: string }>, end: number): string {
  const out: string[] = [];
  for (let k = end; k !== 0; ) {
    const step = from.get(k)!;
    out.push(step.ch);
    k = step.prev;
  }
  return out.reverse().join('');
}

/** Facts of a machine both selectors match, or null when they cannot both match. */
export function overlapWitness(a: RuleMatch, b: RuleMatch): MatchFacts | null {
  const mac = common(a.mac, b.mac);
  const uuid = common(a.uuid, b.uuid);
  const serial = common(a.serial, b.serial);
  const arch = common(a.arch, b.arch);
  const firmware = common(a.firmware, b.firmware);
  const address = commonAddress(a.cidr, b.cidr);
  if (mac === null || uuid === null || serial === null || arch === null) return null;
  if (firmware === null || address === null) return null;
  const labels: Record<string, string> = { ...a.labels };
  for (const [k, v] of Object.entries(b.labels ?? {})) {
    if (Object.hasOwn(labels, k) && labels[k] !== v) return null;
    labels[k] = v;
  }
  let hostname: string | undefined;
  if (a.hostname !== undefined || b.hostname !== undefined) {
    const h = globIntersection(a.hostname ?? '*', b.hostname ?? '*');
    if (h === null) return null;
    hostname = h;
  }
  const facts: MatchFacts = { macs: mac ? [mac] : [], labels, addresses: address ? [address] : [] };
  if (uuid !== undefined) facts.uuid = uuid;
  if (serial !== undefined) facts.serial = serial;
  if (arch !== undefined) facts.arch = arch;
  if (firmware !== undefined) facts.firmware = firmware;
  if (hostname !== undefined) facts.hostname = hostname;
  return facts;
}

/** "mac 52:54:00:00:00:01 with arch EFI_BC, labels zone=a": for error messages. */
export function describeFacts(f: MatchFacts): string {
  const parts: string[] = [];
  if (f.macs[0] !== undefined) parts.push(`mac ${f.macs[0]}`);
  if (f.uuid !== undefined) parts.push(`uuid ${f.uuid}`);
  if (f.serial !== undefined) parts.push(`serial ${JSON.stringify(f.serial)}`);
  if (f.arch !== undefined) parts.push(`arch ${f.arch}`);
  if (f.firmware !== undefined) parts.push(`firmware ${f.firmware}`);
  if (f.hostname !== undefined) parts.push(`hostname ${JSON.stringify(f.hostname)}`);
  if (f.addresses[0] !== undefined) parts.push(`address ${f.addresses[0]}`);
  const labels = Object.entries(f.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) parts.push(`labels ${labels.sort().join(',')}`);
  if (parts.length === 0) return 'any machine';
  const [first, ...rest] = parts;
  return rest.length === 0 ? first! : `${first} with ${rest.join(', ')}`;
}
