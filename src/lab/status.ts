/**
 * `lab status` (processes and machines, as the seed sees them) and `lab console` (a machine's
 * serial log, optionally followed).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Machine } from '../inventory/index.ts';
import { MetalseedError } from '../lib/errors.ts';
import { LabApi } from './api.ts';
import { paths, SEED_URL } from './layout.ts';
import { namespaceExists } from './network.ts';
import { isRunning, type ProcRecord } from './procs.ts';
import { readToken } from './seed-process.ts';
import { type LabState, readState } from './state.ts';
import { notUp } from './up.ts';

export interface StatusMachine {
  name: string;
  firmware: string;
  mac: string;
  qemu: 'running' | 'off';
  state: string;
  hostname?: string;
  ip?: string;
  serialLog: string;
}

export interface LabStatus {
  dir: string;
  prefix: string;
  seedUrl: string;
  namespaces: { name: string; present: boolean }[];
  processes: { what: string; pid: number; running: boolean }[];
  machines: StatusMachine[];
  /** Why the seed's view is missing, when it is. */
  apiError?: string;
}

export async function labStatus(dir: string): Promise<LabStatus> {
  const p = paths(dir);
  const state = readState(p.state);
  if (!state) throw notUp(p);
  const procs: ProcRecord[] = [
    ...(state.seed ? [state.seed] : []),
    ...(state.proxy ? [state.proxy] : []),
    ...state.machines.flatMap((m) => (m.proc ? [m.proc] : [])),
  ];
  let seen: Machine[] = [];
  let apiError: string | undefined;
  try {
    seen = await new LabApi(p.apiSocket, readToken(p)).machines();
  } catch (err) {
    apiError = (err as Error).message;
  }
  const status: LabStatus = {
    dir,
    prefix: state.prefix,
    seedUrl: SEED_URL,
    namespaces: Object.values(state.namespaces).map((name) => ({ name, present: namespaceExists(name) })),
    processes: procs.map((x) => ({ what: x.what, pid: x.pid, running: isRunning(x) })),
    machines: state.machines.map((m) => {
      const s = seen.find((x) => x.macs.some((mac) => mac.toLowerCase() === m.mac));
      const out: StatusMachine = {
        name: m.name,
        firmware: m.firmware,
        mac: m.mac,
        qemu: m.proc && isRunning(m.proc) ? 'running' : 'off',
        state: s?.state ?? 'unknown',
        serialLog: m.serialLog,
      };
      if (s) out.hostname = s.hostname;
      if (s?.addresses[0]) out.ip = s.addresses[0];
      return out;
    }),
  };
  if (apiError !== undefined) status.apiError = apiError;
  return status;
}

export function statusLines(s: LabStatus): string[] {
  const lines = [
    `lab ${s.dir} (prefix ${s.prefix}), seed ${s.seedUrl} inside ${s.namespaces.find((n) => n.name.endsWith('seed'))?.name}`,
    `namespaces: ${s.namespaces.map((n) => `${n.name}${n.present ? '' : ' (missing)'}`).join(', ')}`,
    `processes:  ${s.processes.map((x) => `${x.what} ${x.pid} ${x.running ? 'running' : 'stopped'}`).join(', ')}`,
  ];
  if (s.apiError) lines.push(`seed API: ${s.apiError}`);
  const rows = [
    ['MACHINE', 'FIRMWARE', 'MAC', 'QEMU', 'STATE', 'HOSTNAME', 'IP', 'SERIAL LOG'],
    ...s.machines.map((m) => [
      m.name,
      m.firmware,
      m.mac,
      m.qemu,
      m.state,
      m.hostname ?? '-',
      m.ip ?? '-',
      m.serialLog,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  lines.push(
    '',
    ...rows.map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
  );
  return lines;
}

export function machineOf(state: LabState, name: string) {
  const m = state.machines.find((x) => x.name === name || x.mac === name.toLowerCase());
  if (!m) {
    throw new MetalseedError(
      'NOT_FOUND',
      `no lab machine "${name}"`,
      `known: ${state.machines.map((x) => x.name).join(', ') || 'none'}`,
    );
  }
  return m;
}

const FOLLOW_POLL_MS = 200;

/** Writes the serial log to `out`; with `follow`, keeps writing until QEMU stops or `signal`. */
export async function labConsole(
  dir: string,
  name: string,
  follow: boolean,
  out: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  const p = paths(dir);
  const state = readState(p.state);
  if (!state) throw notUp(p);
  const m = machineOf(state, name);
  if (!existsSync(m.serialLog)) throw new MetalseedError('NOT_FOUND', `${m.serialLog} does not exist`);
  let offset = 0;
  const drain = (): void => {
    const size = statSync(m.serialLog).size;
    if (size <= offset) return;
    const fd = openSync(m.serialLog, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      offset += readSync(fd, buf, 0, buf.length, offset);
      out(buf);
    } finally {
      closeSync(fd);
    }
  };
  drain();
  while (follow && !signal?.aborted && m.proc && isRunning(m.proc)) {
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    drain();
  }
  drain();
}
