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
 * With `dhcp.leaseSync: after-reply` it calls `write` instead before the replies leave, and
 * syncs afterwards (see server.ts).
 */
export interface LeaseJournal {
  load(): Lease[];
  put(lease: Lease): void;
  /** True when changes were put since the last sync started. */
  readonly dirty: boolean;
  /** True when changes were put that are not yet handed to the kernel (`write`, `sync`). */
  readonly unwritten?: boolean;
  sync(): void;
  /**
   * Hands the changes put so far to the kernel without waiting for the disk: from then on a
   * crash or `kill -9` of the process cannot lose them, a power loss still can until the next
   * sync. Journals without it are synced with `sync`.
   */
  write?(): void;
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
