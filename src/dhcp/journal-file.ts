/**
 * A lease journal in a JSON-lines file in `dataDir`: the changes since the last write are
 * written with one write(2) when `write`, `sync` or `syncAsync` starts, and fdatasync runs
 * before the ACKs that depend on them are sent (or, with `dhcp.leaseSync: after-reply`, right
 * after: see server.ts); the newest row for an address wins. On open the file is
 * compacted (written to a temporary file, synced, renamed) so it does not grow forever. A torn
 * last line from a crash is skipped and reported, never fatal.
 *
 * While open, the file is kept longer than its rows: zeros are written ahead of them, GROW_BYTES
 * at a time, and rows overwrite those zeros. An fdatasync of rows that only overwrite then has
 * no file size to commit through the file system's journal, just the data blocks (fdatasync(2):
 * metadata is flushed only when needed to read the data back, such as a changed size); on this
 * project's ext4 disk that made a sync a third to a half faster (docs/benchmarks.md). Databases
 * preallocate their logs for the same reason. Closing trims the zeros; a reader skips them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/log.ts';
import { ipToString, parseIPv4 } from '../lib/net.ts';
import type { Lease, LeaseJournal, LeaseState } from './lease.ts';

const STATES: readonly LeaseState[] = ['offered', 'bound', 'released', 'declined', 'expired'];
/** Zeros written ahead of the rows at a time: some 9,000 rows. */
export const GROW_BYTES = 1 << 20;
/**
 * The zeros, made once per process and only ever read. A fresh buffer at every step held the
 * event loop ~4.5 ms on this project's VM (allocating and first touching 1 MiB), a DHCP reply
 * late every ~2,400 new clients; writing this one again costs ~0.15 ms.
 */
let zeros: Buffer | undefined;

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
  /** Where the next row goes; the file's zeros run from there to `allocated`. */
  private end = 0;
  private allocated = 0;
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
    text.split('\n').forEach((raw, i) => {
      // zeros: the unused tail of a file that was open (see the file comment) when it crashed
      const line = raw.includes('\0') ? raw.replaceAll('\0', '') : raw;
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
    const fd = this.fd ?? this.open();
    if (this.pending.length > 0) {
      const rows = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
      this.reserve(Buffer.byteLength(rows));
      this.end += fs.writeSync(fd, rows, this.end);
      this.pending = [];
    }
    return fd;
  }

  /** Opened after `load` compacted it: no zeros yet, the rows end where the file does. */
  private open(): number {
    const fd = fs.openSync(this.file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    this.end = this.allocated = fs.fstatSync(fd).size;
    this.fd = fd;
    return fd;
  }

  /**
   * Room for `bytes` more: when less than half of GROW_BYTES would be left, zeros are
   * written ahead, and synced in the background, so that they are on disk (blocks allocated,
   * size committed) before the rows reach them. A sync failing here is not a lease's: the
   * syncs that the leases wait for cover the zeros again.
   */
  private reserve(bytes: number): void {
    const need = this.end + bytes + GROW_BYTES / 2;
    if (need <= this.allocated) return;
    zeros ??= Buffer.alloc(GROW_BYTES);
    for (let left = need - this.allocated; left > 0; left -= GROW_BYTES) {
      fs.writeSync(this.fd!, zeros, 0, GROW_BYTES, this.allocated);
      this.allocated += GROW_BYTES;
    }
    fs.fdatasync(this.fd!, () => {});
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
    if (this.fd !== null) {
      // the zeros go: a closed journal is plain JSON lines again
      if (this.allocated > this.end) {
        fs.ftruncateSync(this.fd, this.end);
        fs.fsyncSync(this.fd);
      }
      fs.closeSync(this.fd);
    }
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
