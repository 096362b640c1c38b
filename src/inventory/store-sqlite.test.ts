/**
 * The SQLite store against the shared suite (with reopen), then what only a file can get
 * wrong: a killed process, a database from a newer release, a file that is not ours.
 */
import assert from 'node:assert/strict';
import { type StdioOptions, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MetalseedError } from '../lib/errors.ts';
import { recordingLogger } from '../lib/log.ts';
import {
  CHECKPOINT_MS,
  Checkpointer,
  checkpointFailureLog,
  FAILURE_LOG_MS,
  FALLBACK_PAGES,
} from './checkpointer.ts';
import { mac, machine, storeConformance } from './store.conformance.ts';
import { DB_FILE, openSqliteStore, type SqliteStore } from './store-sqlite.ts';
import { MIGRATIONS } from './store-sqlite-migrations.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-store-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

storeConformance('SqliteStore', async () => {
  const dir = tempDir();
  let current: SqliteStore = openSqliteStore(dir);
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = openSqliteStore(dir);
      return current;
    },
    cleanup: () => current.close(),
  };
});

/** A child Node process running `code` (an ES module, TypeScript imports allowed). */
function tsChild(code: string, stdio: StdioOptions) {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio });
}

/** Opens a file with plain better-sqlite3, to tamper with it as another release would. */
function raw(file: string, sql: string): void {
  const db = new Database(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function isOpenError(file: string, hint: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof MetalseedError, `a MetalseedError, got ${err}`);
    assert.equal(err.code, 'CONFIG_UNREADABLE');
    assert.ok(err.message.includes(file), `names the file: ${err.message}`);
    assert.match(err.hint ?? '', hint);
    return true;
  };
}

describe('SqliteStore', () => {
  it('creates metalseed.db in WAL mode at the newest schema version', async () => {
    const dir = path.join(tempDir(), 'not-yet');
    await openSqliteStore(dir).close();
    const db = new Database(path.join(dir, DB_FILE), { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  });

  it('refuses a database written by a newer release, saying what to do', async () => {
    const dir = tempDir();
    const file = path.join(dir, DB_FILE);
    await openSqliteStore(dir).close();
    raw(file, `PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    assert.throws(() => openSqliteStore(dir), isOpenError(file, /newer|backup/));
    const newer = `schema version ${MIGRATIONS.length + 1}, newer than this metalseed knows (${MIGRATIONS.length})`;
    assert.throws(
      () => openSqliteStore(dir),
      (err: Error) => err.message.includes(newer),
    );
  });

  it('refuses a file that is not an SQLite database, naming it', () => {
    const dir = tempDir();
    const file = path.join(dir, DB_FILE);
    fs.writeFileSync(file, 'lease 10.0.0.5 52:54:00:00:00:01\n'.repeat(200));
    assert.throws(() => openSqliteStore(dir), isOpenError(file, /backup|move it aside/));
    assert.match(fs.readFileSync(file, 'utf8'), /^lease /, 'left untouched');
  });

  it("refuses another program's SQLite database instead of migrating it", () => {
    const dir = tempDir();
    const file = path.join(dir, DB_FILE);
    raw(file, 'PRAGMA application_id = 42; CREATE TABLE t (x)');
    assert.throws(() => openSqliteStore(dir), isOpenError(file, /elsewhere|aside/));
  });

  it('migrations 2 and 3 bring a version-1 database over: identifiers kept, updates, re-keying and deletes work', async () => {
    const dir = tempDir();
    const file = path.join(dir, DB_FILE);
    const a = machine(2, { macs: [mac(12), mac(2)], uuid: 'u-2', version: 1 });
    const b = machine(1, { version: 1 });
    const v1 = new Database(file);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    for (const m of [a, b]) {
      v1.prepare('INSERT INTO machines (id, version, first_seen, body) VALUES (?, 1, ?, ?)').run(
        m.id,
        m.firstSeen,
        JSON.stringify(m),
      );
      for (const x of m.macs) v1.prepare("INSERT INTO machine_ids VALUES ('mac', ?, ?)").run(x, m.id);
    }
    v1.prepare("INSERT INTO machine_ids VALUES ('uuid', 'u-2', ?)").run(a.id);
    v1.close();

    const store = openSqliteStore(dir);
    try {
      const keys = () => {
        const db = new Database(file, { readonly: true });
        try {
          return db.prepare('SELECT keys FROM machines WHERE id = ?').pluck().get(a.id);
        } finally {
          db.close();
        }
      };
      // the form the store writes itself, so a boot step's UPDATE matches at once
      const want = JSON.stringify([
        ['mac', mac(2)], // sorted: 52:54:00:00:00:02 before ...:0c
        ['mac', mac(12)],
        ['uuid', 'u-2'],
      ]);
      assert.equal(keys(), want);
      const db = new Database(file, { readonly: true });
      assert.deepEqual(db.pragma('foreign_key_list(machine_ids)'), [], 'no cascade: the store drops them');
      assert.equal(db.prepare('SELECT count(*) FROM machine_ids').pluck().get(), 4, 'all carried over');
      db.close();
      assert.deepEqual(
        (await store.listMachines()).map((m) => m.id),
        [b.id, a.id],
        'oldest first, without the index',
      );
      assert.deepEqual(await store.putMachine({ ...a, state: 'booting' }, 1), {
        ...a,
        state: 'booting',
        version: 2,
      });
      assert.equal(keys(), want, 'unchanged identifiers: same keys');
      assert.equal(await store.putMachine(machine(3, { macs: [mac(12)] }), null), null, 'still owned');
      const rekeyed = await store.putMachine({ ...a, macs: [mac(2)], uuid: 'u-9' }, 2);
      assert.equal(rekeyed?.version, 3);
      assert.ok(await store.putMachine(machine(3, { macs: [mac(12)], uuid: 'u-2' }), null), 'released');
      assert.deepEqual(
        (await store.findMachines({ macs: [mac(2)], uuid: 'u-9' })).map((m) => m.id),
        [a.id],
      );
      assert.ok(await store.deleteMachine(a.id));
      assert.ok(await store.putMachine(machine(4, { macs: [mac(2)], uuid: 'u-9' }), null), 'freed by delete');
    } finally {
      await store.close();
    }
  });

  it('a re-keying that finds an identifier taken writes nothing', async () => {
    const store = openSqliteStore(tempDir());
    try {
      const a = (await store.putMachine(machine(1, { macs: [mac(1)], serial: 'S1' }), null))!;
      await store.putMachine(machine(2, { macs: [mac(2)] }), null);
      // the old identifiers are dropped before the new ones are claimed: the savepoint undoes it
      assert.equal(await store.putMachine({ ...a, macs: [mac(3), mac(2)], serial: 'S9' }, 1), null);
      assert.deepEqual(await store.getMachine(a.id), a);
      assert.equal(await store.putMachine(machine(5, { macs: [mac(1)] }), null), null, 'mac(1) still owned');
      assert.equal(
        await store.putMachine(machine(6, { macs: [mac(6)], serial: 'S1' }), null),
        null,
        'S1 too',
      );
      assert.ok(
        await store.putMachine(machine(7, { macs: [mac(3)], serial: 'S9' }), null),
        'nothing claimed',
      );
    } finally {
      await store.close();
    }
  });

  it('checkpoints the WAL on its worker thread, not in a commit on the event loop', async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir);
    try {
      const dbFile = path.join(dir, DB_FILE);
      const before = fs.statSync(dbFile).size;
      await Promise.all(Array.from({ length: 300 }, (_, i) => store.putMachine(machine(i + 1), null)));
      // 300 machines are far below the writer's own threshold (FALLBACK_PAGES): only the
      // worker copies them from the WAL into the database file
      assert.ok(fs.statSync(`${dbFile}-wal`).size > 0);
      const until = Date.now() + 20 * CHECKPOINT_MS;
      const done = () => fs.statSync(dbFile).size > before && (store.checkpointer?.counts.ok ?? 0) > 0;
      while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, CHECKPOINT_MS / 4));
      assert.ok(fs.statSync(dbFile).size > before, 'the database file took the pages from the WAL');
      assert.equal(store.checkpointer?.lastError, undefined);
      assert.ok((store.checkpointer?.counts.ok ?? 0) > 0, 'counted');
      assert.equal(store.checkpointer?.counts.failed, 0);
    } finally {
      await store.close();
    }
    const reopened = openSqliteStore(dir);
    assert.equal((await reopened.listMachines()).length, 300);
    await reopened.close();
  });

  it('checkpoints only after a commit: an idle store wakes no thread', async () => {
    const store = openSqliteStore(tempDir());
    const c = store.checkpointer!;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const settled = async () => {
      // one interval gathers the commits, a second one finishes the checkpoint
      for (let n = c.counts.ok, i = 0; i < 3; i++, n = c.counts.ok) {
        await sleep(2 * CHECKPOINT_MS);
        if (c.counts.ok === n) return n;
      }
      return c.counts.ok;
    };
    try {
      const start = await settled(); // the one checkpoint every start makes
      await sleep(5 * CHECKPOINT_MS);
      assert.equal(c.counts.ok, start, 'idle: no checkpoint');
      await store.putMachine(machine(1), null);
      await store.setMeta('k', 'v');
      assert.ok((await settled()) > start, 'a commit is checkpointed');
      const after = c.counts.ok;
      await sleep(5 * CHECKPOINT_MS);
      assert.equal(c.counts.ok, after, 'idle again');
      assert.equal(c.counts.failed, 0);
    } finally {
      await store.close();
    }
  });

  it('an open store does not keep the process alive (its worker is unref-ed)', async () => {
    const url = new URL('store-sqlite.ts', import.meta.url).href;
    const child = tsChild(
      `import { openSqliteStore } from ${JSON.stringify(url)};
       const s = openSqliteStore(${JSON.stringify(tempDir())});
       await s.setMeta('k', 'v');`,
      'inherit',
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(timer);
    assert.deepEqual([code, signal], [0, null], 'ended by itself, not killed');
  });

  it('a failing checkpoint is logged at most once a minute, with the failures counted', () => {
    const log = recordingLogger();
    let t = 1_000_000;
    let failures = 0;
    const onError = checkpointFailureLog(
      log,
      () => failures,
      () => t,
    );
    const fail = (err: string) => {
      failures++;
      onError(err);
      t += CHECKPOINT_MS; // a failing disk: every interval
    };
    fail('disk I/O error');
    while (t < 1_000_000 + FAILURE_LOG_MS) fail('disk I/O error');
    assert.deepEqual(
      log.records.map((r) => [r.event, r.err, r.failures, r.level]),
      [['store.checkpoint_failed', 'disk I/O error', 1, 'error']],
      'one record in the first minute',
    );
    fail('database is locked');
    assert.equal(log.records.length, 2, 'the next minute: logged again');
    assert.deepEqual([log.records[1]!.err, log.records[1]!.failures], ['database is locked', failures]);
    assert.equal(failures, FAILURE_LOG_MS / CHECKPOINT_MS + 1);
  });

  it('a checkpoint worker that cannot run says so, and the writer checkpoints for itself again', async () => {
    const db = new Database(':memory:');
    try {
      const errors: string[] = [];
      const c = new Checkpointer(db, path.join(tempDir(), 'missing.db'));
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), FALLBACK_PAGES);
      c.onError = (e) => errors.push(e);
      await c.stop();
      assert.equal(errors.length, 1, 'one error');
      assert.match(errors[0]!, /checkpoint worker stopped .*unable to open database file/);
      assert.equal(c.counts.failed, 1);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    } finally {
      db.close();
    }
  });

  it('loses no acknowledged write when the process is killed with SIGKILL', async () => {
    const dir = tempDir();
    const url = (f: string) => new URL(f, import.meta.url).href;
    // The child prints an id only after putMachine and appendEvent resolved: each printed id
    // is a write the seed would have acted on (answered DHCP, served a script).
    const child = tsChild(
      `import { openSqliteStore } from ${JSON.stringify(url('store-sqlite.ts'))};
       import { machine } from ${JSON.stringify(url('store.conformance.ts'))};
       const s = openSqliteStore(${JSON.stringify(dir)});
       for (let i = 1; i < 60000; i++) {
         const m = await s.putMachine(machine(i), null);
         await s.appendEvent({ machineId: m.id, time: m.firstSeen, type: 'dhcp.discover', data: {} }, 10);
         process.stdout.write(m.id + '\\n');
       }`,
      ['ignore', 'pipe', 'inherit'],
    );
    const acked: string[] = [];
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    for await (const line of createInterface({ input: child.stdout! })) {
      acked.push(line);
      if (acked.length === 300) child.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL', 'killed mid-way, not finished');
    const store = openSqliteStore(dir);
    try {
      const have = new Set((await store.listMachines()).map((m) => m.id));
      assert.deepEqual(
        acked.filter((id) => !have.has(id)),
        [],
      );
      for (const id of acked.slice(-5)) assert.equal((await store.listEvents(id)).length, 1);
    } finally {
      await store.close();
    }
  });
});
