/**
 * In-process DHCP cost probe: the whole seed's DHCP path (DhcpServer, Pool, fdatasync'd
 * journal, Provisioner with the SQLite store) fed encoded DISCOVER/REQUEST pairs through a
 * fake socket, BATCH clients per event-loop turn. Prints CPU µs per DORA. For profiling
 * (node --cpu-prof --import tsx bench/tools/dhcp-inproc.ts N BATCH [core]), not a benchmark
 * figure. `core`: the protocol server alone (a fixed boot hook, no provisioner), as dhcp-core.ts.
 * MS_LEASE_SYNC=after-reply runs the server in that mode (see bench-dhcp.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseConfigText } from '../../src/config/index.ts';
import { encode, MessageType } from '../../src/dhcp/index.ts';
import { openSqliteStore } from '../../src/inventory/index.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { mustIPv4 } from '../../src/lib/net.ts';
import type { UdpSocket } from '../../src/lib/udp.ts';
import { Provisioner } from '../../src/provisioner/index.ts';
import { seedCatalog } from '../../src/seed-catalog.ts';
import { clientPacket } from '../../test/helpers/dhcp-packets.ts';
import { BENCH_SEED, benchDhcpServer } from './bench-dhcp.ts';

const N = Number(process.argv[2] ?? 20000);
const BATCH = Number(process.argv[3] ?? 20);
const CORE = process.argv[4] === 'core';
const dir = mkdtempSync(join(tmpdir(), 'dhcp-inproc-'));
const config = parseConfigText(`dataDir: ${dir}\n`, 'inproc.yaml');
const store = openSqliteStore(dir);
await seedCatalog(store, config);
const seed = BENCH_SEED;
const origPut = store.putMachine.bind(store);
let puts = 0;
store.putMachine = (m, v) => {
  puts++;
  return origPut(m, v);
};
const p = await Provisioner.create({
  config,
  advertise: seed,
  store,
  tftpExists: () => true,
  logger: silentLogger,
});
let sent = 0;
let acks = 0;
const count = (b: Uint8Array) => {
  sent++;
  if (b[242] === MessageType.ACK) acks++;
};
// with sendMany, as the native batch reader's socket: one batch's replies leave together
const socket: UdpSocket = {
  port: 67,
  send: count,
  sendMany: (msgs) => {
    for (const m of msgs) count(m.bytes);
  },
  onMessage: () => {},
  close: () => {},
};
const { server, journal, pool } = benchDhcpServer({
  dir,
  socket,
  ...(CORE ? { boot: () => ({ file: 'ipxe.efi', siaddr: seed }) } : { boot: p.dhcpBoot, onEvent: p.onDhcpEvent }),
});
const mac = (i: number) =>
  `52:54:${[i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
const pxe = { vendorClass: 'PXEClient:Arch:00007:UNDI:003016', arch: 7, giaddr: mustIPv4('10.77.0.2') };
const from = { address: '10.77.0.2', port: 67 };
const turn = () => new Promise((r) => setImmediate(r));
const c0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const t0 = performance.now();
for (let i = 0; i < N; i += BATCH) {
  for (let j = i; j < Math.min(N, i + BATCH); j++)
    server.receive(
      encode(clientPacket({ mac: mac(j), type: 'DISCOVER', xid: j, ...pxe })),
      from,
      socket,
      false,
    );
  await turn();
  for (let j = i; j < Math.min(N, i + BATCH); j++) {
    const ip = pool.lease(mac(j))!.ip;
    server.receive(
      encode(clientPacket({ mac: mac(j), type: 'REQUEST', xid: j, requested: ip, serverId: seed, ...pxe })),
      from,
      socket,
      false,
    );
  }
  await turn();
}
while (acks < N) await new Promise((r) => setTimeout(r, 1));
await p.flush();
const c = process.cpuUsage(c0);
const elu = performance.eventLoopUtilization(elu0);
console.log(
  `${N} DORA, batch ${BATCH}: ${((c.user + c.system) / N).toFixed(1)} µs CPU/DORA (all threads), ${((elu.active * 1000) / N).toFixed(1)} µs event loop busy/DORA, ${(performance.now() - t0).toFixed(0)} ms wall, ${sent} sent, ${(puts / N).toFixed(2)} machine writes/DORA`,
);
await store.close();
journal.close();
rmSync(dir, { recursive: true });
