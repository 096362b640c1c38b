/**
 * In-process DHCP cost probe: the whole seed's DHCP path (DhcpServer, Pool, fdatasync'd
 * journal, Provisioner with the SQLite store) fed encoded DISCOVER/REQUEST pairs through a
 * fake socket, BATCH clients per event-loop turn. Prints CPU µs per DORA. For profiling
 * (node --cpu-prof --import tsx bench/tools/dhcp-inproc.ts N BATCH [core]), not a benchmark
 * figure. `core`: the protocol server alone (a fixed boot hook, no provisioner), as dhcp-core.ts.
 * MS_LEASE_SYNC=after-reply runs the server in that mode (see bench-dhcp.ts); the store runs
 * where `serve` would run it (METALSEED_STORE_THREAD=1: on its own thread, 0: on the loop).
 *
 * RATE=R (paced mode): after the N DORAs above as a warm-up, LAT_N more clients (default
 * 1000) start one every 1/R s, as perfdhcp's latency run does, each REQUEST following its
 * OFFER at once; prints DISCOVER→OFFER and REQUEST→ACK p50/p99/max in ms, measured from when
 * each message was due to when its reply was handed to the socket. What that includes is what
 * the seed's own process adds (a GC pause, a group commit, a busy turn), not the network's or
 * the kernel's share, so it shows the seed's tail without perfdhcp's noise.
 *
 * GC_EVERY=MS (with RATE): a young-generation GC forced every MS ms through the paced run, as a
 * pacer between requests would: what one costs when little survives (run with
 * --trace-gc-nvp for its phases; on this project's 2-vCPU host each paused 0.5–1 ms).
 *
 * HEAP=1 (with node --expose-gc): after the N DORAs, the event loop's heap kept per client
 * over N more (full GCs before and after): what each young-generation GC copies per client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseConfigText } from '../../src/config/index.ts';
import { encode, MessageType } from '../../src/dhcp/index.ts';
import { openStore } from '../../src/inventory/index.ts';
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
// where `serve` would run it (open-store.ts: METALSEED_STORE_THREAD=1/0, else by CPUs)
const store = await openStore(dir);
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
/** Paced mode: called with every reply as it is sent. */
let onReply: ((b: Uint8Array) => void) | undefined;
const count = (b: Uint8Array) => {
  sent++;
  if (b[242] === MessageType.ACK) acks++;
  onReply?.(b);
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
  ...(CORE
    ? { boot: () => ({ file: 'ipxe.efi', siaddr: seed }) }
    : { boot: p.dhcpBoot, onEvent: p.onDhcpEvent }),
});
const mac = (i: number) =>
  `52:54:${[i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
const pxe = { vendorClass: 'PXEClient:Arch:00007:UNDI:003016', arch: 7, giaddr: mustIPv4('10.77.0.2') };
const from = { address: '10.77.0.2', port: 67 };
const turn = () => new Promise((r) => setImmediate(r));
/** Plays clients lo..hi-1 through DORA, BATCH DISCOVERs then their REQUESTs per loop turn. */
async function play(lo: number, hi: number): Promise<void> {
  for (let i = lo; i < hi; i += BATCH) {
    for (let j = i; j < Math.min(hi, i + BATCH); j++)
      server.receive(
        encode(clientPacket({ mac: mac(j), type: 'DISCOVER', xid: j, ...pxe })),
        from,
        socket,
        false,
      );
    await turn();
    for (let j = i; j < Math.min(hi, i + BATCH); j++) {
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
  while (acks < hi) await new Promise((r) => setTimeout(r, 1));
  await p.flush();
}
const c0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const t0 = performance.now();
await play(0, N);
const c = process.cpuUsage(c0);
const elu = performance.eventLoopUtilization(elu0);
console.log(
  `${N} DORA, batch ${BATCH}: ${((c.user + c.system) / N).toFixed(1)} µs CPU/DORA (all threads), ${((elu.active * 1000) / N).toFixed(1)} µs event loop busy/DORA, ${(performance.now() - t0).toFixed(0)} ms wall, ${sent} sent, ${(puts / N).toFixed(2)} machine writes/DORA`,
);
if (process.env.HEAP === '1') await heapPerClient();
const RATE = Number(process.env.RATE ?? 0);
if (RATE > 0) await paced(RATE, Number(process.env.LAT_N ?? 1000));
await store.close();
journal.close();
rmSync(dir, { recursive: true });

/** Paced mode (RATE=R): LAT_N new clients at R/s; per-message latency from due to sent. */
async function paced(rate: number, n: number): Promise<void> {
  const offerMs: number[] = [];
  const ackMs: number[] = [];
  /** Replies over 1 ms: [due, latency], and every GC pause meanwhile, to say which were GC's. */
  const slow: [number, number][] = [];
  const gcs: [number, number][] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([e.startTime, e.duration]);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const gcEvery = Number(process.env.GC_EVERY ?? 0);
  let pacer: NodeJS.Timeout | undefined;
  if (gcEvery > 0) {
    v8.setFlagsFromString('--expose-gc');
    const minorGc = vm.runInNewContext('gc') as (o: { type: 'minor' }) => void;
    pacer = setInterval(() => minorGc({ type: 'minor' }), gcEvery);
  }
  const due = new Map<number, number>(); // xid -> when its current message was due
  const first = N; // clients after the warm-up's
  onReply = (b) => {
    const xid = new DataView(b.buffer, b.byteOffset).getUint32(4);
    const at = due.get(xid);
    if (at === undefined) return;
    const now = performance.now();
    if (now - at > 1) slow.push([at, now - at]);
    if (b[242] === MessageType.OFFER) {
      offerMs.push(now - at);
      due.set(xid, now);
      const ip = pool.lease(mac(xid))!.ip;
      setImmediate(() =>
        server.receive(
          encode(
            clientPacket({ mac: mac(xid), type: 'REQUEST', xid, requested: ip, serverId: seed, ...pxe }),
          ),
          from,
          socket,
          false,
        ),
      );
    } else if (b[242] === MessageType.ACK) {
      ackMs.push(now - at);
      due.delete(xid);
    }
  };
  /** DISCOVERs handed over more than 0.5 ms after due (the loop or the thread was busy), and
   * those whose own handling took more than 0.5 ms: where the slow OFFERs' time went. */
  let late = 0;
  let slowHandling = 0;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now() + 10;
  for (let k = 0; k < n; k++) {
    const xid = first + k;
    const at = start + (k * 1000) / rate;
    // Timers fire on whole milliseconds: sleep to just before, then block until due (neither
    // a spin nor turning the loop with promises, which would add CPU or GC work of their own).
    const wait = at - performance.now() - 1.5;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const left = at - performance.now();
    if (left > 0) Atomics.wait(nap, 0, 0, left);
    due.set(xid, Math.min(at, performance.now())); // a timer may fire early: then from now
    const pkt = encode(clientPacket({ mac: mac(xid), type: 'DISCOVER', xid, ...pxe }));
    const r0 = performance.now();
    server.receive(pkt, from, socket, false);
    if (performance.now() - r0 > 0.5) slowHandling++;
    if (r0 - at > 0.5) late++;
  }
  while (ackMs.length < n && performance.now() - start < (n * 1000) / rate + 5000)
    await new Promise((r) => setTimeout(r, 5));
  clearInterval(pacer);
  gcObserver.disconnect();
  const inGc = slow.filter(([at, ms]) => gcs.some(([t, d]) => t < at + ms && t + d > at)).length;
  const q = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(2) : '-';
  };
  console.log(
    `paced ${n} clients at ${rate}/s: OFFER p50 ${q(offerMs, 50)} p99 ${q(offerMs, 99)} max ${q(offerMs, 100)} ms; ACK p50 ${q(ackMs, 50)} p99 ${q(ackMs, 99)} max ${q(ackMs, 100)} ms (${ackMs.length} ACKs); ${slow.length} replies over 1 ms, ${inGc} of them during a GC pause; ${gcs.length} GC pauses (p50 ${q(gcs.map(([, d]) => d), 50)}, longest ${Math.max(0, ...gcs.map(([, d]) => d)).toFixed(1)} ms, ${gcs.reduce((t, [, d]) => t + d, 0).toFixed(0)} ms in all); DISCOVERs handed over >0.5 ms late: ${late}, handled in >0.5 ms: ${slowHandling}`,
  );
}

/**
 * HEAP=1 (node --expose-gc): the event loop's heap kept per client, from full GCs before and
 * after N more clients: what every young-generation GC copies (twice, until promoted) for each
 * new client, so what sets a scavenge's pause. The store's thread has a heap of its own.
 */
async function heapPerClient(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('HEAP=1 needs node --expose-gc');
  const used = () => {
    gc();
    return v8.getHeapStatistics().used_heap_size;
  };
  await new Promise((r) => setTimeout(r, 100)); // the last group's settling
  const before = used();
  await play(N, 2 * N);
  await new Promise((r) => setTimeout(r, 100));
  console.log(`heap kept per client: ${((used() - before) / N).toFixed(0)} bytes (${N} more clients)`);
}
