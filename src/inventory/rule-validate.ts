/**
 * From an untrusted rule (API JSON, config YAML) to a `Rule` in canonical form: MACs lower-case
 * with colons, UUIDs lower-case, arch names as `clientArchName` prints them, list duplicates
 * dropped, label keys sorted. Canonical rules make matching a plain comparison and the
 * ambiguity check exact. Unknown keys are errors: a misspelt selector ("macs:") silently
 * ignored would turn a one-machine rule into a match-everything rule.
 */
import type { FirmwareKind } from '../boot/firmware.ts';
import { ClientArch, type ClientArchName, clientArchName } from '../dhcp/archtypes.ts';
import { parseCidr } from '../lib/cidr.ts';
import { MetalseedError } from '../lib/errors.ts';
import { parseMac } from '../lib/net.ts';
import type { Rule, RuleMatch, RuleSet } from './types.ts';

/** Rule, role and profile names: DNS-label-like, so they are safe in URLs, file names and logs. */
const NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** SMBIOS strings are printable ASCII; no edge spaces, which firmware pads with and nobody types. */
const SERIAL_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;
/** Hostname characters plus the two wildcards; 253 is the DNS name limit (RFC 1035 2.3.4). */
const GLOB_RE = /^[a-z0-9.*?-]{1,253}$/;
/** Kubernetes label syntax: optional DNS-subdomain prefix and "/", then a name of at most 63. */
const LABEL_NAME_RE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX_RE =
  /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** Firmware kinds boot/firmware.ts detects; "unknown" is what we failed to learn, not a kind. */
const FIRMWARE: readonly FirmwareKind[] = ['bios', 'uefi-x64', 'uefi-ia32', 'uefi-arm64', 'uefi-arm32'];
/** Longer lists are a mistake rather than a rule, and they bound the pairwise overlap check. */
const MAX_LIST = 1024;

function fail(path: string, value: unknown, why: string): never {
  let shown = JSON.stringify(value) ?? String(value);
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new MetalseedError('INVALID_INPUT', `${path}: ${shown} ${why}`);
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, v, 'is not an object');
  return v as Record<string, unknown>;
}

function knownKeys(o: Record<string, unknown>, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) fail(`${path}.${k}`, o[k], `is not a known key (expected ${keys.join(', ')})`);
  }
}

function str(v: unknown, path: string, ok: (s: string) => string | null, what: string): string {
  const s = typeof v === 'string' ? ok(v) : null;
  if (s === null) fail(path, v, `is not ${what}`);
  return s;
}

function list(v: unknown, path: string, item: (x: unknown, p: string) => string): string[] {
  if (!Array.isArray(v) || v.length === 0) fail(path, v, 'is not a non-empty list');
  if (v.length > MAX_LIST) fail(path, `${v.length} items`, `is more than ${MAX_LIST} items`);
  const out: string[] = [];
  v.forEach((x, i) => {
    const s = item(x, `${path}[${i}]`);
    if (!out.includes(s)) out.push(s);
  });
  return out;
}

const re = (r: RegExp) => (s: string) => (r.test(s) ? s : null);

/** EFI_BC, efi_bc and arch7 all mean option 93 value 7; stored as clientArchName prints it. */
function archName(s: string): string | null {
  const named = Object.keys(ClientArch).find((k) => k === s.toUpperCase()) as ClientArchName | undefined;
  if (named !== undefined) return named;
  const n = /^arch(\d{1,5})$/i.exec(s);
  return n && Number(n[1]) <= 0xffff ? clientArchName(Number(n[1])) : null;
}

function labels(v: unknown, path: string): Record<string, string> {
  const o = record(v, path);
  const out: Record<string, string> = {};
  for (const k of Object.keys(o).sort()) {
    const slash = k.lastIndexOf('/');
    const prefix = slash < 0 ? null : k.slice(0, slash);
    if (!LABEL_NAME_RE.test(k.slice(slash + 1)) || (prefix !== null && !LABEL_PREFIX_RE.test(prefix))) {
      fail(`${path}[${k}]`, k, 'is not a label key (Kubernetes syntax: [prefix/]name)');
    }
    const val = o[k];
    if (typeof val !== 'string' || (val !== '' && !LABEL_NAME_RE.test(val))) {
      fail(`${path}[${k}]`, val, 'is not a label value (at most 63 of [A-Za-z0-9-_.])');
    }
    out[k] = val;
  }
  return out;
}

function validateMatch(v: unknown, p: string): RuleMatch {
  if (v === undefined) fail(p, v, 'is required ({} matches every machine)');
  const o = record(v, p);
  knownKeys(o, p, ['mac', 'uuid', 'serial', 'arch', 'firmware', 'labels', 'hostname', 'cidr']);
  const m: RuleMatch = {};
  const each = (k: string, ok: (s: string) => string | null, what: string) =>
    list(o[k], `${p}.${k}`, (x, at) => str(x, at, ok, what));
  if (o.mac !== undefined) m.mac = each('mac', parseMac, 'a MAC address');
  if (o.uuid !== undefined) m.uuid = each('uuid', (s) => re(UUID_RE)(s.toLowerCase()), 'a UUID');
  if (o.serial !== undefined) m.serial = each('serial', re(SERIAL_RE), 'a serial number');
  if (o.arch !== undefined) m.arch = each('arch', archName, 'an option 93 arch name (EFI_BC, arch42)');
  if (o.firmware !== undefined) {
    m.firmware = each(
      'firmware',
      (s) => (FIRMWARE.includes(s as FirmwareKind) ? s : null),
      `one of ${FIRMWARE}`,
    );
  }
  if (o.labels !== undefined) {
    const l = labels(o.labels, `${p}.labels`);
    if (Object.keys(l).length > 0) m.labels = l;
  }
  if (o.hostname !== undefined) m.hostname = str(o.hostname, `${p}.hostname`, re(GLOB_RE), 'a hostname glob');
  if (o.cidr !== undefined) m.cidr = each('cidr', (s) => (parseCidr(s) ? s : null), 'a CIDR');
  return m;
}

function validateSet(v: unknown, p: string): RuleSet {
  const o = record(v, p);
  knownKeys(o, p, ['role', 'profile', 'labels']);
  const s: RuleSet = {};
  if (o.role !== undefined) s.role = str(o.role, `${p}.role`, re(NAME_RE), 'a role name');
  if (o.profile !== undefined) s.profile = str(o.profile, `${p}.profile`, re(NAME_RE), 'a profile name');
  if (o.labels !== undefined) {
    const l = labels(o.labels, `${p}.labels`);
    if (Object.keys(l).length > 0) s.labels = l;
  }
  if (Object.keys(s).length === 0) fail(p, v, 'sets nothing (give role, profile or labels)');
  return s;
}

/**
 * Parses an untrusted rule. Errors are MetalseedError('INVALID_INPUT') whose message starts
 * with the field path: `rules[checkout].match.cidr[1]: "10.0.0.0/33" is not a CIDR`. `at`
 * replaces the default `rules[<name>]` prefix (the config loader passes `rules[3]`).
 */
export function validateRule(input: unknown, at?: string): Rule {
  const o = record(input, at ?? 'rules[?]');
  const name = str(
    o.name,
    `${at ?? 'rules[?]'}.name`,
    re(NAME_RE),
    'a rule name (^[a-z0-9][a-z0-9-]{0,62}$)',
  );
  const p = at ?? `rules[${name}]`;
  knownKeys(o, p, ['name', 'match', 'set', 'priority']);
  const rule: Rule = {
    name,
    match: validateMatch(o.match, `${p}.match`),
    set: validateSet(o.set, `${p}.set`),
  };
  if (o.priority !== undefined) {
    if (!Number.isSafeInteger(o.priority)) fail(`${p}.priority`, o.priority, 'is not an integer');
    rule.priority = o.priority as number;
  }
  return rule;
}
