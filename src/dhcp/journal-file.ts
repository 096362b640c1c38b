/**
 * A lease journal in a JSON-lines file in `dataDir`: the changes since the last write are
 * appended with one write(2) when `write`, `sync` or `syncAsync` starts, and fdatasync runs
 * before the ACKs that depend on them are sent (or, with `dhcp.leaseSync: after-reply`, right
 * after: see server.ts); the newest row for an address wins. On open the file is
 * compacted (written to a temporary file, synced, renamed) so it does not grow forever. A torn
 * last line from a crash is skipped and reported, never fatal.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/log.ts';
import { ipToString, parseIPv4 } from '../lib/net.ts';
import type { Lease, LeaseJournal, LeaseState } from './lease.ts';

const STATES: readonly LeaseState[] = ['offered', 'bound', 'released', 'declined', 'expired'];

interface Row {
  ip: string;
  mac: string;
  state: LeaseState;
  expires: string;
  hostname?: string;
}

export class FileJournal implements LeaseJournal {
  private fd: number | null = null;
  private closed = false;
  /** Rows put since the last write: appended with one write(2) by `write` or a sync's start. */
  private pending: string[] = [];
  dirty = false;
  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {}

  load(): Lease[] {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const byIp = new Map<number, Lease>();
    let text = '';
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      const lease = parseRow(line);
      if (lease) byIp.set(lease.ip, lease);
      else
        this.logger.warn(
          { event: 'dhcp.journal_skip', file: this.file, line: i + 1 },
          'skipped a torn lease row',
        );
    });
    const leases = [...byIp.values()];
    this.compact(leases);
    return leases;
  }

  put(lease: Lease): void {
    this.pending.push(`${JSON.stringify(toRow(lease))}\n`);
    this.dirty = true;
  }

  get unwritten(): boolean {
    return this.pending.length > 0;
  }

  /** Appends the pending rows with one write(2); they stay `dirty` until a sync covers them. */
  write(): void {
    this.append();
  }

  private append(): number {
    if (this.closed) throw new Error(`lease journal ${this.file} is closed`);
    if (this.fd === null) this.fd = fs.openSync(this.file, 'a');
    if (this.pending.length > 0) {
      fs.writeSync(this.fd, this.pending.length === 1 ? this.pending[0]! : this.pending.join(''));
      this.pending = [];
    }
    return this.fd;
  }

  sync(): void {
    if (!this.dirty) return;
    fs.fdatasyncSync(this.append());
    this.dirty = false;
  }

  syncAsync(done: (err?: Error) => void): void {
    if (!this.dirty) {
      done();
      return;
    }
    let fd: number;
    try {
      fd = this.append();
    } catch (err) {
      done(err as Error);
      return;
    }
    this.dirty = false; // rows put from now on wait for the next sync
    fs.fdatasync(fd, (err) => {
      if (err) this.dirty = true;
      done(err ?? undefined);
    });
  }

  /** Syncs what is left and closes; later writes and syncs fail instead of reopening the file. */
  close(): void {
    if (this.closed) return;
    this.sync();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.closed = true;
  }

  private compact(leases: Lease[]): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    const keep = leases.filter((l) => l.state !== 'offered');
    fs.writeSync(fd, keep.map((l) => `${JSON.stringify(toRow(l))}\n`).join(''));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
  }
}

function toRow(l: Lease): Row {
  const row: Row = {
    ip: ipToString(l.ip),
    mac: l.mac,
    state: l.state,
    expires: new Date(l.expires).toISOString(),
  };
  if (l.hostname !== undefined) row.hostname = l.hostname;
  return row;
}

function parseRow(line: string): Lease | null {
  let row: Partial<Row>;
  try {
    row = JSON.parse(line) as Partial<Row>;
  } catch {
    return null;
  }
  const ip = typeof row.ip === 'string' ? parseIPv4(row.ip) : null;
  const expires = typeof row.expires === 'string' ? Date.parse(row.expires) : Number.NaN;
  if (
    ip === null ||
    typeof row.mac !== 'string' ||
    !STATES.includes(row.state as LeaseState) ||
    Number.isNaN(expires)
  ) {
    return null;
  }
  const lease: Lease = { ip, mac: row.mac, state: row.state as LeaseState, expires };
  if (typeof row.hostname === 'string') lease.hostname = row.hostname;
  return lease;
}
