/**
 * `lab down`: every process the lab started, by its recorded PID (and only while that PID is
 * still the process that was started, procs.ts), then anything else still running inside the
 * lab's own namespaces, then the namespaces. Safe to run twice, and after a `lab up` that died
 * half-way (the namespaces are found by their names even without a state file).
 */
import { rmSync } from 'node:fs';
import { allNamespaces, paths } from './layout.ts';
import { deleteNamespaces, namespaceExists, pidsIn } from './network.ts';
import { type ProcRecord, startTime, stopProcess } from './procs.ts';
import { readState } from './state.ts';

export interface DownOptions {
  dir: string;
  /** Used when there is no state file; the state's own prefix wins otherwise. */
  prefix: string;
  print: (line: string) => void;
}

export interface DownResult {
  stopped: string[];
  namespaces: string[];
  /** Namespaces that could not be deleted (still busy). */
  left: string[];
}

const STRAY_GRACE_MS = 2_000;

export async function labDown(o: DownOptions): Promise<DownResult> {
  const p = paths(o.dir);
  const state = readState(p.state);
  const prefix = state?.prefix ?? o.prefix;
  const stopped: string[] = [];

  // machines first (they talk to the seed), then the seed, then the API forwarder
  const procs: ProcRecord[] = [
    ...(state?.machines.flatMap((m) => (m.proc ? [m.proc] : [])) ?? []),
    ...(state?.seed ? [state.seed] : []),
    ...(state?.proxy ? [state.proxy] : []),
  ];
  await Promise.all(
    procs.map(async (proc) => {
      if (await stopProcess(proc)) {
        stopped.push(`${proc.what} (pid ${proc.pid})`);
        o.print(`stopped ${proc.what} (pid ${proc.pid})`);
      }
    }),
  );

  // Anything else in our namespaces was started by the lab too (a QEMU from a lost state file)
  const names = state ? Object.values(state.namespaces) : allNamespaces(prefix);
  for (const ns of names) {
    for (const pid of pidsIn(ns)) {
      const start = startTime(pid);
      if (start === null) continue;
      o.print(`stopping pid ${pid} still running in ${ns}`);
      await stopProcess({ pid, start, what: `pid ${pid} in ${ns}` }, STRAY_GRACE_MS);
      stopped.push(`pid ${pid} in ${ns}`);
    }
  }

  const deleted = deleteNamespaces(names);
  for (const ns of deleted) o.print(`deleted namespace ${ns}`);
  const left = names.filter(namespaceExists);
  for (const ns of left)
    o.print(`could not delete namespace ${ns} (pids: ${pidsIn(ns).join(' ') || 'none'})`);
  rmSync(p.apiSocket, { force: true });
  if (left.length === 0) rmSync(p.state, { force: true });
  if (stopped.length === 0 && deleted.length === 0 && left.length === 0) {
    o.print(
      state ? 'nothing was running' : `no lab is up (no state file ${p.state}, no ${prefix}* namespaces)`,
    );
  }
  return { stopped, namespaces: deleted, left };
}
