/**
 * What a machine is: role, profile and labels, decided in one place with a documented
 * precedence: the config file's `machines` entry and the operator's edits (pinned fields)
 * beat rules, rules beat `defaultRole`.
 */
import type { Config, MachineConfig } from '../config/index.ts';
import type { Machine, Rule } from '../inventory/index.ts';
import { type MatchFacts, resolve } from '../inventory/index.ts';

export interface Assignment {
  role: string;
  profile?: string;
  labels: Record<string, string>;
  rule: string | null;
}

export function matchFactsOf(m: Machine): MatchFacts {
  const f: MatchFacts = { macs: m.macs, labels: m.labels, hostname: m.hostname, addresses: m.addresses };
  if (m.uuid) f.uuid = m.uuid;
  if (m.serial) f.serial = m.serial;
  if (m.arch) f.arch = m.arch;
  if (m.firmware) f.firmware = m.firmware;
  return f;
}

export function assign(
  m: Machine,
  rules: readonly Rule[],
  config: Config,
  entry?: MachineConfig,
): Assignment {
  const r = resolve(rules, matchFactsOf(m));
  const pinned = new Set(m.pinned ?? []);
  const role = pinned.has('role') ? m.role : (entry?.role ?? r?.role ?? config.defaultRole);
  const profile = pinned.has('profile') ? m.profile : (entry?.profile ?? r?.profile);
  const out: Assignment = {
    role,
    labels: { ...(r?.labels ?? {}), ...m.labels },
    rule: r?.matched[0] ?? null,
  };
  if (profile !== undefined) out.profile = profile;
  return out;
}
