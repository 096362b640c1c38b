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

/** Durable lease storage. Writes must be on stable storage when `put` returns. */
export interface LeaseJournal {
  load(): Lease[];
  put(lease: Lease): void;
  close(): void;
}

/** A journal that keeps nothing, for tests and `dhcp.mode: proxy`. */
export function memoryJournal(initial: Lease[] = []): LeaseJournal & { rows: Lease[] } {
  const rows = [...initial];
  return { rows, load: () => [...rows], put: (l) => void rows.push({ ...l }), close: () => {} };
}
