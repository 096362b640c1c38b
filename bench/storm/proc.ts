/** CPU time and resident memory of a process, from /proc/PID/stat (proc(5)). */
import fs from 'node:fs';

/** Clock ticks per second of utime/stime: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const CLK_TCK = 100;
const PAGE = 4096;

export interface ProcSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** Parses a /proc/PID/stat line; the command name may hold spaces and parentheses. */
export function parseStat(line: string, at: number): ProcSample {
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // fields after the name start at field 3 (state): utime is 14, stime 15, rss 24 (proc(5))
  const field = (n: number) => Number(rest[n - 3]);
  return { at, cpuSeconds: (field(14) + field(15)) / CLK_TCK, rssBytes: field(24) * PAGE };
}

export function procSample(pid: number): ProcSample | undefined {
  try {
    return parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), Date.now());
  } catch {
    return undefined; // the process has exited
  }
}
