/**
 * The seed's memory: machines, their boot timelines, rules and profiles. Plain data, no
 * behaviour; the provisioner decides, stores persist.
 */
import type { Mac } from '../lib/net.ts';

/**
 * Derived from a machine's timeline (provisioner/state.ts): discovered (seen by DHCP or HTTP)
 * → booting (iPXE script served) → configured (config served) → provisioned (first-boot report)
 * → joined (Kubernetes Node Ready, issue 4). `pending` waits for approval (defaultRole: none).
 */
export const MACHINE_STATES = [
  'pending',
  'discovered',
  'booting',
  'configured',
  'provisioned',
  'joined',
] as const;
export type MachineState = (typeof MACHINE_STATES)[number];

export interface Machine {
  /** Stable id, derived from the first identifier the seed saw ("m-" + 12 hex). */
  id: string;
  hostname: string;
  role: string;
  /** Explicit profile; otherwise the role's profile. */
  profile?: string;
  labels: Record<string, string>;
  /** Every MAC the machine was seen with, first-seen first. */
  macs: Mac[];
  /** SMBIOS UUID (lower-case), when firmware reported a non-zero one. */
  uuid?: string;
  serial?: string;
  /** Last firmware kind seen (bios, uefi-x64, ...) and option-93 arch name. */
  firmware?: string;
  arch?: string;
  addresses: string[];
  state: MachineState;
  /** Set by the operator or a rule, not generated: a rename is kept across re-enrolment. */
  hostnameSource: 'generated' | 'config' | 'rule' | 'operator';
  /** Fields set by the operator or the config file's `machines`; rules do not change them. */
  pinned?: ('role' | 'profile')[];
  /**
   * When the machine first reported a finished provisioning (ISO 8601). A machine with a
   * persistent root (controllers) is not given Ignition's first boot again after that.
   */
  provisionedAt?: string;
  firstSeen: string; // ISO 8601
  lastSeen: string;
  /** Compare-and-set version: every successful write increments it. */
  version: number;
}

/** One step of a machine's boot chain. */
export interface TimelineEvent {
  machineId: string;
  /** Per-store monotonic sequence number (total order of all events). */
  seq: number;
  time: string; // ISO 8601
  /** dhcp.offer, dhcp.ack, dhcp.nak, tftp.done, http.ipxe, http.kernel, http.ignition, report, error ... */
  type: string;
  mac?: Mac;
  durationMs?: number;
  /** Step details: address, file, bytes, profile, error message ... */
  data: Record<string, unknown>;
}

export type NewTimelineEvent = Omit<TimelineEvent, 'seq'>;

/** Selector of a rule. Every given field must match (AND); lists match any element (OR). */
export interface RuleMatch {
  mac?: Mac[];
  uuid?: string[];
  serial?: string[];
  arch?: string[];
  firmware?: string[];
  /** Every label given must be present with that value. */
  labels?: Record<string, string>;
  /** Shell-style glob on the hostname: "worker-*", "cp-0?". */
  hostname?: string;
  /** CIDR blocks, any of the machine's addresses inside one. */
  cidr?: string[];
}

export interface RuleSet {
  role?: string;
  profile?: string;
  labels?: Record<string, string>;
}

export interface Rule {
  name: string;
  match: RuleMatch;
  set: RuleSet;
  /** Higher wins before specificity is compared; default 0. */
  priority?: number;
}

export interface ProfileSpec {
  name: string;
  kernel: string;
  initrds: string[];
  args: string[];
  efiBinary: 'ipxe' | 'snponly';
  /** Config rendered at /ignition: the built-in generator by role, or a template. */
  config:
    | { kind: 'ignition-role' }
    | { kind: 'template'; format: 'ignition' | 'cloud-config' | 'plain'; template: string };
}
