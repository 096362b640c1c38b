/**
 * The storm's load generator, run inside the clients' network namespace by storm.ts: N machines
 * power on (all at once or over a ramp) and each walks the whole chain as an async state machine
 * with firmware-like timeouts and retransmits:
 *
 *   PXE DHCP (DORA) → TFTP undionly.kpxe → iPXE DHCP → GET /boot.ipxe → GET /ipxe?… →
 *   GET /ignition?mac=… → POST /report?mac=…
 *
 * It prints one JSON result on stdout and progress on stderr; it stops by itself at --deadline.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { mustIPv4 } from '../../src/lib/net.ts';
import { expandIpxe, httpRequest, type Machine, machineIdentity, Relay, tftpGet } from './clients.ts';
import { type Step, StormStats } from './stats.ts';

const { values: a } = parseArgs({
  options: {
    machines: { type: 'string', default: '1000' },
    ramp: { type: 'string', default: '0' },
    seed: { type: 'string', default: '10.99.0.1' },
    relay: { type: 'string', default: '10.100.0.1' },
    'first-index': { type: 'string', default: '0' },
    'tftp-ref': { type: 'string', default: '/usr/lib/ipxe/undionly.kpxe' },
    'bios-file': { type: 'string', default: 'undionly.kpxe' },
    'http-conns': { type: 'string', default: '1024' },
    deadline: { type: 'string', default: '300' },
  },
});

const N = Number(a.machines);
const RAMP_MS = Number(a.ramp) * 1000;
const SEED = a.seed!;
const HTTP_CONNS = Number(a['http-conns']);
const DEADLINE_MS = Number(a.deadline) * 1000;
const HTTP_TRIES = 4; // iPXE's `|| goto failed` loop, Ignition's and curl's retries, bounded
const HTTP_RETRY_MS = 2000;
const reference = readFileSync(a['tftp-ref']!);

/** Bounds open HTTP connections: the seed's listen backlog, like a real switch's, is finite. */
class Slots {
  private free: number;
  private readonly queue: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.queue.push(r));
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

class StepError extends Error {
  constructor(
    readonly step: Step,
    reason: string,
  ) {
    super(reason);
  }
}

const stats = new StormStats();
const slots = new Slots(HTTP_CONNS);
const where = new Map<Step, number>(); // step → machines in it now (progress)
let done = 0;
let failed = 0;
let t0 = 0;
let lastEnd = 0;

async function step<T>(name: Step, fn: () => Promise<T>): Promise<T> {
  where.set(name, (where.get(name) ?? 0) + 1);
  const start = performance.now();
  try {
    const r = await fn();
    stats.ok(name, performance.now() - start);
    return r;
  } catch (err) {
    throw err instanceof StepError ? err : new StepError(name, (err as Error).message);
  } finally {
    where.set(name, where.get(name)! - 1);
  }
}

async function withRetries(name: Step, fn: () => Promise<void>): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= HTTP_TRIES) throw err;
      stats.retry(name);
      await new Promise((r) => setTimeout(r, HTTP_RETRY_MS));
    }
  }
}

async function get(agent: http.Agent, url: string, m: Machine, want: number, method = 'GET', body?: string) {
  const r = await httpRequest(agent, url, m.ip!, method, body);
  if (r.status !== want) throw new Error(`HTTP ${r.status} for ${new URL(url).pathname}`);
  return r.body;
}

async function boot(m: Machine, relay: Relay): Promise<void> {
  const start = performance.now();
  const pxe = await step('dhcp.pxe', async () => {
    const r = await relay.dora(m, 'pxe');
    stats.retry('dhcp.pxe', r.retries);
    stats.address(m.mac, r.ip);
    if (r.file !== a['bios-file']) throw new Error(`PXE ROM offered "${r.file}", not ${a['bios-file']}`);
    return r;
  });
  m.ip = pxe.ip;
  await step('tftp', async () => {
    const r = await tftpGet(m.ip!, pxe.siaddr, pxe.file, reference);
    stats.retry('tftp', r.retries);
  });
  const script = await step('dhcp.ipxe', async () => {
    const r = await relay.dora(m, 'ipxe');
    stats.retry('dhcp.ipxe', r.retries);
    stats.address(m.mac, r.ip);
    if (r.ip !== m.ip) throw new Error(`iPXE got ${r.ip}, the PXE ROM had ${m.ip}`);
    if (!r.file.endsWith('/boot.ipxe')) throw new Error(`iPXE offered "${r.file}", not the boot script`);
    return r.file;
  });
  // iPXE: one keep-alive connection for /boot.ipxe and the chained /ipxe (as iPXE pools it)
  await slots.acquire();
  let ignitionUrl = '';
  const ipxeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    let chain = '';
    await step('http.boot_ipxe', () =>
      withRetries('http.boot_ipxe', async () => {
        const body = await get(ipxeAgent, script, m, 200);
        const line = /^chain --autofree (\S+)/m.exec(body);
        if (!body.startsWith('#!ipxe') || !line) throw new Error('boot.ipxe has no chain line');
        chain = expandIpxe(line[1]!, m);
      }),
    );
    await step('http.ipxe', () =>
      withRetries('http.ipxe', async () => {
        const body = await get(ipxeAgent, chain, m, 200);
        const url = /^kernel .*\bignition\.config\.url=(\S+)/m.exec(body);
        if (!url) throw new Error('machine script has no ignition.config.url');
        ignitionUrl = url[1]!;
      }),
    );
  } finally {
    ipxeAgent.destroy();
    slots.release();
  }
  // the booted OS: Ignition fetches its config, then the first-boot unit reports
  await slots.acquire();
  const osAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await step('http.ignition', () =>
      withRetries('http.ignition', async () => {
        const body = await get(osAgent, ignitionUrl, m, 200);
        const cfg = JSON.parse(body) as { ignition?: { version?: string } };
        if (!cfg.ignition?.version) throw new Error('config is not Ignition');
      }),
    );
    const report = JSON.stringify({ hostname: `storm-${m.index}`, address: m.ip, result: 'ok' });
    await step('http.report', () =>
      withRetries('http.report', async () => {
        await get(osAgent, `http://${SEED}:8080/report?mac=${m.mac}`, m, 204, 'POST', report);
      }),
    );
  } finally {
    osAgent.destroy();
    slots.release();
  }
  stats.ok('total', performance.now() - start);
}

function progress(final = false): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  const inFlight = [...where].filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`);
  process.stderr.write(
    `storm ${s}s: ${done} booted, ${failed} failed of ${N}; ${inFlight.join(' ')}${final ? '\n' : '\n'}`,
  );
}

async function main(): Promise<void> {
  const relay = await Relay.open(a.relay!, mustIPv4(a.relay!), SEED);
  const first = Number(a['first-index']);
  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  const timer = setInterval(() => progress(), 2000);
  const machines: Promise<void>[] = [];
  for (let i = 0; i < N; i++) {
    const m = machineIdentity(first + i);
    const delay = N > 1 ? (RAMP_MS * i) / (N - 1) : 0;
    machines.push(
      new Promise<void>((r) => (delay > 0 ? setTimeout(r, delay) : r()))
        .then(() => boot(m, relay))
        .then(
          () => {
            done++;
          },
          (err: unknown) => {
            failed++;
            const e = err instanceof StepError ? err : new StepError('total', String(err));
            stats.fail(
              e.step,
              e.message.replace(/\d+\.\d+\.\d+\.\d+/g, 'IP').replace(/block \d+/, 'block N'),
            );
          },
        )
        .finally(() => {
          lastEnd = performance.now();
        }),
    );
  }
  const deadline = new Promise<'deadline'>((r) => setTimeout(() => r('deadline'), DEADLINE_MS).unref());
  const outcome = await Promise.race([Promise.all(machines).then(() => 'done' as const), deadline]);
  clearInterval(timer);
  progress(true);
  const cpu = process.cpuUsage(cpu0);
  const unfinished = N - done - failed;
  if (outcome === 'deadline')
    for (const [k, n] of where) for (let i = 0; i < n; i++) stats.fail(k, 'deadline');
  const duplicates = stats.duplicates();
  const result = {
    machines: N,
    rampSeconds: RAMP_MS / 1000,
    httpConns: HTTP_CONNS,
    booted: done,
    failed: failed + unfinished,
    wallMs: Math.round((outcome === 'deadline' ? performance.now() : lastEnd) - t0),
    steps: stats.summary(),
    failures: stats.failureReasons(),
    duplicateAddresses: duplicates.length,
    duplicateSamples: duplicates.slice(0, 10),
    generatorCpuMs: { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) },
    relay: { received: relay.received, unmatched: relay.unmatched },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  relay.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`storm generator failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
