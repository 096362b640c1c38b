/**
 * Network-namespace labs for real-peer tests. Everything lives in namespaces created here and
 * named `mst-<pid>-<n>-…`, so parallel runs never collide and nothing touches the host's
 * interfaces: a "switch" namespace holds one bridge per link (STP off, forward delay 0 so ports
 * forward at once), the seed namespace joins the bridges by veth pairs, and every client gets
 * a namespace of its own with one veth (`eth0`, fixed MAC, IPv6 off to keep the wire quiet).
 * Every process started through a lab is tracked by PID; `cleanup()` stops them (SIGTERM, then
 * SIGKILL), stops anything else still running inside the lab's namespaces, and deletes them.
 */

import { type ChildProcess, spawn as spawnChild, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { toolsMissing } from './tools.ts';

/** One L2 segment: a bridge in the switch namespace with the seed and some clients on it. */
export interface LinkSpec {
  /** Interface name inside the seed namespace, e.g. `seed0`. */
  seedIf: string;
  /** Seed address with prefix length, e.g. `10.50.0.1/24`. */
  seedCidr: string;
  /** Number of client namespaces on this link. */
  clients: number;
}

export interface LabOptions {
  links: LinkSpec[];
  /** Seed default route, e.g. `10.62.0.254` (must be on one of the links). */
  seedDefaultVia?: string;
}

export interface Client {
  ns: string;
  ifname: string;
  mac: string;
  /** Index of the link (in `LabOptions.links`) this client is on. */
  link: number;
  /** Index among all clients of the lab, in creation order. */
  index: number;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ExecOptions {
  /** Killed with SIGKILL after this long; default EXEC_TIMEOUT_MS. */
  timeoutMs?: number;
  input?: string;
}

export interface Tracked {
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves when stdout and stderr are closed too. */
  closed: Promise<void>;
  stdout(): string;
  stderr(): string;
}

export interface Lab {
  id: string;
  switchNs: string;
  seedNs: string;
  links: LinkSpec[];
  clients: Client[];
  /** Clients on link `i`. */
  clientsOn(i: number): Client[];
  exec(ns: string, cmd: string, args: string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(ns: string, cmd: string, args: string[]): Tracked;
  /** Track a PID this harness did not spawn itself (a daemon's pid file, say). */
  adopt(pid: number): void;
  /** Stop a tracked process: SIGTERM, then SIGKILL after STOP_GRACE_MS. */
  stop(pid: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** Long enough for a DHCP exchange with retries; tests pass their own for slower peers. */
export const EXEC_TIMEOUT_MS = 30_000;
/** How long a process gets to exit after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 2_000;
/** Namespace prefix: `mst-<pid>-` makes names unique per test process. */
export const NS_PREFIX = `mst-${process.pid}-`;
/** Client interface name inside its own namespace. */
export const CLIENT_IF = 'eth0';
const BRIDGE = 'br';
/** How long exec waits for the rest of a child's output after it exited. */
const PIPE_DRAIN_MS = 500;

let labCounter = 0;
/** Every live lab of this process, for the exit-time safety net. */
const liveLabs = new Set<{ cleanupSync(): void }>();
let exitHookInstalled = false;

/** `52:54:00:LL:HH:LL` (link, client index high, low): stable and unique within a lab. */
export function clientMac(link: number, index: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `52:54:00:${hex(link)}:${hex((index >> 8) & 0xff)}:${hex(index & 0xff)}`;
}

/** Runs `ip` with a batch of commands on stdin; throws with ip's message when one fails. */
function ipBatch(lines: string[], netns?: string): void {
  if (lines.length === 0) return;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  const r = spawnSync('ip', args, { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  }
}

function nsExists(ns: string): boolean {
  return spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).status === 0;
}

function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  signal(pid, 'SIGTERM');
  const end = Date.now() + STOP_GRACE_MS;
  while (Date.now() < end) {
    if (!alive(pid)) return;
    await sleep(25);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 40 && alive(pid); i++) await sleep(25);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Safety net for a runner that exits without running after() (uncaught error, timeout).
  process.once('exit', () => {
    for (const l of liveLabs) l.cleanupSync();
  });
  // An interrupted run (Ctrl-C, the runner's timeout) never reaches 'exit' by default.
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      for (const l of liveLabs) l.cleanupSync();
      process.exit(code);
    });
  }
}

/**
 * Builds the lab. Everything goes through a handful of `ip -batch` runs so that a lab of
 * dozens of clients is up in well under a second.
 */
export async function createLab(opts: LabOptions): Promise<Lab> {
  const id = `${NS_PREFIX}${labCounter++}`;
  const switchNs = `${id}-sw`;
  const seedNs = `${id}-seed`;
  const clients: Client[] = [];
  opts.links.forEach((link, li) => {
    for (let k = 0; k < link.clients; k++) {
      const index = clients.length;
      clients.push({
        ns: `${id}-c${index}`,
        ifname: CLIENT_IF,
        mac: clientMac(li + 1, index),
        link: li,
        index,
      });
    }
  });
  const allNs = [switchNs, seedNs, ...clients.map((c) => c.ns)];
  const tracked = new Map<number, Tracked | null>();
  let cleaned = false;

  const cleanupSync = (): void => {
    if (cleaned) return;
    cleaned = true;
    for (const pid of tracked.keys()) signal(pid, 'SIGKILL');
    for (const ns of allNs) for (const pid of pidsIn(ns)) signal(pid, 'SIGKILL');
    // -force: keep deleting after one failure (a namespace already gone).
    spawnSync('ip', ['-force', '-batch', '-'], { input: allNs.map((ns) => `netns del ${ns}\n`).join('') });
    liveLabs.delete(handle);
  };
  const handle = { cleanupSync };
  liveLabs.add(handle);
  installExitHook();

  try {
    build(opts, switchNs, seedNs, clients);
  } catch (err) {
    cleanupSync();
    throw err;
  }

  const exec = (ns: string, cmd: string, args: string[], eopts: ExecOptions = {}): Promise<ExecResult> => {
    const t = spawnTracked(ns, cmd, args, tracked);
    if (eopts.input !== undefined) t.child.stdin?.end(eopts.input);
    else t.child.stdin?.end();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signal(t.pid, 'SIGKILL');
    }, eopts.timeoutMs ?? EXEC_TIMEOUT_MS);
    return t.exited.then(async (code) => {
      clearTimeout(timer);
      // Output may still be in the pipe after 'exit'; a forked daemon may hold it open forever.
      await Promise.race([t.closed, sleep(PIPE_DRAIN_MS)]);
      return { code, signal: t.child.signalCode, stdout: t.stdout(), stderr: t.stderr(), timedOut };
    });
  };

  const lab: Lab = {
    id,
    switchNs,
    seedNs,
    links: opts.links,
    clients,
    clientsOn: (i) => clients.filter((c) => c.link === i),
    exec,
    spawn: (ns, cmd, args) => spawnTracked(ns, cmd, args, tracked),
    adopt: (pid) => {
      if (!tracked.has(pid)) tracked.set(pid, null);
    },
    stop: async (pid) => {
      await stopPid(pid);
      tracked.delete(pid);
    },
    cleanup: async () => {
      if (cleaned) return;
      await Promise.all([...tracked.keys()].map((pid) => stopPid(pid)));
      // Daemons that forked away from a tracked PID (dhclient) can only be in our namespaces.
      await Promise.all(allNs.flatMap((ns) => pidsIn(ns)).map((pid) => stopPid(pid)));
      cleanupSync();
    },
  };
  return lab;
}

function build(opts: LabOptions, switchNs: string, seedNs: string, clients: Client[]): void {
  const allNs = [switchNs, seedNs, ...clients.map((c) => c.ns)];
  for (const ns of allNs) {
    if (nsExists(ns)) throw new Error(`namespace ${ns} already exists`);
  }
  ipBatch(allNs.map((ns) => `netns add ${ns}`));
  // IPv6 off everywhere but the seed before any interface exists: no RS/MLD/DAD noise.
  // `ip -batch` forks for `netns exec`, so one ip process runs all of them.
  const quiet = 'sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1';
  ipBatch([switchNs, ...clients.map((c) => c.ns)].map((ns) => `netns exec ${ns} ${quiet}`));

  const sw: string[] = ['link set lo up'];
  opts.links.forEach((link, li) => {
    const br = `${BRIDGE}${li}`;
    sw.push(`link add ${br} type bridge stp_state 0 forward_delay 0`, `link set ${br} up`);
    sw.push(`link add s-${link.seedIf} type veth peer name ${link.seedIf} netns ${seedNs}`);
    sw.push(`link set s-${link.seedIf} master ${br} up`);
  });
  for (const c of clients) {
    sw.push(`link add p${c.index} type veth peer name ${c.ifname} address ${c.mac} netns ${c.ns}`);
    sw.push(`link set p${c.index} master ${BRIDGE}${c.link} up`);
  }
  ipBatch(sw, switchNs);

  const seed: string[] = ['link set lo up'];
  for (const link of opts.links) {
    seed.push(`addr add ${link.seedCidr} dev ${link.seedIf}`, `link set ${link.seedIf} up`);
  }
  if (opts.seedDefaultVia) seed.push(`route add default via ${opts.seedDefaultVia}`);
  ipBatch(seed, seedNs);

  ipBatch(
    clients.flatMap((c) => [
      `netns exec ${c.ns} ip link set lo up`,
      `netns exec ${c.ns} ip link set ${c.ifname} up`,
    ]),
  );
}

function spawnTracked(
  ns: string,
  cmd: string,
  args: string[],
  tracked: Map<number, Tracked | null>,
): Tracked {
  // `ip netns exec` execs the command, so the PID is the command's own.
  const child = spawnChild('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  child.stdin?.on('error', () => {});
  child.on('error', () => {});
  const closed = once(child, 'close').then(() => {});
  // 'exit', not 'close': a daemon that forks away may keep our pipes open.
  const exited = once(child, 'exit').then(([code]) => {
    tracked.delete(pid);
    return code as number | null;
  });
  if (child.pid === undefined) throw new Error(`cannot spawn ${cmd} in ${ns}`);
  const pid = child.pid;
  const t: Tracked = { pid, child, exited, closed, stdout: () => out, stderr: () => err };
  tracked.set(pid, t);
  return t;
}

/** A lab with one link: the seed on `seed0` and `clients` client namespaces. */
export function singleLinkLab(subnet: string, clients: number): Promise<Lab> {
  return createLab({ links: [{ seedIf: 'seed0', seedCidr: `${subnet}.1/24`, clients }] });
}

/**
 * Two links: provisioning `seed0` (`prov`.1/24) and `uplink0` (`uplink`.1/24) with the seed's
 * default route via `uplink`.254, one client on each (link 0 = provisioning, 1 = uplink).
 */
export function twoLinkLab(prov: string, uplink: string): Promise<Lab> {
  return createLab({
    links: [
      { seedIf: 'seed0', seedCidr: `${prov}.1/24`, clients: 1 },
      { seedIf: 'uplink0', seedCidr: `${uplink}.1/24`, clients: 1 },
    ],
    seedDefaultVia: `${uplink}.254`,
  });
}

/** Why real-peer tests cannot run here (not root, a tool missing), or false when they can. */
export function labUnavailable(tools: string[] = ['ip', 'busybox']): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return toolsMissing(tools);
}
