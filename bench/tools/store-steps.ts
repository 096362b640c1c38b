/**
 * The SQLite store's own cost per boot step, through the public Store API: phase `new` enrols
 * N machines (one putMachine of a new machine and two appendEvent, as a DHCP DORA), BATCH
 * machines per event-loop turn; phase `step` then changes each machine once (a putMachine of
 * a new version, same identifiers, and one event, as a later boot step). Prints CPU µs per
 * step (all threads: the checkpoint worker included) and the event loop's busy µs per step.
 * Bodies have the size and shape the provisioner writes. For comparing store changes, not a
 * benchmark figure: node --import tsx bench/tools/store-steps.ts [N] [BATCH] [RATE]. RATE (steps a
 * second, default 5000, about the in-process DHCP probe's): how many steps share a commit,
 * which sets how often the same pages are written again; 0 runs flat out.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Machine, NewTimelineEvent } from '../../src/inventory/index.ts';
import { openSqliteStore } from '../../src/inventory/index.ts';

const N = Number(process.argv[2] ?? 20000);
const BATCH = Number(process.argv[3] ?? 20);
const RATE = Number(process.argv[4] ?? 5000);
const KEEP = 500; // provisioner/timeline.ts TIMELINE_KEEP
const dir = mkdtempSync(join(tmpdir(), 'store-steps-'));
const store = openSqliteStore(dir);

const hex = (i: number) => createHash('sha256').update(String(i)).digest('hex');
const mac = (i: number) =>
  `52:54:${[i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
const ip = (i: number) => `10.77.${(i >>> 8) & 255}.${i & 255}`;
const now = () => new Date().toISOString();

function newMachine(i: number): Machine {
  const t = now();
  const h = hex(i);
  return {
    id: `m-${h.slice(0, 12)}`,
    hostname: `worker-${h.slice(0, 6)}`,
    role: 'worker',
    labels: {},
    macs: [mac(i)],
    addresses: [ip(i)],
    state: 'discovered',
    hostnameSource: 'generated',
    firstSeen: t,
    lastSeen: t,
    version: 0,
    firmware: 'uefi-x64',
    arch: 'EFI_BC',
  };
}

const dhcpEvent = (m: Machine, i: number, type: string): NewTimelineEvent => ({
  machineId: m.id,
  time: now(),
  type,
  data: { xid: i, ip: ip(i), bootFile: 'ipxe.efi', firmware: 'uefi-x64', relay: '10.77.0.2' },
  mac: m.macs[0]!,
});

const turn = () => new Promise((r) => setImmediate(r));
/** This process's bytes and calls written (Linux /proc/self/io): all threads, checkpoints too. */
function written(): { bytes: number; calls: number } {
  const io = readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
  return { bytes: field('wchar'), calls: field('syscw') };
}

async function phase(name: string, one: (i: number) => Promise<unknown>[]): Promise<void> {
  const w0 = written();
  const c0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += BATCH) {
    for (let j = i; j < Math.min(N, i + BATCH); j++) pending.push(...one(j));
    const ahead = RATE > 0 ? t0 + ((i + BATCH) * 1000) / RATE - performance.now() : 0;
    await (ahead >= 1 ? new Promise((r) => setTimeout(r, ahead)) : turn());
  }
  await Promise.all(pending);
  const c = process.cpuUsage(c0);
  const elu = performance.eventLoopUtilization(elu0);
  const w = written();
  console.log(
    `${name}: ${N} steps, batch ${BATCH}, ${RATE || 'max'}/s: ${((c.user + c.system) / N).toFixed(1)} µs CPU/step (all threads; ${(c.system / N).toFixed(1)} in the kernel), ` +
      `${((elu.active * 1000) / N).toFixed(1)} µs event loop busy/step, ` +
      `${((w.bytes - w0.bytes) / N / 1024).toFixed(2)} KiB in ${((w.calls - w0.calls) / N).toFixed(2)} writes/step, ` +
      `${(performance.now() - t0).toFixed(0)} ms wall`,
  );
}

const stored: Machine[] = new Array(N);
await phase('new ', (i) => {
  const m = newMachine(i);
  return [
    store.putMachine(m, null).then((s) => {
      stored[i] = s!;
    }),
    store.appendEvent(dhcpEvent(m, i, 'dhcp.offer'), KEEP),
    store.appendEvent(dhcpEvent(m, i, 'dhcp.ack'), KEEP),
  ];
});
await phase('step', (i) => {
  const m = stored[i]!;
  return [
    store.putMachine({ ...m, state: 'booting', lastSeen: now() }, m.version),
    store.appendEvent(
      { machineId: m.id, time: now(), type: 'http.ipxe', data: { profile: 'default' } },
      KEEP,
    ),
  ];
});
const db = join(dir, 'metalseed.db');
console.log(`database ${(statSync(db).size / 1024).toFixed(0)} KiB after both phases`);
await store.close();
rmSync(dir, { recursive: true });
