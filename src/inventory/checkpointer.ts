/**
 * WAL checkpoints off the event loop. SQLite copies the WAL back into the database file
 * every 1,000 pages by default, on the connection that commits, and a checkpoint fsyncs the
 * WAL and the database (https://sqlite.org/wal.html#automatic_checkpoint): with timeline
 * events appended on every boot step, the seed's event loop stood still in fsync for ~15 µs
 * per appended event (measured: 30 µs of wall time per event against 15 µs of CPU). Here a
 * worker thread with its own connection runs PASSIVE checkpoints (they never block the
 * writer, https://sqlite.org/c3ref/wal_checkpoint_v2.html) every CHECKPOINT_EVERY_MS; the
 * store's connection keeps a far larger automatic checkpoint as a safety net, should the
 * worker stop. Durability is unchanged: commits are in the WAL either way.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const CHECKPOINT_EVERY_MS = 250;
/** The store connection's own automatic checkpoint while the worker runs (pages, ~80 MiB). */
export const SAFETY_NET_PAGES = 20_000;

// CommonJS, run with `eval`: works the same under tsx and from the compiled dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const run = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {} // busy or failing: the store connection's automatic checkpoint is the net
};
const timer = setInterval(run, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(file: string, everyMs = CHECKPOINT_EVERY_MS) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sqlite, everyMs } });
    this.worker.unref(); // never keeps the process alive
    this.worker.on('error', () => {}); // the safety net takes over
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the worker after its current checkpoint and closes its connection. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    const late = setTimeout(() => void this.worker.terminate(), 2000);
    await this.exited;
    clearTimeout(late);
  }
}
