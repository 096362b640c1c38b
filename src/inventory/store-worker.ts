/**
 * The SQLite store on its own thread, so the event loop is kept for the protocols (`serve`
 * uses it on hosts with CPUs to spare: see open-store.ts).
 *
 * better-sqlite3 is synchronous, so the store's group commit (store-sqlite.ts) runs on the
 * thread that calls it. On the event loop that is a pause of 0.6–1.2 ms every 20 ms while
 * machines boot (WAL frames for the pages each commit touched), and a DHCP request that
 * arrives meanwhile waits it out: in the in-process probe at 200 new clients a second
 * (bench/tools/dhcp-inproc.ts, RATE=200), REQUEST→ACK p99 was 1.7–2.1 ms with the commits on
 * the loop and 0.7–0.9 ms without them. Here a worker thread owns the `SqliteStore` (its
 * connection, group commit and checkpointer) and this class forwards every `Store` call to it.
 *
 * The calls of one event-loop iteration travel in one message (sent from setImmediate: a
 * microtask sent each HTTP request's timeline event alone, and cost /ipxe a third of its
 * throughput), and the results of one commit come back in one. Arguments and results are
 * copies: nothing is shared, as with the SQLite store's own copies. Calls are answered in the
 * order they were made, so a read sees every write issued before it.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import { isErrorCode, MetalseedError } from '../lib/errors.ts';
import type { CheckpointReport } from './checkpointer.ts';
import type { EventQuery, MachineKeys, Store } from './store.ts';
import { openSqliteStore } from './store-sqlite.ts';
import type { Machine, NewTimelineEvent, ProfileSpec, Rule, TimelineEvent } from './types.ts';

type Method = Exclude<keyof Store, 'close'>;
type Call = [id: number, method: Method, args: unknown[]];
/** [id, ok] alone when the value is undefined (JSON would make it null). */
type Result = [id: number, ok: boolean, value?: unknown];
interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  hint?: string;
}
/** Calls and results travel as JSON text (see `flush`); the rest as objects. */
type FromWorker =
  | string
  | { ready: true }
  | { failed: ErrorInfo }
  | { checkpoints: { ok: number; failed: number }; error?: string };

/** How often the worker reports its checkpoint counts when they changed (for /metrics). */
const CHECKPOINT_REPORT_MS = 1000;

/**
 * CommonJS, evaluated in the worker. From the TypeScript sources (a development checkout, the
 * tests) it registers tsx first, as bin/metalseed.js does for the main thread; the worker is
 * given no inherited flags (`--test`, `--cpu-prof`...).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await (await import(workerData.module)).serveStore(parentPort, workerData.dir);
})().catch((err) => parentPort.postMessage({ failed: { name: 'Error', message: String((err && err.stack) || err) } }));
`;

export class WorkerStore implements Store {
  /**
   * The worker's WAL checkpoints, as the in-thread store's `checkpointer` shows them: counts
   * reported every CHECKPOINT_REPORT_MS (`/metrics`), and each failure told (main.ts logs it).
   */
  readonly checkpointer: CheckpointReport = { counts: { ok: 0, failed: 0 }, onError: undefined };
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    {
      resolve: (v: unknown) => void;
      reject: (e: unknown) => void;
      /** What a call sent that its result is rebuilt from (see settle). */
      event?: NewTimelineEvent;
      machine?: Machine;
    }
  >();
  private calls: Call[] = [];
  /** Set once the worker is gone: every later call fails with it. */
  private dead: Error | undefined;
  private readonly closed: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.closed = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: FromWorker) => {
      if (typeof m === 'string') this.settle(JSON.parse(m) as Result[]);
      else if ('checkpoints' in m) {
        Object.assign(this.checkpointer.counts, m.checkpoints);
        if (m.error !== undefined) this.checkpointer.onError?.(m.error);
      }
    });
    const gone = (why: string): void => {
      this.dead ??= new MetalseedError('INTERNAL', `the store's worker thread ended (${why})`);
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    worker.on('error', (err) => gone(err.message));
    worker.on('exit', (code) => gone(`exit code ${code}`));
  }

  /** Opens `<dir>/metalseed.db` on a new worker thread; fails as `openSqliteStore` would. */
  static async open(dir: string): Promise<WorkerStore> {
    const fromSource = import.meta.url.endsWith('.ts');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: {
        dir,
        module: import.meta.url,
        loader: fromSource ? import.meta.resolve('tsx/esm/api') : undefined,
      },
    });
    const first = await new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (typeof first === 'object' && 'failed' in first) {
      await worker.terminate();
      throw toError(first.failed);
    }
    const store = new WorkerStore(worker);
    worker.unref(); // referenced only while calls wait for it (see call)
    return store;
  }

  private call<T>(
    method: Method,
    args: unknown[],
    sent: { event?: NewTimelineEvent; machine?: Machine } = {},
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      if (this.waiting.size === 0) this.worker.ref(); // a pending call keeps the process alive
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, ...sent });
      this.calls.push([id, method, args]);
      if (this.calls.length === 1) setImmediate(this.flush);
    });
  }

  /**
   * One iteration's calls as one JSON string: cloning a string is a copy, while postMessage's
   * structured clone of the objects cost several times JSON.stringify (13 against ~4 µs per
   * DHCP exchange in the probe). Everything a Store takes and returns is JSON already (the
   * SQLite store keeps it as JSON text).
   */
  private readonly flush = (): void => {
    const calls = this.calls;
    if (calls.length === 0) return; // sent already, by close
    this.calls = [];
    this.worker.postMessage(JSON.stringify(calls));
  };

  private settle(results: Result[]): void {
    for (const [id, ok, value] of results) {
      const w = this.waiting.get(id);
      if (!w) continue;
      this.waiting.delete(id);
      if (!ok) w.reject(toError(value as ErrorInfo));
      // An appended event comes back as its seq alone and a stored machine as its version: the
      // rest is what was sent, copied here, so what every boot step writes is cloned once. The
      // copies are shallow (the SQLite store's are deep): nothing of the store's own is shared.
      else if (w.event) w.resolve({ ...w.event, data: { ...w.event.data }, seq: value as number });
      else if (w.machine) w.resolve(value === null ? null : { ...w.machine, version: value as number });
      else w.resolve(value);
    }
    if (this.waiting.size === 0 && !this.dead) this.worker.unref();
  }

  getMachine(id: string): Promise<Machine | undefined> {
    return this.call('getMachine', [id]);
  }
  findMachines(keys: MachineKeys): Promise<Machine[]> {
    return this.call('findMachines', [keys]);
  }
  listMachines(): Promise<Machine[]> {
    return this.call('listMachines', []);
  }
  putMachine(m: Machine, expectedVersion: number | null): Promise<Machine | null> {
    return this.call('putMachine', [m, expectedVersion], { machine: m });
  }
  deleteMachine(id: string): Promise<boolean> {
    return this.call('deleteMachine', [id]);
  }
  appendEvent(e: NewTimelineEvent, keep: number): Promise<TimelineEvent> {
    return this.call('appendEvent', [e, keep], { event: e });
  }
  listEvents(machineId: string, q?: EventQuery): Promise<TimelineEvent[]> {
    return this.call('listEvents', q === undefined ? [machineId] : [machineId, q]);
  }
  eventsSince(afterSeq: number, limit: number): Promise<TimelineEvent[]> {
    return this.call('eventsSince', [afterSeq, limit]);
  }
  listRules(): Promise<Rule[]> {
    return this.call('listRules', []);
  }
  putRule(r: Rule): Promise<void> {
    return this.call('putRule', [r]);
  }
  deleteRule(name: string): Promise<boolean> {
    return this.call('deleteRule', [name]);
  }
  listProfiles(): Promise<ProfileSpec[]> {
    return this.call('listProfiles', []);
  }
  putProfile(p: ProfileSpec): Promise<void> {
    return this.call('putProfile', [p]);
  }
  deleteProfile(name: string): Promise<boolean> {
    return this.call('deleteProfile', [name]);
  }
  getMeta(key: string): Promise<string | undefined> {
    return this.call('getMeta', [key]);
  }
  setMeta(key: string, value: string): Promise<void> {
    return this.call('setMeta', [key, value]);
  }

  /** Commits what is queued, closes the database (checkpointing the WAL) and ends the thread. */
  async close(): Promise<void> {
    if (this.dead) return;
    if (this.calls.length > 0) this.flush();
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await this.closed;
  }
}

/** The worker's side: serves one `SqliteStore` over `port` until told to close. */
export function serveStore(port: MessagePort, dir: string): void {
  let store: ReturnType<typeof openSqliteStore>;
  try {
    store = openSqliteStore(dir);
  } catch (err) {
    port.postMessage({ failed: errorInfo(err) });
    return;
  }
  let results: Result[] = [];
  const send = (): void => {
    if (results.length === 0) return; // sent already, by close
    const r = results;
    results = [];
    port.postMessage(JSON.stringify(r));
  };
  // The results of one commit settle in one turn: one message back for all of them.
  const settle = (id: number, ok: boolean, value: unknown): void => {
    results.push(!ok ? [id, false, errorInfo(value)] : value === undefined ? [id, true] : [id, true, value]);
    if (results.length === 1) setImmediate(send);
  };
  const cp = store.checkpointer;
  let reported = '';
  const report = (error?: string): void => {
    if (!cp) return;
    reported = `${cp.counts.ok}/${cp.counts.failed}`;
    port.postMessage({ checkpoints: { ...cp.counts }, ...(error !== undefined ? { error } : {}) });
  };
  if (cp) cp.onError = (message) => report(message);
  const timer = setInterval(() => {
    if (cp && `${cp.counts.ok}/${cp.counts.failed}` !== reported) report();
  }, CHECKPOINT_REPORT_MS);
  port.on('message', (m: string | { close: true }) => {
    for (const [id, method, args] of typeof m === 'string' ? (JSON.parse(m) as Call[]) : []) {
      (store[method] as (...a: unknown[]) => Promise<unknown>)(...args).then(
        (v) => settle(id, true, compact(method, v)),
        (err: unknown) => settle(id, false, err),
      );
    }
    if (typeof m === 'object' && m.close) {
      clearInterval(timer);
      // the close commits what is queued: those results go out before the port closes
      void store.close().finally(() => {
        send();
        port.close();
      });
    }
  });
  port.postMessage({ ready: true });
}

/** What goes back for a call's result: see WorkerStore.settle for the two it shortens. */
function compact(method: Method, v: unknown): unknown {
  if (method === 'appendEvent') return (v as TimelineEvent).seq;
  if (method === 'putMachine') return v === null ? null : (v as Machine).version;
  return v;
}

function errorInfo(err: unknown): ErrorInfo {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const e = err as Error & { code?: unknown; hint?: unknown };
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
  };
}

/** A MetalseedError again when it was one (its code decides HTTP statuses and exit codes). */
function toError(info: ErrorInfo): Error {
  if (info.code !== undefined && isErrorCode(info.code)) {
    const e = new MetalseedError(info.code, info.message, info.hint);
    if (info.name !== 'MetalseedError') e.name = info.name;
    return e;
  }
  return Object.assign(new Error(info.message), {
    name: info.name,
    ...(info.code ? { code: info.code } : {}),
  });
}
