/**
 * Matching one rule against what the seed knows about a machine, and how specific a rule is.
 * Rules are assumed to come from `validateRule` (MACs canonical, UUIDs lower-case, arch names
 * canonical, CIDRs with no host bits); facts are normalised here because they come from many
 * places (DHCP, HTTP, the store).
 */
import { type Cidr, cidrContains, parseCidr } from '../lib/cidr.ts';
import { parseIPv4, parseMac } from '../lib/net.ts';
import type { Rule, RuleMatch } from './types.ts';

/** What a rule is matched against: a machine's identifiers and the facts its firmware reported. */
export interface MatchFacts {
  macs: string[];
  uuid?: string;
  serial?: string;
  /** Option 93 arch name as `clientArchName` prints it (EFI_BC, X86_BIOS, arch42). */
  arch?: string;
  /** Firmware kind (bios, uefi-x64, ...). */
  firmware?: string;
  /**
   * The machine's own labels (operator or config). Labels set by rules are not fed back in:
   * a rule matching another rule's output would make the result depend on evaluation order.
   */
  labels: Record<string, string>;
  hostname?: string;
  addresses: string[];
}

/**
 * Shell-style glob: `*` any run (also empty), `?` exactly one character, everything else
 * literal. Greedy with one backtrack point, so O(glob × name) at worst, never exponential
 * the way a naive regex translation of "a*a*a*a*b" can be.
 */
export function globMatch(glob: string, s: string): boolean {
  let g = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === s[i])) {
      g++;
      i++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = i;
    } else if (star >= 0) {
      g = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}

/** A list selector matches when absent, or when the fact is present and listed (OR). */
function listed(list: string[] | undefined, fact: string | undefined): boolean {
  return list === undefined || (fact !== undefined && list.includes(fact));
}

/** Every given field must match (AND); within a list any element will do (OR). */
export function matches(rule: Rule, facts: MatchFacts): boolean {
  const m = rule.match;
  const macs = m.mac;
  if (macs && !facts.macs.some((x) => macs.includes(parseMac(x) ?? x))) return false;
  if (!listed(m.uuid, facts.uuid?.toLowerCase())) return false;
  if (!listed(m.serial, facts.serial)) return false;
  if (!listed(m.arch, facts.arch)) return false;
  if (!listed(m.firmware, facts.firmware)) return false;
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    if (!Object.hasOwn(facts.labels, k) || facts.labels[k] !== v) return false;
  }
  if (m.hostname !== undefined) {
    // Hostnames are case-insensitive (RFC 4343); globs are validated lower-case.
    if (facts.hostname === undefined || !globMatch(m.hostname, facts.hostname.toLowerCase())) return false;
  }
  if (m.cidr) {
    const blocks = m.cidr.map(parseCidr).filter((c): c is Cidr => c !== null);
    const addrs = facts.addresses.map(parseIPv4).filter((a): a is number => a !== null);
    if (!addrs.some((a) => blocks.some((c) => cidrContains(c, a)))) return false;
  }
  return true;
}

/**
 * How specific a rule is: a tuple compared lexicographically, higher is more specific.
 *
 *   [0] priority  rule.priority ?? 0; the operator's override, beats everything below.
 *   [1] identity  how many of mac, uuid, serial are given (0-3): they name single machines.
 *   [2] hardware  how many of arch, firmware are given (0-2): they name a kind of machine.
 *   [3] cidr      0 when absent, else 1 + the shortest prefix in the list: the widest block
 *                 bounds what the rule covers (longest-prefix-match, as routers do).
 *   [4] hostname  0 when absent, else 1 + the glob's literal (non `*`/`?`) characters.
 *   [5] labels    how many labels are required.
 *
 * List lengths (3 MACs vs 20) deliberately do not count: ordering two racks by how many
 * machines they list would be an accident, so equal rules that conflict are rejected when
 * saved (checkAmbiguity) and the operator states the winner with a priority.
 */
export type Specificity = readonly [number, number, number, number, number, number];

export function specificity(rule: Rule): Specificity {
  const m: RuleMatch = rule.match;
  const count = (...xs: unknown[]) => xs.filter((x) => x !== undefined).length;
  const prefixes = (m.cidr ?? []).map((s) => parseCidr(s)?.prefix ?? 0);
  return [
    rule.priority ?? 0,
    count(m.mac, m.uuid, m.serial),
    count(m.arch, m.firmware),
    m.cidr ? 1 + Math.min(...prefixes) : 0,
    m.hostname !== undefined ? 1 + m.hostname.replace(/[*?]/g, '').length : 0,
    Object.keys(m.labels ?? {}).length,
  ];
}

/** Positive when a is more specific than b, 0 when equal. */
export function compareSpecificity(a: Specificity, b: Specificity): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return 0;
}

/**
 * The total order rules are tried in: most specific first, then name ascending. Names are
 * unique and compared by code unit, not locale, so the order is the same on every host.
 */
export function compareRules(a: Rule, b: Rule): number {
  const s = compareSpecificity(specificity(b), specificity(a));
  if (s !== 0) return s;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
