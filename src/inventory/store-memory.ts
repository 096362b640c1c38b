/**
 * An in-memory `Store`: the fake that unit tests of the provisioner and API run against
 * (matchbox ships `storage/testfakes` for the same reason). It passes the same conformance
 * suite as the SQLite store, so a test that passes here means the same thing there.
 */
import { MetalseedError } from '../lib/errors.ts';
import type { EventQuery, MachineKeys, Store } from './store.ts';
import type { Machine, NewTimelineEvent, ProfileSpec, Rule, TimelineEvent } from './types.ts';

/** Every value crosses the boundary as a copy, like rows read back from a database. */
const copy = structuredClone;

/** Oldest first by firstSeen; the id breaks ties so the order is total. */
function byAge(a: Machine, b: Machine): number {
  return a.firstSeen < b.firstSeen
    ? -1
    : a.firstSeen > b.firstSeen
      ? 1
      : a.id < b.id
        ? -1
        : a.id > b.id
          ? 1
          : 0;
}

function byName<T extends { name: string }>(map: Map<string, T>): T[] {
  return [...map.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((v) => copy(v));
}

/** The identifiers a machine owns, as keys of one namespace (kinds never collide). */
function identifiers(m: {
  macs?: readonly string[];
  uuid?: string | undefined;
  serial?: string | undefined;
}): string[] {
  const keys = (m.macs ?? []).map((x) => `mac:${x}`);
  if (m.uuid !== undefined) keys.push(`uuid:${m.uuid}`);
  if (m.serial !== undefined) keys.push(`serial:${m.serial}`);
  return keys;
}

export class MemoryStore implements Store {
  private readonly machines = new Map<string, Machine>();
  private readonly owners = new Map<string, string>(); // identifier key → machine id
  private events: TimelineEvent[] = []; // seq order
  private seq = 0;
  private readonly rules = new Map<string, Rule>();
  private readonly profiles = new Map<string, ProfileSpec>();
  private readonly meta = new Map<string, string>();

  async getMachine(id: string): Promise<Machine | undefined> {
    const m = this.machines.get(id);
    return m && copy(m);
  }

  async findMachines(keys: MachineKeys): Promise<Machine[]> {
    const ids = new Set(identifiers(keys).flatMap((k) => this.owners.get(k) ?? []));
    return [...ids]
      .map((id) => this.machines.get(id)!)
      .sort(byAge)
      .map((m) => copy(m));
  }

  async listMachines(): Promise<Machine[]> {
    return [...this.machines.values()].sort(byAge).map((m) => copy(m));
  }

  async putMachine(m: Machine, expectedVersion: number | null): Promise<Machine | null> {
    const current = this.machines.get(m.id);
    if ((current?.version ?? null) !== expectedVersion) return null;
    const keys = identifiers(m);
    if (keys.some((k) => (this.owners.get(k) ?? m.id) !== m.id)) return null;
    for (const k of current ? identifiers(current) : []) this.owners.delete(k);
    for (const k of keys) this.owners.set(k, m.id);
    const stored = { ...copy(m), version: (current?.version ?? 0) + 1 };
    this.machines.set(m.id, stored);
    return copy(stored);
  }

  async deleteMachine(id: string): Promise<boolean> {
    const current = this.machines.get(id);
    if (!current) return false;
    for (const k of identifiers(current)) this.owners.delete(k);
    this.machines.delete(id);
    this.events = this.events.filter((e) => e.machineId !== id);
    return true;
  }

  async appendEvent(e: NewTimelineEvent, keep: number): Promise<TimelineEvent> {
    checkKeep(keep);
    const stored: TimelineEvent = { ...copy(e), seq: ++this.seq };
    this.events.push(stored);
    // O(events) per append: fine for a test fake, which never holds many.
    let excess = this.events.filter((x) => x.machineId === e.machineId).length - keep;
    if (excess > 0) this.events = this.events.filter((x) => x.machineId !== e.machineId || excess-- <= 0);
    return copy(stored);
  }

  async listEvents(machineId: string, q: EventQuery = {}): Promise<TimelineEvent[]> {
    const after = q.afterSeq ?? 0;
    const mine = this.events.filter((e) => e.machineId === machineId && e.seq > after);
    const from = q.limit === undefined ? 0 : Math.max(0, mine.length - q.limit);
    return mine.slice(from).map((e) => copy(e));
  }

  async eventsSince(afterSeq: number, limit: number): Promise<TimelineEvent[]> {
    return this.events
      .filter((e) => e.seq > afterSeq)
      .slice(0, limit)
      .map((e) => copy(e));
  }

  async listRules(): Promise<Rule[]> {
    return byName(this.rules);
  }
  async putRule(r: Rule): Promise<void> {
    this.rules.set(r.name, copy(r));
  }
  async deleteRule(name: string): Promise<boolean> {
    return this.rules.delete(name);
  }
  async listProfiles(): Promise<ProfileSpec[]> {
    return byName(this.profiles);
  }
  async putProfile(p: ProfileSpec): Promise<void> {
    this.profiles.set(p.name, copy(p));
  }
  async deleteProfile(name: string): Promise<boolean> {
    return this.profiles.delete(name);
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.meta.get(key);
  }
  async setMeta(key: string, value: string): Promise<void> {
    this.meta.set(key, value);
  }

  async close(): Promise<void> {}
}

/** `keep` below 1 would drop the event being appended; that is a caller bug, not a policy. */
function checkKeep(keep: number): void {
  if (!Number.isInteger(keep) || keep < 1) {
    throw new MetalseedError('INVALID_INPUT', `event retention must be a positive integer, got ${keep}`);
  }
}
