/**
 * The real Ignition (Debian's 2.14, package ignition) as a test peer: the fetch and files
 * stages write into `<dir>/root` with `-platform file`, so no VM or mount is needed
 * (lab-findings.md, "Ignition 2.14 (Debian) as a test peer"). `netns` runs it inside a
 * network namespace, so its own https/http fetches come from that namespace's address.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';
const execFileP = promisify(execFile);
const have = (cmd: string): boolean => spawnSync('which', [cmd], { stdio: 'ignore' }).status === 0;

/** Why the real-Ignition tests cannot run here, or false. */
export function ignitionUnavailable(): string | false {
  if (!fs.existsSync(IGNITION)) return 'apt install ignition (no ignition binary)';
  if (process.getuid?.() !== 0) return 'ignition writes files, users and modes as root';
  if (!have('useradd')) return 'passwd.users needs useradd --root (package passwd)';
  return false;
}

/** Runs the fetch then the files stage into `<dir>/root`; resolves with the exit status. */
export async function applyIgnition(
  dir: string,
  config: string,
  o: { netns?: string } = {},
): Promise<{ code: number; log: string }> {
  const root = path.join(dir, 'root');
  const bin = path.join(dir, 'bin');
  // Debian's build relabels at the end of the files stage; give it a policy name and a no-op.
  fs.mkdirSync(path.join(root, 'etc', 'selinux'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc', 'selinux', 'config'), 'SELINUXTYPE=targeted\n');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'setfiles'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'config.ign'), config);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    IGNITION_CONFIG_FILE: path.join(dir, 'config.ign'),
  };
  // Cache, state and neednet flag files go to the temp dir instead of the host's /run.
  const common = ['-platform', 'file', '-root', root, '-log-to-stdout'];
  common.push('-config-cache', path.join(dir, 'ignition.json'), '-state-file', path.join(dir, 'state'));
  common.push('-neednet', path.join(dir, 'neednet'));
  const [cmd, pre] = o.netns ? ['ip', ['netns', 'exec', o.netns, IGNITION]] : [IGNITION, []];
  let log = '';
  for (const stage of ['fetch', 'files']) {
    try {
      const r = await execFileP(cmd, [...pre, ...common, '-stage', stage], { env, timeout: 60_000 });
      log += r.stdout + r.stderr;
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : 1,
        log: log + (e.stdout ?? '') + (e.stderr ?? ''),
      };
    }
  }
  return { code: 0, log };
}
