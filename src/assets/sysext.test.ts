import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetalseedError } from '../lib/errors.ts';
import { findSysext, installSysext, sumFor, sysextName } from './sysext.ts';

const V = 'v1.36.2';
const NAME = sysextName(V);
const IMAGE = Buffer.from('squashfs stand-in: only the bytes and their hash matter here\n');
const SHA = createHash('sha256').update(IMAGE).digest('hex');

describe('Kubernetes sysext asset', () => {
  let server: http.Server;
  let base: string;
  let tmp: string;
  /** What the fake release serves: path → body (absent → 404). */
  const files = new Map<string, Buffer>();

  before(async () => {
    server = http.createServer((req, res) => {
      const body = files.get(req.url ?? '');
      if (body) res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases`;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ms-sysext-'));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const release = (sums: string | null, image: Buffer) => {
    files.clear();
    files.set(`/releases/kubernetes-${V}/${NAME}`, image);
    if (sums !== null) files.set(`/releases/kubernetes-${V}/SHA256SUMS`, Buffer.from(sums));
  };
  const dest = (tag: string) => fs.mkdtempSync(path.join(tmp, `${tag}-`));
  const refused = async (p: Promise<unknown>, re: RegExp) => {
    await assert.rejects(
      p,
      (err: unknown) =>
        err instanceof MetalseedError && err.code === 'ASSET_UNVERIFIED' && re.test(err.message),
    );
  };

  it('installs the image when SHA256SUMS vouches for it, and the generator finds its hash', async () => {
    release(`${'0'.repeat(64)}  other.raw\n${SHA}  ${NAME}\n`, IMAGE);
    const d = dest('good');
    const r = await installSysext({ dest: d, version: V, baseUrl: base });
    assert.equal(r.sha256, SHA);
    assert.deepEqual(fs.readFileSync(r.path), IMAGE);
    assert.deepEqual(findSysext(d, V), r);
    assert.equal(findSysext(d, 'v1.35.0'), undefined);
  });

  it('refuses tampered bytes and installs nothing', async () => {
    release(`${SHA}  ${NAME}\n`, Buffer.concat([IMAGE, Buffer.from('x')]));
    const d = dest('tampered');
    await refused(installSysext({ dest: d, version: V, baseUrl: base }), /does not match/);
    assert.equal(findSysext(d, V), undefined);
    assert.equal(fs.existsSync(path.join(d, 'sysext', NAME)), false);
  });

  it('refuses without SHA256SUMS unless the operator pins a hash', async () => {
    release(null, IMAGE);
    const d = dest('nosums');
    await refused(installSysext({ dest: d, version: V, baseUrl: base }), /SHA256SUMS not found/);
    await refused(
      installSysext({ dest: d, version: V, baseUrl: base, sha256: 'b'.repeat(64) }),
      /does not match/,
    );
    const r = await installSysext({ dest: d, version: V, baseUrl: base, sha256: SHA });
    assert.equal(r.sha256, SHA);
  });

  it('imports from a local mirror directory with its SHA256SUMS', async () => {
    const mirror = dest('mirror');
    fs.writeFileSync(path.join(mirror, NAME), IMAGE);
    fs.writeFileSync(path.join(mirror, 'SHA256SUMS'), `${SHA} *${NAME}\n`);
    const d = dest('import');
    const r = await installSysext({ dest: d, version: V, fromDir: mirror });
    assert.equal(findSysext(d, V)?.sha256, r.sha256);
  });

  it('sumFor reads sha256sum text and names what is missing', () => {
    assert.equal(sumFor(`${SHA.toUpperCase()}  ./${NAME}\n`, NAME, 'S'), SHA);
    assert.throws(
      () => sumFor('garbage\n', NAME, 'S'),
      /S has no entry for kubernetes-v1\.36\.2-x86-64\.raw/,
    );
  });
});
