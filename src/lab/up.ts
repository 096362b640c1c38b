/**
 * `lab up` and `lab boot`: prerequisites, the boot image, the network, the seed, then the
 * machines with their live timeline (watch.ts) and a final table.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MetalseedError } from '../lib/errors.ts';
import { LabApi } from './api.ts';
import { buildBootImage } from './boot-image.ts';
import { type Firmware, firmwareList } from './firmware.ts';
import {
  allNamespaces,
  DEFAULT_DIR,
  type LabPaths,
  MAX_MACHINES,
  type Namespaces,
  namespaces,
  paths,
  SEED_URL,
} from './layout.ts';
import { describeMachine, nextIndex, powerOn } from './machines.ts';
import { createNetwork, namespaceExists } from './network.ts';
import { aptInstall, missing, requirements } from './prereqs.ts';
import { isRunning } from './procs.ts';
import { IMAGE_ASSET_DIR, labSeedConfig, UNDIONLY_PROFILE, writeUndionlyScripts } from './seed-config.ts';
import { readToken, repoRoot, startProxy, startSeedProcess, waitSeedReady } from './seed-process.ts';
import { type LabMachine, type LabState, readState, STATE_VERSION, writeState } from './state.ts';
import { type MachineResult, watchMachines } from './watch.ts';

export interface UpOptions {
  dir: string;
  prefix: string;
  machines: number;
  firmware: string;
  install: boolean;
  timeoutSeconds: number;
  memoryMib?: number;
  print: (line: string) => void;
}

export interface BootOptions {
  dir: string;
  firmware: string;
  timeoutSeconds: number;
  memoryMib?: number;
  print: (line: string) => void;
}

/** Brings the lab up and boots the machines; resolves with each machine's result. */
export async function labUp(o: UpOptions): Promise<MachineResult[]> {
  const t0 = Date.now();
  const say = (s: string) => o.print(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`);
  if (!Number.isInteger(o.machines) || o.machines < 1 || o.machines > MAX_MACHINES) {
    throw new MetalseedError('INVALID_INPUT', `--machines: ${o.machines} is not 1–${MAX_MACHINES}`);
  }
  const firmware = firmwareList(o.firmware, o.machines);
  const p = paths(o.dir);
  refuseIfUp(p, o.prefix);
  if (process.getuid?.() !== 0) {
    throw new MetalseedError(
      'ACCESS_DENIED',
      'metalseed lab needs root (network namespaces, taps)',
      'run it with sudo',
    );
  }
  checkPrerequisites(o.install, say);

  mkdirSync(o.dir, { recursive: true });
  rmSync(p.run, { recursive: true, force: true });
  mkdirSync(p.machineDir, { recursive: true });
  mkdirSync(join(p.dataDir, 'assets'), { recursive: true });
  const image = buildBootImage({ outDir: p.image, onProgress: say });
  writeUndionlyScripts(p.image);
  // the seed serves dataDir/assets; the image outlives each lab (rebuilt only when stale)
  symlinkSync(p.image, join(p.dataDir, 'assets', IMAGE_ASSET_DIR));
  writeFileSync(p.config, stringify(labSeedConfig({ dataDir: p.dataDir })));
  say(`boot image: ${image.kernel} + ${image.initrd} (kernel ${image.kernelVersion})`);

  const ns = namespaces(o.prefix);
  createNetwork(ns);
  try {
    return await startLab(o, p, ns, firmware, say);
  } catch (err) {
    const e = err instanceof MetalseedError ? err : new MetalseedError('INTERNAL', (err as Error).message);
    throw new MetalseedError(
      e.code,
      e.message,
      `the lab is partly up (logs in ${p.run}); \`metalseed lab down\`${o.dir === DEFAULT_DIR ? '' : ` --dir ${o.dir}`} removes it`,
    );
  }
}

async function startLab(
  o: UpOptions,
  p: LabPaths,
  ns: Namespaces,
  firmware: Firmware[],
  say: (s: string) => void,
): Promise<MachineResult[]> {
  const state: LabState = {
    version: STATE_VERSION,
    prefix: o.prefix,
    createdAt: new Date().toISOString(),
    namespaces: ns,
    machines: [],
  };
  writeState(p.state, state);
  say(
    `network: ${ns.switch} (bridge), ${ns.seed} (seed: uplink0 + prov0 ${SEED_URL}), ${ns.uplink} (uplink)`,
  );

  state.proxy = startProxy(ns, p);
  state.seed = startSeedProcess(ns, p);
  writeState(p.state, state);
  say(`seed starting (pid ${state.seed.pid}, log ${p.seedLog})`);
  await waitSeedReady(state.seed, p);
  say('seed ready');

  return bootAndWatch(state, p, firmware, o, say);
}

/** One more machine in the lab that is up. */
export async function labBoot(o: BootOptions): Promise<MachineResult[]> {
  const t0 = Date.now();
  const say = (s: string) => o.print(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`);
  const p = paths(o.dir);
  const state = readState(p.state);
  if (!state) throw notUp(p);
  if (!state.seed || !isRunning(state.seed)) {
    throw new MetalseedError('UNAVAILABLE', 'the lab seed is not running', 'metalseed lab down, then lab up');
  }
  const firmware = firmwareList(o.firmware, 1);
  return bootAndWatch(state, p, firmware, o, say);
}

async function bootAndWatch(
  state: LabState,
  p: LabPaths,
  firmware: Firmware[],
  o: { timeoutSeconds: number; memoryMib?: number; print: (s: string) => void },
  say: (s: string) => void,
): Promise<MachineResult[]> {
  const print = o.print;
  const api = new LabApi(p.apiSocket, readToken(p));
  const fresh: LabMachine[] = [];
  for (const fw of firmware) {
    const m = describeMachine(nextIndex([...state.machines, ...fresh]), fw, p.machineDir, o.memoryMib);
    fresh.push(m);
    // bios-undionly: the seed picks the profile that chainloads undionly.kpxe by this rule
    if (fw === 'bios-undionly') {
      await api.put(`/rules/lab-${m.name}`, { match: { mac: [m.mac] }, set: { profile: UNDIONLY_PROFILE } });
    }
  }
  // subscribe before power-on, so the first DHCP DISCOVER is on the timeline
  const stream = await api.events();
  for (const m of fresh) {
    powerOn(state.namespaces, m);
    state.machines.push(m);
    writeState(p.state, state);
    say(`${m.name} powered on: ${m.firmware}, MAC ${m.mac} (serial: ${m.serialLog})`);
  }
  const results = await watchMachines(
    api,
    stream,
    fresh.map((m) => ({
      name: m.name,
      mac: m.mac,
      firmware: m.firmware,
      serialLog: m.serialLog,
      poweredOnAt: Date.parse(m.poweredOnAt ?? ''),
      alive: () => (m.proc ? isRunning(m.proc) : false),
    })),
    { deadline: Date.now() + o.timeoutSeconds * 1000, print },
  );
  writeFileSync(join(p.run, `results-${Date.now()}.json`), `${JSON.stringify(results, null, 2)}\n`);
  print('');
  for (const line of resultTable(results)) print(line);
  for (const r of results) {
    if (r.report?.files)
      print(`${r.name} ${r.hostname ?? ''}: Ignition ${r.report.result}, files: ${r.report.files.join(' ')}`);
  }
  return results;
}

export function resultTable(results: MachineResult[]): string[] {
  const rows = [
    ['MACHINE', 'FIRMWARE', 'MAC', 'HOSTNAME', 'STATE', 'POWER-ON→PROVISIONED', 'LAST STEP'],
    ...results.map((r) => [
      r.name,
      r.firmware,
      r.mac,
      r.hostname ?? '-',
      r.outcome === 'provisioned' ? r.state : `${r.state} (${r.outcome})`,
      r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : '-',
      r.lastStep.replace(/\s+/g, ' '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

function refuseIfUp(p: LabPaths, prefix: string): void {
  if (readState(p.state)) {
    throw new MetalseedError(
      'CONFLICT',
      `a lab is already up (state ${p.state})`,
      '`metalseed lab status` to see it, `metalseed lab down` to remove it',
    );
  }
  const present = allNamespaces(prefix).filter(namespaceExists);
  if (present.length > 0) {
    throw new MetalseedError(
      'CONFLICT',
      `network namespaces ${present.join(', ')} already exist`,
      `a lab with prefix "${prefix}" is up elsewhere: \`metalseed lab down --prefix ${prefix}\`, or choose another --prefix`,
    );
  }
}

function checkPrerequisites(install: boolean, say: (s: string) => void): void {
  const reqs = requirements(repoRoot());
  let m = missing(reqs);
  if (m.items.length === 0) {
    say('prerequisites: all present');
    return;
  }
  if (install && m.packages.length > 0) {
    say(`installing: ${m.packages.join(' ')}`);
    const status = aptInstall(m.packages);
    if (status !== 0) throw new MetalseedError('INTERNAL', `apt-get install failed (exit ${status})`);
    m = missing(reqs);
    if (m.items.length === 0) return;
  }
  const lines = m.items.map((r) => `  - ${r.what}: ${r.pkg ? `apt package ${r.pkg}` : r.fix}`);
  const apt = m.packages.length > 0 ? `apt-get install -y ${m.packages.join(' ')}` : '';
  throw new MetalseedError(
    'UNAVAILABLE',
    `the lab needs what is missing here:\n${lines.join('\n')}`,
    m.packages.length > 0 ? `run \`metalseed lab up --install\`, or: ${apt}` : (m.items[0]?.fix ?? ''),
  );
}

export function notUp(p: LabPaths): MetalseedError {
  return new MetalseedError(
    'NOT_FOUND',
    `no lab is up (no state file ${p.state})`,
    '`metalseed lab up` starts one',
  );
}
