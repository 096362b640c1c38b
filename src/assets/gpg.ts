/**
 * GnuPG as a real peer: `gpgv` checks detached signatures against the seed's own keyring file,
 * `gpg` imports an operator-supplied key into it. Both run with a fresh temporary `--homedir`
 * (and GNUPGHOME), so the operator's ~/.gnupg is never read or written, and gpg runs with
 * `--no-autostart` so no agent outlives the call.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetalseedError } from '../lib/errors.ts';
import { judgeSignature, normalizeFingerprint, parseStatus, type SigVerdict } from './gpg-status.ts';

/** Binaries by name, found on PATH; tests and odd installs may pass absolute paths. */
export interface GpgBinaries {
  gpg: string;
  gpgv: string;
}
export const DEFAULT_GPG: GpgBinaries = { gpg: 'gpg', gpgv: 'gpgv' };

/** File descriptor gpg writes its status lines to: neither stdout (exported keys) nor stderr. */
const STATUS_FD = 3;

interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  status: string;
}

function run(bin: string, args: string[], home: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--homedir', home, '--status-fd', String(STATUS_FD), ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, GNUPGHOME: home, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const status: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    (child.stdio[STATUS_FD] as NodeJS.ReadableStream).on('data', (b: Buffer) => status.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? new MetalseedError(
              'ASSET_UNVERIFIED',
              `cannot run ${bin}: not installed, so no signature can be checked`,
              'install GnuPG: apt-get install gpg gpgv',
            )
          : e,
      );
    });
    child.on('close', (code) => {
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        status: Buffer.concat(status).toString('utf8'),
      });
    });
  });
}

/** A throwaway GnuPG home (mode 0700, as gpg insists), removed when `fn` settles. */
async function withHome<T>(fn: (home: string) => Promise<T>): Promise<T> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-gpg-'));
  fs.chmodSync(home, 0o700);
  try {
    return await fn(home);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export interface VerifyOptions {
  /** OpenPGP keyring file (binary, as `gpg --export` writes it). */
  keyring: string;
  file: string;
  sig: string;
  /** The primary key the signature must chain to. */
  fingerprint: string;
  gpg?: GpgBinaries;
}

/** Checks `sig` over `file` with gpgv; the verdict comes from the status lines. */
export async function verifySignature(o: VerifyOptions): Promise<SigVerdict> {
  const gpgv = (o.gpg ?? DEFAULT_GPG).gpgv;
  const r = await withHome((home) =>
    run(gpgv, ['--keyring', path.resolve(o.keyring), '--', path.resolve(o.sig), path.resolve(o.file)], home),
  );
  return judgeSignature(parseStatus(r.status), r.code, o.fingerprint);
}

export interface KeyInfo {
  fingerprint: string;
  uids: string[];
  subkeys: { fingerprint: string; capabilities: string; expires: string | null; validity: string }[];
}

/**
 * Imports the key with primary `fingerprint` from an armored or binary key file and writes it,
 * and nothing else from that file, to `keyring` (atomically). Refuses a file without that key.
 */
export async function trustKey(
  keyFile: string,
  keyring: string,
  fingerprint: string,
  bins: GpgBinaries = DEFAULT_GPG,
): Promise<KeyInfo> {
  const want = normalizeFingerprint(fingerprint);
  if (!fs.existsSync(keyFile)) {
    throw new MetalseedError('NOT_FOUND', `key file ${keyFile} does not exist`);
  }
  return withHome(async (home) => {
    const base = ['--batch', '--no-autostart', '--no-tty'];
    const imp = await run(bins.gpg, [...base, '--import', path.resolve(keyFile)], home);
    if (imp.code !== 0 && !/IMPORT_OK/.test(imp.status)) {
      throw new MetalseedError(
        'INVALID_INPUT',
        `${keyFile} is not an OpenPGP public key: ${lastLine(imp.stderr)}`,
        'pass the armored key file (.asc) as published, e.g. Flatcar_Image_Signing_Key.asc',
      );
    }
    const list = await run(bins.gpg, [...base, '--with-colons', '--fixed-list-mode', '--list-keys'], home);
    const keys = parseColons(list.stdout.toString('utf8'));
    const key = keys.find((k) => k.fingerprint === want);
    if (!key) {
      const found = keys.map((k) => k.fingerprint).join(', ') || 'none';
      throw new MetalseedError(
        'ASSET_UNVERIFIED',
        `${keyFile} does not hold the pinned signing key ${want} (it holds: ${found})`,
        'get the genuine key file, or pass --fingerprint for a private mirror signed by your own key',
      );
    }
    const exp = await run(bins.gpg, [...base, '--export', want], home);
    if (exp.code !== 0 || exp.stdout.length === 0) {
      throw new MetalseedError('INTERNAL', `gpg --export ${want} failed: ${lastLine(exp.stderr)}`);
    }
    fs.mkdirSync(path.dirname(keyring), { recursive: true });
    const tmp = `${keyring}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, exp.stdout, { mode: 0o644 });
    fs.renameSync(tmp, keyring);
    return key;
  });
}

/** pub/sub/fpr/uid records of `--with-colons` output (GnuPG doc/DETAILS, field 2 validity). */
export function parseColons(text: string): KeyInfo[] {
  const keys: KeyInfo[] = [];
  let sub: KeyInfo['subkeys'][number] | null = null;
  let pending: 'pub' | 'sub' | null = null;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const kind = f[0];
    if (kind === 'pub') {
      keys.push({ fingerprint: '', uids: [], subkeys: [] });
      pending = 'pub';
    } else if (kind === 'sub') {
      const expires = f[6] ? new Date(Number(f[6]) * 1000).toISOString().slice(0, 10) : null;
      sub = { fingerprint: '', capabilities: f[11] ?? '', expires, validity: f[1] ?? '' };
      keys.at(-1)?.subkeys.push(sub);
      pending = 'sub';
    } else if (kind === 'fpr' && pending) {
      const fpr = normalizeFingerprint(f[9] ?? '');
      if (pending === 'pub' && keys.at(-1)) keys.at(-1)!.fingerprint = fpr;
      if (pending === 'sub' && sub) sub.fingerprint = fpr;
      pending = null;
    } else if (kind === 'uid') {
      keys.at(-1)?.uids.push(f[9] ?? '');
    }
  }
  return keys;
}

function lastLine(s: string): string {
  return s.trim().split('\n').at(-1) ?? '';
}
