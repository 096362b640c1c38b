/**
 * Runs the real seed (`bin/metalseed.js serve --config FILE`) inside a lab's seed namespace and
 * reads its pino log: one JSON object per stdout line. Tests wait on and assert over those
 * events (`dhcp.offer`, `dhcp.ack`, ...) instead of scraping text.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Lab, Tracked } from './netns.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Cold start through tsx on a loaded 2-core CI box is a few seconds; leave plenty of room. */
export const SEED_READY_MS = 20_000;

/** A pino line: `level` is pino's number (20 debug, 30 info, 40 warn, 50 error). */
export interface LogEvent {
  level: number;
  msg?: string;
  event?: string;
  mac?: string;
  ip?: string;
  bootFile?: string;
  firmware?: string;
  [k: string]: unknown;
}

export interface StartOptions {
  /** How long to wait for `seed.ready`; default SEED_READY_MS. */
  readyMs?: number;
  /**
   * Script run as `node ENTRY serve --config FILE`; default $MST_SEED_ENTRY, else
   * bin/metalseed.js. Lets the harness itself be checked against a stand-in (dnsmasq).
   */
  entry?: string;
  /** Namespace to run in; default the lab's seed namespace. */
  ns?: string;
}

export type EventFilter = string | ((e: LogEvent) => boolean) | Partial<Record<string, unknown>>;

export interface Seed {
  pid: number;
  configFile: string;
  dataDir: string;
  config: Record<string, unknown>;
  /** Every parsed log line so far, in order; non-JSON lines are in `output()`. */
  log: LogEvent[];
  events(filter?: EventFilter): LogEvent[];
  waitFor(filter: EventFilter, ms?: number): Promise<LogEvent>;
  /** Sends `sig` and waits for the process to exit; resolves with the exit code. */
  kill(sig?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  /** Raw stdout + stderr, for failure messages. */
  output(): string;
}

export function matches(e: LogEvent, f: EventFilter | undefined): boolean {
  if (f === undefined) return true;
  if (typeof f === 'string') return e.event === f;
  if (typeof f === 'function') return f(e);
  return Object.entries(f).every(([k, v]) => e[k] === v);
}

/** A temp dir for seed state (config + dataDir) that tests remove in after(). */
export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `metalseed-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes `config` as YAML and starts the seed in `lab.seedNs`. When the config has no
 * `dataDir`, one is made under `workDir`; start again with the returned `config` to get a
 * restart over the same state. Rejects (after stopping the process) when `seed.ready` does
 * not appear in time, or the process exits first, with everything it printed.
 */
export async function startSeed(
  lab: Lab,
  workDir: string,
  config: Record<string, unknown>,
  opts: StartOptions = {},
): Promise<Seed> {
  const cfg = { ...config };
  if (cfg['dataDir'] === undefined) cfg['dataDir'] = join(workDir, 'data');
  const dataDir = String(cfg['dataDir']);
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(workDir, `seed-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(configFile, stringify(cfg));

  const proc = lab.spawn(opts.ns ?? lab.seedNs, process.execPath, [
    opts.entry ?? process.env['MST_SEED_ENTRY'] ?? join(REPO_ROOT, 'bin', 'metalseed.js'),
    'serve',
    '--config',
    configFile,
  ]);
  const seed = watch(proc, cfg, configFile, dataDir);
  try {
    await seed.waitFor('seed.ready', opts.readyMs ?? SEED_READY_MS);
  } catch (err) {
    await lab.stop(proc.pid);
    throw err;
  }
  return seed;
}

function watch(proc: Tracked, config: Record<string, unknown>, configFile: string, dataDir: string): Seed {
  const log: LogEvent[] = [];
  const waiters = new Set<{ f: EventFilter; resolve: (e: LogEvent) => void }>();
  let partial = '';
  proc.child.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const e = parseLine(line);
      if (!e) continue;
      log.push(e);
      for (const w of waiters) {
        if (matches(e, w.f)) {
          waiters.delete(w);
          w.resolve(e);
        }
      }
    }
  });
  const output = (): string => `--- stdout ---\n${proc.stdout()}\n--- stderr ---\n${proc.stderr()}`;
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => {
    exitCode = c;
  });

  const waitFor = (f: EventFilter, ms = 10_000): Promise<LogEvent> => {
    const seen = log.find((e) => matches(e, f));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { f, resolve: (e: LogEvent) => done(() => resolve(e)) };
      const fail = (why: string): void =>
        done(() => reject(new Error(`seed: ${why} waiting for ${describe(f)}\n${tail(output())}`)));
      const timer = setTimeout(() => fail(`timeout after ${ms} ms`), ms);
      const onExit = (): void => fail(`process exited (code ${String(exitCode)})`);
      let settled = false;
      function done(fn: () => void): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        waiters.delete(w);
        fn();
      }
      waiters.add(w);
      void proc.exited.then(() => setTimeout(onExit, 50)); // let the last lines be parsed first
    });
  };

  return {
    pid: proc.pid,
    configFile,
    dataDir,
    config,
    log,
    events: (f) => log.filter((e) => matches(e, f)),
    waitFor,
    kill: async (sig = 'SIGTERM') => {
      try {
        process.kill(proc.pid, sig);
      } catch {}
      return proc.exited;
    },
    exited: proc.exited,
    output,
  };
}

function parseLine(line: string): LogEvent | null {
  const s = line.trim();
  if (!s.startsWith('{')) return null;
  try {
    const v = JSON.parse(s) as unknown;
    return typeof v === 'object' && v !== null ? (v as LogEvent) : null;
  } catch {
    return null;
  }
}

function describe(f: EventFilter): string {
  return typeof f === 'function' ? 'a predicate' : JSON.stringify(f);
}

/** The last few KB of output: enough to see why, short enough to read in a test report. */
function tail(s: string, max = 6000): string {
  return s.length > max ? `…${s.slice(-max)}` : s;
}

/**
 * The config most DHCP tests start from: seed `<subnet>.1` on `seed0`, pool .100-.199, TFTP
 * from Debian's ipxe package, debug logs (every DHCP step is an event). `dhcp` keys override.
 */
export function seedConfig(subnet: string, dhcp: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: 'seed0',
    http: { port: 8080 },
    dhcp: {
      mode: 'authoritative',
      range: `${subnet}.100-${subnet}.199`,
      leaseTime: '1h',
      router: `${subnet}.1`,
      dns: [`${subnet}.1`],
      ...dhcp,
    },
    tftp: { enabled: true, root: '/usr/lib/ipxe', port: 69 },
    log: { level: 'debug' },
  };
}

/** The last octet of a dotted quad; tests check pool membership with it. */
export function hostPart(ip: string): number {
  return Number(ip.split('.')[3]);
}
