/**
 * `npm run bench:storm -- --machines 10000`: a real `metalseed serve` in one network namespace,
 * the load generator (generator.ts) in another, joined by a veth pair; N machines boot through
 * the whole chain at once. Prints per-step p50/p99, failures, duplicate addresses, total time,
 * the seed's CPU and RSS, then Ignition renders/s over HTTP (wrk) and in-process.
 *
 * Topology (see README.md for why): the generator is the DHCP relay agent of the machines'
 * subnet 10.100.0.0/18 (giaddr 10.100.0.1), so the seed unicasts every reply to it; the whole
 * /18 is a local route in the generator's namespace, so each machine's TFTP and HTTP traffic
 * leaves from its own leased address, as it would on a real network.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type ProcSample, procSample } from './proc.ts';
import { formatTable, type StepSummary, versusTarget } from './stats.ts';

const { values: a } = parseArgs({
  options: {
    machines: { type: 'string', default: '1000' },
    ramp: { type: 'string', default: '0' },
    'log-level': { type: 'string', default: 'warn' },
    // dhcp.leaseSync: before-reply (the default: ACK after fdatasync) or after-reply
    'lease-sync': { type: 'string', default: 'before-reply' },
    'http-conns': { type: 'string', default: '1024' },
    'cpu-prof': { type: 'string' },
    'ignition-seconds': { type: 'string', default: '10' },
    deadline: { type: 'string', default: '300' },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const ROOT = path.resolve(import.meta.dirname, '../..');
const N = Number(a.machines);
const STORM_TARGET_S = 60; // issue 6: 10,000 machines through the whole chain in < 60 s
const RENDER_TARGET = 5000; // issue 6: ≥ 5,000 Ignition renders/s
const SEED_IP = '10.99.0.1';
const GEN_IP = '10.99.0.2';
const MACHINE_NET = '10.100.0.0/18';
const RELAY_IP = '10.100.0.1';
const RANGE = '10.100.0.10-10.100.63.250'; // 16,137 addresses: room for 10k and retries
const HTTP_PORT = 8080;
const CONTROL_PLANE = '10.100.0.5:6443'; // a fixed address below the range (no API server is needed)

if (!Number.isInteger(N) || N < 1 || N > 16000) {
  console.error(`--machines must be 1..16000 (the /18 range holds 16,137), got ${a.machines}`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('bench:storm needs root: it creates network namespaces');
  process.exit(2);
}

const id = `${process.pid}`;
const seedNs = `mss-${id}-seed`;
const genNs = `mss-${id}-gen`;
const vethSeed = `mss${id}s`.slice(0, 15);
const vethGen = `mss${id}g`.slice(0, 15);
const children = new Set<ChildProcess>();
/** Open files allowed: the hard limit (10k machines hold up to ~11k sockets in the generator). */
const NOFILE = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || 4096;

function sh(cmd: string[], allowFail = false): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
const inNs = (ns: string, cmd: string[], allowFail = false) =>
  sh(['ip', 'netns', 'exec', ns, ...cmd], allowFail);

function setupNetwork(): void {
  sh(['ip', 'netns', 'add', seedNs]);
  sh(['ip', 'netns', 'add', genNs]);
  sh([
    'ip',
    'link',
    'add',
    vethSeed,
    'netns',
    seedNs,
    'type',
    'veth',
    'peer',
    'name',
    vethGen,
    'netns',
    genNs,
  ]);
  for (const [ns, dev, ip] of [
    [seedNs, vethSeed, SEED_IP],
    [genNs, vethGen, GEN_IP],
  ] as const) {
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', dev]);
    inNs(ns, ['ip', 'link', 'set', dev, 'up']);
  }
  // machines' subnet: behind the relay for the seed, local (AnyIP) for the generator
  inNs(seedNs, ['ip', 'route', 'add', MACHINE_NET, 'via', GEN_IP]);
  inNs(genNs, ['ip', 'route', 'add', 'local', MACHINE_NET, 'dev', 'lo']);
}

function teardown(): void {
  for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
  for (const ns of [seedNs, genNs]) {
    // anything still inside (a crashed seed's children) goes with the namespace
    for (const pid of sh(['ip', 'netns', 'pids', ns], true).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
    sh(['ip', 'netns', 'del', ns], true);
  }
}

function writeConfig(dir: string): string {
  const file = path.join(dir, 'storm.yaml');
  fs.writeFileSync(
    file,
    [
      `dataDir: ${path.join(dir, 'data')}`,
      `interface: ${vethSeed}`,
      `advertise: ${SEED_IP}`,
      `http: { port: ${HTTP_PORT}, address: 0.0.0.0 }`,
      'dhcp:',
      '  mode: authoritative',
      `  range: ${RANGE}`,
      '  netmask: 255.255.192.0',
      '  leaseTime: 1h',
      `  leaseSync: ${a['lease-sync']}`,
      'tftp: { enabled: true, root: /usr/lib/ipxe }',
      `log: { level: ${a['log-level']}, format: json }`,
      'defaultRole: worker',
      // a known endpoint: every worker gets its node config (kubeadm JoinConfiguration), as in production
      `cluster: { controlPlaneEndpoint: "${CONTROL_PLANE}" }`,
      '',
    ].join('\n'),
  );
  return file;
}

function start(ns: string, args: string[], out: string): ChildProcess {
  // prlimit then `ip netns exec` both exec: the child's pid is node's, so /proc/<pid> is the seed
  const c = spawn('prlimit', [`--nofile=${NOFILE}:${NOFILE}`, '--', 'ip', 'netns', 'exec', ns, ...args], {
    cwd: ROOT,
    stdio: ['ignore', fs.openSync(out, 'w'), 'pipe'],
  });
  children.add(c);
  return c;
}

async function waitReady(seed: ChildProcess, log: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (seed.exitCode !== null)
      throw new Error(`seed exited (${seed.exitCode}): ${fs.readFileSync(log, 'utf8')}`);
    const r = spawnSync('ip', [
      'netns',
      'exec',
      genNs,
      'curl',
      '-sf',
      `http://${SEED_IP}:${HTTP_PORT}/healthz`,
    ]);
    if (r.status === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('seed not ready after 60 s');
}

/** Samples a process's CPU and RSS every 250 ms until stopped. */
function sampler(pid: number) {
  const samples: ProcSample[] = [];
  const take = () => {
    const s = procSample(pid);
    if (s) samples.push(s);
  };
  take();
  const t = setInterval(take, 250);
  return {
    stop() {
      clearInterval(t);
      take();
      const first = samples[0]!;
      const last = samples[samples.length - 1]!;
      const cpuS = last.cpuSeconds - first.cpuSeconds;
      const wallS = (last.at - first.at) / 1000;
      return {
        cpuSeconds: round(cpuS, 2),
        cpuPercent: round((100 * cpuS) / Math.max(wallS, 0.001), 0),
        peakRssMiB: round(Math.max(...samples.map((s) => s.rssBytes)) / 2 ** 20, 0),
      };
    },
  };
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;

function collect(c: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  c.stderr?.on('data', (d: Buffer) => {
    stderr += d;
    process.stderr.write(d);
  });
  return new Promise((r) => c.on('exit', (code) => r({ code, stderr })));
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(t);
}

/** Leases the seed persisted: each MAC's newest row; bound addresses held by two MACs are duplicates. */
function leaseCheck(file: string): { bound: number; duplicateAddresses: number } {
  const newest = new Map<string, { ip: string; state: string }>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as { ip: string; mac: string; state: string };
    if (row.mac) newest.set(row.mac, row);
  }
  const bound = [...newest.values()].filter((r) => r.state === 'bound');
  return { bound: bound.length, duplicateAddresses: bound.length - new Set(bound.map((r) => r.ip)).size };
}

async function ignitionOverHttp(seconds: number, seedPid: number, dir: string) {
  const lua = path.join(dir, 'ignition.lua');
  // wrk cycles through the booted machines' MACs (machineIdentity in clients.ts)
  fs.writeFileSync(
    lua,
    [
      `local n = ${N}`,
      'local i = 0',
      'request = function()',
      '  i = (i + 1) % n',
      // LuaJIT has no bit operators; i < 16,000 fits the last two bytes
      '  local mac = string.format("02:5e:00:00:%02x:%02x", math.floor(i / 256), i % 256)',
      '  return wrk.format("GET", "/ignition?mac=" .. mac)',
      'end',
      '',
    ].join('\n'),
  );
  const cpu = sampler(seedPid);
  const r = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      genNs,
      'wrk',
      '-t1',
      '-c32',
      `-d${seconds}s`,
      '-s',
      lua,
      `http://${SEED_IP}:${HTTP_PORT}`,
    ],
    { encoding: 'utf8' },
  );
  const seed = cpu.stop();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(r.stdout);
  return {
    requestsPerSecond: round(rps, 0),
    non2xx,
    latencyAvg: latency?.[1],
    latencyMax: latency?.[3],
    seed,
  };
}

function renderInProcess(seconds: number) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'bench/storm/render-bench.ts'),
      '--machines',
      String(N),
      '--seconds',
      String(seconds),
    ],
    { encoding: 'utf8', cwd: ROOT },
  );
  if (r.status !== 0) throw new Error(`render-bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    coldRendersPerSecond: number;
    warmRendersPerSecond: number;
    bytes: number;
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-storm-'));
  const config = writeConfig(dir);
  const seedLog = path.join(dir, 'seed.log');
  process.on('SIGINT', () => {
    teardown();
    process.exit(130);
  });
  setupNetwork();
  try {
    const prof = a['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(a['cpu-prof'])}`] : [];
    const seed = start(
      seedNs,
      [process.execPath, ...prof, 'bin/metalseed.js', 'serve', '--config', config],
      seedLog,
    );
    const seedDone = collect(seed);
    await waitReady(seed, seedLog);
    const seedCpu = sampler(seed.pid!);
    const loadavgBefore = os.loadavg();
    const genOut = path.join(dir, 'generator.json');
    const gen = start(
      genNs,
      [
        process.execPath,
        '--import',
        'tsx',
        'bench/storm/generator.ts',
        '--machines',
        String(N),
        '--ramp',
        a.ramp!,
        '--seed',
        SEED_IP,
        '--relay',
        RELAY_IP,
        '--http-conns',
        a['http-conns']!,
        '--deadline',
        a.deadline!,
      ],
      genOut,
    );
    const genCpu = sampler(gen.pid!);
    const g = await collect(gen);
    const seedUse = seedCpu.stop();
    const genUse = genCpu.stop();
    if (g.code !== 0) throw new Error(`generator exited ${g.code}`);
    const storm = JSON.parse(fs.readFileSync(genOut, 'utf8').trim()) as {
      machines: number;
      booted: number;
      failed: number;
      wallMs: number;
      steps: StepSummary[];
      failures: Record<string, Record<string, number>>;
      duplicateAddresses: number;
      generatorCpuMs: { user: number; system: number };
      relay: { received: number; unmatched: number };
    };
    const metrics = inNs(genNs, ['curl', '-sf', `http://${SEED_IP}:${HTTP_PORT}/metrics`], true)
      .split('\n')
      .filter((l) => /^metalseed_(dhcp_dropped|tftp_transfers|tftp_refused|tftp_dropped)/.test(l));
    const seconds = Number(a['ignition-seconds']);
    const overHttp = seconds > 0 ? await ignitionOverHttp(seconds, seed.pid!, dir) : undefined;
    await stop(seed);
    await seedDone;
    const leases = leaseCheck(path.join(dir, 'data', 'leases.jsonl'));
    const inProcess = seconds > 0 ? renderInProcess(Math.min(seconds, 5)) : undefined;

    const total = versusTarget(storm.wallMs / 1000, STORM_TARGET_S, 'lower');
    const result = {
      date: new Date().toISOString(),
      host: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        kernel: os.release(),
        loadavgBefore,
        loadavgAfter: os.loadavg(),
      },
      options: {
        machines: N,
        ramp: Number(a.ramp),
        logLevel: a['log-level'],
        leaseSync: a['lease-sync'],
        httpConns: Number(a['http-conns']),
      },
      storm,
      seed: seedUse,
      generator: genUse,
      leases,
      metrics,
      ignition: { overHttp, inProcess },
    };
    console.log('');
    console.log(formatTable(storm.steps));
    console.log('');
    console.log(
      `machines ${N}: ${storm.booted} booted, ${storm.failed} failed, ${storm.duplicateAddresses} duplicate addresses ` +
        `(leases file: ${leases.bound} bound, ${leases.duplicateAddresses} duplicates)`,
    );
    console.log(
      `total ${(storm.wallMs / 1000).toFixed(1)} s (target < ${STORM_TARGET_S} s for 10,000: ${N === 10000 ? total.text : 'n/a at this N'})`,
    );
    console.log(
      `host load average (other processes share these ${os.cpus().length} cores): ` +
        `${loadavgBefore[0]!.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after`,
    );
    console.log(
      `seed: ${seedUse.cpuSeconds} CPU s (${seedUse.cpuPercent}% of one core), peak RSS ${seedUse.peakRssMiB} MiB; ` +
        `generator: ${genUse.cpuSeconds} CPU s (${genUse.cpuPercent}%), peak RSS ${genUse.peakRssMiB} MiB`,
    );
    if (Object.keys(storm.failures).length > 0) console.log(`failures: ${JSON.stringify(storm.failures)}`);
    for (const m of metrics) console.log(`  ${m}`);
    if (overHttp)
      console.log(
        `ignition over HTTP (wrk, 32 connections): ${overHttp.requestsPerSecond} renders/s, ${overHttp.non2xx} non-2xx, ` +
          `seed ${overHttp.seed.cpuPercent}% CPU (${versusTarget(overHttp.requestsPerSecond, RENDER_TARGET, 'higher').text})`,
      );
    if (inProcess)
      console.log(
        `ignition in-process (renderConfigFor, ${inProcess.bytes} bytes each): first render of each machine ` +
          `${inProcess.coldRendersPerSecond}/s (${versusTarget(inProcess.coldRendersPerSecond, RENDER_TARGET, 'higher').text}), ` +
          `again ${inProcess.warmRendersPerSecond}/s (${versusTarget(inProcess.warmRendersPerSecond, RENDER_TARGET, 'higher').text})`,
      );
    if (a.json) fs.writeFileSync(a.json, `${JSON.stringify(result, null, 2)}\n`);
    if (a.keep) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  } finally {
    teardown();
  }
}

main().catch((err: unknown) => {
  console.error(`bench:storm: ${(err as Error).message}`);
  teardown();
  process.exit(1);
});
