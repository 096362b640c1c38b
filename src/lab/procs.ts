/**
 * The lab's long-running processes (seed, API proxy, QEMU machines) outlive the command that
 * starts them, so each is recorded by PID *and* start time (/proc/PID/stat field 22, clock ticks
 * since boot, proc(5)). A PID is signalled only while both still match: a recycled PID that now
 * belongs to someone else's process is never touched.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ProcRecord {
  pid: number;
  /** /proc/PID/stat starttime when it was started. */
  start: string;
  /** What it is, for messages: "seed", "qemu m1". */
  what: string;
}

/** After SIGTERM: QEMU and the seed stop in well under a second; then SIGKILL. */
export const STOP_GRACE_MS = 3_000;
const POLL_MS = 50;

/** /proc/PID/stat from field 3 (state) on, or null when there is no such process. */
function statFields(pid: number): string[] | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) is in parentheses and may hold spaces: count fields after the last ')'
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Field 22 of /proc/PID/stat, or null when there is no such process. */
export function startTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null; // [0] is field 3
}

/** True while the recorded process is the one running under that PID (not a zombie). */
export function isRunning(p: ProcRecord): boolean {
  const f = statFields(p.pid);
  return f !== null && f[19] === p.start && f[0] !== 'Z';
}

/**
 * Starts `cmd args` inside namespace `ns` (`ip netns exec` execs, so the PID is the command's
 * own), detached from this process (own session, output appended to `log`), so that it keeps
 * running after `metalseed lab` returns and a Ctrl-C in the terminal does not reach it.
 */
export function spawnInNs(ns: string, cmd: string, args: string[], log: string, what: string): ProcRecord {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${what}: spawn failed`);
    const start = startTime(child.pid);
    if (start === null) throw new Error(`${what} (pid ${child.pid}) exited at once; see ${log}`);
    return { pid: child.pid, start, what };
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. False: it was not running. */
export async function stopProcess(p: ProcRecord, graceMs = STOP_GRACE_MS): Promise<boolean> {
  if (!isRunning(p)) return false;
  signal(p.pid, 'SIGTERM');
  for (const end = Date.now() + graceMs; Date.now() < end; ) {
    if (!isRunning(p)) return true;
    await sleep(POLL_MS);
  }
  if (startTime(p.pid) === p.start) signal(p.pid, 'SIGKILL');
  for (let i = 0; i < 40 && isRunning(p); i++) await sleep(POLL_MS);
  return true;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
