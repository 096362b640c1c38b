/**
 * The machines in memory, written through to the store. Boot decisions are made on every DHCP
 * packet and HTTP request, so they read this index synchronously; each change is persisted in
 * the background, one write at a time per machine (compare-and-set on `version`), coalescing
 * changes that arrive while a write is in flight.
 */
import type { Machine, MachineKeys, Store } from '../inventory/index.ts';
import type { Logger } from '../lib/log.ts';

const keysOf = (m: Pick<Machine, 'macs' | 'uuid' | 'serial'>): string[] => [
  ...m.macs.map((x) => `mac:${x}`),
  ...(m.uuid ? [`uuid:${m.uuid}`] : []),
  ...(m.serial ? [`serial:${m.serial}`] : []),
];

/**
 * How long a changed machine waits before its write is queued: the steps of one exchange
 * (a DHCP DISCOVER enrols, its ACK a moment later adds the address) then cost one store write
 * instead of one each. Nothing waits for these writes (boot decisions read memory). 20 ms: at
 * 10, a busy event loop let a tenth of the ACKs miss their DISCOVER's write (1.2 writes per new
 * machine in bench/tools/dhcp-inproc.ts, 1.07 at 20).
 */
export const WRITE_DELAY_MS = 20;

/** Whether a and b own the same identifiers (then the key index needs no change). */
function sameKeys(a: Machine, b: Machine): boolean {
  return (
    a.uuid === b.uuid &&
    a.serial === b.serial &&
    a.macs.length === b.macs.length &&
    a.macs.every((x, i) => x === b.macs[i])
  );
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class Registry {
  private readonly byId = new Map<string, Machine>();
  private readonly byKey = new Map<string, string>();
  /** role → ids: /ignition asks for the controllers on every request (O(controllers), not O(machines)). */
  private readonly byRole = new Map<string, Set<string>>();
  /** Ids in `all()` order; dropped only when a machine comes or goes, not on every change. */
  private sortedIds: string[] | null = null;
  private readonly dirty = new Set<string>();
  private readonly writing = new Map<string, Promise<void>>();
  /** Changed machines whose write waits for WRITE_DELAY_MS (see `schedule`). */
  private waiting = new Set<string>();
  private waitTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  static async load(store: Store, logger: Logger): Promise<Registry> {
    const r = new Registry(store, logger);
    for (const m of await store.listMachines()) r.index(m);
    return r;
  }

  get(id: string): Machine | undefined {
    return this.byId.get(id);
  }

  /** Every machine, by id (ids are ASCII, so code-unit order is the order people expect). */
  all(): Machine[] {
    this.sortedIds ??= [...this.byId.keys()].sort(byCodeUnit);
    return this.sortedIds.map((id) => this.byId.get(id)!);
  }

  /** The machines of one role, by id. */
  withRole(role: string): Machine[] {
    return [...(this.byRole.get(role) ?? [])].sort(byCodeUnit).map((id) => this.byId.get(id)!);
  }

  /** The machine owning these identifiers: UUID first (it survives NIC swaps), then MACs, then serial. */
  find(keys: MachineKeys): Machine | undefined {
    // every DHCP packet and HTTP request asks: no arrays built on the way
    let id = keys.uuid ? this.byKey.get(`uuid:${keys.uuid}`) : undefined;
    for (const mac of keys.macs ?? []) id ||= this.byKey.get(`mac:${mac}`);
    if (!id && keys.serial) id = this.byKey.get(`serial:${keys.serial}`);
    return id ? this.byId.get(id) : undefined;
  }

  /** Identifiers of `m` that another machine already owns (they cannot be added to m). */
  ownedElsewhere(m: Pick<Machine, 'id' | 'macs' | 'uuid' | 'serial'>): string[] {
    return keysOf(m).filter((k) => {
      const owner = this.byKey.get(k);
      return owner !== undefined && owner !== m.id;
    });
  }

  /** Replaces the machine in memory now and persists it in the background. */
  put(m: Machine): Machine {
    const old = this.byId.get(m.id);
    const next = { ...m, version: old?.version ?? 0 };
    if (old && sameKeys(old, next) && old.role === next.role) {
      this.byId.set(m.id, next); // the usual change (address, state, lastSeen): indexes stay
    } else {
      if (old) this.unindex(old);
      this.index(next);
    }
    this.schedule(m.id);
    return next;
  }

  async remove(id: string): Promise<boolean> {
    const m = this.byId.get(id);
    if (!m) return false;
    await this.writing.get(id);
    this.unindex(m);
    this.byId.delete(id);
    this.sortedIds = null;
    this.dirty.delete(id);
    return this.store.deleteMachine(id);
  }

  /** Resolves when every change made so far is in the store. */
  async flush(): Promise<void> {
    do {
      this.startWaiting();
      await Promise.all(this.writing.values());
    } while (this.writing.size > 0 || this.waiting.size > 0);
  }

  private index(m: Machine): void {
    if (!this.byId.has(m.id)) this.sortedIds = null;
    this.byId.set(m.id, m);
    for (const k of keysOf(m)) this.byKey.set(k, m.id);
    const role = this.byRole.get(m.role) ?? new Set<string>();
    this.byRole.set(m.role, role.add(m.id));
  }

  /** Drops `m`'s identifiers and role from the indexes (byId is the caller's). */
  private unindex(m: Machine): void {
    for (const k of keysOf(m)) this.byKey.delete(k);
    this.byRole.get(m.role)?.delete(m.id);
  }

  private schedule(id: string): void {
    this.dirty.add(id);
    if (this.writing.has(id) || this.waiting.has(id)) return;
    this.waiting.add(id);
    this.waitTimer ??= setTimeout(() => this.startWaiting(), WRITE_DELAY_MS);
  }

  /** Starts the writes of every machine that waited. */
  private startWaiting(): void {
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    const ids = this.waiting;
    this.waiting = new Set();
    for (const id of ids) if (!this.writing.has(id)) this.write(id);
  }

  private write(id: string): void {
    const run = async (): Promise<void> => {
      while (this.dirty.delete(id)) {
        const m = this.byId.get(id);
        if (!m) return;
        const stored = await this.store.putMachine(m, m.version === 0 ? null : m.version);
        const now = this.byId.get(id);
        if (stored && now) now.version = stored.version;
        else if (!stored) await this.reload(id);
      }
    };
    const p = run()
      .catch((err: Error) =>
        this.logger.error({ event: 'store.write_failed', id, err: err.message }, 'store write failed'),
      )
      .finally(() => this.writing.delete(id));
    this.writing.set(id, p);
  }

  /** A conflicting write (another seed, or an identifier clash): the store's copy wins. */
  private async reload(id: string): Promise<void> {
    const m = await this.store.getMachine(id);
    this.logger.warn(
      { event: 'store.conflict', id, kept: m ? 'store' : 'none' },
      'machine changed elsewhere',
    );
    const old = this.byId.get(id);
    if (old) this.unindex(old);
    this.byId.delete(id);
    this.sortedIds = null;
    if (m) this.index(m);
  }
}
