/**
 * Leases and their durable record. The pool keeps one `Lease` per address; the journal makes
 * every committed change durable before the reply leaves (a crash never loses a lease).
 */
import type { Mac } from '../lib/net.ts';

export type LeaseState = 'offered' | 'bound' | 'released' | 'declined' | 'expired';

export interface Lease {
  ip: number;
  /** Owner; empty for a declined address (RFC 2131 section 3.1 step 5: it is in use by someone). */
  mac: Mac | '';
  state: LeaseState;
  /** Epoch milliseconds; an offer's hold, a binding's end, a decline's quarantine end. */
  expires: number;
  hostname?: string;
}

/**
 * Durable lease storage with group commit: `put` records a change, `sync` makes every change
 * so far durable. The DHCP server calls `sync` once for all replies of one event-loop turn,
 * before any of them leaves, so a burst of ACKs costs one fdatasync instead of one each.
 */
export interface LeaseJournal {
  load(): Lease[];
  put(lease: Lease): void;
  /** True when changes were put since the last sync. */
  readonly dirty: boolean;
  sync(): void;
  /**
   * `sync` off the event loop (fdatasync on libuv's thread pool): the server keeps answering
   * DISCOVERs while the disk works, and the ACKs that were waiting leave in `done`. Changes
   * put after the call are not covered; the next sync takes them. Journals without it are
   * synced with `sync`.
   */
  syncAsync?(done: (err?: Error) => void): void;
  close(): void;
}

/** A journal that keeps nothing, for tests and `dhcp.mode: proxy`. */
export function memoryJournal(initial: Lease[] = []): LeaseJournal & { rows: Lease[] } {
  const rows = [...initial];
  return {
    rows,
    dirty: false,
    load: () => [...rows],
    put: (l) => void rows.push({ ...l }),
    sync: () => {},
    close: () => {},
  };
}
