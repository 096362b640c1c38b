/**
 * From facts to a machine: the known machine owning any of the identifiers (a machine that
 * boots from a second NIC, or is first seen by MAC and later by UUID, stays one machine), or a
 * new one enrolled with what the config, rules and `defaultRole` say.
 */
import type { Config, MachineConfig } from '../config/index.ts';
import type { Machine, MachineKeys, Rule } from '../inventory/index.ts';
import { assign } from './assign.ts';
import type { MachineFacts } from './facts.ts';
import { generatedHostname, machineId, usableId } from './identity.ts';
import type { Registry } from './registry.ts';

/** A waiting machine's role until it is approved (defaultRole: none). */
export const PENDING_ROLE = 'none';
const MAX_ADDRESSES = 4;
/** lastSeen alone is persisted at most this often per machine (boot storms send many packets). */
const LAST_SEEN_PERSIST_MS = 60_000;

export interface EnrolContext {
  config: Config;
  rules: readonly Rule[];
  registry: Registry;
  now: Date;
}

export function enrol(facts: MachineFacts, ctx: EnrolContext): { machine: Machine; created: boolean } {
  const uuid = usableId(facts.uuid);
  const serial = usableId(facts.serial);
  const keys: MachineKeys = { macs: [facts.mac] };
  if (uuid) keys.uuid = uuid;
  if (serial) keys.serial = serial;
  const known = ctx.registry.find(keys);
  if (!known) return { machine: ctx.registry.put(newMachine(facts, ctx)), created: true };
  const next = merge(known, facts, uuid, serial, ctx);
  if (!next) return { machine: known, created: false };
  return { machine: ctx.registry.put(next), created: false };
}

function configEntry(config: Config, facts: MachineFacts): MachineConfig | undefined {
  return config.machines.find((m) => m.mac === facts.mac);
}

/** The machine these facts would enrol as (not registered: preview uses it as is). */
export function newMachine(facts: MachineFacts, ctx: Omit<EnrolContext, 'registry'>): Machine {
  const uuid = usableId(facts.uuid);
  const serial = usableId(facts.serial);
  const id = machineId({ mac: facts.mac, ...(uuid ? { uuid } : {}), ...(serial ? { serial } : {}) });
  const now = ctx.now.toISOString();
  const entry = configEntry(ctx.config, facts);
  const m: Machine = {
    id,
    hostname: '',
    role: '',
    labels: {},
    macs: [facts.mac],
    addresses: facts.address ? [facts.address] : [],
    state: 'discovered',
    hostnameSource: entry?.hostname ? 'config' : 'generated',
    firstSeen: now,
    lastSeen: now,
    version: 0,
  };
  if (uuid) m.uuid = uuid;
  if (serial) m.serial = serial;
  if (facts.firmware) m.firmware = facts.firmware;
  if (facts.arch) m.arch = facts.arch;
  const a = assign(m, ctx.rules, ctx.config, entry);
  const pinned = [
    ...(entry?.role ? (['role'] as const) : []),
    ...(entry?.profile ? (['profile'] as const) : []),
  ];
  if (pinned.length > 0) m.pinned = pinned;
  m.role = a.role;
  if (a.profile !== undefined) m.profile = a.profile;
  if (a.role === PENDING_ROLE) m.state = 'pending';
  m.hostname = entry?.hostname ?? generatedHostname(a.role === PENDING_ROLE ? 'machine' : a.role, id);
  return m;
}

/** The updated machine, or null when nothing worth persisting changed. */
function merge(
  m: Machine,
  facts: MachineFacts,
  uuid: string | undefined,
  serial: string | undefined,
  ctx: EnrolContext,
): Machine | null {
  const stale = ctx.now.getTime() - Date.parse(m.lastSeen) > LAST_SEEN_PERSIST_MS;
  if (!stale && sameFacts(m, facts, uuid, serial)) return touched(m, ctx);
  const next: Machine = { ...m, macs: [...m.macs], addresses: [...m.addresses] };
  if (!next.macs.includes(facts.mac)) next.macs.push(facts.mac);
  if (uuid && !next.uuid) next.uuid = uuid;
  if (serial && !next.serial) next.serial = serial;
  if (ctx.registry.ownedElsewhere(next).length > 0) {
    // another machine owns one of the new identifiers: keep this one as it was
    next.macs = [...m.macs];
    if (m.uuid === undefined) delete next.uuid;
    if (m.serial === undefined) delete next.serial;
  }
  if (facts.firmware) next.firmware = facts.firmware;
  if (facts.arch) next.arch = facts.arch;
  if (facts.address && next.addresses[0] !== facts.address) {
    next.addresses = [facts.address, ...next.addresses.filter((a) => a !== facts.address)].slice(
      0,
      MAX_ADDRESSES,
    );
  }
  if (!stale && !mergedFieldsDiffer(next, m)) return touched(m, ctx);
  next.lastSeen = ctx.now.toISOString();
  return next;
}

/**
 * Whether the facts hold nothing new for `m` (what merge would change, asked without
 * building the merged copy): every DHCP packet of a known machine asks this several times.
 */
function sameFacts(
  m: Machine,
  facts: MachineFacts,
  uuid: string | undefined,
  serial: string | undefined,
): boolean {
  return (
    m.macs.includes(facts.mac) &&
    (!uuid || !!m.uuid) &&
    (!serial || !!m.serial) &&
    (!facts.firmware || facts.firmware === m.firmware) &&
    (!facts.arch || facts.arch === m.arch) &&
    (!facts.address || m.addresses[0] === facts.address)
  );
}

/** Nothing worth persisting: only `lastSeen` moves, in memory. */
function touched(m: Machine, ctx: EnrolContext): null {
  m.lastSeen = ctx.now.toISOString();
  return null;
}

/**
 * Whether merge changed anything: it only touches these fields, so comparing them is exact
 * (and cheap: every DHCP packet and HTTP request of a machine passes through here).
 */
function mergedFieldsDiffer(a: Machine, b: Machine): boolean {
  return (
    a.uuid !== b.uuid ||
    a.serial !== b.serial ||
    a.firmware !== b.firmware ||
    a.arch !== b.arch ||
    !sameList(a.macs, b.macs) ||
    !sameList(a.addresses, b.addresses)
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
