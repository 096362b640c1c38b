/**
 * `metalseed assets` end to end: the real CLI (bin/metalseed.js, a separate process) with real
 * gpg/gpgv fetches from a node:http server on 127.0.0.1 playing the Flatcar release server,
 * signed with a locally generated key; then the seed's /assets/ serves what was installed, at
 * the paths the default Flatcar profile boots.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { FLATCAR_PXE_FILES } from '../../src/assets/index.ts';
import {
  makeRelease,
  makeSigner,
  serveDir,
  type TestServer,
  type TestSigner,
  testBytes,
} from '../../src/assets/testing.ts';
import { progressLine, progressPrinter } from '../../src/cli/assets.ts';
import { DEFAULT_PROFILE } from '../../src/config/defaults.ts';
import { buildHttp } from '../../src/http/routes.ts';
import { ErrorCodes } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/log.ts';
import { testProvisioner } from '../helpers/provisioner.ts';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'metalseed.js');
/** tsx compiles the CLI on every start; generous on a loaded machine. */
const CLI_TIMEOUT_MS = 60_000;
const [KERNEL, INITRD] = FLATCAR_PXE_FILES;
const CONTENT = { [KERNEL]: testBytes(100_000, 'cli-kernel'), [INITRD]: testBytes(700_000, 'cli-initrd') };
const VERSION = '4593.2.5';
const TAMPERED = '4593.2.4';
const UNSIGNED = '4593.2.3';

let tmp: string;
let releases: string;
let signer: TestSigner;
let server: TestServer;
let dataDir: string;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-assets-cli-'));
  releases = path.join(tmp, 'release');
  dataDir = path.join(tmp, 'data');
  signer = makeSigner('CLI Test Image Signing');
  makeRelease(releases, signer, VERSION, { files: CONTENT });
  const t = makeRelease(releases, signer, TAMPERED, { files: CONTENT, current: false });
  fs.writeFileSync(path.join(t, INITRD), testBytes(700_000, 'evil'));
  const u = makeRelease(releases, signer, UNSIGNED, { files: CONTENT, current: false, digests: false });
  for (const f of FLATCAR_PXE_FILES) fs.rmSync(path.join(u, `${f}.sig`));
  server = await serveDir(releases);
});
after(async () => {
  await server.close();
  signer.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  const argv = [BIN, 'assets', ...args];
  if (!args.includes('--data-dir')) argv.push('--data-dir', dataDir);
  const env = { ...process.env, METALSEED_DATA_DIR: '' };
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env, timeout: CLI_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const fetchArgs = (version: string) => [
  'fetch',
  'flatcar',
  '--channel',
  'stable',
  '--version',
  version,
  '--base-url',
  server.url,
  '--fingerprint',
  signer.fingerprint,
];
const EXIT_UNVERIFIED = ErrorCodes.ASSET_UNVERIFIED.exit;

describe('metalseed assets', () => {
  it('fetch without a trusted key: refused, says how to fix', async () => {
    const r = await cli(...fetchArgs('current'), '--data-dir', path.join(tmp, 'untrusted'));
    assert.equal(r.code, EXIT_UNVERIFIED, r.stderr);
    assert.match(r.stderr, /metalseed: cannot verify flatcar 4593\.2\.5:/);
    assert.match(r.stderr, /no trusted key: keyring .*assets\/trusted\.gpg does not exist/);
    assert.match(r.stderr, /hint: import the signing key with `metalseed assets trust KEYFILE`/);
  });

  it('trust: refuses a key that is not the pinned Flatcar key, accepts the pinned one', async () => {
    const wrong = await cli('trust', signer.publicKeyFile);
    assert.equal(wrong.code, EXIT_UNVERIFIED);
    assert.match(
      wrong.stderr,
      /does not hold the pinned signing key F88CFEDEFF29A5B4D9523864E25D9AED0593B34A/,
    );
    const r = await cli('trust', signer.publicKeyFile, '--fingerprint', signer.fingerprint);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^trusted [0-9A-F]{4}( [0-9A-F]{4}){9}\n {2}uid CLI Test Image Signing </);
    assert.match(r.stdout, /signing subkey [0-9A-F]{40} valid, expires \d{4}-\d\d-\d\d/);
    assert.ok(fs.existsSync(path.join(dataDir, 'assets', 'trusted.gpg')));
  });

  it('fetch current: verified, installed, progress lines on a non-TTY stderr', async () => {
    const r = await cli(...fetchArgs('current'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /current is version 4593\.2\.5/);
    assert.match(r.stderr, /flatcar_production_pxe_image\.cpio\.gz {2}0\.0\/0\.7 MiB {2}0%/);
    assert.match(r.stderr, /flatcar_production_pxe_image\.cpio\.gz {2}0\.7\/0\.7 MiB {2}100% .* done/);
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b['), 'no terminal control codes in a log');
    assert.equal(
      r.stdout,
      `flatcar/${VERSION}/${KERNEL}  0.1 MiB  gpg ${signer.fingerprint}, signed DIGESTS sha512\n` +
        `flatcar/${VERSION}/${INITRD}  0.7 MiB  gpg ${signer.fingerprint}, signed DIGESTS sha512\n` +
        `flatcar/current -> ${VERSION}\n`,
    );
    const again = await cli(...fetchArgs(VERSION));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /flatcar\/current -> 4593\.2\.5 \(already installed\)/);
  });

  it('fetch of a tampered release: exit code, the file, the reason, and a hint', async () => {
    const r = await cli(...fetchArgs(TAMPERED), '--force');
    assert.equal(r.code, EXIT_UNVERIFIED);
    assert.match(r.stderr, /refusing flatcar 4593\.2\.4:/);
    assert.match(r.stderr, /flatcar_production_pxe_image\.cpio\.gz: BAD signature/);
    assert.match(
      r.stderr,
      new RegExp(`\\[${server.url}/4593\\.2\\.4/flatcar_production_pxe_image\\.cpio\\.gz\\]`),
    );
    assert.match(r.stderr, /hint: nothing was installed/);
    assert.equal(fs.existsSync(path.join(dataDir, 'assets', 'flatcar', TAMPERED)), false);
  });

  it('import of an unsigned mirror: refused, then --force installs it with a warning', async () => {
    const dir = path.join(releases, UNSIGNED);
    const refused = await cli('import', dir, '--fingerprint', signer.fingerprint);
    assert.equal(refused.code, EXIT_UNVERIFIED);
    assert.match(refused.stderr, /no signature: flatcar_production_pxe\.vmlinuz\.sig was not found/);
    assert.match(refused.stderr, /--force/);
    const forced = await cli('import', dir, '--fingerprint', signer.fingerprint, '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stdout,
      /flatcar\/4593\.2\.3\/flatcar_production_pxe\.vmlinuz {2}0\.1 MiB {2}FORCED: no signature/,
    );
    assert.match(forced.stderr, /WARNING: 2 file\(s\) installed WITHOUT verification/);
    // back to the verified release for what follows
    assert.equal((await cli(...fetchArgs(VERSION))).code, 0);
  });

  it('list: a table and the manifest as JSON', async () => {
    const r = await cli('list');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^PATH +SIZE +INSTALLED +VERIFIED BY$/);
    assert.equal(lines.length, 6);
    assert.match(r.stdout, /flatcar\/4593\.2\.3\/flatcar_production_pxe\.vmlinuz +100000 +\S+ +FORCED: /);
    assert.match(r.stdout, /\nflatcar\/current -> 4593\.2\.5\n$/);
    const json = JSON.parse((await cli('list', '-o', 'json')).stdout) as {
      current: unknown;
      assets: unknown[];
    };
    assert.deepEqual(json.current, { flatcar: VERSION });
    assert.equal(json.assets.length, 4);
    assert.deepEqual(
      fs.readFileSync(path.join(dataDir, 'assets', 'manifest.json'), 'utf8'),
      `${JSON.stringify(json, null, 2)}\n`,
      'manifest.json is itself sorted, as -o json prints it',
    );
  });

  it('bad arguments: unknown OS, malformed version', async () => {
    const os = await cli('fetch', 'fedora');
    assert.equal(os.code, ErrorCodes.INVALID_INPUT.exit);
    assert.match(os.stderr, /unknown asset "fedora"/);
    const v = await cli(...fetchArgs('../../etc'));
    assert.equal(v.code, ErrorCodes.INVALID_INPUT.exit);
    assert.match(v.stderr, /is not a Flatcar version/);
  });
});

describe('/assets/ serves the installed files where the default profile boots them', () => {
  let app: FastifyInstance;
  before(async () => {
    const { p } = await testProvisioner();
    app = buildHttp({ provisioner: p, logger: silentLogger, assetsDir: path.join(dataDir, 'assets') });
    await app.ready();
  });
  after(() => app.close());

  it('kernel and initrd at the profile URLs, with Range', async () => {
    assert.equal(DEFAULT_PROFILE.kernel, `{{seed}}/assets/flatcar/${KERNEL}`);
    assert.deepEqual(DEFAULT_PROFILE.initrds, [`{{seed}}/assets/flatcar/${INITRD}`]);
    const k = await app.inject({ url: `/assets/flatcar/${KERNEL}` });
    assert.equal(k.statusCode, 200);
    assert.deepEqual(k.rawPayload, CONTENT[KERNEL]);
    const i = await app.inject({ url: `/assets/flatcar/${INITRD}`, headers: { range: 'bytes=1000-1999' } });
    assert.equal(i.statusCode, 206);
    assert.deepEqual(i.rawPayload, CONTENT[INITRD].subarray(1000, 2000));
    const v = await app.inject({ url: `/assets/flatcar/${VERSION}/${KERNEL}.sig` });
    assert.equal(v.statusCode, 200, 'signatures are served beside the images');
  });

  it('never serves the staging directory', async () => {
    const lock = await app.inject({ url: '/assets/.staging/flatcar.lock' });
    assert.notEqual(lock.statusCode, 200);
  });
});

describe('progress rendering', () => {
  const p = { file: INITRD, bytes: 3 * 1048576, total: 12 * 1048576, rate: 1048576, done: false };

  it('one line: bytes/total, percent, rate, eta', () => {
    assert.equal(progressLine(p), `${INITRD}  3.0/12.0 MiB  25%  1.0 MiB/s  eta 0:09`);
    assert.equal(
      progressLine({ ...p, bytes: p.total, done: true }),
      `${INITRD}  12.0/12.0 MiB  100%  1.0 MiB/s  done`,
    );
  });

  it('a TTY gets one redrawn line, throttled; a pipe gets plain lines every few seconds', () => {
    let t = 0;
    const tty: string[] = [];
    const onTty = progressPrinter({ isTTY: true, write: (s: string) => tty.push(s) }, () => t);
    const pipe: string[] = [];
    const onPipe = progressPrinter({ write: (s: string) => pipe.push(s) }, () => t);
    for (t = 0; t <= 10_000; t += 50) {
      const bytes = Math.min(p.total, t * 1000);
      onTty({ ...p, bytes });
      onPipe({ ...p, bytes });
    }
    onTty({ ...p, bytes: p.total, done: true });
    onPipe({ ...p, bytes: p.total, done: true });
    assert.ok(tty.every((s) => s.startsWith('\r\x1b[2K')));
    assert.ok(tty.length > 50 && tty.length < 110, `${tty.length} redraws`);
    assert.ok(tty.at(-1)!.endsWith('done\n'));
    assert.ok(pipe.every((s) => !s.includes('\r') && s.endsWith('\n')));
    assert.equal(pipe.length, 4, pipe.join(''));
  });
});
