/**
 * The SQLite schema as an append-only list of migrations. `PRAGMA user_version` counts the
 * migrations applied (https://sqlite.org/pragma.html#pragma_user_version), so entry i takes a
 * database from version i to i + 1. A shipped entry is never edited: change the schema by
 * appending one, so every existing database reaches the same shape.
 */

/** 'MSED': marks the file as ours, so another program's SQLite file is refused, not migrated. */
export const APPLICATION_ID = 0x4d534544;

export const MIGRATIONS: readonly string[] = [
  // 1: machines as JSON documents plus the identifiers they own. The primary key of
  // machine_ids is what enforces "one MAC/UUID/serial, one machine": two machines claiming one
  // identifier cannot both commit, whatever the caller checked before.
  `
  PRAGMA application_id = ${APPLICATION_ID};

  CREATE TABLE machines (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  CREATE INDEX machines_by_age ON machines (first_seen, id);

  CREATE TABLE machine_ids (
    kind TEXT NOT NULL CHECK (kind IN ('mac', 'uuid', 'serial')),
    value TEXT NOT NULL,
    machine_id TEXT NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX machine_ids_by_machine ON machine_ids (machine_id);

  -- AUTOINCREMENT: a seq is never reused, even after the newest events are deleted, so a
  -- live-stream client resuming from afterSeq never skips a later event.
  -- No foreign key to machines: an event may be recorded before its machine is enrolled.
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    machine_id TEXT NOT NULL,
    body TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_by_machine ON events (machine_id, seq);

  CREATE TABLE rules (name TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT;
  CREATE TABLE profiles (name TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  `,
  // 2: fewer B-tree writes per boot step. Each index below cost a write per new machine in a
  // page of its own (machine ids are hashes: random pages), and every commit appends each page
  // it dirtied to the WAL. machines_by_age served reads made once per start (listMachines) or
  // rarely (findMachines), which sort instead. machine_ids_by_machine served the UPDATE of a
  // boot step, to check the identifiers stayed: machines.keys holds them now (keysOf in
  // store-sqlite.ts: [kind, value] pairs sorted), compared in the UPDATE itself; a machine
  // whose identifiers change drops the old ones by primary key. Left to a scan: the cascade of
  // a deleted machine (an operator's action). bench/tools/store-steps.ts: see the commit.
  `
  ALTER TABLE machines ADD COLUMN keys TEXT;
  UPDATE machines SET keys = (SELECT json_group_array(json_array(kind, value)) FROM
    (SELECT kind, value FROM machine_ids WHERE machine_id = machines.id ORDER BY kind, value));
  DROP INDEX machine_ids_by_machine;
  DROP INDEX machines_by_age;
  `,
  // 3: machine_ids without its foreign key. Its ON DELETE CASCADE, with no index by machine
  // since migration 2, scanned the whole table for every deleted machine: 2 ms a delete at
  // 20,000 machines. The store drops a machine's identifiers itself, by primary key, from
  // machines.keys (SqliteStore.dropIdentifiers), in the transaction that deletes or re-keys it;
  // identifiers are only ever written beside their machine's row, in one transaction.
  `
  CREATE TABLE machine_ids_v3 (
    kind TEXT NOT NULL CHECK (kind IN ('mac', 'uuid', 'serial')),
    value TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    PRIMARY KEY (kind, value)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO machine_ids_v3 (kind, value, machine_id) SELECT kind, value, machine_id FROM machine_ids;
  DROP TABLE machine_ids;
  ALTER TABLE machine_ids_v3 RENAME TO machine_ids;
  `,
];
