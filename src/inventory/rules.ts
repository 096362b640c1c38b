/**
 * Rule selection (STYLE.md principle 6): the most specific matching rule wins, ties are broken
 * by a total order (specificity, then name), and rule sets where that tie-break would decide
 * between conflicting values are rejected when saved, so it never matters at boot time.
 *
 * Several rules may match one machine. `resolve` layers them like CSS: role and profile come
 * from the most specific matching rule that sets them, labels are merged with the more
 * specific rule's value winning per key. So "every uefi-x64 machine gets label fw=uefi" and
 * "these three MACs are control-plane" both apply to a control-plane UEFI machine. For any rule
 * set that passes `checkAmbiguity`, the result does not depend on rule names or input order
 * (see the property test in rules.test.ts).
 */
import { MetalseedError } from '../lib/errors.ts';
import { compareRules, compareSpecificity, type MatchFacts, matches, specificity } from './rule-match.ts';
import { describeFacts, overlapWitness } from './rule-overlap.ts';
import type { Rule, RuleSet } from './types.ts';

export { compareRules, type MatchFacts, matches, type Specificity, specificity } from './rule-match.ts';
export { validateRule } from './rule-validate.ts';

/** Matching rules, most specific first. */
function ranked(rules: readonly Rule[], facts: MatchFacts): Rule[] {
  return rules.filter((r) => matches(r, facts)).sort(compareRules);
}

/** The most specific matching rule and, lower ranked, the other matches; null when none match. */
export function selectRule(rules: readonly Rule[], facts: MatchFacts): { rule: Rule; also: Rule[] } | null {
  const [rule, ...also] = ranked(rules, facts);
  return rule === undefined ? null : { rule, also };
}

export interface Resolved {
  role?: string;
  profile?: string;
  /** Keys sorted, so stored and rendered output is byte-stable. */
  labels: Record<string, string>;
  /** Names of every matching rule, most specific first. */
  matched: string[];
}

/** What the matching rules set for a machine, layered most specific first. */
export function resolve(rules: readonly Rule[], facts: MatchFacts): Resolved {
  const order = ranked(rules, facts);
  const out: Resolved = { labels: {}, matched: order.map((r) => r.name) };
  const role = order.find((r) => r.set.role !== undefined)?.set.role;
  const profile = order.find((r) => r.set.profile !== undefined)?.set.profile;
  if (role !== undefined) out.role = role;
  if (profile !== undefined) out.profile = profile;
  const labels = new Map<string, string>();
  for (const r of order) {
    for (const [k, v] of Object.entries(r.set.labels ?? {})) if (!labels.has(k)) labels.set(k, v);
  }
  for (const k of [...labels.keys()].sort()) out.labels[k] = labels.get(k)!;
  return out;
}

/** What two rules set differently, e.g. `different role ("worker" vs "control-plane")`. */
function conflicts(a: RuleSet, b: RuleSet): string[] {
  const out: string[] = [];
  const q = JSON.stringify;
  if (a.role !== undefined && b.role !== undefined && a.role !== b.role) {
    out.push(`different role (${q(a.role)} vs ${q(b.role)})`);
  }
  if (a.profile !== undefined && b.profile !== undefined && a.profile !== b.profile) {
    out.push(`different profile (${q(a.profile)} vs ${q(b.profile)})`);
  }
  const bl = b.labels ?? {};
  for (const [k, v] of Object.entries(a.labels ?? {}).sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (Object.hasOwn(bl, k) && bl[k] !== v) out.push(`different label ${k} (${q(v)} vs ${q(bl[k])})`);
  }
  return out;
}

/**
 * Rejects a rule set in which two rules tie on specificity, can both match one machine and set
 * conflicting values: for that machine only the name order would decide, which nobody means.
 * Rules are visited in the total order, so the error names the same pair whatever the input
 * order. O(n²) pairs, each bounded by the validated list sizes; rule sets are saved rarely.
 */
export function checkAmbiguity(rules: readonly Rule[]): void {
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.name)) {
      throw new MetalseedError('INVALID_INPUT', `rules: two rules are named ${JSON.stringify(r.name)}`);
    }
    names.add(r.name);
  }
  const sorted = [...rules].sort(compareRules);
  const scores = sorted.map(specificity);
  for (let i = 0; i < sorted.length; i++) {
    // Sorted by specificity, so the rules tying with i follow it directly.
    for (let j = i + 1; j < sorted.length && compareSpecificity(scores[i]!, scores[j]!) === 0; j++) {
      const a = sorted[i]!;
      const b = sorted[j]!;
      const why = conflicts(a.set, b.set);
      if (why.length === 0) continue;
      const witness = overlapWitness(a.match, b.match);
      if (witness === null) continue;
      throw new MetalseedError(
        'RULE_AMBIGUOUS',
        `rules "${a.name}" and "${b.name}" can both match a machine (${describeFacts(witness)}) ` +
          `with equal specificity [${scores[i]!.join(',')}] and set ${why.join(', ')}`,
        `give one of them a higher priority or a more specific match`,
      );
    }
  }
}
