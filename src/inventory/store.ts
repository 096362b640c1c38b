/**
 * The store interface. Every method is async so that a networked store (etcd, next) fits
 * without touching callers; writes that race (two DHCP packets of one machine, an operator
 * edit) use compare-and-set on `Machine.version`.
 */
import type { Mac } from '../lib/net.ts';
import type { Machine, NewTimelineEvent, ProfileSpec, Rule, TimelineEvent } from './types.ts';

export interface MachineKeys {
  macs?: readonly Mac[];
  uuid?: string;
  serial?: string;
}

export interface EventQuery {
  /** Only events with seq greater than this. */
  afterSeq?: number;
  /** At most this many, the newest ones (returned oldest first). */
  limit?: number;
}

export interface Store {
  getMachine(id: string): Promise<Machine | undefined>;
  /** Machines having any of the given identifiers, oldest first (several = a merge to decide). */
  findMachines(keys: MachineKeys): Promise<Machine[]>;
  listMachines(): Promise<Machine[]>;
  /**
   * Writes `m` if the stored version equals `expectedVersion` (null: the machine must not
   * exist). Returns the stored machine (version incremented), or null on a conflict. Fails
   * with a conflict too when another machine already owns one of m's MACs, UUID or serial.
   */
  putMachine(m: Machine, expectedVersion: number | null): Promise<Machine | null>;
  deleteMachine(id: string): Promise<boolean>;

  /** Appends to a machine's timeline, keeping at most `keep` newest events for it. */
  appendEvent(e: NewTimelineEvent, keep: number): Promise<TimelineEvent>;
  listEvents(machineId: string, q?: EventQuery): Promise<TimelineEvent[]>;
  /** All machines' events after `afterSeq`, oldest first (for the live stream). */
  eventsSince(afterSeq: number, limit: number): Promise<TimelineEvent[]>;

  listRules(): Promise<Rule[]>;
  putRule(r: Rule): Promise<void>;
  deleteRule(name: string): Promise<boolean>;
  listProfiles(): Promise<ProfileSpec[]>;
  putProfile(p: ProfileSpec): Promise<void>;
  deleteProfile(name: string): Promise<boolean>;

  /** Small named values (API token hash, cluster ids). */
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  close(): Promise<void>;
}
