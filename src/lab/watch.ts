/**
 * The live timeline of `lab up` / `lab boot`: the seed's events (its SSE stream, through the
 * API socket) merged with milestones from each machine's serial console, one line each, with
 * the seconds since that machine's power-on. Ends when every machine is provisioned, or failed
 * (Ignition reported a failure, QEMU stopped), or at the deadline, with the last step of each.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Machine, TimelineEvent } from '../inventory/index.ts';
import { readSse } from '../lib/sse.ts';
import type { LabApi } from './api.ts';
import { SerialTail } from './serial.ts';

export interface Watched {
  name: string;
  mac: string;
  firmware: string;
  serialLog: string;
  /** Epoch ms when QEMU was started. */
  poweredOnAt: number;
  /** Whether its QEMU still runs. */
  alive: () => boolean;
}

export type Outcome = 'provisioned' | 'failed' | 'timeout';

export interface MachineResult {
  name: string;
  firmware: string;
  mac: string;
  outcome: Outcome;
  /** The seed's state for the machine (discovered, booting, configured, provisioned, …). */
  state: string;
  hostname?: string;
  /** Power-on → the seed recorded the first-boot report. */
  seconds?: number;
  lastStep: string;
  report?: { result?: string; files?: string[]; hostname?: string };
}

export interface WatchOptions {
  deadline: number;
  print: (line: string) => void;
}

const POLL_MS = 250;
/** After QEMU stops, how long its report may still be on the way before it counts as failed. */
const EXIT_GRACE_MS = 2_000;
/** Event details shown, in this order. */
const DETAILS = ['ip', 'address', 'file', 'bytes', 'profile', 'role', 'result', 'hostname', 'error'];

interface Track {
  w: Watched;
  tail: SerialTail;
  lastStep: string;
  outcome?: Outcome;
  seconds?: number;
  deadSince?: number;
}

export async function watchMachines(
  api: LabApi,
  stream: IncomingMessage,
  machines: Watched[],
  opts: WatchOptions,
): Promise<MachineResult[]> {
  const tracks = machines.map(
    (w): Track => ({ w, tail: new SerialTail(w.serialLog), lastStep: 'powered on' }),
  );
  const byMac = new Map(tracks.map((t) => [t.w.mac.toLowerCase(), t]));
  const byId = new Map<string, Track | null>();
  const width = Math.max(...machines.map((m) => m.name.length));
  const fwWidth = Math.max(...machines.map((m) => m.firmware.length));

  const show = (t: Track, at: number, what: string): void => {
    if (!t.outcome) t.lastStep = what;
    const s = `+${((at - t.w.poweredOnAt) / 1000).toFixed(1)}s`.padStart(8);
    opts.print(`${s}  ${t.w.name.padEnd(width)}  ${t.w.firmware.padEnd(fwWidth)}  ${what}`);
  };

  const trackOf = async (e: TimelineEvent): Promise<Track | null> => {
    if (e.mac) {
      const t = byMac.get(e.mac.toLowerCase()) ?? null;
      byId.set(e.machineId, t);
      return t;
    }
    if (!byId.has(e.machineId)) {
      const m = await api.get<Machine>(`/machines/${encodeURIComponent(e.machineId)}`).catch(() => null);
      byId.set(e.machineId, m?.macs.map((x) => byMac.get(x.toLowerCase())).find((x) => x) ?? null);
    }
    return byId.get(e.machineId) ?? null;
  };

  let streamEnded = false;
  const events = (async () => {
    for await (const msg of readSse(Readable.toWeb(stream) as ReadableStream<Uint8Array>)) {
      const e = JSON.parse(msg.data) as TimelineEvent;
      const t = await trackOf(e);
      if (!t) continue;
      const at = Date.parse(e.time);
      show(t, at, `${e.type.padEnd(14)} ${details(e)}`.trimEnd());
      if (e.type === 'report' && !t.outcome) {
        t.outcome = 'provisioned';
        t.seconds = (at - t.w.poweredOnAt) / 1000;
      } else if (e.type === 'report.failed' && !t.outcome) {
        t.outcome = 'failed';
      }
    }
  })()
    .catch(() => {})
    .finally(() => {
      streamEnded = true;
    });

  while (tracks.some((t) => !t.outcome)) {
    const now = Date.now();
    for (const t of tracks) {
      for (const line of t.tail.poll()) show(t, Date.now(), `console        ${line}`);
      if (t.outcome) continue;
      if (!t.w.alive()) {
        t.deadSince ??= now;
        if (now - t.deadSince > EXIT_GRACE_MS) {
          t.outcome = 'failed';
          t.lastStep = `QEMU stopped after: ${t.lastStep}`;
        }
      }
    }
    if (streamEnded) {
      for (const t of tracks.filter((x) => !x.outcome)) {
        t.outcome = 'failed';
        t.lastStep = `the seed's event stream ended after: ${t.lastStep}`;
      }
    }
    if (now > opts.deadline) {
      for (const t of tracks.filter((x) => !x.outcome)) t.outcome = 'timeout';
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  // the last console lines (Ignition's summary, "powering off") come just after the report
  await new Promise((r) => setTimeout(r, POLL_MS * 2));
  for (const t of tracks) for (const line of t.tail.poll()) show(t, Date.now(), `console        ${line}`);
  stream.destroy();
  await events;
  return results(api, tracks);
}

function details(e: TimelineEvent): string {
  const parts: string[] = [];
  for (const k of DETAILS) {
    const v = e.data[k];
    if (typeof v === 'string' || typeof v === 'number') parts.push(`${k}=${v}`);
  }
  if (Array.isArray(e.data['files'])) parts.push(`files=${(e.data['files'] as unknown[]).length}`);
  if (e.durationMs !== undefined) parts.push(`ms=${e.durationMs}`);
  return parts.join(' ');
}

/** The seed's final word on each machine: state, hostname and the first-boot report. */
async function results(api: LabApi, tracks: Track[]): Promise<MachineResult[]> {
  const all = await api.machines().catch(() => [] as Machine[]);
  const out: MachineResult[] = [];
  for (const t of tracks) {
    const m = all.find((x) => x.macs.some((mac) => mac.toLowerCase() === t.w.mac.toLowerCase()));
    const r: MachineResult = {
      name: t.w.name,
      firmware: t.w.firmware,
      mac: t.w.mac,
      outcome: t.outcome ?? 'timeout',
      state: m?.state ?? 'unknown',
      lastStep: t.lastStep,
    };
    if (m) r.hostname = m.hostname;
    if (t.seconds !== undefined) r.seconds = t.seconds;
    if (m) {
      const tl = await api.timeline(m.id).catch(() => [] as TimelineEvent[]);
      const report = tl.filter((e) => e.type === 'report' || e.type === 'report.failed').at(-1);
      if (report) r.report = report.data as MachineResult['report'] & object;
    }
    out.push(r);
  }
  return out;
}
