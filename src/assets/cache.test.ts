/**
 * fetchAssets / importAssets against real gpg and gpgv: a locally generated signing key, a
 * release directory signed with it, and a node:http server on 127.0.0.1 playing the Flatcar
 * release server. One release version per scenario, a fresh assets directory per test.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Progress } from './download.ts';
import { fetchAssets, importAssets } from './fetch.ts';
import { FLATCAR_PXE_FILES } from './flatcar.ts';
import { STAGING_DIR } from './install.ts';
import { MANIFEST_FILE, type Manifest } from './manifest.ts';
import { makeRelease, makeSigner, serveDir, type TestServer, type TestSigner, testBytes } from './testing.ts';
import { trustSigningKey } from './trust.ts';

const [KERNEL, INITRD] = FLATCAR_PXE_FILES;
const CONTENT = { [KERNEL]: testBytes(200_000, 'kernel'), [INITRD]: testBytes(1_000_000, 'initrd') };
const T0 = Date.parse('2026-11-28T10:00:00Z');
const sha512 = (b: Buffer) => crypto.createHash('sha512').update(b).digest('hex');

let tmp: string;
let root: string;
let trusted: TestSigner;
let stranger: TestSigner;
let server: TestServer;
let dest: string;

/** Release versions, one per scenario; GOOD is also `current`. */
const GOOD = '4593.2.5';
const TAMPERED = '1.0.1';
const OTHER_KEY = '1.0.2';
const NO_SIG = '1.0.3';
const BAD_DIGEST = '1.0.4';
const DIGESTS_ONLY = '1.0.5';
const NEWER = '4593.2.6';

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metalseed-assets-'));
  root = path.join(tmp, 'release');
  trusted = makeSigner('Trusted Image Signing');
  stranger = makeSigner('Someone Else');
  makeRelease(root, trusted, GOOD, { files: CONTENT });
  makeRelease(root, trusted, NEWER, { files: CONTENT, current: false });
  // signed, then changed: the kernel no longer matches its .sig nor its DIGESTS
  const t = makeRelease(root, trusted, TAMPERED, { files: CONTENT, current: false });
  fs.appendFileSync(path.join(t, KERNEL), 'rootkit');
  makeRelease(root, stranger, OTHER_KEY, { files: CONTENT, current: false });
  const n = makeRelease(root, trusted, NO_SIG, { files: CONTENT, current: false, digests: false });
  fs.rmSync(path.join(n, `${INITRD}.sig`));
  // the initrd's DIGESTS is signed but names other bytes; its .sig is still good
  const d = makeRelease(root, trusted, BAD_DIGEST, { files: CONTENT, current: false });
  fs.writeFileSync(
    path.join(d, `${INITRD}.DIGESTS`),
    `# SHA512 HASH\n${sha512(Buffer.from('x'))}  ${INITRD}\n`,
  );
  trusted.sign(path.join(d, `${INITRD}.DIGESTS`));
  const o = makeRelease(root, trusted, DIGESTS_ONLY, { files: CONTENT, current: false });
  for (const f of FLATCAR_PXE_FILES) fs.rmSync(path.join(o, `${f}.sig`));
  server = await serveDir(root);
});

after(async () => {
  await server.close();
  trusted.close();
  stranger.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  dest = fs.mkdtempSync(path.join(tmp, 'dest-'));
  await trustSigningKey(trusted.publicKeyFile, dest, { fingerprint: trusted.fingerprint });
});

function fetchVersion(version: string, extra: Partial<Parameters<typeof fetchAssets>[0]> = {}) {
  return fetchAssets({
    baseUrl: server.url,
    version,
    dest,
    fingerprint: trusted.fingerprint,
    now: () => T0,
    ...extra,
  });
}

function manifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dest, MANIFEST_FILE), 'utf8')) as Manifest;
}

/** Nothing below flatcar/, no manifest, and no leftovers in staging. */
function assertNothingInstalled(): void {
  assert.equal(fs.existsSync(path.join(dest, 'flatcar')), false, 'flatcar/ must not exist');
  assert.equal(fs.existsSync(path.join(dest, MANIFEST_FILE)), false);
}

describe('fetch: a good release', () => {
  it('verifies signature and digest, installs, points current and writes the manifest', async () => {
    const r = await fetchVersion('current');
    assert.equal(r.version, GOOD);
    assert.equal(r.alreadyInstalled, false);
    for (const f of FLATCAR_PXE_FILES) {
      assert.deepEqual(fs.readFileSync(path.join(dest, 'flatcar', GOOD, f)), CONTENT[f]);
      // the default profile's paths: /assets/flatcar/<file>
      assert.deepEqual(fs.readFileSync(path.join(dest, 'flatcar', f)), CONTENT[f]);
      assert.equal(fs.existsSync(path.join(dest, 'flatcar', GOOD, `${f}.sig`)), true);
    }
    assert.equal(fs.readlinkSync(path.join(dest, 'flatcar', 'current')), GOOD);
    assert.deepEqual(fs.readdirSync(path.join(dest, STAGING_DIR)), [], 'staging is empty (and unlocked)');
    const m = manifest();
    assert.deepEqual(m.current, { flatcar: GOOD });
    assert.deepEqual(
      m.assets.map((a) => [a.path, a.size, a.sha512, a.verifiedBy, a.source]),
      [
        [
          `flatcar/${GOOD}/${KERNEL}`,
          200_000,
          sha512(CONTENT[KERNEL]),
          full(),
          `${server.url}/${GOOD}/${KERNEL}`,
        ],
        [
          `flatcar/${GOOD}/${INITRD}`,
          1_000_000,
          sha512(CONTENT[INITRD]),
          full(),
          `${server.url}/${GOOD}/${INITRD}`,
        ],
      ],
    );
    assert.equal(m.assets[0]!.time, '2026-11-28T10:00:00.000Z', 'times come from the injected clock');
  });

  it('is byte-stable and re-runnable: a second run transfers nothing and rewrites the same bytes', async () => {
    await fetchVersion(GOOD);
    const first = fs.readFileSync(path.join(dest, MANIFEST_FILE), 'utf8');
    const before = server.requests.length;
    const r = await fetchVersion(GOOD);
    assert.equal(r.alreadyInstalled, true);
    assert.deepEqual(server.requests.slice(before), [], 'no request at all');
    assert.equal(fs.readFileSync(path.join(dest, MANIFEST_FILE), 'utf8'), first);
    assert.match(first, /^\{\n {2}"assets": \[/);
  });

  it('reports progress with increasing byte counts up to the total', async () => {
    const seen: Progress[] = [];
    await fetchVersion(GOOD, { onProgress: (p) => seen.push({ ...p }) });
    const initrd = seen.filter((p) => p.file === INITRD);
    assert.ok(initrd.length > 3, `several progress calls, got ${initrd.length}`);
    for (let i = 1; i < initrd.length; i++) assert.ok(initrd[i]!.bytes >= initrd[i - 1]!.bytes);
    assert.equal(initrd[0]!.bytes, 0);
    assert.deepEqual(
      { ...initrd.at(-1)!, rate: 0 },
      { file: INITRD, bytes: 1_000_000, total: 1_000_000, rate: 0, done: true },
    );
    assert.ok(initrd.at(-1)!.rate > 0);
  });

  it('moves current to a newer version; the older one stays listed', async () => {
    await fetchVersion(GOOD);
    await fetchVersion(NEWER);
    assert.equal(fs.readlinkSync(path.join(dest, 'flatcar', 'current')), NEWER);
    const m = manifest();
    assert.deepEqual(m.current, { flatcar: NEWER });
    assert.equal(m.assets.length, 4);
  });

  it('resumes an interrupted download with a Range request; dest holds no half file meanwhile', async () => {
    server.cutOnce(`/${GOOD}/${INITRD}`, 400_000);
    await assert.rejects(fetchVersion(GOOD), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'UNAVAILABLE');
      assert.match(e.message, /transfer broke off/);
      return true;
    });
    assertNothingInstalled();
    const part = path.join(dest, STAGING_DIR, `flatcar-${GOOD}`, `${INITRD}.part`);
    const have = fs.statSync(part).size;
    assert.ok(have > 0 && have < 1_000_000, `part holds ${have} bytes`);
    await fetchVersion(GOOD);
    assert.ok(server.requests.includes(`/${GOOD}/${INITRD} bytes=${have}-`), 'resumed from the part');
    assert.deepEqual(fs.readFileSync(path.join(dest, 'flatcar', INITRD)), CONTENT[INITRD]);
  });
});

describe('fetch: refusals', () => {
  it('a tampered file is refused, named, and nothing is installed', async () => {
    await assert.rejects(fetchVersion(TAMPERED), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'ASSET_UNVERIFIED');
      assert.match(e.message, new RegExp(`${KERNEL}: BAD signature`));
      assert.match(e.message, new RegExp(`SHA512 mismatch: ${KERNEL}`));
      assert.match(e.hint ?? '', /nothing was installed/);
      return true;
    });
    assertNothingInstalled();
    assert.deepEqual(fs.readdirSync(path.join(dest, STAGING_DIR)), [], 'the bad download is discarded');
  });

  it('--force does not override proof of tampering', async () => {
    await assert.rejects(fetchVersion(TAMPERED, { force: true }), { code: 'ASSET_UNVERIFIED' });
    assertNothingInstalled();
  });

  it('a signature by a key not in the keyring is refused', async () => {
    await assert.rejects(fetchVersion(OTHER_KEY), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ASSET_UNVERIFIED');
      assert.match(e.message, new RegExp(`${KERNEL}: signed by a key that is not in the trusted keyring`));
      return true;
    });
    assertNothingInstalled();
  });

  it('a keyring holding another key is refused even when the signature is good for it', async () => {
    const wrongPin = await trustSigningKey(stranger.publicKeyFile, dest, {
      fingerprint: stranger.fingerprint,
    });
    assert.equal(wrongPin.fingerprint, stranger.fingerprint);
    // the keyring now holds the stranger's key, but the pin is still the trusted one
    await assert.rejects(fetchVersion(OTHER_KEY), /signed by a trusted key other than the pinned one/);
    assertNothingInstalled();
  });

  it('a missing .sig is refused unless forced, and then marked forced in the manifest', async () => {
    await assert.rejects(fetchVersion(NO_SIG), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'ASSET_UNVERIFIED');
      assert.match(e.message, new RegExp(`no signature: ${INITRD}.sig was not found`));
      assert.match(e.hint ?? '', /--force/);
      return true;
    });
    assertNothingInstalled();
    const before = server.requests.length;
    const r = await fetchVersion(NO_SIG, { force: true });
    assert.equal(
      server.requests.slice(before).filter((q) => q === `/${NO_SIG}/${INITRD}`).length,
      0,
      'the staged copy was reused',
    );
    const [kernel, initrd] = r.assets;
    assert.deepEqual(kernel!.verifiedBy, { gpg: trusted.fingerprint });
    assert.deepEqual(initrd!.verifiedBy, { forced: [`no signature: ${INITRD}.sig was not found`] });
    assert.deepEqual(manifest().assets[1]!.verifiedBy, initrd!.verifiedBy);
    // forced files are fetched again by the next run, which may now verify them
    assert.equal((await fetchVersion(NO_SIG, { force: true })).alreadyInstalled, false);
  });

  it('a signed DIGESTS that disagrees with the file is refused', async () => {
    await assert.rejects(fetchVersion(BAD_DIGEST), new RegExp(`SHA512 mismatch: ${INITRD} hashes to`));
    assertNothingInstalled();
  });

  it('without a trusted key nothing verifies; the hint says how to add one', async () => {
    fs.rmSync(path.join(dest, 'trusted.gpg'));
    await assert.rejects(fetchVersion(GOOD), (e: Error & { hint?: string }) => {
      assert.match(e.message, /no trusted key: keyring .*trusted\.gpg does not exist/);
      assert.match(e.hint ?? '', /metalseed assets trust KEYFILE/);
      return true;
    });
    assertNothingInstalled();
  });

  it('a signed DIGESTS alone verifies a file without .sig', async () => {
    const r = await fetchVersion(DIGESTS_ONLY);
    assert.deepEqual(
      r.assets.map((a) => a.verifiedBy),
      [{ digests: 'sha512' }, { digests: 'sha512' }],
    );
  });

  it('an unknown version is NOT_FOUND with the URL', async () => {
    await assert.rejects(fetchVersion('9.9.9'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'NOT_FOUND');
      assert.match(e.message, new RegExp(`${KERNEL} not found at ${server.url}/9.9.9/${KERNEL}`));
      return true;
    });
  });
});

describe('import from a directory', () => {
  it('installs a mirrored release the same way, version from version.txt', async () => {
    const r = await importAssets(path.join(root, GOOD), dest, { fingerprint: trusted.fingerprint });
    assert.equal(r.version, GOOD);
    assert.deepEqual(fs.readFileSync(path.join(dest, 'flatcar', KERNEL)), CONTENT[KERNEL]);
    const m = manifest();
    assert.deepEqual(
      m.assets.map((a) => [a.verifiedBy, a.source]),
      FLATCAR_PXE_FILES.map((f) => [full(), path.join(root, GOOD, f)]),
    );
  });

  it('refuses a tampered mirror and an unsigned one, like fetch', async () => {
    await assert.rejects(
      importAssets(path.join(root, TAMPERED), dest, { fingerprint: trusted.fingerprint }),
      /BAD signature/,
    );
    await assert.rejects(
      importAssets(path.join(root, NO_SIG), dest, { fingerprint: trusted.fingerprint }),
      /no signature/,
    );
    assertNothingInstalled();
    const r = await importAssets(path.join(root, NO_SIG), dest, {
      fingerprint: trusted.fingerprint,
      force: true,
    });
    assert.ok(r.assets[1]!.verifiedBy.forced);
  });
});

describe('trust', () => {
  it('refuses a key file that does not hold the pinned key (default pin: Flatcar)', async () => {
    await assert.rejects(trustSigningKey(trusted.publicKeyFile, dest), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ASSET_UNVERIFIED');
      assert.match(
        e.message,
        /does not hold the pinned signing key F88CFEDEFF29A5B4D9523864E25D9AED0593B34A/,
      );
      return true;
    });
  });
  it('refuses short key IDs and non-key files', async () => {
    await assert.rejects(trustSigningKey(trusted.publicKeyFile, dest, { fingerprint: 'E25D9AED0593B34A' }), {
      code: 'INVALID_INPUT',
    });
    const junk = path.join(tmp, 'junk.asc');
    fs.writeFileSync(junk, 'not a key\n');
    await assert.rejects(trustSigningKey(junk, dest, { fingerprint: trusted.fingerprint }), {
      code: 'INVALID_INPUT',
    });
  });
});

function full() {
  return { digests: 'sha512', gpg: trusted.fingerprint };
}
