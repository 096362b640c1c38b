import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MetalseedError } from '../../lib/errors.ts';
import { createCa, issueCertificate } from './certificate.ts';
import { ADMIN_SUBJECT } from './cluster-pki.ts';
import { parseCertificate } from './inspect.ts';
import { ADMIN_CERT, ADMIN_KEY, PkiStore, TOKEN_FILE } from './store.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const ALL = [
  'ca.crt',
  'ca.key',
  'sa.key',
  'sa.pub',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'etcd/ca.crt',
  'etcd/ca.key',
  ADMIN_KEY,
  ADMIN_CERT,
  TOKEN_FILE,
];

const roots: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-store-'));
  roots.push(d);
  return path.join(d, 'pki');
}
after(() => {
  for (const d of roots) fs.rmSync(d, { recursive: true, force: true });
});

const opts = { clusterName: 'lab', now: NOW };
const mode = (p: string) => fs.statSync(p).mode & 0o777;
const snapshot = (dir: string) =>
  Object.fromEntries(ALL.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));

/** Expects loadOrCreate to fail with CONFIG_INVALID naming `file`, with a recovery hint. */
async function rejectsNaming(dir: string, file: string, hint: RegExp, o = opts): Promise<void> {
  await assert.rejects(PkiStore.loadOrCreate(dir, o), (e: unknown) => {
    assert.ok(e instanceof MetalseedError, String(e));
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.ok(e.message.includes(path.join(dir, file)), e.message);
    assert.match(e.hint ?? '', hint);
    return true;
  });
}

describe('PkiStore', () => {
  it('creates everything on first call: dirs 0700, keys and token 0600, certs 0644, no temp files left', async () => {
    const dir = tmpDir();
    const store = await PkiStore.loadOrCreate(dir, opts);
    assert.deepEqual([...store.written].sort(), [...ALL].sort());
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(path.join(dir, 'etcd')), 0o700);
    for (const f of ALL) assert.equal(mode(path.join(dir, f)), /\.key$|\.json$/.test(f) ? 0o600 : 0o644, f);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
    );
    assert.equal(store.pki.ca.certPem, fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'));
  });

  it('reloads byte-identical, writes nothing, keeps the CA hash and token', async () => {
    const dir = tmpDir();
    const first = await PkiStore.loadOrCreate(dir, opts);
    const before = snapshot(dir);
    const again = await PkiStore.loadOrCreate(dir, { ...opts, now: new Date(NOW.getTime() + 3_600_000) });
    assert.deepEqual(again.written, []);
    assert.deepEqual(snapshot(dir), before);
    assert.equal(again.pki.caCertHash, first.pki.caCertHash);
    assert.equal(again.pki.bootstrapToken.value(), first.pki.bootstrapToken.value());
    assert.deepEqual(again.pki.admin, first.pki.admin);
    assert.deepEqual(again.pki.serviceAccount, first.pki.serviceAccount);
  });

  it('tightens a pre-existing world-readable directory to 0700', async () => {
    const dir = tmpDir();
    fs.mkdirSync(dir, { mode: 0o755 });
    await PkiStore.loadOrCreate(dir, opts);
    assert.equal(mode(dir), 0o700);
  });

  it('renews the admin certificate near expiry and an expired token, never a CA', async () => {
    const dir = tmpDir();
    const first = await PkiStore.loadOrCreate(dir, opts);
    const later = new Date(NOW.getTime() + 340 * DAY);
    const again = await PkiStore.loadOrCreate(dir, { ...opts, now: later });
    assert.deepEqual([...again.written].sort(), [ADMIN_CERT, ADMIN_KEY, TOKEN_FILE].sort());
    assert.equal(again.pki.ca.certPem, first.pki.ca.certPem);
    assert.notEqual(again.pki.admin.certPem, first.pki.admin.certPem);
    assert.ok(parseCertificate(again.pki.admin.certPem, 'a').notAfter > later);
    assert.notEqual(again.pki.bootstrapToken.value(), first.pki.bootstrapToken.value());
    assert.equal(mode(path.join(dir, ADMIN_KEY)), 0o600);
  });

  it('re-issues a deleted admin certificate and token', async () => {
    const dir = tmpDir();
    await PkiStore.loadOrCreate(dir, opts);
    fs.rmSync(path.join(dir, ADMIN_KEY));
    fs.rmSync(path.join(dir, TOKEN_FILE));
    const again = await PkiStore.loadOrCreate(dir, opts);
    assert.deepEqual([...again.written].sort(), [ADMIN_CERT, ADMIN_KEY, TOKEN_FILE].sort());
  });

  it('refuses an incomplete cluster identity instead of making a new CA', async () => {
    const dir = tmpDir();
    await PkiStore.loadOrCreate(dir, opts);
    fs.rmSync(path.join(dir, 'front-proxy-ca.key'));
    await rejectsNaming(dir, 'front-proxy-ca.key', /Deleting .*new cluster/);
    assert.ok(!fs.existsSync(path.join(dir, 'front-proxy-ca.key')));
  });

  it('detects a damaged certificate, a swapped key, a non-CA, a foreign admin cert, a bad token file', async () => {
    const dir = tmpDir();
    const store = await PkiStore.loadOrCreate(dir, opts);
    const good = snapshot(dir);
    const restore = () => {
      for (const [f, c] of Object.entries(good)) fs.writeFileSync(path.join(dir, f), c);
    };
    const put = (f: string, c: string) => fs.writeFileSync(path.join(dir, f), c);

    const crt = good['ca.crt']!;
    const i = crt.indexOf('\n', 100) + 10; // flip one base64 character inside the body
    put('ca.crt', crt.slice(0, i) + (crt[i] === 'A' ? 'B' : 'A') + crt.slice(i + 1));
    await assert.rejects(
      PkiStore.loadOrCreate(dir, opts),
      (e: unknown) => e instanceof MetalseedError && e.message.includes(path.join(dir, 'ca.crt')),
    );
    restore();

    put('etcd/ca.key', good['front-proxy-ca.key']!);
    await rejectsNaming(dir, 'etcd/ca.key', /Deleting/);
    restore();

    put('sa.pub', 'not a pem');
    await rejectsNaming(dir, 'sa.pub', /Deleting/);
    restore();

    put('ca.crt', store.pki.admin.certPem);
    put('ca.key', store.pki.admin.keyPem);
    await rejectsNaming(dir, 'ca.crt', /Deleting/);
    restore();

    const other = await createCa({ subject: { commonName: 'kubernetes' }, now: NOW });
    const foreign = await issueCertificate({
      ca: other,
      subject: ADMIN_SUBJECT,
      usages: ['clientAuth'],
      now: NOW,
    });
    put(ADMIN_CERT, foreign.certPem);
    put(ADMIN_KEY, foreign.keyPem);
    await rejectsNaming(dir, ADMIN_CERT, /delete .*admin\.crt/);
    restore();

    put(ADMIN_KEY, good['sa.key']!);
    await rejectsNaming(dir, ADMIN_KEY, /delete .*admin\.key/);
    restore();

    put(TOKEN_FILE, '{"id": 1}');
    await rejectsNaming(dir, TOKEN_FILE, /delete .*bootstrap-token\.json/);
    restore();

    assert.deepEqual((await PkiStore.loadOrCreate(dir, opts)).written, []);
  });

  it('refuses an expired CA', async () => {
    const dir = tmpDir();
    await PkiStore.loadOrCreate(dir, opts);
    await rejectsNaming(dir, 'ca.crt', /rotate the CA/, {
      ...opts,
      now: new Date(NOW.getTime() + 3651 * DAY),
    });
  });

  it('two stores starting at once never end up with mismatched pieces', async () => {
    const dir = tmpDir();
    const results = await Promise.allSettled([
      PkiStore.loadOrCreate(dir, opts),
      PkiStore.loadOrCreate(dir, opts),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.equal((r.reason as MetalseedError).code, 'CONFLICT');
    }
    await PkiStore.loadOrCreate(dir, opts); // whatever is on disk is one consistent set
  });
});
