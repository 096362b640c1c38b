/**
 * The lab's seed: the real `bin/metalseed.js serve` run inside the seed namespace, plus the
 * API forwarder (api.ts), both detached and recorded in the state file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOKEN_FILE } from '../api/token.ts';
import { MetalseedError } from '../lib/errors.ts';
import { PROXY_SCRIPT } from './api.ts';
import { type LabPaths, type Namespaces, SEED_PORT } from './layout.ts';
import { isRunning, type ProcRecord, spawnInNs } from './procs.ts';

/** A cold start through tsx on a busy 2-core box takes a few seconds; the PKI is made once. */
export const SEED_READY_MS = 60_000;
const POLL_MS = 100;
const LOG_TAIL = 3000;

/** The checkout (or installed package) root: the directory holding bin/metalseed.js. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bin', 'metalseed.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find bin/metalseed.js above the lab module');
}

export function startProxy(ns: Namespaces, p: LabPaths): ProcRecord {
  return spawnInNs(
    ns.seed,
    process.execPath,
    ['-e', PROXY_SCRIPT, p.apiSocket, '127.0.0.1', String(SEED_PORT)],
    p.proxyLog,
    'api proxy',
  );
}

export function startSeedProcess(ns: Namespaces, p: LabPaths): ProcRecord {
  const bin = join(repoRoot(), 'bin', 'metalseed.js');
  return spawnInNs(ns.seed, process.execPath, [bin, 'serve', '--config', p.config], p.seedLog, 'seed');
}

/** Resolves once the seed logged `seed.ready`; throws with its log when it exits or hangs. */
export async function waitSeedReady(seed: ProcRecord, p: LabPaths, ms = SEED_READY_MS): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const log = readOr(p.seedLog);
    if (log.includes('"event":"seed.ready"') && existsSync(p.apiSocket)) return;
    if (!isRunning(seed)) {
      throw new MetalseedError(
        'INTERNAL',
        `the lab seed exited while starting; its log (${p.seedLog}):\n${tail(log)}`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new MetalseedError(
    'UNAVAILABLE',
    `the lab seed was not ready within ${ms / 1000} s; its log (${p.seedLog}):\n${tail(readOr(p.seedLog))}`,
  );
}

export function readToken(p: LabPaths): string {
  return readFileSync(join(p.dataDir, TOKEN_FILE), 'utf8').trim();
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(s: string): string {
  return s.length > LOG_TAIL ? `…${s.slice(-LOG_TAIL)}` : s;
}
