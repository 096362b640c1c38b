/**
 * Test peers for the asset cache: a throwaway GnuPG signing key shaped like Flatcar's (a
 * certify-only primary with a signing subkey), a release directory signed with it, and a
 * node:http server with Range support and injectable faults playing the release server.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseColons } from './gpg.ts';

export interface TestSigner {
  /** Primary fingerprint: what the cache pins. */
  fingerprint: string;
  /** Armored public key, as `assets trust` takes it. */
  publicKeyFile: string;
  /** Writes `file.sig` (or `out`), a detached signature by the signing subkey. */
  sign(file: string, out?: string): string;
  /** Stops the gpg-agent key generation started and removes the key's home. */
  close(): void;
}

export function makeSigner(name: string): TestSigner {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-signer-'));
  fs.chmodSync(home, 0o700);
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--passphrase', '', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GNUPGHOME: home },
    });
  gpg(
    '--quick-gen-key',
    `${name} <${name.replace(/\W+/g, '-').toLowerCase()}@example.invalid>`,
    'ed25519',
    'cert',
    'never',
  );
  const primary = parseColons(gpg('--with-colons', '--fixed-list-mode', '--list-keys').toString())[0]!
    .fingerprint;
  gpg('--quick-add-key', primary, 'ed25519', 'sign', '1y');
  const publicKeyFile = path.join(home, 'public.asc');
  fs.writeFileSync(publicKeyFile, gpg('--armor', '--export', primary));
  return {
    fingerprint: primary,
    publicKeyFile,
    sign(file, out = `${file}.sig`) {
      gpg('--yes', '--detach-sign', '--output', out, file);
      return out;
    },
    close() {
      try {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
      } finally {
        fs.rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

export interface ReleaseOptions {
  /** File name → content. */
  files: Record<string, Buffer>;
  /** Write `.DIGESTS` (catalyst layout) and `.DIGESTS.sig`; default true. */
  digests?: boolean;
  /** Also write `<root>/current/version.txt` naming this version; default true. */
  current?: boolean;
}

/** `<root>/<version>/` with the files, `.sig`s and DIGESTS, like a Flatcar release directory. */
export function makeRelease(root: string, signer: TestSigner, version: string, o: ReleaseOptions): string {
  const dir = path.join(root, version);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(o.files)) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    signer.sign(file);
    if (o.digests ?? true) {
      fs.writeFileSync(`${file}.DIGESTS`, digestsText(name, content));
      signer.sign(`${file}.DIGESTS`);
    }
  }
  fs.writeFileSync(path.join(dir, 'version.txt'), versionTxt(version));
  if (o.current ?? true) {
    fs.mkdirSync(path.join(root, 'current'), { recursive: true });
    fs.writeFileSync(path.join(root, 'current', 'version.txt'), versionTxt(version));
  }
  return dir;
}

export function digestsText(name: string, content: Buffer): string {
  const h = (a: string) => crypto.createHash(a).update(content).digest('hex');
  return ['MD5', 'SHA1', 'SHA512'].map((a) => `# ${a} HASH\n${h(a.toLowerCase())}  ${name}\n`).join('');
}

function versionTxt(v: string): string {
  const [major, minor, patch] = v.split('.');
  return `FLATCAR_BUILD=${major}\nFLATCAR_BRANCH=${minor}\nFLATCAR_PATCH=${patch}\nFLATCAR_VERSION=${v}\nFLATCAR_VERSION_ID=${v}\n`;
}

/** Bytes that look like nothing in particular, the same on every run. */
export function testBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = crypto.createHash('sha256').update(seed).digest();
  for (let o = 0; o < size; o += block.length) {
    block.copy(out, o);
    block = crypto.createHash('sha256').update(block).digest();
  }
  return out;
}

export interface TestServer {
  url: string;
  /** Paths requested, with their Range header when there was one. */
  requests: string[];
  /** Break the next response for `urlPath` after `bytes` body bytes (announcing the full length). */
  cutOnce(urlPath: string, bytes: number): void;
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 with GET, 404 and `Range: bytes=N-` (RFC 9110 §14.2). */
export async function serveDir(root: string): Promise<TestServer> {
  const requests: string[] = [];
  const cuts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(req.headers.range ? `${urlPath} ${req.headers.range}` : urlPath);
    const file = path.join(root, path.normalize(urlPath));
    const st = file.startsWith(root) ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
    if (!st?.isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    const body = fs.readFileSync(file);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= body.length && m) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    const part = body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': part.length,
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    const cut = cuts.get(urlPath);
    if (cut !== undefined) {
      cuts.delete(urlPath);
      res.write(part.subarray(0, cut), () => res.destroy());
      return;
    }
    res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce: (p, bytes) => cuts.set(p, bytes),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
