/**
 * The address pool of authoritative mode: dynamic addresses from one range, fixed addresses
 * for known machines, and the lease table. Policy-free: it knows addresses and hardware
 * addresses, nothing about machines.
 *
 * Leases are keyed by hardware address, not by client identifier (option 61): one machine's
 * firmware PXE, iPXE and installed OS send different client identifiers (or none), and a
 * provisioning network wants them all on one address.
 */
import type { Mac } from '../lib/net.ts';
import type { Lease, LeaseJournal } from './lease.ts';

export interface PoolOptions {
  start: number;
  end: number;
  /** mac → fixed address (may lie outside the range); never handed to another machine. */
  reservations: ReadonlyMap<Mac, number>;
  /** Addresses never handed out (the seed's own, the router's). */
  excluded?: ReadonlySet<number>;
  journal: LeaseJournal;
  now: () => number;
  /** RFC 2131 section 4.3.1: the server "SHOULD" reserve an offered address; for how long. */
  offerHoldMs?: number;
  /** How long an address reported in use by DHCPDECLINE stays out of the pool. */
  declineHoldMs?: number;
}

export const DEFAULT_OFFER_HOLD_MS = 60_000; // longer than any client's DISCOVER→REQUEST gap
export const DEFAULT_DECLINE_HOLD_MS = 10 * 60_000; // dnsmasq uses 10 minutes too

export class Pool {
  private readonly byIp = new Map<number, Lease>();
  private readonly byMac = new Map<Mac, Lease>();
  private readonly reservedIps: Map<number, Mac>;
  private cursor: number;

  constructor(private readonly o: PoolOptions) {
    if (o.start > o.end) throw new RangeError('pool start is after its end');
    this.cursor = o.start;
    this.reservedIps = new Map([...o.reservations].map(([mac, ip]) => [ip, mac]));
    for (const l of o.journal.load()) this.index(l);
  }

  get first(): number {
    return this.o.start;
  }

  isReservedFor(mac: Mac, ip: number): boolean {
    return this.o.reservations.get(mac) === ip;
  }

  get size(): number {
    return this.o.end - this.o.start + 1;
  }

  lease(mac: Mac): Lease | undefined {
    return this.byMac.get(mac);
  }
  leaseOf(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }
  leases(): Lease[] {
    return [...this.byIp.values()];
  }

  inRange(ip: number): boolean {
    return ip >= this.o.start && ip <= this.o.end;
  }

  /** True when `ip` may be bound to `mac` now (RFC 2131 section 4.3.2 checks). */
  availableTo(mac: Mac, ip: number): boolean {
    const fixed = this.o.reservations.get(mac);
    if (fixed !== undefined) return ip === fixed;
    if (!this.inRange(ip) || this.o.excluded?.has(ip) || this.reservedIps.has(ip)) return false;
    const l = this.byIp.get(ip);
    return !l || l.mac === mac || !this.active(l);
  }

  /** Picks the address to offer `mac` and holds it; null when the pool is exhausted. */
  offer(mac: Mac, requested?: number): number | null {
    const ip = this.choose(mac, requested);
    if (ip === null) return null;
    const current = this.byIp.get(ip);
    if (current?.mac === mac && current.state === 'bound' && this.active(current)) return ip; // keep binding
    this.index({
      ip,
      mac,
      state: 'offered',
      expires: this.o.now() + (this.o.offerHoldMs ?? DEFAULT_OFFER_HOLD_MS),
    });
    return ip;
  }

  /** Changes not yet on stable storage (see LeaseJournal); the server syncs before replying. */
  get unsynced(): boolean {
    return this.o.journal.dirty;
  }

  /** Changes not yet handed to the kernel (see LeaseJournal.write). */
  get unwritten(): boolean {
    return this.o.journal.unwritten ?? this.o.journal.dirty;
  }

  sync(): void {
    this.o.journal.sync();
  }

  /** Hands the changes so far to the kernel, no disk wait (LeaseJournal.write, else `sync`). */
  write(): void {
    const j = this.o.journal;
    if (j.write) j.write();
    else j.sync();
  }

  /** Makes the changes so far durable, then calls `done` (see LeaseJournal.syncAsync). */
  syncAsync(done: (err?: Error) => void): void {
    const j = this.o.journal;
    if (j.syncAsync) {
      j.syncAsync(done);
      return;
    }
    try {
      j.sync();
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }

  /** Binds `ip` to `mac` for `seconds` (durable after `sync`); false when not available. */
  bind(mac: Mac, ip: number, seconds: number, hostname?: string): boolean {
    if (!this.availableTo(mac, ip)) return false;
    const lease: Lease = { ip, mac, state: 'bound', expires: this.o.now() + seconds * 1000 };
    if (hostname !== undefined) lease.hostname = hostname;
    this.o.journal.put(lease);
    this.index(lease);
    return true;
  }

  /** DHCPRELEASE (RFC 2131 section 4.4.6): the address is free, but stays this client's first choice. */
  release(mac: Mac, ip: number): boolean {
    const l = this.byIp.get(ip);
    if (!l || l.mac !== mac || l.state !== 'bound') return false;
    this.put({ ...l, state: 'released', expires: this.o.now() });
    return true;
  }

  /** An OFFER the client did not take (it chose another server): free it at once. */
  withdraw(mac: Mac): void {
    const l = this.byMac.get(mac);
    if (l?.state === 'offered') this.index({ ...l, state: 'expired', expires: this.o.now() });
  }

  /** DHCPDECLINE (RFC 2131 section 4.3.3): someone else uses `ip`; keep it out of the pool a while. */
  decline(mac: Mac, ip: number): boolean {
    const l = this.byIp.get(ip);
    if (!l || l.mac !== mac) return false;
    this.byMac.delete(mac);
    this.put({
      ip,
      mac: '',
      state: 'declined',
      expires: this.o.now() + (this.o.declineHoldMs ?? DEFAULT_DECLINE_HOLD_MS),
    });
    return true;
  }

  private active(l: Lease): boolean {
    return l.state !== 'released' && l.state !== 'expired' && l.expires > this.o.now();
  }

  private choose(mac: Mac, requested?: number): number | null {
    const fixed = this.o.reservations.get(mac);
    if (fixed !== undefined) return fixed;
    const prev = this.byMac.get(mac);
    if (prev && this.availableTo(mac, prev.ip)) return prev.ip;
    if (requested !== undefined && this.availableTo(mac, requested)) return requested;
    return this.nextFree(mac) ?? this.oldestReusable(mac);
  }

  /** Round-robin over never-used addresses first, so released ones stay with their owners. */
  private nextFree(mac: Mac): number | null {
    for (let i = 0; i < this.size; i++) {
      const ip = this.o.start + ((this.cursor - this.o.start + i) % this.size);
      if (!this.byIp.has(ip) && this.availableTo(mac, ip)) {
        this.cursor = ip === this.o.end ? this.o.start : ip + 1;
        return ip;
      }
    }
    return null;
  }

  private oldestReusable(mac: Mac): number | null {
    let best: Lease | undefined;
    for (const l of this.byIp.values()) {
      if (this.availableTo(mac, l.ip) && (!best || l.expires < best.expires)) best = l;
    }
    return best?.ip ?? null;
  }

  private put(l: Lease): void {
    this.o.journal.put(l);
    this.index(l);
  }

  private index(l: Lease): void {
    const old = this.byIp.get(l.ip);
    if (old && old.mac !== l.mac && this.byMac.get(old.mac as Mac) === old) this.byMac.delete(old.mac as Mac);
    this.byIp.set(l.ip, l);
    if (l.mac === '') return;
    const prev = this.byMac.get(l.mac);
    if (prev && prev.ip !== l.ip && this.byIp.get(prev.ip) === prev && prev.state === 'offered') {
      this.byIp.delete(prev.ip); // an unconfirmed offer moves with the client
    }
    this.byMac.set(l.mac, l);
  }
}
