/**
 * The shipped `Store`: one SQLite file, `<dataDir>/metalseed.db`, through better-sqlite3.
 * better-sqlite3 is synchronous, so each method does its work before its promise settles: a
 * resolved write is committed, and no two writes interleave (compare-and-set needs no locks).
 *
 * Durability: WAL with synchronous=NORMAL (https://sqlite.org/pragma.html#pragma_synchronous).
 * A commit is in the WAL file, in the kernel's page cache, before the promise resolves, so a
 * crash or `kill -9` of the process loses nothing acknowledged (store-sqlite.test.ts checks).
 * Only a power loss or kernel crash may roll back the newest commits (the WAL is fsync'd at
 * checkpoints, not per commit); the file stays consistent either way. That trade is taken
 * because events are appended on every DHCP/TFTP/HTTP step of every booting machine, an fsync
 * each costs milliseconds on the SD cards and cheap disks seeds run on, and what a power loss
 * can drop is re-learnt: machines re-announce themselves when they boot. DHCP leases, which
 * must not be forgotten, live in their own fsync'd journal (dhcp/journal-file.ts).
 *
 * Group commit: machine writes and timeline appends, which every boot step makes, are queued
 * and run GROUP_COMMIT_MS later in one transaction (each write undone alone when it fails: by
 * a savepoint, or by its own compensating DELETE on the fast paths); their promises settle
 * after that commit. A boot storm's thousands
 * of steps a second then cost one commit per few milliseconds instead of one each. Every
 * other call, reads included, first commits what is queued, so it sees every write issued
 * before it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MetalseedError } from '../lib/errors.ts';
import { Checkpointer } from './checkpointer.ts';
import type { EventQuery, MachineKeys, Store } from './store.ts';
import { APPLICATION_ID, MIGRATIONS } from './store-sqlite-migrations.ts';
import type { Machine, NewTimelineEvent, ProfileSpec, Rule, TimelineEvent } from './types.ts';

export const DB_FILE = 'metalseed.db';

/**
 * How long queued writes wait for company before their commit. Every commit appends the pages
 * it touched to the WAL, so a boot storm's steps committed a few at a time rewrite the same
 * pages over and over (measured: 53 µs of CPU per write at 4 writes a commit, 19 µs at 800).
 * Some milliseconds gather a storm's turns into one commit and delay no boot step: nothing on
 * a machine's path waits for a timeline write, and reads in this process commit first. 20 ms
 * rather than 5 cut the in-process DHCP probe (bench/tools/dhcp-inproc.ts) by 5-10 % of its
 * CPU per DORA; another process (the CLI) sees a step at most that much later.
 */
const GROUP_COMMIT_MS = 20;

/** Timeline events per multi-row INSERT at most (one statement prepared per size used). */
const EVENTS_PER_INSERT = 32;

/** How long a write waits for another connection (the CLI reading, say) before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

type Body = { body: string };
type EventRow = { seq: number; body: string };

/** Thrown inside a transaction to roll it back when an identifier has another owner. */
class IdentifierTaken extends Error {}

function prepare(db: Database.Database) {
  return {
    machine: db.prepare<[string], Body>('SELECT body FROM machines WHERE id = ?'),
    current: db.prepare<[string], { version: number; keys: string | null }>(
      'SELECT version, keys FROM machines WHERE id = ?',
    ),
    machines: db.prepare<[], Body>('SELECT body FROM machines ORDER BY first_seen, id'),
    find: db.prepare<[string, string | null, string | null], Body>(
      `SELECT body FROM machines WHERE id IN (SELECT machine_id FROM machine_ids
         WHERE (kind = 'mac' AND value IN (SELECT value FROM json_each(?)))
            OR (kind = 'uuid' AND value = ?) OR (kind = 'serial' AND value = ?))
       ORDER BY first_seen, id`,
    ),
    // putMachine (see SqliteStore.putMachine). `keys` is keysOf(the machine's identifiers).
    insertMachine: db.prepare<[string, string, string, string]>(
      'INSERT INTO machines (id, version, first_seen, body, keys) VALUES (?, 1, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    ),
    // compare-and-set on the version, and only while the identifiers stay
    updateMachine: db.prepare<[number, string, string, string, number, string]>(
      'UPDATE machines SET version = ?, first_seen = ?, body = ? WHERE id = ? AND version = ? AND keys = ?',
    ),
    rekeyMachine: db.prepare<[number, string, string, string, string]>(
      'UPDATE machines SET version = ?, first_seen = ?, body = ?, keys = ? WHERE id = ?',
    ),
    idTaken: db.prepare<[string, string], { 1: number }>(
      'SELECT 1 FROM machine_ids WHERE kind = ? AND value = ?',
    ),
    claimId: db.prepare<[string, string, string]>(
      'INSERT INTO machine_ids (kind, value, machine_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    dropIds: db.prepare<[string]>('DELETE FROM machine_ids WHERE machine_id = ?'),
    dropId: db.prepare<[string, string, string]>(
      'DELETE FROM machine_ids WHERE kind = ? AND value = ? AND machine_id = ?',
    ),
    deleteMachine: db.prepare<[string]>('DELETE FROM machines WHERE id = ?'),
    deleteEvents: db.prepare<[string]>('DELETE FROM events WHERE machine_id = ?'),
    // Drops everything at or below the (keep+1)-th newest event; one index seek on
    // events_by_machine, so an append costs the same however long the history is.
    countEvents: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM events WHERE machine_id = ?'),
    trim: db.prepare<{ machine: string; keep: number }>(
      `DELETE FROM events WHERE machine_id = :machine AND seq <= (SELECT seq FROM events
         WHERE machine_id = :machine ORDER BY seq DESC LIMIT 1 OFFSET :keep)`,
    ),
    events: db.prepare<[string, number, number], EventRow>(
      `SELECT seq, body FROM (SELECT seq, body FROM events WHERE machine_id = ? AND seq > ?
         ORDER BY seq DESC LIMIT ?) ORDER BY seq`,
    ),
    since: db.prepare<[number, number], EventRow>(
      'SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    rules: db.prepare<[], Body>('SELECT body FROM rules ORDER BY name'),
    putRule: db.prepare<[string, string]>(
      'INSERT INTO rules (name, body) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body',
    ),
    deleteRule: db.prepare<[string]>('DELETE FROM rules WHERE name = ?'),
    profiles: db.prepare<[], Body>('SELECT body FROM profiles ORDER BY name'),
    putProfile: db.prepare<[string, string]>(
      'INSERT INTO profiles (name, body) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body',
    ),
    deleteProfile: db.prepare<[string]>('DELETE FROM profiles WHERE name = ?'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}

const parse = <T>(row: Body): T => JSON.parse(row.body) as T;
const toEvent = (row: EventRow): TimelineEvent => ({
  ...(JSON.parse(row.body) as NewTimelineEvent),
  seq: row.seq,
});
/** SQLite reads a negative LIMIT as "no limit"; the interface has no such meaning. */
const limitOf = (limit: number | undefined) => (limit === undefined ? -1 : Math.max(0, limit));

/**
 * A queued write: runs inside the group transaction; its promise settles after the commit.
 * Timeline appends carry their event instead of `run`: consecutive ones share an INSERT.
 */
interface Queued {
  run: (() => unknown) | undefined;
  event: NewTimelineEvent | undefined;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

export class SqliteStore implements Store {
  private readonly st: ReturnType<typeof prepare>;
  private readonly rekeyTx: (
    m: Machine,
    expected: number,
    body: string,
    ids: Identifier[],
    keys: string,
  ) => boolean;
  private readonly deleteTx: (id: string) => boolean;
  private readonly insertEvents = new Map<number, Database.Statement>();
  private readonly groupTx: (batch: Queued[]) => { ok: boolean; v: unknown }[];
  private queued: Queued[] = [];
  /** Machines appended to in the queued batch, with the retention asked for last. */
  private trims = new Map<string, number>();
  /**
   * Events stored per machine, counted once per machine and then kept up to date, so that only
   * a machine over its retention pays for the DELETE (a boot step appends one event, and a
   * trim per append cost as much as the append itself).
   */
  private readonly eventCounts = new Map<string, number>();
  /** WAL checkpoints off the event loop (checkpointer.ts); set by `openSqliteStore`. */
  checkpointer: Checkpointer | undefined;

  constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    const st = prepare(db);
    this.st = st;
    // A changed machine whose identifiers changed too: the old ones are dropped, the new ones
    // claimed, and a taken one throws IdentifierTaken, which rolls the savepoint back (this runs
    // nested in the group transaction). false: the version was not `expected`.
    this.rekeyTx = db.transaction(
      (m: Machine, expected: number, body: string, ids: Identifier[], keys: string): boolean => {
        const current = st.current.get(m.id);
        if (current?.version !== expected) return false;
        st.rekeyMachine.run(expected + 1, m.firstSeen, body, keys, m.id);
        this.dropIdentifiers(m.id, current.keys);
        for (const [kind, value] of ids)
          if (st.claimId.run(kind, value, m.id).changes === 0) throw new IdentifierTaken();
        return true;
      },
    );
    this.deleteTx = db.transaction((id: string) => {
      st.deleteEvents.run(id);
      const current = st.current.get(id);
      if (current) this.dropIdentifiers(id, current.keys);
      return st.deleteMachine.run(id).changes > 0;
    });
    this.groupTx = db.transaction((batch: Queued[]) => {
      const out: { ok: boolean; v: unknown }[] = new Array(batch.length);
      for (let i = 0; i < batch.length; ) {
        if (batch[i]!.event) {
          let j = i + 1;
          while (j < batch.length && j - i < EVENTS_PER_INSERT && batch[j]!.event) j++;
          this.appendRun(batch, i, j, out);
          i = j;
          continue;
        }
        try {
          out[i] = { ok: true, v: batch[i]!.run!() };
        } catch (err) {
          out[i] = { ok: false, v: err };
        }
        i++;
      }
      // Retention once per machine and batch: the same newest `keep` survive as if trimmed
      // after every append, for one index seek per machine instead of one per event.
      for (const [machine, keep] of this.trims) {
        if ((this.eventCounts.get(machine) ?? 0) <= keep) continue;
        st.trim.run({ machine, keep });
        this.eventCounts.set(machine, keep);
      }
      this.trims.clear();
      return out;
    });
  }

  private enqueue<T>(run: (() => T) | undefined, event?: NewTimelineEvent): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ run, event, resolve: resolve as (v: unknown) => void, reject });
      if (this.queued.length === 1) setTimeout(() => this.commit(), GROUP_COMMIT_MS);
    });
  }

  /**
   * Appends the events of batch[from..to) with one multi-row INSERT. AUTOINCREMENT hands one
   * statement's rows consecutive seqs in VALUES order, so they follow from the last one.
   */
  private appendRun(batch: Queued[], from: number, to: number, out: { ok: boolean; v: unknown }[]): void {
    const n = to - from;
    let insert = this.insertEvents.get(n);
    if (!insert) {
      insert = this.db.prepare(
        `INSERT INTO events (machine_id, body) VALUES ${new Array(n).fill('(?, ?)').join(', ')}`,
      );
      this.insertEvents.set(n, insert);
    }
    const args: string[] = new Array(2 * n);
    for (let k = 0; k < n; k++) {
      const e = batch[from + k]!.event!;
      args[2 * k] = e.machineId;
      args[2 * k + 1] = JSON.stringify(e);
    }
    let last: number;
    try {
      // a machine's stored events are counted once, before its first append here
      for (let k = 0; k < n; k++) {
        const id = args[2 * k]!;
        if (!this.eventCounts.has(id)) this.eventCounts.set(id, this.st.countEvents.get(id)!.n);
      }
      last = Number(insert.run(...args).lastInsertRowid);
    } catch (err) {
      for (let k = from; k < to; k++) out[k] = { ok: false, v: err };
      return;
    }
    for (let k = 0; k < n; k++) {
      const id = args[2 * k]!;
      this.eventCounts.set(id, this.eventCounts.get(id)! + 1);
      // a copy of what was written, built rather than parsed back from the body (reads parse it)
      const e = batch[from + k]!.event!;
      out[from + k] = { ok: true, v: { ...e, data: { ...e.data }, seq: last - n + 1 + k } };
    }
  }

  /** Runs every queued write in one transaction, then settles their promises in order. */
  private commit(): void {
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    let results: { ok: boolean; v: unknown }[];
    try {
      results = this.groupTx(batch);
    } catch (err) {
      this.trims.clear();
      for (const q of batch) q.reject(err); // the commit itself failed: nothing was written
      return;
    }
    this.checkpointer?.committed();
    for (const [i, r] of results.entries()) {
      if (r.ok) batch[i]!.resolve(r.v);
      else batch[i]!.reject(r.v);
    }
  }

  /** A write outside the group transaction committed: `v` passes through. */
  private wrote<T>(v: T): T {
    this.checkpointer?.committed();
    return v;
  }

  async getMachine(id: string): Promise<Machine | undefined> {
    this.commit();
    const row = this.st.machine.get(id);
    return row && parse<Machine>(row);
  }

  async findMachines(keys: MachineKeys): Promise<Machine[]> {
    this.commit();
    const macs = JSON.stringify(keys.macs ?? []);
    return this.st.find.all(macs, keys.uuid ?? null, keys.serial ?? null).map((r) => parse<Machine>(r));
  }

  async listMachines(): Promise<Machine[]> {
    this.commit();
    return this.st.machines.all().map((r) => parse<Machine>(r));
  }

  putMachine(m: Machine, expectedVersion: number | null): Promise<Machine | null> {
    return this.enqueue(() => this.put(m, expectedVersion));
  }

  /**
   * The write of putMachine, in the group transaction. The two kinds every boot step makes go
   * without a savepoint: a savepoint in the group transaction copies every page the batch
   * dirtied before it to the statement journal when it is touched again, which cost more than
   * the write itself. A new machine is one INSERT, then its identifiers (each looked up
   * before: a taken one writes nothing); a changed machine whose
   * identifiers stay is one UPDATE (compare-and-set on version and identifiers in its WHERE).
   * Only a machine whose identifiers changed, or a version conflict, takes the savepoint.
   */
  private put(m: Machine, expected: number | null): Machine | null {
    const st = this.st;
    const ids = identifiers(m);
    const keys = keysOf(ids);
    const body = JSON.stringify({ ...m, version: (expected ?? 0) + 1 });
    if (expected !== null) {
      if (st.updateMachine.run(expected + 1, m.firstSeen, body, m.id, expected, keys).changes === 0) {
        try {
          if (!this.rekeyTx(m, expected, body, ids, keys)) return null;
        } catch (err) {
          if (err instanceof IdentifierTaken) return null; // rolled back: nothing was written
          throw err;
        }
      }
      return parse<Machine>({ body }); // what a later read returns, and a copy
    }
    // looked up first: a taken one then writes nothing, and needs nothing undone
    for (const [kind, value] of ids) if (st.idTaken.get(kind, value)) return null; // owned elsewhere
    if (st.insertMachine.run(m.id, m.firstSeen, body, keys).changes === 0) return null; // it exists
    let claimed = 0;
    try {
      for (const [kind, value] of ids) {
        if (st.claimId.run(kind, value, m.id).changes === 0) throw new IdentifierTaken(); // looked up above
        claimed++;
      }
    } catch (err) {
      // never half-written: what was claimed, then the row (no foreign key cascades: migration 3)
      for (const [kind, value] of ids.slice(0, claimed)) st.dropId.run(kind, value, m.id);
      st.deleteMachine.run(m.id);
      if (err instanceof IdentifierTaken) return null;
      throw err;
    }
    // Nor has it events, unless some came first (no foreign key): then their count stays.
    if (!this.eventCounts.has(m.id)) this.eventCounts.set(m.id, 0);
    return parse<Machine>({ body });
  }

  /** Drops the identifiers `keys` (machines.keys) lists, each by its primary key. */
  private dropIdentifiers(id: string, keys: string | null): void {
    if (keys === null)
      this.st.dropIds.run(id); // not written by this code: a scan finds them
    else for (const [kind, value] of JSON.parse(keys) as Identifier[]) this.st.dropId.run(kind, value, id);
  }

  async deleteMachine(id: string): Promise<boolean> {
    this.commit();
    this.eventCounts.delete(id);
    return this.wrote(this.deleteTx(id));
  }

  appendEvent(e: NewTimelineEvent, keep: number): Promise<TimelineEvent> {
    if (!Number.isInteger(keep) || keep < 1) {
      // Below 1 the event being appended would be dropped at once: a caller bug, not a policy.
      return Promise.reject(
        new MetalseedError('INVALID_INPUT', `event retention must be a positive integer, got ${keep}`),
      );
    }
    this.trims.set(e.machineId, keep);
    return this.enqueue<TimelineEvent>(undefined, e);
  }

  async listEvents(machineId: string, q: EventQuery = {}): Promise<TimelineEvent[]> {
    this.commit();
    return this.st.events.all(machineId, q.afterSeq ?? 0, limitOf(q.limit)).map(toEvent);
  }

  async eventsSince(afterSeq: number, limit: number): Promise<TimelineEvent[]> {
    this.commit();
    return this.st.since.all(afterSeq, limitOf(limit)).map(toEvent);
  }

  async listRules(): Promise<Rule[]> {
    this.commit();
    return this.st.rules.all().map((r) => parse<Rule>(r));
  }
  async putRule(r: Rule): Promise<void> {
    this.commit();
    this.wrote(this.st.putRule.run(r.name, JSON.stringify(r)));
  }
  async deleteRule(name: string): Promise<boolean> {
    this.commit();
    return this.wrote(this.st.deleteRule.run(name).changes > 0);
  }
  async listProfiles(): Promise<ProfileSpec[]> {
    this.commit();
    return this.st.profiles.all().map((r) => parse<ProfileSpec>(r));
  }
  async putProfile(p: ProfileSpec): Promise<void> {
    this.commit();
    this.wrote(this.st.putProfile.run(p.name, JSON.stringify(p)));
  }
  async deleteProfile(name: string): Promise<boolean> {
    this.commit();
    return this.wrote(this.st.deleteProfile.run(name).changes > 0);
  }

  async getMeta(key: string): Promise<string | undefined> {
    this.commit();
    return this.st.getMeta.get(key)?.value;
  }
  async setMeta(key: string, value: string): Promise<void> {
    this.commit();
    this.wrote(this.st.setMeta.run(key, value));
  }

  async close(): Promise<void> {
    this.commit();
    await this.checkpointer?.stop();
    if (this.db.open) this.db.close(); // checkpoints the WAL into the main file
  }
}

type Identifier = [kind: string, value: string];

/** A machine's identifiers, each once (a MAC seen twice is still one claim). */
function identifiers(m: Machine): Identifier[] {
  const ids: Identifier[] = [...new Set(m.macs)].map((mac) => ['mac', mac]);
  if (m.uuid !== undefined) ids.push(['uuid', m.uuid]);
  if (m.serial !== undefined) ids.push(['serial', m.serial]);
  return ids;
}

const byKindValue = (a: Identifier, b: Identifier): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

/**
 * machines.keys: the identifiers as a JSON array of [kind, value] sorted by kind and value,
 * the form migration 2 gave the machines it found (json_group_array), so equal sets compare
 * equal in SQL and the UPDATE of a boot step needs no look at machine_ids.
 */
function keysOf(ids: Identifier[]): string {
  return JSON.stringify(ids.length > 1 ? [...ids].sort(byKindValue) : ids);
}

/** Opens (creating if needed) `<dir>/metalseed.db` and brings its schema up to date. */
export function openSqliteStore(dir: string): SqliteStore {
  // 0700: the inventory holds the API token hash and the cluster's machine list.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, DB_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL'); // first read of the header: a foreign file fails here
    db.pragma('synchronous = NORMAL'); // see the file comment for why not FULL
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db, file);
    const store = new SqliteStore(db, file);
    store.checkpointer = new Checkpointer(db, file);
    return store;
  } catch (err) {
    db?.close();
    throw describeOpenError(err, file);
  }
}

function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const appId = db.pragma('application_id', { simple: true }) as number;
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `${file} is an SQLite database of another program (application_id ${appId})`,
      'point the data directory elsewhere, or move this file aside',
    );
  }
  if (version > MIGRATIONS.length) {
    throw new MetalseedError(
      'CONFIG_UNREADABLE',
      `${file} has schema version ${version}, newer than this metalseed knows (${MIGRATIONS.length}): ` +
        'it was written by a newer release',
      'run that release or a newer one; to go back, restore the backup taken before the upgrade',
    );
  }
  // One transaction per step: user_version lives in the file header and commits with the
  // schema change, so a crash mid-upgrade leaves a database at a well-defined version.
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Maps SQLite's open-time failures to errors that name the file and the way out. */
function describeOpenError(err: unknown, file: string): unknown {
  if (err instanceof MetalseedError) return err;
  const code = (err as { code?: string }).code ?? '';
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new MetalseedError(
      'CONFIG_UNREADABLE',
      `${file} is not a metalseed database or is corrupt (${msg})`,
      `restore it from a backup, or move it aside together with ${DB_FILE}-wal and ${DB_FILE}-shm to start empty`,
    );
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_PERM')
  ) {
    return new MetalseedError(
      'CONFIG_UNREADABLE',
      `cannot open ${file} for writing (${msg})`,
      'check the ownership and permissions of the data directory',
    );
  }
  return err;
}
