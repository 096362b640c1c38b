/**
 * The SQLite store's own cost per boot step, through the public Store API: phase `new` enrols
 * N machines (one putMachine of a new machine and two appendEvent, as a DHCP DORA), BATCH
 * machines per event-loop turn; phase `step` then changes each machine once (a putMachine of
 * a new version, same identifiers, and one event, as a later boot step). Prints CPU µs per
 * step (all threads: the checkpoint worker included) and the event loop's busy µs per step.
 * Bodies have the size and shape the provisioner writes. For comparing store changes, not a
 * benchmark figure: node --import tsx bench/tools/store-steps.ts [N] [BATCH]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Machine, NewTimelineEvent } from '../../src/inventory/index.ts';
import { openSqliteStore } from '../../src/inventory/index.ts';

const N = Number(process.argv[2] ?? 20000);
const BATCH = Number(process.argv[3] ?? 20);
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

async function phase(name: string, one: (i: number) => Promise<unknown>[]): Promise<void> {
  const c0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += BATCH) {
    for (let j = i; j < Math.min(N, i + BATCH); j++) pending.push(...one(j));
    await turn();
  }
  await Promise.all(pending);
  const c = process.cpuUsage(c0);
  const elu = performance.eventLoopUtilization(elu0);
  console.log(
    `${name}: ${N} steps, batch ${BATCH}: ${((c.user + c.system) / N).toFixed(1)} µs CPU/step (all threads), ` +
      `${((elu.active * 1000) / N).toFixed(1)} µs event loop busy/step, ${(performance.now() - t0).toFixed(0)} ms wall`,
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
