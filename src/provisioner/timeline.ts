/**
 * Records boot steps: the machine's state moves (in memory at once), the event is appended to
 * the store in arrival order (one queue, so sequence numbers follow real order), and live
 * subscribers (the API's event stream) get the stored event.
 */
import type { Machine, MachineState, Store, TimelineEvent } from '../inventory/index.ts';
import type { Logger } from '../lib/log.ts';
import type { Mac } from '../lib/net.ts';
import type { Registry } from './registry.ts';
import { nextState } from './state.ts';

/** Events kept per machine: dozens of boots' worth, bounded so a flapping machine cannot fill the disk. */
export const TIMELINE_KEEP = 500;

export interface StepOptions {
  mac?: Mac;
  durationMs?: number;
  /** Firmware or iPXE sent a DISCOVER (see state.ts nextState). */
  netbootStart?: boolean;
}

export class Timeline {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(e: TimelineEvent) => void>();
  private readonly roundListeners = new Set<(m: Machine, from: MachineState) => void>();

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  record(machine: Machine, type: string, data: Record<string, unknown>, o: StepOptions = {}): void {
    const m = this.registry.get(machine.id) ?? machine;
    const state = nextState(m.state, type, o.netbootStart ?? false);
    if (state !== m.state) {
      const next: Machine = { ...m, state };
      // the first report ever: from now on its persistent root holds a provisioned system
      if (state === 'provisioned' && m.provisionedAt === undefined)
        next.provisionedAt = this.now().toISOString();
      const moved = this.registry.put(next);
      // netbootStart moves the state only backwards: the previous boot is over (state.ts)
      if (o.netbootStart) for (const l of this.roundListeners) l(moved, m.state);
    }
    const e = {
      machineId: m.id,
      time: this.now().toISOString(),
      type,
      data,
      ...(o.mac ? { mac: o.mac } : {}),
    };
    if (o.durationMs !== undefined) Object.assign(e, { durationMs: Math.round(o.durationMs) });
    // Appended at once, not chained on the previous append: the store keeps call order (so
    // sequence numbers follow real order) and settles in that order, and the SQLite store
    // commits a whole turn's appends together, which a chain would spread over one turn each.
    this.queue = this.store.appendEvent(e, TIMELINE_KEEP).then(this.notify, this.failed);
  }

  /** One promise per event on top of the store's: a boot step appends several. */
  private readonly notify = (stored: TimelineEvent): void => {
    try {
      for (const l of this.listeners) l(stored);
    } catch (err) {
      this.failed(err as Error);
    }
  };

  private readonly failed = (err: Error): void => {
    this.logger.error({ event: 'store.event_failed', err: err.message }, 'timeline write failed');
  };

  subscribe(listener: (e: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called, synchronously, when a machine that got its config netboots again: a new boot round. */
  onNewRound(listener: (m: Machine, from: MachineState) => void): () => void {
    this.roundListeners.add(listener);
    return () => this.roundListeners.delete(listener);
  }

  /** Resolves when every event recorded so far is stored (appends settle in call order). */
  flush(): Promise<unknown> {
    return this.queue;
  }
}
