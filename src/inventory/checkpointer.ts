/**
 * WAL checkpoints on a worker thread. A checkpoint copies the pages the WAL collected into the
 * database file and fsyncs it (https://sqlite.org/wal.html#checkpointing). Run automatically,
 * it happens inside whichever commit crosses `wal_autocheckpoint` pages, that is on the event
 * loop, in the middle of a boot storm: in the DHCP probe (bench/tools/dhcp-inproc.ts) 13 % of
 * the loop's time per DORA, and a pause of a copy plus an fsync now and then, which is what a
 * DHCP client's p99 sees. Here a second connection to the same file runs a PASSIVE checkpoint
 * at most every CHECKPOINT_MS, beside the writer (PASSIVE never blocks it, and the writer restarts the
 * WAL from its start once a checkpoint has caught up), and the writer's own automatic
 * checkpoint stays armed at FALLBACK_PAGES, far above what one interval gathers, in case the
 * worker stops.
 *
 * An idle seed writes nothing, and its worker sleeps: the writer marks the WAL dirty in a
 * shared word after each commit (one atomic compare-and-swap; it wakes the worker only on the
 * first commit after a checkpoint, not per commit in a storm), and the worker waits on that
 * word, then lets CHECKPOINT_MS of commits gather before it checkpoints them.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../lib/log.ts';

export const CHECKPOINT_MS = 200;
/** A failing checkpoint is logged at most this often: a failing disk fails every interval. */
export const FAILURE_LOG_MS = 60_000;
/** The writer's own `wal_autocheckpoint` while the worker runs (SQLite's default is 1,000). */
export const FALLBACK_PAGES = 10_000;
const DEFAULT_PAGES = 1000;

/** Indexes of the shared words: commits since the last checkpoint (0 or 1), and stop (0 or 1). */
const DIRTY = 0;
const STOP = 1;

/**
 * CommonJS, evaluated in the worker: no TypeScript loader there, and a fast start. It blocks
 * in Atomics.wait between checkpoints (its own thread: nothing else runs there), so the stop
 * request comes through the shared words too, not as a message.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const state = new Int32Array(workerData.state);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
} catch (err) {
  // sent, not thrown: better-sqlite3's errors lose their message when a thrown one is cloned
  parentPort.postMessage({ error: String(err.message), fatal: true });
}
while (db && Atomics.load(state, ${STOP}) === 0) {
  Atomics.wait(state, ${DIRTY}, 0); // asleep until a commit (or stop)
  Atomics.wait(state, ${STOP}, 0, workerData.intervalMs); // commits gather; stop wakes it
  if (Atomics.load(state, ${STOP}) !== 0) break;
  Atomics.store(state, ${DIRTY}, 0);
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({});
  } catch (err) {
    Atomics.store(state, ${DIRTY}, 1); // still to do: retried an interval later
    parentPort.postMessage({ error: err.message });
  }
}
db?.close();
parentPort.close();
`;

/** What the seed reads of a store's checkpoints: the counts (`/metrics`) and each failure told. */
export interface CheckpointReport {
  readonly counts: { ok: number; failed: number };
  onError: ((message: string) => void) | undefined;
}

export class Checkpointer implements CheckpointReport {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** Checkpoints run and failed (`metalseed_store_checkpoints_total`). */
  readonly counts = { ok: 0, failed: 0 };
  /** The last checkpoint error, if any (a busy or failing disk); the next interval retries. */
  lastError: string | undefined;
  /** Told of each failure, and of the worker's end if it dies (main.ts logs them). */
  onError: ((message: string) => void) | undefined;

  /** Shared with the worker: [DIRTY, STOP]. */
  private readonly state = new Int32Array(new SharedArrayBuffer(8));

  constructor(db: Database.Database, file: string, intervalMs = CHECKPOINT_MS) {
    db.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
    this.state[DIRTY] = 1; // one checkpoint at the start: a WAL left behind by a crash, say
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        file,
        intervalMs,
        state: this.state.buffer,
      },
    });
    const failed = (message: string): void => {
      this.counts.failed++;
      this.lastError = message;
      this.onError?.(message);
    };
    // it could not start or died: the writer checkpoints for itself again
    const stopped = (message: string): void => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${DEFAULT_PAGES}`);
      failed(`checkpoint worker stopped (${message}); commits checkpoint again`);
    };
    this.worker.on('message', (m: { error?: string; fatal?: boolean }) => {
      if (m.fatal) stopped(m.error ?? 'no reason given');
      else if (m.error !== undefined) failed(m.error);
      else this.counts.ok++;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => resolve());
      this.worker.once('error', (err: unknown) => stopped(String((err as Error | null)?.message ?? err)));
    });
    // after the listeners: adding a 'message' listener refs the worker again, and the process
    // would then wait for it to end (it never does before stop())
    this.worker.unref();
  }

  /**
   * Tells the worker the writer committed: it checkpoints within an interval. Cheap enough for
   * every commit: only the first after a checkpoint wakes the worker.
   */
  committed(): void {
    if (Atomics.compareExchange(this.state, DIRTY, 0, 1) === 0) Atomics.notify(this.state, DIRTY);
  }

  /** Stops the worker after its current checkpoint, if one runs. */
  async stop(): Promise<void> {
    this.worker.ref(); // unref'd while it runs: now its exit is awaited
    Atomics.store(this.state, STOP, 1);
    Atomics.store(this.state, DIRTY, 1); // no wait on it blocks, even one not begun yet
    Atomics.notify(this.state, DIRTY);
    Atomics.notify(this.state, STOP);
    await this.exited;
  }
}

/**
 * An `onError` for a Checkpointer that logs `store.checkpoint_failed` at most once per
 * FAILURE_LOG_MS (with the failures counted so far, `failures()`); every failure still counts
 * in metalseed_store_checkpoints_total.
 */
export function checkpointFailureLog(
  logger: Logger,
  failures: () => number,
  now: () => number = Date.now,
): (err: string) => void {
  let loggedAt = Number.NEGATIVE_INFINITY;
  return (err) => {
    if (now() - loggedAt < FAILURE_LOG_MS) return;
    loggedAt = now();
    logger.error(
      { event: 'store.checkpoint_failed', err, failures: failures() },
      'SQLite WAL checkpoint failed (logged at most once a minute; metalseed_store_checkpoints_total counts each)',
    );
  };
}
