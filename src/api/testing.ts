/**
 * An in-memory InventoryService for API and CLI tests, with a small fixed inventory. It keeps
 * the interface's contract where tests depend on it: NOT_FOUND for unknown ids/names,
 * RULE_AMBIGUOUS for a rule whose selector equals another's, null labels removed.
 */
import Fastify from 'fastify';
import type {
  ArmState,
  InventoryService,
  Machine,
  MachinePatch,
  Preview,
  ProfileSpec,
  Rule,
  TimelineEvent,
} from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { type Logger, silentLogger } from '../lib/log.ts';
import { registerApi } from './register.ts';
import { tokenCheck } from './token.ts';

const T0 = '2024-05-01T10:00:00.000Z';

export function fixtureMachines(): Machine[] {
  const base = { labels: {}, addresses: [] as string[], firstSeen: T0, lastSeen: T0, version: 1 };
  return [
    {
      ...base,
      id: 'm-00000000000b',
      hostname: 'worker-01',
      role: 'worker',
      macs: ['52:54:00:00:00:02'],
      uuid: '4c4c4544-0000-0000-0000-000000000002',
      serial: 'SN-0002',
      labels: { rack: 'r1' },
      addresses: ['192.168.0.12'],
      state: 'provisioned',
      hostnameSource: 'generated',
    },
    {
      ...base,
      id: 'm-00000000000a',
      hostname: 'cp-01',
      role: 'controller',
      macs: ['52:54:00:00:00:01'],
      addresses: ['192.168.0.11'],
      state: 'booting',
      hostnameSource: 'config',
    },
    {
      ...base,
      id: 'm-00000000000c',
      hostname: 'new-03',
      role: 'worker',
      macs: ['52:54:00:00:00:03'],
      state: 'pending',
      hostnameSource: 'generated',
    },
  ];
}

export function fixtureEvents(): TimelineEvent[] {
  const mac = '52:54:00:00:00:02';
  return [
    { machineId: 'm-00000000000b', seq: 1, time: T0, type: 'dhcp.ack', mac, data: { ip: '192.168.0.12' } },
    {
      machineId: 'm-00000000000b',
      seq: 2,
      time: T0,
      type: 'tftp.done',
      mac,
      durationMs: 41,
      data: { file: 'undionly.kpxe', bytes: 70000 },
    },
    {
      machineId: 'm-00000000000b',
      seq: 3,
      time: T0,
      type: 'http.ignition',
      mac,
      data: { profile: 'flatcar' },
    },
  ];
}

export class FakeInventory implements InventoryService {
  machines = fixtureMachines();
  events = fixtureEvents();
  rules: Rule[] = [{ name: 'rack1-workers', match: { labels: { rack: 'r1' } }, set: { role: 'worker' } }];
  profiles: ProfileSpec[] = [
    {
      name: 'flatcar',
      kernel: '/assets/flatcar/vmlinuz',
      initrds: ['/assets/flatcar/initrd'],
      args: ['console=ttyS0'],
      efiBinary: 'ipxe',
      config: { kind: 'ignition-role' },
    },
  ];
  /** Thrown by every call when set: lets tests check the mapping of unexpected failures. */
  failWith: unknown = null;
  private readonly listeners = new Set<(e: TimelineEvent) => void>();

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Delivers an event to every subscriber, as the provisioner does when a boot step happens. */
  emit(e: TimelineEvent): void {
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  async listMachines(): Promise<Machine[]> {
    this.check();
    return this.machines;
  }
  async findMachine(ref: string): Promise<Machine | undefined> {
    this.check();
    return this.machines.find((m) => [m.id, m.hostname, m.uuid, m.serial, ...m.macs].includes(ref));
  }
  async updateMachine(id: string, patch: MachinePatch): Promise<Machine> {
    const m = this.byId(id);
    const labels = { ...m.labels };
    for (const [k, v] of Object.entries(patch.labels ?? {})) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    const { profile, labels: _l, ...rest } = patch;
    const next: Machine = { ...m, ...rest, labels, version: m.version + 1 };
    if (profile === null) delete next.profile;
    else if (profile !== undefined) next.profile = profile;
    this.machines = this.machines.map((x) => (x.id === id ? next : x));
    return next;
  }
  async approveMachine(id: string): Promise<Machine> {
    const m = this.byId(id);
    return this.updateMachine(m.id, {}).then((x) => Object.assign(x, { state: 'discovered' as const }));
  }
  async deleteMachine(id: string): Promise<void> {
    this.byId(id);
    this.machines = this.machines.filter((m) => m.id !== id);
  }
  async timeline(id: string, q: { afterSeq?: number; limit?: number } = {}): Promise<TimelineEvent[]> {
    this.byId(id);
    const after = this.events.filter((e) => e.machineId === id && e.seq > (q.afterSeq ?? 0));
    return after.slice(0, q.limit ?? after.length);
  }

  async listRules(): Promise<Rule[]> {
    this.check();
    return this.rules;
  }
  async putRule(rule: Rule): Promise<Rule> {
    this.check();
    const clash = this.rules.find(
      (r) =>
        r.name !== rule.name &&
        JSON.stringify(r.match) === JSON.stringify(rule.match) &&
        (r.priority ?? 0) === (rule.priority ?? 0),
    );
    if (clash) {
      throw new MetalseedError(
        'RULE_AMBIGUOUS',
        `rules "${clash.name}" and "${rule.name}" match the same machines`,
        'give one a higher priority',
      );
    }
    this.rules = [...this.rules.filter((r) => r.name !== rule.name), rule];
    return rule;
  }
  async deleteRule(name: string): Promise<void> {
    this.check();
    if (!this.rules.some((r) => r.name === name)) throw new MetalseedError('NOT_FOUND', `no rule "${name}"`);
    this.rules = this.rules.filter((r) => r.name !== name);
  }
  async listProfiles(): Promise<ProfileSpec[]> {
    this.check();
    return this.profiles;
  }
  async putProfile(p: ProfileSpec): Promise<ProfileSpec> {
    this.check();
    this.profiles = [...this.profiles.filter((x) => x.name !== p.name), p];
    return p;
  }
  async deleteProfile(name: string): Promise<void> {
    this.check();
    if (!this.profiles.some((p) => p.name === name))
      throw new MetalseedError('NOT_FOUND', `no profile "${name}"`);
    this.profiles = this.profiles.filter((p) => p.name !== name);
  }

  armedUntil: Date | null = null;

  async armState(): Promise<ArmState> {
    this.check();
    return {
      role: 'controller',
      armed: this.armedUntil !== null,
      until: this.armedUntil?.toISOString() ?? null,
    };
  }

  async arm(_role: 'controller', seconds: number): Promise<ArmState> {
    this.check();
    this.armedUntil = new Date(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000);
    return this.armState();
  }

  async disarm(): Promise<ArmState> {
    this.check();
    this.armedUntil = null;
    return this.armState();
  }

  async preview(q: { mac: string; uuid?: string; arch?: string }): Promise<Preview> {
    this.check();
    const machine = this.machines.find((m) => m.macs.includes(q.mac)) ?? null;
    return {
      machine,
      rule: machine?.labels['rack'] === 'r1' ? 'rack1-workers' : null,
      profile: 'flatcar',
      ipxe: `#!ipxe\nkernel /assets/flatcar/vmlinuz console=ttyS0\n# mac ${q.mac} arch ${q.arch ?? '-'}\nboot\n`,
      config: { contentType: 'application/json', body: '{"ignition":{"version":"3.3.0"}}' },
    };
  }

  subscribe(listener: (e: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private check(): void {
    if (this.failWith !== null) throw this.failWith;
  }
  private byId(id: string): Machine {
    this.check();
    const m = this.machines.find((x) => x.id === id);
    if (!m) throw new MetalseedError('NOT_FOUND', `no machine with id "${id}"`);
    return m;
  }
}

export const TEST_TOKEN = 'test-token-0123456789';

/** A fastify app with only the API mounted on a FakeInventory, ready for `inject` or `listen`. */
export async function testApi(o: { keepAliveMs?: number; logger?: Logger } = {}) {
  // forceCloseConnections: fetch (undici) may hold a spare idle socket that would delay close()
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const service = new FakeInventory();
  registerApi(app, { service, token: tokenCheck(TEST_TOKEN), logger: o.logger ?? silentLogger, ...o });
  await app.ready();
  return { app, service, auth: { authorization: `Bearer ${TEST_TOKEN}` } };
}
