/**
 * Where `serve`'s SQLite store runs: on its own thread (store-worker.ts), so its group commits
 * never pause the event loop the protocols answer on (DHCP ACK p99 halved in
 * docs/benchmarks.md), for ~20 % more CPU per store call (messages, a second heap); or on the
 * event loop (store-sqlite.ts). Measured on 2 CPUs, where that thread takes turns with the
 * event loop, it cost /ipxe and /ignition a fifth of their throughput and a boot storm 15 %
 * more CPU; so by default only a host with CPUs to spare runs it.
 */
import os from 'node:os';
import { openSqliteStore, type SqliteStore } from './store-sqlite.ts';
import { WorkerStore } from './store-worker.ts';

/** A host with at least this many CPUs runs the store on its own thread by default. */
export const STORE_THREAD_MIN_CPUS = 4;

/** METALSEED_STORE_THREAD=1 or 0 decides; otherwise the host's CPUs do. */
export function storeOnItsOwnThread(
  env: NodeJS.ProcessEnv = process.env,
  cpus: number = os.availableParallelism(),
): boolean {
  const forced = env.METALSEED_STORE_THREAD;
  if (forced === '1' || forced === '0') return forced === '1';
  return cpus >= STORE_THREAD_MIN_CPUS;
}

/** Opens (creating if needed) `<dir>/metalseed.db`, on its own thread or not. */
export async function openStore(
  dir: string,
  onItsOwnThread: boolean = storeOnItsOwnThread(),
): Promise<SqliteStore | WorkerStore> {
  return onItsOwnThread ? WorkerStore.open(dir) : openSqliteStore(dir);
}
