/**
 * What the operator API and CLI may do with the inventory. The provisioner implements it;
 * `api/` depends only on this interface (and tests it against a fake).
 */
import type { Machine, ProfileSpec, Rule, TimelineEvent } from './types.ts';

export interface MachinePatch {
  role?: string;
  hostname?: string;
  profile?: string | null;
  /** Merged into the labels; a null value removes that label. */
  labels?: Record<string, string | null>;
}

export interface Preview {
  machine: Machine | null; // null: unknown MAC, shown as it would be enrolled
  rule: string | null; // name of the matched rule
  profile: string;
  ipxe: string; // the per-machine iPXE script
  config: { contentType: string; body: string }; // the rendered config (/ignition)
}

export interface ArmState {
  role: 'controller';
  armed: boolean;
  /** ISO 8601 end of the window, null when not armed. */
  until: string | null;
}

export interface InventoryService {
  listMachines(): Promise<Machine[]>;
  /** By id, any MAC, UUID, serial or hostname. */
  findMachine(ref: string): Promise<Machine | undefined>;
  updateMachine(id: string, patch: MachinePatch): Promise<Machine>;
  approveMachine(id: string): Promise<Machine>;
  deleteMachine(id: string): Promise<void>;
  timeline(id: string, q?: { afterSeq?: number; limit?: number }): Promise<TimelineEvent[]>;

  listRules(): Promise<Rule[]>;
  /** Rejects (code RULE_AMBIGUOUS) when the new rule set is ambiguous, naming the rules. */
  putRule(rule: Rule): Promise<Rule>;
  deleteRule(name: string): Promise<void>;
  listProfiles(): Promise<ProfileSpec[]>;
  putProfile(p: ProfileSpec): Promise<ProfileSpec>;
  deleteProfile(name: string): Promise<void>;

  preview(q: { mac: string; uuid?: string; arch?: string }): Promise<Preview>;

  /** Controller enrolment: while armed, controllers may fetch their secret stage once. */
  armState(): Promise<ArmState>;
  arm(role: 'controller', seconds: number): Promise<ArmState>;
  disarm(): Promise<ArmState>;
  /** Live events of every machine; returns the unsubscribe function. */
  subscribe(listener: (e: TimelineEvent) => void): () => void;
}
