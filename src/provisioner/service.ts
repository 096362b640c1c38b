/**
 * The operator's view of the inventory (the API's `InventoryService`), implemented on the
 * provisioner: edits go through the same registry and timeline as boot steps, and rule or
 * profile changes are checked before they are stored.
 */

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
import { checkAmbiguity, validateRule } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { parseMac } from '../lib/net.ts';
import { assign } from './assign.ts';
import { newMachine, PENDING_ROLE } from './enrol.ts';
import { generatedHostname } from './identity.ts';
import { validateProfile } from './profiles.ts';
import type { Provisioner } from './provisioner.ts';
import type { SecretGate } from './secret-gate.ts';

const HOSTNAME_RE =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const LABEL_KEY_RE = /^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

const notFound = (what: string) =>
  new MetalseedError(
    'NOT_FOUND',
    `no machine ${JSON.stringify(what)}`,
    'list them with `metalseed machines list`',
  );
const invalid = (msg: string) => new MetalseedError('INVALID_INPUT', msg);

export class ProvisionerService implements InventoryService {
  constructor(private readonly p: Provisioner) {}

  async listMachines(): Promise<Machine[]> {
    return this.p.registry.all();
  }

  async findMachine(ref: string): Promise<Machine | undefined> {
    const r = this.p.registry;
    const byId = r.get(ref);
    if (byId) return byId;
    const mac = parseMac(ref);
    const lower = ref.toLowerCase();
    return (
      (mac ? r.find({ macs: [mac] }) : undefined) ??
      r.find({ uuid: lower }) ??
      r.find({ serial: lower }) ??
      r.all().find((m) => m.hostname === lower)
    );
  }

  private async mustFind(ref: string): Promise<Machine> {
    const m = await this.findMachine(ref);
    if (!m) throw notFound(ref);
    return m;
  }

  async updateMachine(ref: string, patch: MachinePatch): Promise<Machine> {
    const m = await this.mustFind(ref);
    const next: Machine = { ...m, labels: { ...m.labels }, pinned: [...(m.pinned ?? [])] };
    if (patch.role !== undefined) {
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(patch.role))
        throw invalid(`role: "${patch.role}" must match [a-z0-9][a-z0-9-]*`);
      next.role = patch.role;
      if (!next.pinned!.includes('role')) next.pinned!.push('role');
      if (m.hostnameSource === 'generated') next.hostname = generatedHostname(patch.role, m.id);
      if (m.state === 'pending' && patch.role !== PENDING_ROLE) next.state = 'discovered';
    }
    if (patch.profile !== undefined) {
      if (patch.profile === null) {
        delete next.profile;
        next.pinned = next.pinned!.filter((x) => x !== 'profile');
      } else {
        next.profile = patch.profile;
        if (!next.pinned!.includes('profile')) next.pinned!.push('profile');
      }
    }
    if (patch.hostname !== undefined) {
      const h = patch.hostname.toLowerCase();
      if (!HOSTNAME_RE.test(h))
        throw invalid(`hostname: "${patch.hostname}" is not a valid host name (RFC 1123)`);
      next.hostname = h;
      next.hostnameSource = 'operator';
    }
    for (const [k, v] of Object.entries(patch.labels ?? {})) {
      if (!LABEL_KEY_RE.test(k)) throw invalid(`labels: "${k}" is not a valid label key`);
      if (v === null) delete next.labels[k];
      else if (typeof v === 'string' && v.length <= 63) next.labels[k] = v;
      else throw invalid(`labels.${k}: expected a string of at most 63 characters`);
    }
    if (next.pinned!.length === 0) delete next.pinned;
    const saved = this.p.registry.put(next);
    this.p.timeline.record(saved, 'operator.update', { ...patch });
    return saved;
  }

  async approveMachine(ref: string): Promise<Machine> {
    const m = await this.mustFind(ref);
    if (m.state !== 'pending') return m;
    const a = assign({ ...m, pinned: m.pinned?.filter((x) => x !== 'role') ?? [] }, this.p.rules, {
      ...this.p.o.config,
      defaultRole: 'worker',
    });
    const role = m.role === PENDING_ROLE ? a.role : m.role;
    const next: Machine = { ...m, role, state: 'discovered' };
    if (m.hostnameSource === 'generated') next.hostname = generatedHostname(role, m.id);
    const saved = this.p.registry.put(next);
    this.p.timeline.record(saved, 'operator.approve', { role });
    return saved;
  }

  async deleteMachine(ref: string): Promise<void> {
    const m = await this.mustFind(ref);
    await this.p.registry.remove(m.id);
  }

  async timeline(ref: string, q: { afterSeq?: number; limit?: number } = {}): Promise<TimelineEvent[]> {
    const m = await this.mustFind(ref);
    await this.p.timeline.flush();
    return this.p.o.store.listEvents(m.id, q);
  }

  async listRules(): Promise<Rule[]> {
    return this.p.o.store.listRules();
  }

  async putRule(input: Rule): Promise<Rule> {
    const rule = validateRule(input);
    const others = (await this.p.o.store.listRules()).filter((r) => r.name !== rule.name);
    checkAmbiguity([...others, rule]);
    await this.p.o.store.putRule(rule);
    await this.p.reloadCatalog();
    return rule;
  }

  async deleteRule(name: string): Promise<void> {
    if (!(await this.p.o.store.deleteRule(name))) throw new MetalseedError('NOT_FOUND', `no rule "${name}"`);
    await this.p.reloadCatalog();
  }

  async listProfiles(): Promise<ProfileSpec[]> {
    return this.p.o.store.listProfiles();
  }

  async putProfile(input: ProfileSpec): Promise<ProfileSpec> {
    const profile = validateProfile(input, input.name);
    await this.p.o.store.putProfile(profile);
    await this.p.reloadCatalog();
    return profile;
  }

  async deleteProfile(name: string): Promise<void> {
    if (!(await this.p.o.store.deleteProfile(name)))
      throw new MetalseedError('NOT_FOUND', `no profile "${name}"`);
    await this.p.reloadCatalog();
  }

  /** What a MAC would get, without enrolling it or recording anything. */
  async preview(q: { mac: string; uuid?: string; arch?: string }): Promise<Preview> {
    const mac = parseMac(q.mac);
    if (!mac) throw invalid(`mac: "${q.mac}" is not a MAC address`);
    const known = this.p.registry.find({ macs: [mac], ...(q.uuid ? { uuid: q.uuid.toLowerCase() } : {}) });
    const facts = { mac, ...(q.uuid ? { uuid: q.uuid } : {}), ...(q.arch ? { arch: q.arch } : {}) };
    const m = known ?? newMachine(facts, { config: this.p.o.config, rules: this.p.rules, now: this.p.now() });
    const a = assign(
      m,
      this.p.rules,
      this.p.o.config,
      this.p.o.config.machines.find((x) => x.mac === mac),
    );
    const script = this.p.renderScript(m);
    const config = this.p.renderConfigFor(m) ?? { contentType: 'text/plain', body: '' };
    return { machine: known ?? null, rule: a.rule, profile: script.profile, ipxe: script.script, config };
  }

  async armState(): Promise<ArmState> {
    const until = this.gate().armedUntilDate();
    return { role: 'controller', armed: until !== null, until: until?.toISOString() ?? null };
  }

  async arm(_role: 'controller', seconds: number): Promise<ArmState> {
    if (!Number.isInteger(seconds) || seconds <= 0 || seconds > 7 * 86400) {
      throw invalid('for: expected a duration between 1s and 7d');
    }
    const until = this.gate().arm(seconds);
    this.p.o.logger.warn({ event: 'secrets.armed', role: 'controller', until }, 'controller enrolment armed');
    return this.armState();
  }

  async disarm(): Promise<ArmState> {
    this.gate().disarm();
    this.p.o.logger.info({ event: 'secrets.disarmed', role: 'controller' }, 'controller enrolment disarmed');
    return this.armState();
  }

  private gate(): SecretGate {
    const g = this.p.o.cluster?.gate;
    if (!g)
      throw new MetalseedError('UNAVAILABLE', 'this seed provisions no cluster, so there is nothing to arm');
    return g;
  }

  subscribe(listener: (e: TimelineEvent) => void): () => void {
    return this.p.timeline.subscribe(listener);
  }
}
