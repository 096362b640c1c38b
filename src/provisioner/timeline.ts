/**
 * Records boot steps: the machine's state moves (in memory at once), the event is appended to
 * the store in arrival order (one queue, so sequence numbers follow real order), and live
 * subscribers (the API's event stream) get the stored event.
 */
import type { Machine, Store, TimelineEvent } from '../inventory/index.ts';
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

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  record(machine: Machine, type: string, data: Record<string, unknown>, o: StepOptions = {}): void {
    const m = this.registry.get(machine.id) ?? machine;
    const state = nextState(m.state, type, o.netbootStart ?? false);
    if (state !== m.state) this.registry.put({ ...m, state });
    const e = {
      machineId: m.id,
      time: this.now().toISOString(),
      type,
      data,
      ...(o.mac ? { mac: o.mac } : {}),
    };
    if (o.durationMs !== undefined) Object.assign(e, { durationMs: Math.round(o.durationMs) });
    this.queue = this.queue
      .then(() => this.store.appendEvent(e, TIMELINE_KEEP))
      .then((stored) => {
        for (const l of this.listeners) l(stored);
      })
      .catch((err: Error) =>
        this.logger.error({ event: 'store.event_failed', err: err.message }, 'timeline write failed'),
      );
  }

  subscribe(listener: (e: TimelineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when every event recorded so far is stored. */
  flush(): Promise<unknown> {
    return this.queue;
  }
}
